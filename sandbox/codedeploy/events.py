"""Running lifecycle events on a deployment's targets: start each event of a target's segment
in turn (by the hook strategy, by CodeDeploy itself for traffic, or as a fault says), poll
it, and record how it ended."""

from __future__ import annotations

from cutover.common.lifecycle import STOP_EVENTS

from .diagnostics import AGENT_LOST_MESSAGE, SUCCESS_DIAGNOSTICS, script_failure
from .hooks import HookContext, HookResult, TimedRun
from .model import Deployment, DeploymentTarget, LifecycleEvent
from .state import CodeDeploy
from .traffic import AllowTraffic, BlockTraffic


def begin_target(
    cd: CodeDeploy, dep: Deployment, t: DeploymentTarget, events: tuple, at: float
) -> None:
    names = set(events)
    t.segment = [i for i, e in enumerate(t.events) if e.name in names and e.status == "Pending"]
    t.cursor = 0
    t.clock = at
    t.status = "InProgress"
    t.updated = cd.at(at)


def drive(cd: CodeDeploy, dep: Deployment, t: DeploymentTarget, now: float) -> str | None:
    """Run the target's segment as far as time allows: "ok", "failed" or None (running)."""
    while True:
        if t.run is None:
            if t.cursor >= len(t.segment):
                return "ok"
            if dep.stop_rollback is not None:
                return None
            _start_event(cd, dep, t, t.events[t.segment[t.cursor]])
        ev = t.events[t.segment[t.cursor]]
        result = _poll_event(cd, dep, t, ev, now)
        if result is None:
            return None
        end = now if result.at is None else min(result.at, now)
        t.run = None
        t.clock = end
        ev.end = cd.at(end)
        t.updated = ev.end
        ignorable = dep.ignore_stop_failures and ev.name in STOP_EVENTS
        if result.ok or ignorable:
            ev.status = "Succeeded" if result.ok else "Failed"
            ev.diagnostics = dict(SUCCESS_DIAGNOSTICS) if result.ok else result.diagnostics
            _event_succeeded(cd, dep, t, ev)
            t.cursor += 1
            continue
        ev.status = "Failed"
        ev.diagnostics = result.diagnostics
        t.status = "Failed"
        for later in t.events:
            if later.status == "Pending":
                later.status = "Skipped"
        return "failed"


def _start_event(cd: CodeDeploy, dep: Deployment, t: DeploymentTarget, ev: LifecycleEvent) -> None:
    world = cd.world
    ev.status = "InProgress"
    ev.start = cd.at(t.clock)
    t.updated = ev.start
    inst = world.instances.get(t.instance_id)
    if cd.faults.take(cd.faults.kills, dep, t, ev.name) and inst is not None:
        world.terminate_instance(inst, "Instance terminated during a deployment")
    if inst is None or inst.state not in ("pending", "running"):
        # Nothing to run on a dead instance; _poll_event fails the event.
        t.run = TimedRun(t.clock)
        return
    if ev.name == "AllowTraffic":
        t.run = AllowTraffic(cd, dep, t.instance_id, t.clock)
        return
    if ev.name == "BlockTraffic":
        t.run = BlockTraffic(cd, dep, t.instance_id, t.clock)
        return
    if ev.name == "ApplicationStart":
        # The application starts as the event begins, so the revision's own start
        # scripts (ApplicationStart hooks) find it running.
        inst.app_running = True
    duration = cd.settings.durations.get(ev.name, 1.0)
    fault = cd.faults.take(cd.faults.hooks, dep, t, ev.name)
    if fault is not None:
        diagnostics = script_failure(
            ev.name,
            exit_code=fault.exit_code,
            script=fault.script,
            error_code=fault.error_code,
            log_tail=fault.log_tail,
            deployment_group_id=dep.group_id,
            deployment_id=dep.id,
        )
        # A failing script runs a while before it exits.
        t.run = TimedRun(t.clock + duration / 2, HookResult(False, diagnostics))
        return
    t.run = cd.hooks.start(
        HookContext(
            world=world,
            deployment_id=dep.id,
            deployment_group_id=dep.group_id,
            application=dep.application,
            deployment_group=dep.group,
            instance_id=t.instance_id,
            instance_label=t.label,
            event=ev.name,
            revision=dep.revision,
            revision_label=dep.label,
            started=t.clock,
            duration=duration,
            installed_label=inst.revision,
        )
    )


def _poll_event(
    cd: CodeDeploy, dep: Deployment, t: DeploymentTarget, ev: LifecycleEvent, now: float
) -> HookResult | None:
    inst = cd.world.instances.get(t.instance_id)
    if inst is None or inst.state not in ("pending", "running"):
        t.run.cancel()
        return HookResult(
            False,
            {
                "errorCode": "UnknownError",
                "scriptName": "",
                "message": AGENT_LOST_MESSAGE,
                "logTail": "",
            },
            now,
        )
    return t.run.poll(now)


def _event_succeeded(
    cd: CodeDeploy, dep: Deployment, t: DeploymentTarget, ev: LifecycleEvent
) -> None:
    inst = cd.world.instances.get(t.instance_id)
    if inst is None:
        return
    if ev.name == "ApplicationStop":
        # The application stops once the event's scripts ran (a deregistering hook
        # script still finds it serving its in-flight requests).
        inst.app_running = False
    elif ev.name == "Install":
        inst.revision = dep.label
        cd.faults.note_installed(dep, inst)
