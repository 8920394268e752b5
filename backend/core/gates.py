"""Pure checks over a Snapshot: may we reroute now?

Nothing here calls AWS. `evaluate` gives the readiness gates checked before the traffic reroute
is approved (whether each action is possible now is `cutover.backend.actions.availability`).
Every `Check.reason` is written for a person at 3 a.m.: it names the instance, the target group
or the alarm, and says what to do or what will happen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from cutover.backend.config import GateSettings
from cutover.backend.model import Check, Environment, Instance, Snapshot

GATES: tuple[str, ...] = ("replacement-healthy", "capacity", "alarms", "fleet-unchanged")

# EC2 / Auto Scaling states in which an instance still counts as part of its fleet.
_LIVE_EC2 = (None, "pending", "running")
_MAX_LISTED = 5  # problems named in one reason; the rest are counted


def live(instance: Instance) -> bool:
    """Whether an instance is (or is about to be) part of its fleet: not stopped, not on its
    way out of EC2 or its Auto Scaling group."""
    asg = instance.asg_lifecycle or ""
    return instance.ec2_state in _LIVE_EC2 and not asg.startswith(("Terminating", "Detach"))


def live_ids(env: Environment | None) -> tuple[str, ...]:
    """The sorted ids of an environment's live instances."""
    if env is None:
        return ()
    return tuple(sorted(i.id for i in env.instances if live(i)))


def _join(problems: list[str]) -> str:
    shown = problems[:_MAX_LISTED]
    more = len(problems) - len(shown)
    text = "; ".join(shown)
    return f"{text}; and {more} more" if more else text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _health_text(instance: Instance, source: str) -> str | None:
    """Why an instance is not healthy in one target group / classic LB, or None if it is."""
    h = next((h for h in instance.health if h.name == source), None)
    if h is None:
        return f"{instance.id} has no health reading in {source}"
    if not h.registered or h.healthy:
        return None
    detail = ": ".join(x for x in (h.reason, h.description) if x)
    state = "draining" if h.draining else h.state
    return f"{instance.id} is {state} in {source}" + (f" ({detail})" if detail else "")


# ----- the gates ---------------------------------------------------------------------------------


def replacement_healthy(
    snapshot: Snapshot, settings: GateSettings, *, serving: bool = False
) -> Check:
    """Every replacement instance running, installed, and healthy in every target group and
    classic load balancer of the group where it is registered.

    Before the reroute CodeDeploy has not registered the replacement instances yet (it does so
    in AllowTraffic), so an unregistered instance passes on CodeDeploy's own evidence (all its
    lifecycle events up to ValidateService succeeded); once registered, the load balancer's
    health decides. With `serving` (after the reroute, before the originals go) every
    replacement must be registered and healthy everywhere: it is all that will be left.
    """
    name = "replacement-healthy"
    if not settings.require_healthy:
        return Check(name, True, "not checked (gates: require_healthy is false)")
    env = snapshot.replacement
    if env is None or not env.instances:
        return Check(name, False, "there are no replacement instances yet")
    sources = (*snapshot.target_groups, *snapshot.classic_load_balancers)
    problems = [
        f"health in {s} could not be read just now (retry in a moment)"
        for s in sources
        if f"health:{s}" in snapshot.unread
    ]
    unregistered: set[str] = set()
    checked = 0
    for inst in env.instances:
        if not live(inst):
            state = inst.ec2_state or inst.asg_lifecycle or "gone"
            problems.append(f"{inst.id} is {state}")
            continue
        checked += 1
        if inst.lifecycle_status not in (None, "Ready", "Succeeded"):
            failed = inst.failed_event
            why = f"CodeDeploy status {inst.lifecycle_status}"
            if failed is not None:
                why += f", {failed.name} failed"
                if failed.error_code:
                    why += f" ({failed.error_code})"
            problems.append(f"{inst.id} has not finished installing ({why})")
        for source in sources:
            if f"health:{source}" in snapshot.unread:
                continue
            h = next((h for h in inst.health if h.name == source), None)
            if serving and (h is None or not h.registered or h.state == "unused"):
                problems.append(f"{inst.id} is not registered in {source}")
                continue
            if h is not None and not h.registered:
                unregistered.add(source)
                continue
            text = _health_text(inst, source)
            if text:
                problems.append(text)
    note = ""
    if not serving and snapshot.preview is not None:
        more, note = _preview(snapshot)
        problems += more
    if problems:
        return Check(name, False, _join(problems))
    if not sources:
        return Check(
            name, True, f"{_plural(checked, 'replacement instance')} installed and running{note}"
        )
    registered = [s for s in sources if s not in unregistered]
    parts = []
    if registered:
        parts.append(
            f"all {_plural(checked, 'replacement instance')} healthy in {', '.join(registered)}"
        )
    if unregistered:
        parts.append(
            f"{'all ' if not registered else ''}{_plural(checked, 'replacement instance')}"
            f" installed and running; not yet registered with {', '.join(sorted(unregistered))}"
            " (CodeDeploy registers them during the reroute and waits for them to be healthy)"
        )
    return Check(name, True, "; ".join(parts) + note)


