"""The phase of a deployment and its moments, from CodeDeploy's status and the instances'
lifecycle events: what the deployment is doing, what it waits on a person for, when the
replacement fleet became ready and when the reroute ended."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from cutover.backend.model import Instance, LifecycleEvent
from cutover.common.lifecycle import (
    ALLOW_EVENTS,
    BLOCK_EVENTS,
    INSTALL_EVENTS,
    TRAFFIC_HOOK_EVENTS,
)


def current_event(status: str | None, events: Sequence[LifecycleEvent]) -> str | None:
    """The event CodeDeploy is on for one target: the one in progress, else (between events of
    a target in progress) the next pending one, else the failed one."""
    running = next((e for e in events if e.status == "InProgress"), None)
    if running:
        return running.name
    if status == "InProgress":
        pending = next((e for e in events if e.status == "Pending"), None)
        if pending:
            return pending.name
    if status == "Failed":
        failed = next((e for e in events if e.status == "Failed"), None)
        if failed:
            return failed.name
    return None


def _any_started(instances: Iterable[Instance], names: Iterable[str]) -> bool:
    names = tuple(names)
    return any(
        e.name in names and e.status not in ("Pending", "Unknown")
        for i in instances
        for e in i.events
    )


def _going(instance: Instance) -> bool:
    return instance.ec2_state in ("shutting-down", "terminated", "stopping", "stopped") or (
        instance.asg_lifecycle or ""
    ).startswith("Terminating")


def derive_phase(
    status: str,
    *,
    style: str = "BLUE_GREEN",
    is_rollback: bool = False,
    termination_wait_started: bool = False,
    original: Sequence[Instance] = (),
    replacement: Sequence[Instance] = (),
    fleet: Sequence[Instance] = (),
    termination_deadline: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """The phase (one of model.PHASES) from CodeDeploy's status, the instances' lifecycle
    events and the termination wait.

    Terminal statuses map one to one; an active rollback deployment is `rolling-back`; `Ready`
    is `ready`. While InProgress, blue/green is `terminating` once the termination wait has
    run out or every original is on its way out, `termination-wait` once the wait started,
    `rerouting` once any traffic event started, `installing` once any install event started,
    else `provisioning`. In-place: `provisioning` until an event starts, then `installing`.
    """
    if status == "Succeeded":
        return "succeeded"
    if status == "Failed":
        return "failed"
    if status == "Stopped":
        return "stopped"
    if is_rollback:
        return "rolling-back"
    if status == "Ready":
        return "ready"
    everyone = (*fleet, *original, *replacement)
    # GetDeployment and the targets are separate reads: the targets may already be moving
    # while the deployment still reads Created.
    if status in ("Created", "Queued") and not _any_started(
        everyone, INSTALL_EVENTS + TRAFFIC_HOOK_EVENTS
    ):
        return "provisioning"
    if style != "BLUE_GREEN":
        return (
            "installing"
            if _any_started(everyone, INSTALL_EVENTS + TRAFFIC_HOOK_EVENTS)
            else ("provisioning")
        )
    if termination_wait_started:
        past = termination_deadline is not None and now is not None and now >= termination_deadline
        # CodeDeploy ends the whole original fleet: one original going alone is Auto Scaling
        # scaling in (or replacing it), not the end of the wait.
        if past or (original and all(_going(i) for i in original)):
            return "terminating"
        return "termination-wait"
    if _any_started(replacement, ALLOW_EVENTS) or _any_started(original, BLOCK_EVENTS):
        return "rerouting"
    if _any_started(replacement, INSTALL_EVENTS):
        return "installing"
    return "provisioning"


def waiting_for(phase: str) -> str | None:
    """What the deployment waits on a person for: reroute approval, termination, or nothing."""
    return {"ready": "reroute-approval", "termination-wait": "termination"}.get(phase)


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def ready_since(replacement: Sequence[Instance]) -> datetime | None:
    """When the replacement fleet became Ready: the last ValidateService end (or the last
    Ready target's lastUpdatedAt when the events carry no end)."""
    ends = [
        (next((e.end for e in i.events if e.name == "ValidateService" and e.end), None))
        or (i.last_updated if i.lifecycle_status == "Ready" else None)
        for i in replacement
    ]
    return _latest(ends)


def reroute_finished(original: Sequence[Instance], everyone: Sequence[Instance]) -> datetime | None:
    """When the reroute ended: the last AfterBlockTraffic end of the originals, else the last
    end of any traffic event."""
    end = _latest(e.end for i in original for e in i.events if e.name == "AfterBlockTraffic")
    if end is not None:
        return end
    return _latest(e.end for i in everyone for e in i.events if e.name in TRAFFIC_HOOK_EVENTS)
