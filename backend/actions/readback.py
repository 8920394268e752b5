"""What became of an action whose answer was lost: read the state again and say.

A timeout, a closed connection or a 5xx after a mutating call went out does not mean
"nothing was done": AWS may have acted. Neither does it mean "done". `read_back` compares what
a fresh Snapshot shows with what the plan was made from and what it was meant to change:

- done: the state shows the change (the reroute started, the weights are the new ones...);
- not-done: the state is still what the plan was made from, long enough after the send that
  the request cannot still be on its way (`SETTLED_AFTER_S`), or the deployment has moved on
  in a way the call could not have caused;
- unknown: neither can be told yet.

Pure: no AWS call. The Controller uses it right after a lost answer, and `settle` (for
`cutover status` and the dashboard) uses it on intents whose outcome nobody recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cutover.backend.model import Snapshot

DONE, NOT_DONE, UNKNOWN = "done", "not-done", "unknown"
# A request still unanswered after the sender's read timeout (20 s) and a margin is no longer
# on its way: if the state has not changed by then, it did not take effect.
SETTLED_AFTER_S = 60.0

_REROUTED = ("rerouting", "termination-wait", "terminating", "succeeded")


@dataclass(frozen=True)
class Intent:
    """What read_back needs of a sent plan (from a Plan, or from its intent record)."""

    action: str
    deployment_id: str | None
    planned_from: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    age_s: float = 0.0  # seconds since the intent was recorded, on this machine's clock


def read_back(intent: Intent, current: Snapshot) -> tuple[str, str]:
    """(done | not-done | unknown, the evidence in plain words)."""
    kind = intent.expect.get("kind") or intent.action
    reader = _READERS.get(kind)
    if reader is None:
        return UNKNOWN, f"no way to read back a {intent.action} from the state"
    return reader(intent, current)


def _settled(intent: Intent) -> bool:
    return intent.age_s >= SETTLED_AFTER_S


def _unchanged(intent: Intent, what: str) -> tuple[str, str]:
    if _settled(intent):
        return NOT_DONE, f"{what}, {intent.age_s:.0f} s after it was sent"
    return UNKNOWN, f"{what} so far (the request may still land; read the state again)"


def _deployment(intent: Intent, current: Snapshot) -> tuple[str, str] | None:
    """None when the snapshot shows the intent's deployment; else an `unknown` verdict."""
    d = current.deployment
    if d is None or d.id != intent.deployment_id:
        shown = d.id if d else "none"
        return UNKNOWN, f"the state read shows deployment {shown}, not {intent.deployment_id}"
    return None


def _created(intent: Intent, current: Snapshot) -> tuple[str, str]:
    before = intent.planned_from.get("latest_deployment")
    now = current.latest_deployment
    if now and current.automatic is not None and now == current.automatic.id:
        return UNKNOWN, f"the newest deployment, {now}, is one CodeDeploy started by itself"
    if now and now != before:
        d = current.deployment
        status = f" ({d.status})" if d is not None and d.id == now else ""
        return DONE, f"deployment {now}{status} is now the group's latest (was {before or 'none'})"
    return _unchanged(intent, f"the group's latest deployment is still {before or 'none'}")


def _approve(intent: Intent, current: Snapshot) -> tuple[str, str]:
    other = _deployment(intent, current)
    if other:
        return other
    d = current.deployment
    assert d is not None
    if d.status == "Ready":
        return _unchanged(intent, f"{d.id} is still Ready, waiting for approval")
    if d.phase in _REROUTED:
        return DONE, f"{d.id} is {d.status} ({d.phase}): the reroute went ahead"
    return NOT_DONE, f"{d.id} is {d.status} ({d.phase}): the reroute did not start"


def _terminate(intent: Intent, current: Snapshot) -> tuple[str, str]:
    other = _deployment(intent, current)
    if other:
        return other
    d = current.deployment
    assert d is not None
    if d.phase in ("terminating", "succeeded"):
        return DONE, f"{d.id} is {d.status} ({d.phase}): the original instances are going"
    if d.phase == "termination-wait":
        return _unchanged(intent, f"{d.id} is still in its termination wait")
    return NOT_DONE, f"{d.id} is {d.status} ({d.phase})"


def _stop(intent: Intent, current: Snapshot) -> tuple[str, str]:
    other = _deployment(intent, current)
    if other:
        return other
    d = current.deployment
    assert d is not None
    rollback = intent.expect.get("rollback", False)
    if d.status == "Stopped" or (rollback and d.rolled_back_by):
        extra = f"; rolled back by {d.rolled_back_by}" if d.rolled_back_by else ""
        return DONE, f"{d.id} is {d.status}{extra}"
    if d.active:
        return _unchanged(intent, f"{d.id} is still {d.status} ({d.phase})")
    return NOT_DONE, f"{d.id} ended {d.status} on its own"