def production_reaches(snapshot: Snapshot) -> str | None:
    """Why the preview target group is not a preview: it is one of the group's production
    target groups, or a listener that serves production forwards to it by weight. Registering
    the replacements there would send clients to a fleet nobody approved."""
    pv = snapshot.preview
    if pv is None:
        return None
    production = set(snapshot.target_groups) | {n for n, _ in snapshot.target_group_arns}
    arns = {a for _, a in snapshot.target_group_arns}
    if pv.target_group in production or (pv.arn is not None and pv.arn in arns):
        return (
            f"{pv.target_group} is a production target group of this deployment group: a preview"
            " must be one only a test listener (or rule) forwards to"
        )
    for lw in snapshot.listeners:
        names = dict(lw.weights)
        if names.get(pv.target_group, 0) > 0 and any(
            w > 0 and n in production for n, w in lw.weights
        ):
            return (
                f"{lw.load_balancer}:{lw.port} forwards production traffic to"
                f" {pv.target_group} (weight {names[pv.target_group]}): a preview must be one"
                " only a test listener (or rule) forwards to"
            )
    return None


def _preview(snapshot: Snapshot) -> tuple[list[str], str]:
    """(what blocks, what the passing reason adds) from the preview target group.

    Registered there, the replacements are health-checked by the load balancer itself, so its
    verdict decides: unhealthy or still initial blocks, with ELB's reason. Not registered yet
    (or a preview that cannot be evidence), nothing blocks: CodeDeploy's evidence decides as
    without a preview, and the reason says the preview was not used (docs/config.md)."""
    pv = snapshot.preview
    assert pv is not None
    # Unread is not "not used": the replacements may be registered there and failing.
    if {"preview", "health:preview"} & set(snapshot.unread):
        return [
            f"health in preview {pv.target_group} could not be read just now (retry in a moment)"
        ], ""
    problem = pv.problem or production_reaches(snapshot)
    if problem is not None:
        return [], f"; preview not used: {problem}"
    ids = live_ids(snapshot.replacement)
    registered = [i for i in ids if (h := pv.health_of(i)) is not None and h.registered]
    if not registered:
        return [], f"; not previewed: p registers the replacements in {pv.target_group}"
    problems = []
    for iid in ids:
        h = pv.health_of(iid)
        if h is None or not h.registered:
            problems.append(f"{iid} is not in preview {pv.target_group} (p registers it there too)")
            continue
        if h.healthy:
            continue
        detail = ": ".join(x for x in (h.reason, h.description) if x)
        state = "draining" if h.draining else h.state
        problems.append(
            f"{iid} is {state} in preview {pv.target_group}" + (f" ({detail})" if detail else "")
        )
    if problems:
        return problems, ""
    at = f" behind {pv.listener}" if pv.listener else ""
    every = f"all {_plural(len(ids), 'replacement instance')}"
    return [], f"; {every} healthy in preview {pv.target_group}{at}"


def capacity(snapshot: Snapshot, settings: GateSettings) -> Check:
    """Replacement running capacity at least `min_capacity_percent` of the original's."""
    name = "capacity"
    pct = settings.min_capacity_percent
    if pct <= 0:
        return Check(name, True, "not checked (gates: min_capacity_percent is 0)")
    original = snapshot.original.capacity if snapshot.original else 0
    replacement = snapshot.replacement.capacity if snapshot.replacement else 0
    if "instances" in snapshot.unread or "auto-scaling" in snapshot.unread:
        return Check(name, False, "instance states could not be read just now (retry in a moment)")
    need = math.ceil(original * pct / 100)
    text = (
        f"replacement has {replacement} running, original {original}"
        f" (at least {need} needed: min_capacity_percent {pct})"
    )
    if replacement >= need:
        return Check(name, True, text)
    env = snapshot.replacement
    if env is not None and env.desired is not None and replacement >= env.desired:
        # Nothing more is coming: the original grew after the replacement was sized.
        where = env.asg_name or "the replacement Auto Scaling group"
        return Check(
            name,
            False,
            text + f"; {where} is at its desired capacity {env.desired}, so the original has"
            f" grown since it was copied: raise {where} to {need}, or approve with"
            " --override-gates",
        )
    return Check(
        name,
        False,
        text + "; wait for the replacement Auto Scaling group to reach its desired capacity",
    )


