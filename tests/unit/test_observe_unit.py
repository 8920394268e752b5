"""Phase derivation, deadlines, traffic split, diff and assembly: pure, over hand-built objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from cutover.backend.aws.errors import explain
from cutover.backend.config import TargetConfig
from cutover.backend.core.facts import Asg, Ec2, TargetGroup, TargetInfo
from cutover.backend.core.phase import (
    current_event,
    derive_phase,
    ready_since,
    reroute_finished,
    waiting_for,
)
from cutover.backend.core.revisions import revision_label
from cutover.backend.core.timeline import diff
from cutover.backend.core.traffic import traffic_split
from cutover.backend.model import Alarm, Instance, LifecycleEvent, ListenerWeights, Traffic
from cutover.backend.observe import ObserveError
from cutover.backend.observe.assemble import assemble as assemble_snapshot
from cutover.backend.observe.reads import Reads
from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS, INSTALL_EVENTS

from tests.unit.test_gates import (
    NOW,
    UNHEALTHY_503,
    UNREGISTERED,
    health,
    instance,
    originals,
    replacements,
    snapshot,
)


def evs(names: tuple[str, ...], status: str = "Succeeded", end_at: int = -10) -> tuple:
    end = NOW + timedelta(minutes=end_at)
    return tuple(
        LifecycleEvent(n, status, start=end - timedelta(seconds=30), end=end) for n in names
    )


def with_events(insts: tuple[Instance, ...], events: tuple) -> tuple[Instance, ...]:
    return tuple(replace(i, events=events) for i in insts)


# ----- phases -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        ("Succeeded", "succeeded"),
        ("Failed", "failed"),
        ("Stopped", "stopped"),
        ("Ready", "ready"),
        ("Created", "provisioning"),
        ("Queued", "provisioning"),
    ],
)
def test_status_decides_the_phase(status: str, phase: str) -> None:
    assert derive_phase(status) == phase


def test_in_progress_blue_green_moves_through_install_reroute_and_termination() -> None:
    pending = evs(INSTALL_EVENTS + ALLOW_EVENTS, "Pending")
    reps = with_events(replacements(), pending)
    origs = with_events(originals(), evs(BLOCK_EVENTS, "Pending"))
    assert derive_phase("InProgress", original=origs, replacement=()) == "provisioning"
    assert derive_phase("InProgress", original=origs, replacement=reps) == "provisioning"
    installing = (
        replace(reps[0], events=(LifecycleEvent("ApplicationStop", "InProgress"),)),
        *reps[1:],
    )
    assert derive_phase("InProgress", original=origs, replacement=installing) == "installing"
    rerouting = (
        replace(reps[0], events=evs(INSTALL_EVENTS) + evs(("BeforeAllowTraffic",), "InProgress")),
        *reps[1:],
    )
    assert derive_phase("InProgress", original=origs, replacement=rerouting) == "rerouting"
    # Deregistering an original is rerouting too.
    blocking = (replace(origs[0], events=evs(("BeforeBlockTraffic",), "InProgress")), *origs[1:])
    assert derive_phase("InProgress", original=blocking, replacement=reps) == "rerouting"
    waiting = derive_phase(
        "InProgress",
        termination_wait_started=True,
        original=origs,
        replacement=reps,
        termination_deadline=NOW + timedelta(minutes=5),
        now=NOW,
    )
    assert waiting == "termination-wait"
    past = derive_phase(
        "InProgress",
        termination_wait_started=True,
        original=origs,
        termination_deadline=NOW - timedelta(seconds=1),
        now=NOW,
    )
    assert past == "terminating"
    going = tuple(replace(i, ec2_state="shutting-down") for i in origs)
    assert (
        derive_phase("InProgress", termination_wait_started=True, original=going) == "terminating"
    )
    # One original scaled in by Auto Scaling during the wait is not CodeDeploy terminating.
    scaled_in = (replace(origs[0], ec2_state="terminated"), *origs[1:])
    assert (
        derive_phase("InProgress", termination_wait_started=True, original=scaled_in)
        == "termination-wait"
    )


def test_rollback_and_in_place_phases() -> None:
    assert derive_phase("InProgress", is_rollback=True) == "rolling-back"
    assert derive_phase("Succeeded", is_rollback=True) == "succeeded"
    fleet = with_events(originals(), evs(INSTALL_EVENTS, "Pending"))
    assert derive_phase("InProgress", style="IN_PLACE", fleet=fleet) == "provisioning"
    busy = (replace(fleet[0], events=evs(("BlockTraffic",), "InProgress")), *fleet[1:])
    assert derive_phase("InProgress", style="IN_PLACE", fleet=busy) == "installing"


def test_waiting_for() -> None:
    assert waiting_for("ready") == "reroute-approval"
    assert waiting_for("termination-wait") == "termination"
    for phase in ("installing", "rerouting", "terminating", "succeeded"):
        assert waiting_for(phase) is None


def test_ready_since_and_reroute_finished() -> None:
    reps = replacements(2)
    late = replace(reps[1], events=evs(INSTALL_EVENTS, end_at=-3))
    assert ready_since((reps[0], late)) == NOW - timedelta(minutes=3)
    # Without event ends, a Ready target's lastUpdatedAt tells.
    bare = replace(reps[0], events=(), last_updated=NOW - timedelta(minutes=7))
    assert ready_since((bare,)) == NOW - timedelta(minutes=7)
    origs = originals(2)
    blocked = (
        replace(origs[0], events=evs(BLOCK_EVENTS, end_at=-20)),
        replace(origs[1], events=evs(BLOCK_EVENTS, end_at=-15)),
    )
    assert reroute_finished(blocked, blocked) == NOW - timedelta(minutes=15)
    allowed = with_events(reps, evs(ALLOW_EVENTS, end_at=-12))
    assert reroute_finished(origs, allowed) == NOW - timedelta(minutes=12)


def test_current_event() -> None:
    running = (LifecycleEvent("Install", "Succeeded"), LifecycleEvent("AfterInstall", "InProgress"))
    assert current_event("InProgress", running) == "AfterInstall"
    between = (LifecycleEvent("Install", "Succeeded"), LifecycleEvent("AfterInstall", "Pending"))
    assert current_event("InProgress", between) == "AfterInstall"
    assert current_event("Ready", between) is None
    failed = (LifecycleEvent("Install", "Failed"), LifecycleEvent("AfterInstall", "Skipped"))
    assert current_event("Failed", failed) == "Install"


# ----- traffic ------------------------------------------------------------------------------------


def env(role: str, insts: tuple[Instance, ...]):  # type: ignore[no-untyped-def]
    from cutover.backend.model import Environment

    return Environment(role, insts)  # type: ignore[arg-type]


def test_split_by_healthy_registered_targets() -> None:
    origs = originals(4)
    reps = replacements(4)
    t = traffic_split(env("original", origs), env("replacement", reps), ["web-tg"])
    assert (t.original_percent, t.replacement_percent) == (100.0, 0.0)
    assert t.basis == "healthy registered targets in web-tg: 4 original, 0 replacement"
    half = tuple(replace(r, health=(health(),)) for r in reps[:2]) + reps[2:]
    draining = (
        tuple(
            replace(o, health=(health("draining", reason="Target.DeregistrationInProgress"),))
            for o in origs[:2]
        )
        + origs[2:]
    )
    t = traffic_split(env("original", draining), env("replacement", half), ["web-tg"])
    assert (t.original_percent, t.replacement_percent) == (50.0, 50.0)
    done = tuple(replace(r, health=(health(),)) for r in reps)
    gone = tuple(replace(o, health=(UNREGISTERED,)) for o in origs)
    t = traffic_split(env("original", gone), env("replacement", done), ["web-tg"])
    assert (t.original_percent, t.replacement_percent) == (0.0, 100.0)


def test_split_fails_open_and_says_so() -> None:
    sick = tuple(replace(o, health=(UNHEALTHY_503,)) for o in originals(2))
    t = traffic_split(env("original", sick), env("replacement", ()), ["web-tg"])
    assert t.original_percent == 100.0
    assert "fails open" in t.basis
    t = traffic_split(env("original", replacements(1)), env("replacement", ()), ["web-tg"])
    assert t == Traffic(0.0, 0.0, "no instance of either environment is registered with web-tg")


def test_split_by_listener_weights() -> None:
    blue = tuple(replace(o, health=(health(name="web-blue-tg"),)) for o in originals(2))
    green = tuple(replace(r, health=(health(name="web-green-tg"),)) for r in replacements(2))
    weights = ListenerWeights(
        "web-alb", 8080, "rule", "listener", (("web-blue-tg", 75), ("web-green-tg", 25))
    )
    t = traffic_split(
        env("original", blue),
        env("replacement", green),
        ["web-blue-tg", "web-green-tg"],
        [weights],
    )
    assert (t.original_percent, t.replacement_percent) == (75.0, 25.0)
    assert t.basis == "listener weights on web-alb:8080 (web-blue-tg 75, web-green-tg 25)"
    # A weighted group with no target to send to is called out.
    t = traffic_split(
        env("original", blue), env("replacement", ()), ["web-blue-tg", "web-green-tg"], [weights]
    )
    assert t.original_percent == 100.0 and "web-green-tg has weight but no target" in t.basis


# ----- diff ---------------------------------------------------------------------------------------


def test_diff_reports_what_changed() -> None:
    before = snapshot()
    reps = before.replacement.instances
    origs = before.original.instances
    dep = replace(before.deployment, status="InProgress", phase="rerouting", waiting_for=None)
    allow = (LifecycleEvent("AllowTraffic", "InProgress"),)
    moved = (
        replace(
            reps[0],
            lifecycle_status="InProgress",
            events=reps[0].events + allow,
            health=(health("initial", reason="Elb.InitialHealthChecking"),),
        ),
        *reps[1:3],
        instance("i-1eeeeeeeeeeeeeeee"),
    )
    failed = (
        replace(
            origs[0],
            events=(
                LifecycleEvent(
                    "BlockTraffic", "Failed", error_code="ELB_INVALID_INSTANCE", message="gone"
                ),
            ),
        ),
        *origs[1:],
    )
    after = replace(
        before,
        server_time=NOW + timedelta(seconds=5),
        deployment=dep,
        replacement=replace(before.replacement, instances=moved),
        original=replace(before.original, instances=failed),
        traffic=Traffic(50, 50, "x"),
        alarms=(Alarm("web-tg-5xx", "ALARM", "too many 5xx"),),
    )
    before = replace(before, traffic=Traffic(100, 0, "x"))
    texts = [(e.kind, e.text) for e in diff(before, after)]
    assert ("deployment", "deployment d-TEST00001: Ready → InProgress") in texts
    assert ("deployment", "phase: ready → rerouting") in texts
    assert ("instance", f"{reps[0].id}: Ready → InProgress") in texts
    assert ("instance", f"{reps[0].id}: AllowTraffic started") in texts
    assert ("health", f"{reps[0].id} in web-tg: unused → initial (Elb.InitialHealthChecking)") in (
        texts
    )
    assert ("instance", "i-1eeeeeeeeeeeeeeee joined the replacement in us-east-1a") in texts
    assert ("instance", f"{reps[3].id} left the replacement") in texts
    assert ("instance", f"{origs[0].id}: BlockTraffic failed (ELB_INVALID_INSTANCE: gone)") in texts
    assert ("traffic", "traffic original/replacement: 100/0 → 50/50") in texts
    assert ("alarm", "alarm web-tg-5xx: OK → ALARM (too many 5xx)") in texts
    assert all(e.time == after.server_time for e in diff(before, after))
    assert diff(after, after) == []


def test_diff_on_a_new_deployment_and_terminations() -> None:
    before = snapshot()
    new_dep = replace(before.deployment, id="d-NEXT00001")
    gone = tuple(replace(o, ec2_state="terminated") for o in before.original.instances)
    after = replace(before, deployment=new_dep, original=replace(before.original, instances=gone))
    texts = [e.text for e in diff(before, after)]
    assert texts[0] == "now following deployment d-NEXT00001 (Ready)"
    assert f"{gone[0].id} is terminated" in texts
    # Lifecycle changes of a different deployment are not compared.
    assert not any("→ Ready" in t for t in texts)


# ----- helpers ------------------------------------------------------------------------------------


def test_revision_label() -> None:
    s3 = {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "web/v2.zip"}}
    assert revision_label(s3) == "s3://b/web/v2.zip"
    gh = {"revisionType": "GitHub", "gitHubLocation": {"repository": "o/r", "commitId": "a" * 40}}
    assert revision_label(gh) == "o/r@aaaaaaaaaaaa"
    inline = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}}
    assert revision_label(inline).startswith("inline appspec ")
    assert revision_label(None) is None


def test_errors_in_plain_words_with_their_code() -> None:
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetDeployment"
    )
    assert explain(throttled) == (
        "AWS is throttling requests (retried, still throttled)",
        "ThrottlingException",
    )
    expired = ClientError({"Error": {"Code": "ExpiredToken", "Message": "x"}}, "GetDeployment")
    words, code = explain(expired)
    assert "expired" in words and code == "ExpiredToken"
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "GetDeployment"
    )
    assert explain(denied) == (
        "access denied to GetDeployment: not authorized",
        "AccessDeniedException",
    )
    unreachable = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    assert explain(unreachable) == (
        "cannot reach http://127.0.0.1:9",
        "EndpointConnectionError",
    )
    assert explain(NoCredentialsError())[1] == "NoCredentialsError"
    err = ObserveError("deployment group web-prod of web does not exist", "X")
    assert str(err) == "deployment group web-prod of web does not exist (X)"
    assert err.aws_code == "X"
    assert not err.throttled and not err.gone
    assert ObserveError("slow down", "ThrottlingException").throttled
    gone = ObserveError("deployment d-1 does not exist", "DeploymentDoesNotExistException")
    assert gone.gone and not gone.throttled
    assert ObserveError("x is not a deployment id", "InvalidDeploymentIdException").gone


# ----- assembly -----------------------------------------------------------------------------------


def target_info(iid: str, label: str, status: str, events: tuple) -> TargetInfo:
    return TargetInfo(id=iid, status=status, label=label, last_updated=NOW, events=events)


GROUP = {
    "applicationName": "web",
    "deploymentGroupName": "web-prod",
    "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    "lastAttemptedDeployment": {"deploymentId": "d-A", "status": "InProgress"},
    "targetRevision": {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "web/v1.zip"}},
}
BG = {
    "terminateBlueInstancesOnDeploymentSuccess": {
        "action": "TERMINATE",
        "terminationWaitTimeInMinutes": 60,
    },
    "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
}


def assemble(info: dict, targets: list[TargetInfo], health_rows: list[dict], **kw: object):  # type: ignore[no-untyped-def]
    ids = [t.id for t in targets]
    args: dict = {
        "target": TargetConfig(name="t", application="web", deployment_group="web-prod"),
        "now": NOW,
        "account": "123456789012",
        "region": "us-east-1",
        "endpoint_url": None,
        "group": GROUP,
        "style": "BLUE_GREEN",
        "info": info,
        "targets": targets,
        "asgs": {
            "web-asg": Asg(
                "web-asg", 4, 8, 4, {i: "InService" for i in ids if i.startswith("i-b")}
            ),
            "CodeDeploy_web-prod_d-A": Asg(
                "CodeDeploy_web-prod_d-A",
                4,
                8,
                4,
                {i: "InService" for i in ids if i.startswith("i-g")},
            ),
        },
        "group_asgs": ["web-asg"],
        "ec2": {i: Ec2(i, "us-east-1a", "t3.micro", "running", NOW, None) for i in ids},
        "tgs": [TargetGroup("web-tg", "arn:tg", ("arn:lb",), 60, {})],
        "clbs": [],
        "health": {"web-tg": health_rows},
        "listeners": [],
        "alarms": [Alarm("web-tg-5xx", "OK")],
        "alarm_names": ["web-tg-5xx"],
        "metrics": [],
        "previous": None,
        "notes": [],
        "unread": [],
    }
    args.update(kw)
    return assemble_snapshot(Reads(**args))


def ready_info() -> dict:
    return {
        "deploymentId": "d-A",
        "status": "Ready",
        "creator": "user",
        "deploymentStyle": GROUP["deploymentStyle"],
        "blueGreenDeploymentConfiguration": BG,
        "revision": {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "web/v2.zip"}},
        "previousRevision": GROUP["targetRevision"],
    }


def ready_targets() -> list[TargetInfo]:
    blue = [
        target_info(f"i-b{k}", "Blue", "Pending", evs(BLOCK_EVENTS, "Pending")) for k in range(4)
    ]
    green = [
        target_info(
            f"i-g{k}",
            "Green",
            "Ready",
            evs(INSTALL_EVENTS, end_at=-2 - k) + evs(ALLOW_EVENTS, "Pending"),
        )
        for k in range(4)
    ]
    return blue + green


def test_assemble_a_ready_deployment() -> None:
    rows = [{"id": f"i-b{k}", "port": 80, "state": "healthy"} for k in range(4)]
    s = assemble(ready_info(), ready_targets(), rows)
    d = s.deployment
    assert (d.status, d.phase, d.waiting_for) == ("Ready", "ready", "reroute-approval")
    # Ready when the last ValidateService ended (2 minutes ago) plus the 60-minute wait.
    assert d.deadline == NOW + timedelta(minutes=58)
    assert [t.name for t in s.timers] == ["ready-wait"]
    assert [i.id for i in s.original.instances] == [f"i-b{k}" for k in range(4)]
    assert s.replacement.asg_name == "CodeDeploy_web-prod_d-A"
    assert d.replacement_asg == "CodeDeploy_web-prod_d-A"
    assert s.replacement.instances[0].revision == "s3://b/web/v2.zip"
    assert s.original.instances[0].revision == "s3://b/web/v1.zip"
    assert s.replacement.instances[0].health[0].reason == "Target.NotRegistered"
    assert d.ready_fleet == tuple(f"i-g{k}" for k in range(4))
    assert [g.name for g in s.gates] == [
        "replacement-healthy",
        "capacity",
        "alarms",
        "fleet-unchanged",
    ]
    assert s.action("approve").passed
    assert s.traffic.original_percent == 100.0
    assert s.account == "123456789012" and s.target_revision == "s3://b/web/v1.zip"
    # What the actions need to redeploy and to move environments.
    assert d.previous_revision_location == GROUP["targetRevision"]
    assert s.target_group_arns == (("web-tg", "arn:tg"),)
    assert s.original.target_groups == ("web-tg",) and s.replacement.target_groups == ()


def test_safety_10_the_fleet_gate_compares_with_codedeploys_targets_without_history() -> None:
    rows = [{"id": f"i-b{k}", "port": 80, "state": "healthy"} for k in range(4)]
    first = assemble(ready_info(), ready_targets(), rows)
    assert first.deployment.ready_fleet == ("i-g0", "i-g1", "i-g2", "i-g3")
    gate = next(g for g in first.gates if g.name == "fleet-unchanged")
    assert gate.passed, gate.reason
    # No earlier snapshot (a CLI run, a dashboard just opened): Auto Scaling replaced i-g3
    # with i-g9, which CodeDeploy never deployed to. The gate still sees it.
    ids = [t.id for t in ready_targets()] + ["i-g9"]
    ec2 = {i: Ec2(i, "us-east-1a", "t3.micro", "running", NOW, None) for i in ids}
    ec2["i-g3"] = Ec2("i-g3", "us-east-1a", "t3.micro", "terminated", NOW, None)
    members = {f"i-g{k}": "InService" for k in (0, 1, 2, 9)}
    asgs = {
        "web-asg": Asg("web-asg", 4, 8, 4, {f"i-b{k}": "InService" for k in range(4)}),
        "CodeDeploy_web-prod_d-A": Asg("CodeDeploy_web-prod_d-A", 4, 8, 4, members),
    }
    second = assemble(ready_info(), ready_targets(), rows, ec2=ec2, asgs=asgs, previous=None)
    gate = next(g for g in second.gates if g.name == "fleet-unchanged")
    assert not gate.passed
    assert "i-g3 is gone" in gate.reason and "i-g9 is new (not deployed by d-A)" in gate.reason
    assert not second.action("approve").passed


def test_assemble_keeps_the_drain_start_across_snapshots() -> None:

    draining = [
        {"id": "i-b0", "port": 80, "state": "draining", "reason": "Target.DeregistrationInProgress"}
    ]
    info = ready_info() | {"status": "InProgress"}
    a = assemble(info, ready_targets(), draining)
    assert a.original.instances[0].health[0].drain_deadline == NOW + timedelta(seconds=60)
    b = assemble(info, ready_targets(), draining, previous=a, now=NOW + timedelta(seconds=20))
    # First seen draining at NOW: the deadline does not move with later snapshots.
    assert b.original.instances[0].health[0].drain_deadline == NOW + timedelta(seconds=60)


def test_assemble_termination_wait_deadline() -> None:
    targets = [
        target_info(f"i-b{k}", "Blue", "Succeeded", evs(BLOCK_EVENTS, end_at=-10 - k))
        for k in range(2)
    ] + [
        target_info(f"i-g{k}", "Green", "Succeeded", evs(INSTALL_EVENTS + ALLOW_EVENTS, end_at=-20))
        for k in range(2)
    ]
    info = ready_info() | {"status": "InProgress", "instanceTerminationWaitTimeStarted": True}
    rows = [{"id": f"i-g{k}", "port": 80, "state": "healthy"} for k in range(2)]
    s = assemble(info, targets, rows)
    assert (s.deployment.phase, s.deployment.waiting_for) == ("termination-wait", "termination")
    # The reroute ended with the last AfterBlockTraffic (10 minutes ago): 50 minutes left.
    assert s.deployment.deadline == NOW + timedelta(minutes=50)
    assert s.traffic.replacement_percent == 100.0
    assert s.action("terminate-original").passed
    # Ending the wait early is gated: the replacement is all that will be left.
    assert [g.name for g in s.gates] == [
        "replacement-healthy",
        "capacity",
        "alarms",
        "fleet-unchanged",
    ]
    assert all(g.passed for g in s.gates), s.gates


def test_assemble_a_rollback_in_words_of_the_rolled_back_deployment() -> None:
    # The rollback reroutes back: the originals get the Allow events, the replacements Block.
    targets = [
        target_info(
            "i-b0",
            "Blue",
            "InProgress",
            evs(("BeforeAllowTraffic",)) + evs(("AllowTraffic",), "InProgress"),
        ),
        target_info("i-g0", "Green", "Pending", evs(BLOCK_EVENTS, "Pending")),
    ]
    info = {
        "deploymentId": "d-R",
        "status": "InProgress",
        "creator": "codeDeployRollback",
        "rollbackInfo": {"rollbackTriggeringDeploymentId": "d-A"},
        "deploymentStyle": GROUP["deploymentStyle"],
        "revision": GROUP["targetRevision"],
        "previousRevision": ready_info()["revision"],
    }
    s = assemble(info, targets, [{"id": "i-g0", "port": 80, "state": "healthy"}])
    assert s.deployment.phase == "rolling-back"
    assert s.deployment.rollback_of == "d-A"
    assert [i.id for i in s.original.instances] == ["i-b0"]
    assert [i.id for i in s.replacement.instances] == ["i-g0"]
    assert s.original.instances[0].revision == "s3://b/web/v1.zip"
    assert s.replacement.instances[0].revision == "s3://b/web/v2.zip"
    assert not s.action("rollback").passed


def test_assemble_notes_and_unread_health() -> None:
    s = assemble(
        ready_info(),
        ready_targets(),
        [],
        health={"web-tg": None},
        notes=["target health in web-tg could not be read: AWS is throttling requests"],
        unread=["health:web-tg"],
    )
    assert s.notes and s.unread == ("health:web-tg",)
    assert s.replacement.instances[0].health == ()
    gate = next(g for g in s.gates if g.name == "replacement-healthy")
    assert not gate.passed and "could not be read" in gate.reason


def test_one_target_group_both_fleets_pass_through_keeps_its_metrics_at_its_own_level() -> None:
    """Blue/green with one target group: the originals served through it, then the
    replacements (or the other way after a rollback), so its last quarter hour belongs to no
    one panel: it is shown at target-group level, labelled so, and the load balancer's own
    5xx never goes on a panel either."""
    from cutover.backend.model import Series
    from cutover.backend.present.verdict_text import metrics_line

    series = [
        Series("HTTPCode_Target_5XX_Count", ((NOW, 12.0),), source="web-tg", statistic="Sum"),
        Series("HTTPCode_ELB_5XX_Count", ((NOW, 3.0),), source="web-alb", statistic="Sum"),
    ]
    rows = [{"id": f"i-b{k}", "port": 80, "state": "healthy"} for k in range(4)]
    s = assemble(ready_info(), ready_targets(), rows, metrics=series)
    assert s.original.metrics == () and s.replacement.metrics == ()
    assert s.metrics == tuple(series)
    assert metrics_line(s) == "web-tg (both fleets): 5xx 12/min · web-alb own 5xx 3/min"


def test_a_target_group_a_weighted_rule_gives_one_environment_carries_its_metrics() -> None:
    """weighted.yaml: each environment has its own target group, so its figures are its."""
    from cutover.backend.model import Series

    blue = [{"id": f"i-b{k}", "port": 80, "state": "healthy"} for k in range(4)]
    green = [{"id": f"i-g{k}", "port": 80, "state": "healthy"} for k in range(4)]
    series = [
        Series("HTTPCode_Target_5XX_Count", ((NOW, 1.0),), source="blue-tg", statistic="Sum"),
        Series("HTTPCode_Target_5XX_Count", ((NOW, 9.0),), source="green-tg", statistic="Sum"),
    ]
    weights = ListenerWeights(
        "web-alb", 8080, "rule", "listener", (("blue-tg", 90), ("green-tg", 10))
    )
    s = assemble(
        ready_info(),
        ready_targets(),
        [],
        tgs=[
            TargetGroup("blue-tg", "arn:blue", ("arn:lb",), 60, {}),
            TargetGroup("green-tg", "arn:green", ("arn:lb",), 60, {}),
        ],
        health={"blue-tg": blue, "green-tg": green},
        listeners=[weights],
        metrics=series,
    )
    assert s.original.metrics == (series[0],)
    assert s.replacement.metrics == (series[1],)


def test_a_deployment_read_finished_is_not_running_though_the_group_said_so() -> None:
    """The group and the deployment are read in parallel: the group's lastAttemptedDeployment
    can still say InProgress for the deployment GetDeployment already reads Succeeded. The
    deployment's own status wins, or rollback and deploy are refused for a group at rest."""
    rows = [{"id": f"i-b{k}", "port": 80, "state": "healthy"} for k in range(4)]
    done = {**ready_info(), "status": "Succeeded"}
    s = assemble(done, ready_targets(), rows)
    assert s.active_deployment is None
    assert s.action("deploy").passed, s.action("deploy").reason
    # Another deployment the group names as running still counts.
    other = {**GROUP, "lastAttemptedDeployment": {"deploymentId": "d-B", "status": "InProgress"}}
    assert assemble(done, ready_targets(), rows, group=other).active_deployment == "d-B"