def _weights(intent: Intent, current: Snapshot) -> tuple[str, str]:
    wanted: dict[str, dict[str, int]] = intent.expect.get("weights", {})
    before: dict[str, dict[str, int]] = intent.planned_from.get("weights", {})
    now = {w.rule_arn: dict(w.weights) for w in current.listeners}
    if "rules" in current.unread or not now:
        return UNKNOWN, "the listener rules could not be read"
    if all(now.get(rule) == split for rule, split in wanted.items()):
        return DONE, "the listener weights are now " + _split_text(current, wanted)
    if all(now.get(rule) == before.get(rule) for rule in wanted):
        return _unchanged(intent, "the listener weights are still " + _split_text(current, before))
    return UNKNOWN, "the listener weights are now " + _split_text(current, now)


def _split_text(current: Snapshot, by_rule: dict[str, dict[str, int]]) -> str:
    where = {w.rule_arn: f"{w.load_balancer}:{w.port}" for w in current.listeners}
    return "; ".join(
        f"{where.get(rule, rule)} "
        + ", ".join(f"{tg} {weight}" for tg, weight in sorted(split.items()))
        for rule, split in by_rule.items()
    )


def _move(intent: Intent, current: Snapshot) -> tuple[str, str]:
    instances: list[str] = intent.expect.get("instances", [])
    sources: list[str] = intent.expect.get("sources", [])
    into = intent.expect.get("direction") == "in"
    if any(f"health:{s}" in current.unread for s in sources):
        return UNKNOWN, "the health of the load balancers could not be read"
    health = {i.id: {h.name: h for h in i.health} for i in current.instances()}
    moved, stayed = [], []
    for iid in instances:
        for source in sources:
            h = health.get(iid, {}).get(source)
            registered = h is not None and h.registered and not h.draining
            if h is not None and h.state == "unused":
                registered = False
            (moved if registered == into else stayed).append(f"{iid} in {source}")
    if not stayed:
        verb = "registered with" if into else "out of (draining or deregistered)"
        return DONE, f"every planned instance is {verb} {', '.join(sources)}"
    if not moved:
        state = "not registered with" if into else "still registered with"
        return _unchanged(intent, f"the planned instances are {state} {', '.join(sources)}")
    return UNKNOWN, f"partly moved: {', '.join(moved[:4])} moved; {', '.join(stayed[:4])} not"


def _repair(intent: Intent, current: Snapshot) -> tuple[str, str]:
    if current.leftovers is None:
        return UNKNOWN, f"the leftovers could not be checked: {current.leftovers_note}"
    planned = set(intent.expect.get("leftovers", []))
    now = {lo.text() for lo in current.leftovers}
    left = planned & now
    if not left:
        return DONE, "none of the planned leftovers remain"
    if left == planned:
        return _unchanged(intent, f"all {len(planned)} planned leftover(s) remain")
    return UNKNOWN, f"{len(planned) - len(left)} of {len(planned)} leftover(s) put right"


def _cleanup(intent: Intent, current: Snapshot) -> tuple[str, str]:
    if current.unowned is None:
        return UNKNOWN, f"unowned capacity could not be checked: {current.unowned_note}"
    planned = set(intent.expect.get("groups", [])) | set(intent.expect.get("previews", []))
    kinds = ("replacement-fleet", "preview-registration")
    now = {lo.resource for lo in current.unowned if lo.kind in kinds}
    left = planned & now
    if not left:
        return DONE, "the left replacement fleet is gone"
    if left == planned:
        return _unchanged(intent, f"{', '.join(sorted(left))} still there")
    return UNKNOWN, f"{', '.join(sorted(left))} still there"


def _preview(intent: Intent, current: Snapshot) -> tuple[str, str]:
    pv = current.preview
    if pv is None or pv.problem is not None:
        why = pv.problem if pv is not None else "no preview is configured"
        return UNKNOWN, f"the preview target group could not be read: {why}"
    planned = set(intent.expect.get("instances", []))
    now = planned & set(pv.registered)
    if now == planned:
        return DONE, f"{', '.join(sorted(planned))} registered in {pv.target_group}"
    if not now:
        return _unchanged(intent, f"none of them is registered in {pv.target_group}")
    return UNKNOWN, f"{len(now)} of {len(planned)} registered in {pv.target_group}"


_READERS = {
    "deploy": _created,
    "redeploy": _created,
    "approve": _approve,
    "terminate-original": _terminate,
    "stop": _stop,
    "rollback": _stop,
    "weights": _weights,
    "move": _move,
    "repair": _repair,
    "cleanup": _cleanup,
    "preview": _preview,
}