def alarms(snapshot: Snapshot, settings: GateSettings) -> Check:
    """No alarm of the deployment group in ALARM."""
    name = "alarms"
    if not settings.block_on_alarm:
        return Check(name, True, "not checked (gates: block_on_alarm is false)")
    if "alarms" in snapshot.unread:
        return Check(name, False, "alarm states could not be read just now (retry in a moment)")
    if not snapshot.alarms:
        return Check(name, True, "the deployment group has no alarms")
    firing = [a for a in snapshot.alarms if a.state == "ALARM"]
    if firing:
        return Check(
            name,
            False,
            _join(
                [
                    f"alarm {a.name} is in ALARM" + (f" ({a.reason})" if a.reason else "")
                    for a in firing
                ]
            ),
        )
    states = ", ".join(f"{a.name} {a.state}" for a in snapshot.alarms)
    missing = [a.name for a in snapshot.alarms if a.state == "MISSING"]
    text = f"no alarm in ALARM ({states})"
    if missing:
        text += f"; {', '.join(missing)} does not exist in CloudWatch"
    return Check(name, True, text)


def fleet_unchanged(snapshot: Snapshot, settings: GateSettings) -> Check:
    """The live replacement instances are exactly the ones this deployment installed and
    validated, by CodeDeploy's own target list (no instance replaced, terminated or added
    since, e.g. by Auto Scaling)."""
    name = "fleet-unchanged"
    if not settings.require_unchanged_fleet:
        return Check(name, True, "not checked (gates: require_unchanged_fleet is false)")
    dep = snapshot.deployment
    if {"targets", "instances", "auto-scaling"} & set(snapshot.unread):
        return Check(
            name, False, "the replacement fleet could not be read just now (retry in a moment)"
        )
    if dep is None or dep.ready_fleet is None:
        return Check(
            name, True, "the deployment has no replacement targets yet: nothing to compare"
        )
    now = set(live_ids(snapshot.replacement))
    then = set(dep.ready_fleet)
    when = (
        f" (Ready at {dep.ready_fleet_seen.strftime('%H:%M:%S UTC')})"
        if dep.ready_fleet_seen
        else ""
    )
    if now == then:
        return Check(
            name,
            True,
            f"the replacement fleet is the {_plural(len(now), 'instance')} CodeDeploy installed"
            f" and validated{when}",
        )
    auto = snapshot.automatic
    changes = [f"{i} is gone" for i in sorted(then - now)]
    for i in sorted(now - then):
        if auto is not None and i in auto.instances:
            rev = f" {auto.revision}," if auto.revision else ""
            changes.append(
                f"{i} is new (launched by Auto Scaling: CodeDeploy's own deployment {auto.id}"
                f" installs the group's last successful revision{rev} not {dep.id}'s)"
            )
        else:
            changes.append(f"{i} is new (not deployed by {dep.id})")
    return Check(
        name,
        False,
        f"the replacement fleet differs from the instances {dep.id} deployed{when}:"
        f" {_join(changes)}; stop this deployment and deploy again",
    )


def evaluate(snapshot: Snapshot, settings: GateSettings) -> tuple[Check, ...]:
    """The readiness gates for approving the reroute, in `GATES` order."""
    return (
        replacement_healthy(snapshot, settings),
        capacity(snapshot, settings),
        alarms(snapshot, settings),
        fleet_unchanged(snapshot, settings),
    )


def evaluate_termination(snapshot: Snapshot, settings: GateSettings) -> tuple[Check, ...]:
    """The gates for ending the termination wait early: once the originals are gone the
    replacement is all there is, so it must be healthy everywhere, big enough, no alarm may
    be firing, and it must be the fleet this deployment installed (an instance Auto Scaling
    launched since runs the group's previous revision until a follow-on deployment)."""
    return (
        replacement_healthy(snapshot, settings, serving=True),
        capacity(snapshot, settings),
        alarms(snapshot, settings),
        fleet_unchanged(snapshot, settings),
    )


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.passed]
