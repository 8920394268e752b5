"""The deployment's phases as a table: each phase's step and the phases it leads to, and
`advance`, which runs a deployment's steps as far as sandbox time allows.

In-place: start -> install. Blue/green: start -> provision -> install -> (ready ->) allow ->
block -> termination_wait -> terminating (KEEP_ALIVE ends after block). A blue/green
rollback: start -> rb_allow -> rb_block -> rb_removing. ContinueDeployment moves a deployment
from ready to allow; ending a deployment (success, failure, stop) moves it to done from any
phase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS, INSTALL_EVENTS

from .diagnostics import MANUAL_STOP_MESSAGE, NO_INSTANCES_MESSAGE, READY_TIMEOUT_MESSAGE
from .endings import finish, succeed
from .events import drive
from .fleet import copy_group, gone, remove_fleet, remove_replacements, swap_attachments
from .model import Deployment, DeploymentTarget, LifecycleEvent
from .stage import begin_stage, check_constraints, step_stage
from .state import CodeDeploy, in_service, on_instances, rollback_on

# A step returns the phase to move to now, or None to stay (also once it ended the deployment).
Step = Callable[[CodeDeploy, Deployment, float], "str | None"]


@dataclass(frozen=True)
class Phase:
    """One row of the table: what the phase does each tick, and where it may lead."""

    step: Step
    leads_to: tuple[str, ...]


def advance(cd: CodeDeploy, dep: Deployment, now: float) -> None:
    """Run the deployment's phases up to `now`; a phase that moves on hands over at once, so
    several may pass in one tick."""
    for _ in range(20):
        if not dep.active:
            return
        if dep.stop_rollback is not None:
            step_stopping(cd, dep, now)
            return
        phase = PHASES[dep.phase]
        following = phase.step(cd, dep, now)
        if following is None:
            return
        if following not in phase.leads_to:
            raise RuntimeError(f"phase {dep.phase} does not lead to {following}")
        dep.phase = following


def step_stopping(cd: CodeDeploy, dep: Deployment, now: float) -> None:
    """A pending stop: let the events running on instances end, then stop."""
    for t in dep.targets.values():
        if t.run is not None:
            drive(cd, dep, t, now)
    if on_instances(dep) and now < dep.stop_deadline:
        return
    rollback = bool(dep.stop_rollback)
    dep.stop_rollback = None
    finish(cd, dep, "Stopped", "MANUAL_STOP", MANUAL_STOP_MESSAGE, rollback=rollback)


# ----- common ----------------------------------------------------------------------------------


def _start(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    dep.status = "InProgress"
    dep.started = cd.world.now()
    if dep.is_rollback and dep.blue_green_style:
        blues = [t for t in dep.targets.values() if t.label == "Blue"]
        begin_stage(cd, dep, blues, ALLOW_EVENTS, now, strict=True)
        return "rb_allow"
    if dep.blue_green_style:
        dep.deadline = now + cd.floor(cd.settings.provision_timeout)
        return "provision" if not dep.copied_asg or copy_group(cd, dep) else None
    if not dep.targets:
        finish(cd, dep, "Failed", "NO_INSTANCES", NO_INSTANCES_MESSAGE, rollback=False)
        return None
    if dep.automatic:
        # A few named instances, each of which must succeed: no minimum to keep healthy.
        events = [e.name for e in next(iter(dep.targets.values())).events]
        begin_stage(cd, dep, list(dep.targets.values()), events, now, strict=True)
        return "install"
    if not check_constraints(cd, dep, len(dep.targets)):
        return None
    segment_events = [
        e.name for e in next(iter(dep.targets.values())).events if e.status == "Pending"
    ]
    begin_stage(cd, dep, list(dep.targets.values()), segment_events, now)
    return "install"


def _done(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    return None


# ----- blue/green ------------------------------------------------------------------------------


def _replacement_members(cd: CodeDeploy, dep: Deployment) -> tuple[list[str], bool]:
    """The replacement instances found so far, and whether the fleet is complete."""
    world = cd.world
    if dep.copied_asg:
        copy = world.asgs.get(dep.copied_asg)
        members = in_service(world, copy) if copy else []
        return members, copy is not None and len(members) >= copy.desired
    ti = dep.target_instances or {}
    members = []
    for name in ti.get("autoScalingGroups") or []:
        asg = world.asgs.get(name)
        if asg is not None:
            members += in_service(world, asg)
    members += cd.tagged(ti.get("tagFilters") or [], ti.get("ec2TagSet"))
    return [m for m in dict.fromkeys(members) if m not in dep.originals], True


def _provision(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    members, ready = _replacement_members(cd, dep)
    if not ready:
        if now >= (dep.deadline or now):
            finish(
                cd,
                dep,
                "Failed",
                "AUTO_SCALING_CONFIGURATION",
                f"The replacement Auto Scaling group {dep.copied_asg} did not reach its "
                "desired capacity in time.",
                rollback=False,
            )
        return None
    if not dep.originals or not members:
        finish(cd, dep, "Failed", "NO_INSTANCES", NO_INSTANCES_MESSAGE, rollback=False)
        return None
    dep.replacements = members
    for iid in members:
        dep.targets[iid] = DeploymentTarget(
            iid,
            "Green",
            [LifecycleEvent(n) for n in INSTALL_EVENTS + ALLOW_EVENTS],
            cd.world.now(),
        )
    if not check_constraints(cd, dep, len(members)):
        return None
    waits = cd.ready_option(dep).get("actionOnTimeout") == "STOP_DEPLOYMENT"
    begin_stage(
        cd,
        dep,
        [dep.targets[i] for i in members],
        INSTALL_EVENTS,
        now,
        done_status="Ready" if waits else "InProgress",
    )
    return "install"


def _install(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if not step_stage(cd, dep, now):
        return None
    if not dep.blue_green_style:
        succeed(cd, dep)
        return None
    dep.install_failed = len(dep.stage.failed)
    ready = cd.ready_option(dep)
    if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT":
        dep.status = "Ready"
        dep.deadline = dep.stage.finished_at + 60.0 * int(ready.get("waitTimeInMinutes") or 0)
        dep.stage = None
        return "ready"
    begin_allow(cd, dep, dep.stage.finished_at)
    return "allow"


def _ready(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if now < (dep.deadline or 0.0):
        return None
    finish(
        cd,
        dep,
        "Stopped",
        "TIMEOUT",
        READY_TIMEOUT_MESSAGE,
        rollback=rollback_on(dep, "DEPLOYMENT_FAILURE"),
    )
    return None


def begin_allow(cd: CodeDeploy, dep: Deployment, at: float) -> None:
    """Start AllowTraffic on the replacement instances that installed the revision (the
    stage of phase allow)."""
    installed = [
        dep.targets[i] for i in dep.replacements if dep.targets[i].status in ("Ready", "InProgress")
    ]
    begin_stage(cd, dep, installed, ALLOW_EVENTS, at, failed_before=dep.install_failed)


def _allow(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if not step_stage(cd, dep, now):
        return None
    blues = [dep.targets[i] for i in dep.originals]
    begin_stage(cd, dep, blues, BLOCK_EVENTS, dep.stage.finished_at, strict=True)
    return "block"


def _block(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if not step_stage(cd, dep, now):
        return None
    finished_at = dep.stage.finished_at
    dep.stage = None
    swap_attachments(cd, dep, forward=True)
    option = (dep.blue_green or {}).get("terminateBlueInstancesOnDeploymentSuccess") or {}
    if option.get("action", "TERMINATE") == "TERMINATE":
        dep.termination_wait_started = True
        dep.deadline = finished_at + 60.0 * int(option.get("terminationWaitTimeInMinutes", 0))
        return "termination_wait"
    succeed(cd, dep)
    return None


def _termination_wait(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if now < (dep.deadline or 0.0):
        return None
    dep.originals_terminated = True
    remove_fleet(cd, dep.original_asgs, dep.originals)
    return "terminating"


def _terminating(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if gone(cd, dep.originals, dep.original_asgs):
        succeed(cd, dep)
    return None


# ----- blue/green rollback ---------------------------------------------------------------------


def _rb_allow(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if not step_stage(cd, dep, now):
        return None
    greens = [t for t in dep.targets.values() if t.label == "Green"]
    begin_stage(cd, dep, greens, BLOCK_EVENTS, dep.stage.finished_at, strict=True)
    return "rb_block"


def _rb_block(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    if not step_stage(cd, dep, now):
        return None
    dep.stage = None
    trigger = cd.deployments[dep.rollback_of or ""]
    if trigger.swapped:
        swap_attachments(cd, trigger, forward=False)
    remove_replacements(cd, trigger)
    return "rb_removing"


def _rb_removing(cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
    trigger = cd.deployments[dep.rollback_of or ""]
    if gone(cd, trigger.replacements, trigger.replacement_asgs):
        succeed(cd, dep)
    return None


PHASES: dict[str, Phase] = {
    "start": Phase(_start, ("install", "provision", "rb_allow")),
    "provision": Phase(_provision, ("install",)),
    "install": Phase(_install, ("ready", "allow")),
    "ready": Phase(_ready, ()),
    "allow": Phase(_allow, ("block",)),
    "block": Phase(_block, ("termination_wait",)),
    "termination_wait": Phase(_termination_wait, ("terminating",)),
    "terminating": Phase(_terminating, ()),
    "rb_allow": Phase(_rb_allow, ("rb_block",)),
    "rb_block": Phase(_rb_block, ("rb_removing",)),
    "rb_removing": Phase(_rb_removing, ()),
    "done": Phase(_done, ()),
}
