"""The reroute gates and the action checks, over hand-built snapshots (no AWS, no sandbox)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cutover.backend.actions.catalogue import NAMES, action_checks
from cutover.backend.config import GateSettings
from cutover.backend.core import gates
from cutover.backend.model import (
    Alarm,
    Check,
    Deployment,
    Environment,
    Instance,
    LifecycleEvent,
    ListenerWeights,
    Snapshot,
    TargetHealth,
)

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
INSTALL = (
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
)


def health(
    state: str = "healthy",
    name: str = "web-tg",
    reason: str | None = None,
    description: str | None = None,
    kind: str = "target-group",
) -> TargetHealth:
    return TargetHealth(name=name, kind=kind, state=state, reason=reason, description=description)  # type: ignore[arg-type]


UNREGISTERED = health("unused", reason="Target.NotRegistered", description="not registered")
UNHEALTHY_503 = health(
    "unhealthy",
    reason="Target.ResponseCodeMismatch",
    description="Health checks failed with these codes: [503]",
)


def events(
    done: tuple[str, ...] = INSTALL, status: str = "Succeeded"
) -> tuple[LifecycleEvent, ...]:
    return tuple(
        LifecycleEvent(
            name, status, start=NOW - timedelta(minutes=5), end=NOW - timedelta(minutes=4)
        )
        for name in done
    )


def instance(
    iid: str,
    *,
    label: str = "Green",
    status: str | None = "Ready",
    ec2_state: str | None = "running",
    asg_lifecycle: str | None = "InService",
    hs: tuple[TargetHealth, ...] = (UNREGISTERED,),
    evs: tuple[LifecycleEvent, ...] = (),
    az: str = "us-east-1a",
) -> Instance:
    return Instance(
        id=iid,
        az=az,
        instance_type="t3.micro",
        ec2_state=ec2_state,
        asg_lifecycle=asg_lifecycle,
        label=label,
        lifecycle_status=status,
        events=evs,
        health=hs,
    )


def originals(n: int = 4, hs: tuple[TargetHealth, ...] = (health(),)) -> tuple[Instance, ...]:
    return tuple(
        instance(f"i-0{k:016x}", label="Blue", status="Pending", hs=hs) for k in range(1, n + 1)
    )


def replacements(
    n: int = 4, hs: tuple[TargetHealth, ...] = (UNREGISTERED,)
) -> tuple[Instance, ...]:
    return tuple(
        instance(f"i-1{k:016x}", label="Green", status="Ready", hs=hs, evs=events())
        for k in range(1, n + 1)
    )


def deployment(status: str = "Ready", phase: str = "ready", **kw: object) -> Deployment:
    base = {
        "id": "d-TEST00001",
        "status": status,
        "phase": phase,
        "application": "web",
        "deployment_group": "web-prod",
        "style": "BLUE_GREEN",
        "traffic_control": True,
        "revision": "s3://b/web/v2.zip",
        "previous_revision": "s3://b/web/v1.zip",
        "ready_action": "STOP_DEPLOYMENT",
        "ready_wait_minutes": 60,
        "termination_action": "TERMINATE",
        "termination_wait_minutes": 60,
        "waiting_for": {"ready": "reroute-approval", "termination-wait": "termination"}.get(phase),
    }
    base.update(kw)
    return Deployment(**base)  # type: ignore[arg-type]


def snapshot(
    *,
    dep: Deployment | None = None,
    original: tuple[Instance, ...] | None = None,
    replacement: tuple[Instance, ...] | None = None,
    alarms: tuple[Alarm, ...] = (Alarm("web-tg-5xx", "OK"),),
    unread: tuple[str, ...] = (),
    target_groups: tuple[str, ...] = ("web-tg",),
    listeners: tuple[ListenerWeights, ...] = (),
    style: str = "BLUE_GREEN",
) -> Snapshot:
    dep = deployment() if dep is None else dep
    original = originals() if original is None else original
    replacement = replacements() if replacement is None else replacement
    if dep is not None and dep.status == "Ready" and dep.ready_fleet is None:
        ids = tuple(sorted(i.id for i in replacement))
        dep = replace(dep, ready_fleet=ids, ready_fleet_seen=NOW - timedelta(minutes=1))
    return Snapshot(
        target="t",
        server_time=NOW,
        application="web",
        deployment_group="web-prod",
        deployment=dep,
        original=Environment("original", original, asg_name="web-asg", desired=len(original)),
        replacement=Environment("replacement", replacement, asg_name="CodeDeploy_web-prod_d-X"),
        alarms=alarms,
        target_groups=target_groups,
        unread=unread,
        listeners=listeners,
        style=style,
        active_deployment=dep.id if dep is not None and dep.active else None,
    )


def by_name(checks: tuple[Check, ...]) -> dict[str, Check]:
    return {c.name: c for c in checks}


SETTINGS = GateSettings()


# ----- gates -------------------------------------------------------------------------------------


def test_all_gates_pass_for_a_ready_fleet_not_yet_registered() -> None:
    checks = by_name(gates.evaluate(snapshot(), SETTINGS))
    assert list(checks) == list(gates.GATES)
    assert all(c.passed for c in checks.values()), checks
    assert "not yet registered with web-tg" in checks["replacement-healthy"].reason
    assert "4 running, original 4" in checks["capacity"].reason
    assert "web-tg-5xx OK" in checks["alarms"].reason
    assert "the 4 instances CodeDeploy installed and validated" in checks["fleet-unchanged"].reason


def test_unhealthy_replacement_names_the_instance_the_group_and_the_reason() -> None:
    reps = replacements(hs=(health(),))
    bad = replace(reps[1], health=(UNHEALTHY_503,))
    s = snapshot(replacement=(reps[0], bad, *reps[2:]))
    check = gates.replacement_healthy(s, SETTINGS)
    assert not check.passed
    assert check.reason == (
        f"{bad.id} is unhealthy in web-tg (Target.ResponseCodeMismatch:"
        " Health checks failed with these codes: [503])"
    )


def test_healthy_gate_covers_every_target_group_and_classic_lb() -> None:
    ok = (health(), health("InService", name="web-clb", kind="classic"))
    reps = replacements(2, hs=ok)
    out_of_service = health(
        "OutOfService", name="web-clb", kind="classic", reason="Instance", description="down"
    )
    bad = replace(reps[0], health=(health(), out_of_service))
    s = replace(snapshot(replacement=(bad, reps[1])), classic_load_balancers=("web-clb",))
    check = gates.replacement_healthy(s, SETTINGS)
    assert not check.passed
    assert f"{bad.id} is OutOfService in web-clb (Instance: down)" == check.reason
    good = gates.replacement_healthy(
        replace(s, replacement=replace(s.replacement, instances=reps)), SETTINGS
    )
    assert good.passed and "healthy in web-tg, web-clb" in good.reason


def test_draining_initial_and_missing_health_fail() -> None:
    reps = replacements(3)
    draining = replace(
        reps[0], health=(health("draining", reason="Target.DeregistrationInProgress"),)
    )
    initial = replace(reps[1], health=(health("initial", reason="Elb.InitialHealthChecking"),))
    missing = replace(reps[2], health=())
    check = gates.replacement_healthy(snapshot(replacement=(draining, initial, missing)), SETTINGS)
    assert not check.passed
    assert f"{draining.id} is draining in web-tg" in check.reason
    assert f"{initial.id} is initial in web-tg (Elb.InitialHealthChecking" in check.reason
    assert f"{missing.id} has no health reading in web-tg" in check.reason


def test_health_that_could_not_be_read_fails_the_gate() -> None:
    check = gates.replacement_healthy(snapshot(unread=("health:web-tg",)), SETTINGS)
    assert not check.passed
    assert "health in web-tg could not be read" in check.reason


def test_unfinished_install_and_stopped_instance_fail() -> None:
    reps = replacements(2)
    failed_ev = (LifecycleEvent("ValidateService", "Failed", error_code="SCRIPT_FAILED"),)
    failed = replace(reps[0], lifecycle_status="Failed", events=failed_ev)
    stopped = replace(reps[1], ec2_state="stopped")
    check = gates.replacement_healthy(snapshot(replacement=(failed, stopped)), SETTINGS)
    assert not check.passed
    assert (
        f"{failed.id} has not finished installing (CodeDeploy status Failed,"
        " ValidateService failed (SCRIPT_FAILED))"
    ) in check.reason
    assert f"{stopped.id} is stopped" in check.reason


def test_long_problem_lists_are_counted_not_listed() -> None:
    reps = tuple(replace(r, health=(UNHEALTHY_503,)) for r in replacements(8))
    check = gates.replacement_healthy(snapshot(replacement=reps), SETTINGS)
    assert check.reason.endswith("; and 3 more")


def test_no_replacement_yet() -> None:
    check = gates.replacement_healthy(snapshot(replacement=()), SETTINGS)
    assert not check.passed and "no replacement instances" in check.reason


def test_capacity_against_the_setting() -> None:
    three = replacements(3)
    check = gates.capacity(snapshot(replacement=three), SETTINGS)
    assert not check.passed
    assert "replacement has 3 running, original 4 (at least 4 needed" in check.reason
    assert gates.capacity(snapshot(replacement=three), GateSettings(min_capacity_percent=75)).passed
    terminating = replace(three[0], asg_lifecycle="Terminating:Wait")
    check = gates.capacity(
        snapshot(replacement=(terminating, *three[1:])), GateSettings(min_capacity_percent=75)
    )
    assert not check.passed and "2 running" in check.reason
    assert gates.capacity(snapshot(), GateSettings(min_capacity_percent=0)).passed


def test_alarm_in_alarm_blocks_unless_turned_off() -> None:
    firing = (Alarm("web-tg-5xx", "ALARM", "Threshold Crossed: 1 datapoint [42.0] > 10"),)
    check = gates.alarms(snapshot(alarms=firing), SETTINGS)
    assert not check.passed
    assert (
        check.reason == "alarm web-tg-5xx is in ALARM (Threshold Crossed: 1 datapoint [42.0] > 10)"
    )
    assert gates.alarms(snapshot(alarms=firing), GateSettings(block_on_alarm=False)).passed
    unread = gates.alarms(snapshot(unread=("alarms",)), SETTINGS)
    assert not unread.passed and "could not be read" in unread.reason
    missing = gates.alarms(snapshot(alarms=(Alarm("gone", "MISSING"),)), SETTINGS)
    assert missing.passed and "gone does not exist" in missing.reason
    assert "no alarms" in gates.alarms(snapshot(alarms=()), SETTINGS).reason


def test_fleet_changed_since_ready() -> None:
    base = snapshot()
    reps = base.replacement.instances
    newcomer = instance("i-1ffffffffffffffff")
    gone = replace(reps[0], ec2_state="terminated")
    s = replace(base, replacement=replace(base.replacement, instances=(gone, *reps[1:], newcomer)))
    check = gates.fleet_unchanged(s, SETTINGS)
    assert not check.passed
    assert f"{reps[0].id} is gone" in check.reason
    assert "i-1ffffffffffffffff is new" in check.reason
    assert (
        "differs from the instances d-" in check.reason
        and "(Ready at 11:59:00 UTC)" in check.reason
    )
    assert gates.fleet_unchanged(s, GateSettings(require_unchanged_fleet=False)).passed
    unread = gates.fleet_unchanged(replace(s, unread=("instances",)), SETTINGS)
    assert not unread.passed


def test_disabled_gates_pass_and_say_so() -> None:
    off = GateSettings(
        min_capacity_percent=0,
        block_on_alarm=False,
        require_healthy=False,
        require_unchanged_fleet=False,
    )
    s = snapshot(replacement=(), alarms=(Alarm("a", "ALARM"),))
    for check in gates.evaluate(s, off):
        assert check.passed and "not checked" in check.reason


# ----- actions -----------------------------------------------------------------------------------


def actions(s: Snapshot, read_only: bool = False) -> dict[str, Check]:
    return by_name(action_checks(s, SETTINGS, read_only=read_only))


def test_every_action_has_a_check() -> None:
    assert list(actions(snapshot())) == list(NAMES)


def test_ready_with_gates_passing_allows_approve_stop_rollback() -> None:
    s = snapshot()
    s = replace(s, gates=gates.evaluate(s, SETTINGS))
    a = actions(s)
    assert a["approve"].passed and "ContinueDeployment READY_WAIT" in a["approve"].reason
    assert a["stop"].passed and a["rollback"].passed
    assert "traffic returns to the 4 original instances" in a["rollback"].reason
    assert not a["deploy"].passed and "one deployment per group" in a["deploy"].reason
    assert not a["terminate-original"].passed
    assert not a["shift"].passed and "CodeDeploy owns the traffic" in a["shift"].reason


def test_failed_gate_refuses_approve_with_its_reason() -> None:
    reps = replacements(hs=(health(),))
    s = snapshot(replacement=(replace(reps[0], health=(UNHEALTHY_503,)), *reps[1:]))
    s = replace(s, gates=gates.evaluate(s, SETTINGS))
    a = actions(s)["approve"]
    assert not a.passed
    assert a.reason.startswith("a gate failed: ")
    assert f"{reps[0].id} is unhealthy in web-tg" in a.reason


def test_approve_refused_outside_ready() -> None:
    s = snapshot(dep=deployment("InProgress", "installing"))
    a = actions(s)["approve"]
    assert not a.passed and "not waiting for reroute approval" in a.reason
    s = snapshot(dep=deployment("InProgress", "installing", ready_action="CONTINUE_DEPLOYMENT"))
    assert "CONTINUE_DEPLOYMENT" in actions(s)["approve"].reason


def test_termination_wait_allows_terminate_original() -> None:
    dep = deployment(
        "InProgress",
        "termination-wait",
        termination_wait_started=True,
        deadline=NOW + timedelta(minutes=30),
    )
    a = actions(snapshot(dep=dep))
    assert a["terminate-original"].passed
    assert "terminates the 4 original instances now instead of at 12:30:00 UTC" in (
        a["terminate-original"].reason
    )
    assert a["rollback"].passed


def test_keep_alive_has_no_termination() -> None:
    dep = deployment("InProgress", "rerouting", termination_action="KEEP_ALIVE")
    assert "KEEP_ALIVE" in actions(snapshot(dep=dep))["terminate-original"].reason


def test_rollback_after_originals_terminated_points_to_a_redeploy() -> None:
    gone = tuple(replace(i, ec2_state="terminated", health=()) for i in originals())
    dep = deployment("Succeeded", "succeeded")
    a = actions(snapshot(dep=dep, original=gone))
    # Finished: the way back is a redeploy of the last revision that succeeded before it.
    assert a["rollback"].passed
    assert (
        "CreateDeployment" in a["rollback"].reason and "succeeded before it" in a["rollback"].reason
    )
    assert a["deploy"].passed
    terminating = deployment("InProgress", "terminating", termination_wait_started=True)
    a = actions(snapshot(dep=terminating))
    assert not a["rollback"].passed and "being terminated" in a["rollback"].reason
    assert "new deployment of the previous revision (s3://b/web/v1.zip)" in a["rollback"].reason
    assert (
        not a["terminate-original"].passed and "being terminated" in a["terminate-original"].reason
    )


def test_rollback_of_a_rollback_and_of_a_finished_deployment() -> None:
    dep = deployment("InProgress", "rolling-back", rollback_of="d-ORIGINAL1")
    a = actions(snapshot(dep=dep))
    assert not a["rollback"].passed and "itself the rollback of d-ORIGINAL1" in a["rollback"].reason
    assert a["stop"].passed
    stopped = deployment("Stopped", "stopped", rolled_back_by="d-RB")
    assert "already rolled back by d-RB" in actions(snapshot(dep=stopped))["rollback"].reason
    done = deployment("Succeeded", "succeeded", rollback_of="d-ORIGINAL1")
    a = actions(snapshot(dep=done))
    assert not a["rollback"].passed and "itself the rollback of d-ORIGINAL1" in a["rollback"].reason


def test_in_place_actions() -> None:
    dep = deployment("InProgress", "installing", style="IN_PLACE")
    s = snapshot(dep=dep, style="IN_PLACE")
    a = actions(s)
    assert not a["approve"].passed and "in-place" in a["approve"].reason
    assert not a["terminate-original"].passed
    assert a["rollback"].passed and "redeploys the last good revision" in a["rollback"].reason


def test_shift_by_weights_or_environments_when_idle() -> None:
    idle = deployment("Succeeded", "succeeded", termination_action="KEEP_ALIVE")
    weights = ListenerWeights(
        "web-alb", 8080, "rule", "listener", (("web-blue-tg", 100), ("web-green-tg", 0))
    )
    a = actions(snapshot(dep=idle, listeners=(weights,)))
    assert (
        a["shift"].passed
        and "web-alb:8080 (now web-blue-tg 100, web-green-tg 0)" in a["shift"].reason
    )
    a = actions(snapshot(dep=idle))
    assert a["shift"].passed and "either can be moved into or out of web-tg" in a["shift"].reason
    a = actions(snapshot(dep=idle, replacement=()))
    assert not a["shift"].passed and "nothing to shift" in a["shift"].reason


def test_group_busy_with_another_deployment() -> None:
    old = deployment("Succeeded", "succeeded")
    s = replace(snapshot(dep=old), active_deployment="d-RUNNING1")
    a = actions(s)
    assert not a["deploy"].passed and "d-RUNNING1 is running" in a["deploy"].reason
    assert not a["shift"].passed


def test_no_deployment_at_all() -> None:
    s = replace(snapshot(), deployment=None, active_deployment=None)
    a = actions(s)
    assert a["deploy"].passed
    for name in ("approve", "terminate-original", "stop", "rollback"):
        assert not a[name].passed, name


@pytest.mark.parametrize("name", NAMES)
def test_read_only_refuses_everything(name: str) -> None:
    s = snapshot()
    s = replace(s, gates=gates.evaluate(s, SETTINGS))
    check = actions(s, read_only=True)[name]
    assert not check.passed and check.reason.startswith("read-only target")
