"""Done means done: whether what an action was sent to do is seen in the state.

AWS accepting a call is not the end of the story: approving the reroute means traffic on the
replacement, a rollback means a rollback deployment CodeDeploy starts, whose own outcome may
be a failure. `effect` reads one snapshot and says observed, pending or failed, in words a
person can act on; the dashboard and `cutover ACTION --wait` both ask it, snapshot after
snapshot, so a flag and a screen never disagree about when something is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cutover.backend.model import Deployment, Environment, Snapshot

OBSERVED = "observed"
PENDING = "pending"
FAILED = "failed"

# The actions whose effect can be watched (shift and repair act on the load balancer or the
# instances at once: their outcome is the call's answer).
WATCHED = ("deploy", "approve", "terminate-original", "stop", "rollback")

_HEALTHY = ("healthy", "InService")
_GONE = ("shutting-down", "terminated")
_RUNNING = ("pending", "running", "stopping", "stopped")


@dataclass(frozen=True)
class Effect:
    state: Literal["observed", "pending", "failed"]
    words: str
    # The deployment to read from now on: the rollback deployment CodeDeploy started for the
    # one the action stopped (its outcome is the rollback's).
    watch: str | None = None

    @property
    def done(self) -> bool:
        return self.state != PENDING


def effect(action: str, acted: str, snap: Snapshot) -> Effect:
    """The effect of `action`, sent about deployment `acted` (for deploy and a redeploy, the
    deployment it started), as `snap` shows it. `snap` may show `acted` or the rollback
    deployment that rolls it back; anything else is pending (read `acted` again)."""
    dep = snap.deployment
    if dep is None:
        return Effect(PENDING, f"{acted} not read yet")
    if dep.id != acted:
        if dep.rollback_of == acted:
            return _rollback_outcome(dep, snap)
        return Effect(PENDING, f"{acted} not shown (the screen shows {dep.id})", watch=acted)
    if dep.rolled_back_by and action in ("rollback", "deploy", "approve", "terminate-original"):
        if action == "rollback":
            return Effect(
                PENDING,
                f"{acted} stopped; CodeDeploy rolls back with {dep.rolled_back_by}",
                watch=dep.rolled_back_by,
            )
        return Effect(
            FAILED,
            f"{acted} {dep.status}{_why(dep)}{_failed_at(snap)}; CodeDeploy rolls back with"
            f" {dep.rolled_back_by}",
            watch=dep.rolled_back_by,
        )
    return _RULES.get(action, _deploy)(dep, snap)


def _why(dep: Deployment) -> str:
    why = f"{dep.error_code or ''} {dep.error_message or ''}".strip()
    return f" ({why})" if why else ""


def _failed_at(snap: Snapshot) -> str:
    """`; i-0abc failed at AfterInstall: exit 1`: the first instance that failed, if any."""
    for inst in snap.instances():
        ev = inst.failed_event
        if ev is not None:
            return f"; {inst.id} failed at {ev.name}" + (f": {ev.message}" if ev.message else "")
    return ""


def _finished_badly(dep: Deployment, snap: Snapshot) -> Effect | None:
    if dep.status in ("Failed", "Stopped"):
        return Effect(FAILED, f"{dep.id} {dep.status}{_why(dep)}{_failed_at(snap)}")
    return None


def healthy_words(env: Environment | None) -> str:
    """`4/4 healthy in web-tg`: the environment's live instances healthy in each target group
    (or classic load balancer) they are registered with; `4 instances, in no load balancer`
    before they are (a replacement before the reroute)."""
    live = [i for i in (env.instances if env else ()) if i.ec2_state not in _GONE]
    if not live:
        return "no instances"
    places: dict[str, int] = {}
    for inst in live:
        for h in inst.health:
            if not h.registered:
                continue
            places.setdefault(h.name, 0)
            if h.state in _HEALTHY:
                places[h.name] += 1
    if not places:
        return f"{len(live)} instance{'s' if len(live) != 1 else ''}, in no load balancer yet"
    return ", ".join(f"{n}/{len(live)} healthy in {name}" for name, n in places.items())


def _removed(env: Environment | None) -> str:
    # Only what EC2 says runs counts: a terminated instance EC2 no longer describes has no
    # state at all.
    live = [i for i in (env.instances if env else ()) if i.ec2_state in _RUNNING]
    if not live:
        return "removed"
    return f"{len(live)} instance{'s' if len(live) != 1 else ''} still running"


def _deploy(dep: Deployment, snap: Snapshot) -> Effect:
    bad = _finished_badly(dep, snap)
    if bad is not None:
        return bad
    if dep.status == "Succeeded":
        where = snap.replacement if dep.style == "BLUE_GREEN" else snap.fleet
        return Effect(OBSERVED, f"{dep.id} Succeeded: {healthy_words(where)}")
    if dep.status == "Ready" and dep.waiting_for == "reroute-approval":
        return Effect(
            OBSERVED,
            f"{dep.id} Ready: replacement installed, {healthy_words(snap.replacement)}; waiting"
            " for the reroute approval",
        )
    return Effect(PENDING, f"{dep.id} {dep.status} ({dep.phase}){_progress(dep)}")


def _progress(dep: Deployment) -> str:
    ov = dep.overview or {}
    total = sum(ov.values())
    return f", instances {ov.get('Succeeded', 0)}/{total} succeeded" if total else ""


def _approve(dep: Deployment, snap: Snapshot) -> Effect:
    bad = _finished_badly(dep, snap)
    if bad is not None:
        return bad
    if dep.status == "Succeeded" or dep.phase in ("termination-wait", "terminating"):
        return Effect(OBSERVED, f"traffic on the replacement: {healthy_words(snap.replacement)}")
    return Effect(PENDING, f"{dep.id} {dep.status} ({dep.phase})")


def _terminate(dep: Deployment, snap: Snapshot) -> Effect:
    bad = _finished_badly(dep, snap)
    if bad is not None:
        return bad
    if dep.status == "Succeeded":
        left = _removed(snap.original)
        if left != "removed":
            return Effect(PENDING, f"{dep.id} Succeeded; originals: {left}")
        return Effect(
            OBSERVED,
            f"originals terminated; traffic on the replacement: {healthy_words(snap.replacement)}",
        )
    return Effect(PENDING, f"{dep.id} {dep.status} ({dep.phase}): originals terminating")


def _stop(dep: Deployment, snap: Snapshot) -> Effect:
    if dep.status == "Succeeded":
        return Effect(FAILED, f"{dep.id} finished (Succeeded) before it could be stopped")
    if dep.status in ("Stopped", "Failed"):
        serving = _serving(snap)
        return Effect(OBSERVED, f"{dep.id} {dep.status}" + (f"; {serving}" if serving else ""))
    return Effect(PENDING, f"{dep.id} {dep.status} ({dep.phase}): stopping")


def _serving(snap: Snapshot) -> str:
    traffic = snap.traffic
    if snap.deployment is None or snap.deployment.style != "BLUE_GREEN" or traffic is None:
        return f"fleet: {healthy_words(snap.fleet)}" if snap.fleet else ""
    if traffic.replacement_percent <= 0:
        return f"traffic on the originals: {healthy_words(snap.original)}"
    if traffic.original_percent <= 0:
        return f"traffic on the replacement: {healthy_words(snap.replacement)}"
    return (
        f"traffic split {traffic.original_percent:.0f}/{traffic.replacement_percent:.0f}"
        " between the originals and the replacement"
    )


def _rollback(dep: Deployment, snap: Snapshot) -> Effect:
    if dep.creator == "user" and dep.rollback_of is None and dep.status != "Stopped":
        # A redeploy of the last good revision (the way back from a finished deployment):
        # back only once it succeeded, not when its replacement waits for the reroute.
        got = _deploy(dep, snap)
        if got.state == OBSERVED and dep.status != "Succeeded":
            return Effect(PENDING, got.words)
        return got
    if dep.status == "Succeeded":
        return Effect(FAILED, f"{dep.id} finished (Succeeded) before it could be rolled back")
    if dep.status in ("Stopped", "Failed"):
        return Effect(
            PENDING, f"{dep.id} {dep.status}; waiting for CodeDeploy's rollback deployment"
        )
    return Effect(PENDING, f"{dep.id} {dep.status} ({dep.phase}): stopping")


def _rollback_outcome(rb: Deployment, snap: Snapshot) -> Effect:
    """A rollback deployment CodeDeploy started: its outcome, and where traffic is."""
    if rb.status in ("Failed", "Stopped"):
        return Effect(FAILED, f"rollback {rb.id} {rb.status}{_why(rb)}")
    if rb.status != "Succeeded":
        return Effect(PENDING, f"rollback {rb.id} {rb.status} ({rb.phase})")
    if rb.style == "BLUE_GREEN":
        return Effect(
            OBSERVED,
            f"rollback {rb.id} Succeeded: traffic back on the originals:"
            f" {healthy_words(snap.original)}, replacement {_removed(snap.replacement)}",
        )
    revision = f"{rb.revision} " if rb.revision else ""
    return Effect(
        OBSERVED,
        f"rollback {rb.id} Succeeded: {revision}serves again, {healthy_words(snap.fleet)}",
    )


_RULES = {
    "deploy": _deploy,
    "approve": _approve,
    "terminate-original": _terminate,
    "stop": _stop,
    "rollback": _rollback,
}
