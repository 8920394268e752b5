"""observe.snapshot against a running sandbox over HTTP: real boto3, real CodeDeploy semantics.

A blue/green cutover of web/web-prod is followed through every phase; what each snapshot says
(phase, waits, deadlines against the server's clock, health reasons, the traffic split, which
actions are allowed and why not, the gates, the API calls it cost) is checked against the
sandbox's own world. Every status document is validated against docs/status-schema.json.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from botocore.config import Config
from cutover.backend import observe
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import GateSettings, TargetConfig
from cutover.backend.core import gates
from cutover.backend.core.verdict import verdict
from cutover.backend.model import Snapshot
from cutover.backend.observe import ObserveError
from cutover.backend.present.status_json import status_document
from cutover.backend.present.verdict_text import metrics_line
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import free_port

from tests.e2e.sandbox_process import create_weighted_group
from tests.unit.test_status import validate

TIME_SCALE = 100  # a 60-minute wait passes in 36 real seconds; health checks every 0.1 s
V2 = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}


class Recorder:
    """Counts the API operations a session calls (one per call; retries not counted)."""

    def __init__(self, session: AwsSession) -> None:
        self.ops: Counter[str] = Counter()
        for name in ("codedeploy", "ec2", "autoscaling", "elbv2", "elb", "cloudwatch", "sts"):
            session.client(name).meta.events.register("before-call", self._called)

    def _called(self, model: object = None, **_: object) -> None:
        # Snapshot calls run on several threads: Counter updates under the GIL are enough here.
        self.ops[getattr(model, "name", "?")] += 1

    def take(self) -> Counter[str]:
        out, self.ops = self.ops, Counter()
        return out


class Watch:
    """A sandbox, a session on it, and snapshots taken one after the other (with `previous`)."""

    def __init__(
        self, sb: Sandbox, application: str, group: str, *, max_attempts: int = 4, **target: object
    ) -> None:
        self.sb = sb
        self.target = TargetConfig(
            name="sandbox",
            region=sb.world.region,
            endpoint_url=sb.endpoint_url,
            application=application,
            deployment_group=group,
            **target,  # type: ignore[arg-type]
        )
        self.session = AwsSession(self.target, read_timeout=5.0, max_attempts=max_attempts)
        if max_attempts == 1:
            # botocore's adaptive mode rate-limits a client for seconds after one throttle.
            self.session.config = self.session.config.merge(
                Config(retries={"mode": "standard", "max_attempts": 1})
            )
        self.session.create_clients()
        self.recorder = Recorder(self.session)
        self.last: Snapshot | None = None
        self.seen: list[Snapshot] = []

    def client(self, name: str):  # type: ignore[no-untyped-def]
        return self.session.client(name)

    def snap(self, **kw: object) -> Snapshot:
        s = observe.snapshot(self.session, self.target, previous=self.last, **kw)  # type: ignore[arg-type]
        validate(status_document(s))
        self.last = s
        self.seen.append(s)
        return s

    def until(self, predicate: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        deadline = time.monotonic() + timeout
        while True:
            s = self.snap()
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                d = s.deployment
                pytest.fail(
                    f"timed out; last: {d.status if d else None} {d.phase if d else None}"
                    f" {s.traffic} {s.notes}"
                )
            time.sleep(0.05)


def phase(name: str) -> Callable[[Snapshot], bool]:
    return lambda s: s.deployment is not None and s.deployment.phase == name


@pytest.fixture
def start(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Sandbox]:
    """`start(scenario, **settings)`: a sandbox at TIME_SCALE, its keys and region in the
    environment (as on an engineer's machine), its endpoint only in each target."""

    def run(scenario: str, **settings: object) -> Sandbox:
        sb = sandbox_factory(scenario, time_scale=TIME_SCALE, wait_healthy=None, **settings)
        for key, value in sb.env().items():
            if key != "AWS_ENDPOINT_URL":
                monkeypatch.setenv(key, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        return sb

    return run


@pytest.fixture
def default(start: Callable[..., Sandbox]) -> Sandbox:
    return start("default")


def ids(env) -> set[str]:  # type: ignore[no-untyped-def]
    return {i.id for i in env.instances} if env is not None else set()


def test_blue_green_cutover_through_every_phase(default: Sandbox) -> None:
    w = Watch(default, "web", "web-prod")
    cd = w.client("codedeploy")

    # Before: the scenario's finished v1 deployment, four healthy originals, nothing running.
    first = w.snap()
    assert first.deployment.status == "Succeeded" and first.account == "123456789012"
    assert len(first.original.instances) == 4 and not first.replacement.instances
    assert all(i.health[0].state == "healthy" for i in first.original.instances)
    assert (first.traffic.original_percent, first.traffic.replacement_percent) == (100.0, 0.0)
    assert first.action("deploy").passed and not first.action("approve").passed
    assert first.alarms[0].name == "web-tg-5xx" and first.alarms[0].state != "MISSING"
    w.recorder.take()
    steady = w.snap()
    # Static facts are cached: the second snapshot reads only what moves.
    assert set(w.recorder.take()) == {
        "GetDeploymentGroup",
        "GetDeployment",
        "DescribeAutoScalingGroups",
        "DescribeInstances",
        "DescribeTargetHealth",
        "DescribeRules",
        "DescribeAlarms",
        "GetMetricData",
    }, "a finished deployment's targets are cached"
    assert steady.api_calls <= first.api_calls

    dep_id = cd.create_deployment(
        applicationName="web", deploymentGroupName="web-prod", revision=V2
    )["deploymentId"]
    s = w.until(lambda s: s.deployment.id == dep_id)
    assert s.deployment.phase in ("provisioning", "installing")
    assert not s.action("deploy").passed and "one deployment per group" in s.action("deploy").reason
    assert s.action("rollback").passed and s.action("stop").passed

    s = w.until(phase("installing"))
    assert s.replacement.asg_name == f"CodeDeploy_web-prod_{dep_id}"
    assert s.deployment.waiting_for is None and s.deployment.deadline is None
    assert s.replacement.in_flight or all(i.lifecycle_status for i in s.replacement.instances)

    # Ready: waiting for approval until the ready wait runs out, 60 minutes after Ready.
    w.recorder.take()
    ready = w.until(phase("ready"), timeout=40)
    d = ready.deployment
    assert d.status == "Ready" and d.waiting_for == "reroute-approval"
    validated = max(
        e.end for i in ready.replacement.instances for e in i.events if e.name == "ValidateService"
    )
    assert d.deadline == validated + timedelta(minutes=60)
    assert [t.name for t in ready.timers] == ["ready-wait"]
    skew = abs((ready.server_time - default.world.now()).total_seconds())
    assert skew < 30, f"server time off by {skew} sandbox seconds"
    assert timedelta(0) < d.deadline - ready.server_time <= timedelta(minutes=60)
    assert len(ready.replacement.instances) == 4
    assert {i.lifecycle_status for i in ready.replacement.instances} == {"Ready"}
    assert {i.revision for i in ready.replacement.instances} == {"s3://web-revisions/web/v2.zip"}
    assert all(i.az and i.instance_type and i.launch_time for i in ready.replacement.instances)
    assert all(not h.registered for i in ready.replacement.instances for h in i.health)
    assert d.ready_fleet == tuple(sorted(ids(ready.replacement)))
    assert [g.name for g in ready.gates] == list(gates.GATES)
    assert all(g.passed for g in ready.gates), ready.gates
    assert ready.action("approve").passed
    assert not ready.action("terminate-original").passed
    assert (ready.traffic.original_percent, ready.traffic.replacement_percent) == (100.0, 0.0)
    assert not ready.notes

    # A replacement that is registered early and unhealthy blocks the approval, by name.
    victim = sorted(ids(ready.replacement))[0]
    tg_arn = next(a for a, tg in default.world.target_groups.items() if tg.name == "web-tg")
    w.client("elbv2").register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": victim}])
    with default.world.lock:
        default.world.instances[victim].fault.unhealthy = True
    blocked = w.until(
        lambda s: any(
            h.state == "unhealthy"
            for i in s.replacement.instances
            if i.id == victim
            for h in i.health
        )
    )
    gate = next(g for g in blocked.gates if g.name == "replacement-healthy")
    assert not gate.passed
    assert gate.reason.startswith(f"{victim} is unhealthy in web-tg (Target.")
    assert (
        "web-tg" in blocked.action("approve").reason and victim in blocked.action("approve").reason
    )
    assert not blocked.action("approve").passed
    with default.world.lock:
        default.world.instances[victim].fault.unhealthy = False
    w.client("elbv2").deregister_targets(TargetGroupArn=tg_arn, Targets=[{"Id": victim}])
    w.until(lambda s: s.action("approve").passed)

    # Approve: the reroute registers replacements, drains originals, and the split moves.
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")
    w.until(phase("rerouting"))
    waited = w.until(phase("termination-wait"), timeout=40)
    rerouting = [
        s for s in w.seen if s.deployment.id == dep_id and s.deployment.phase == "rerouting"
    ]
    splits = [s.traffic.replacement_percent for s in rerouting]
    assert any(0 < p < 100 for p in splits), splits
    drains = [
        (s.server_time, h)
        for s in rerouting
        for i in s.original.instances
        for h in i.health
        if h.draining
    ]
    assert drains, "an original was seen draining"
    first_seen, h = drains[0]
    assert h.drain_deadline is not None
    assert abs((h.drain_deadline - first_seen).total_seconds() - 60) < 1  # deregistration delay

    d = waited.deployment
    assert d.waiting_for == "termination" and d.termination_wait_started
    blocked_end = max(
        e.end for i in waited.original.instances for e in i.events if e.name == "AfterBlockTraffic"
    )
    assert d.deadline == blocked_end + timedelta(minutes=60)
    assert [t.name for t in waited.timers] == ["termination-wait"]
    assert (waited.traffic.original_percent, waited.traffic.replacement_percent) == (0.0, 100.0)
    assert all(not h.registered for i in waited.original.instances for h in i.health)
    assert waited.action("terminate-original").passed
    assert waited.action("rollback").passed
    # Ending the wait early is gated on the replacement that will be all there is.
    assert [g.name for g in waited.gates] == [
        "replacement-healthy",
        "capacity",
        "alarms",
        "fleet-unchanged",
    ]
    assert all(g.passed for g in waited.gates), waited.gates

    # Terminate now: the originals go, and the way back is a redeploy.
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="TERMINATION_WAIT")
    done = w.until(lambda s: s.deployment.status == "Succeeded", timeout=40)
    assert done.deployment.phase == "succeeded"
    assert {i.ec2_state for i in done.original.instances} <= {"shutting-down", "terminated"}
    rollback = done.action("rollback")
    assert rollback.passed, rollback.reason
    assert "the way back is a new deployment of the last revision that succeeded" in (
        rollback.reason
    )
    assert done.action("deploy").passed

    # An hour later EC2 has forgotten the originals; one unknown id fails DescribeInstances
    # as a whole, and the snapshot must not lose the rest for it.
    with default.world.lock:
        for iid in ids(done.original):
            default.world.instances.pop(iid, None)
    later = w.snap()
    assert not later.notes, later.notes
    assert {i.ec2_state for i in later.original.instances} == {"terminated"}
    assert all(i.ec2_state == "running" for i in later.replacement.instances)

    phases = [s.deployment.phase for s in w.seen if s.deployment.id == dep_id]
    order = list(dict.fromkeys(phases))
    assert order[-1] == "succeeded"
    expected = ["installing", "ready", "rerouting", "termination-wait", "succeeded"]
    assert [p for p in order if p in expected] == expected, order

    # The timeline has the whole story.
    texts = [e.text for a, b in zip(w.seen, w.seen[1:], strict=False) for e in observe.diff(a, b)]
    assert f"now following deployment {dep_id} (Created)" in texts or any(
        t.startswith(f"now following deployment {dep_id}") for t in texts
    )
    assert "phase: installing → ready, waiting for reroute-approval" in texts
    assert any(t.startswith("traffic original/replacement:") for t in texts)


def test_calls_per_snapshot_do_not_grow_with_the_steps_of_a_cutover(default: Sandbox) -> None:
    w = Watch(default, "web", "web-prod")
    w.snap()
    dep_id = w.client("codedeploy").create_deployment(
        applicationName="web", deploymentGroupName="web-prod", revision=V2
    )["deploymentId"]
    w.until(phase("ready"), timeout=40)
    w.recorder.take()
    s = w.snap()
    ops = w.recorder.take()
    # Both fleets present (8 targets), waiting for the reroute: one call of each kind, and
    # none for the targets, read at the first look at Ready and kept until the deployment moves.
    assert ops == Counter(
        {
            "GetDeploymentGroup": 1,
            "GetDeployment": 1,
            "DescribeAutoScalingGroups": 1,
            "DescribeInstances": 1,
            "DescribeTargetHealth": 1,
            "DescribeRules": 1,
            "DescribeAlarms": 1,
            "GetMetricData": 1,
        }
    ), ops
    assert s.api_calls == 8 and s.deployment.id == dep_id

    # Rolled back from Ready: the rollback deployment is followed, in the original's words.
    w.client("codedeploy").stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True)
    rb = w.until(lambda s: s.deployment.id != dep_id)
    assert rb.deployment.rollback_of == dep_id
    assert rb.deployment.phase in ("rolling-back", "succeeded")
    if rb.deployment.phase == "rolling-back":
        assert (
            not rb.action("rollback").passed
            and "itself the rollback" in rb.action("rollback").reason
        )
    done = w.until(lambda s: s.deployment.status == "Succeeded", timeout=40)
    assert (done.traffic.original_percent, done.traffic.replacement_percent) == (100.0, 0.0)
    assert all(i.health[0].healthy for i in done.original.instances)
    # The stopped deployment, chosen by id, tells who rolled it back.
    old = w.snap(deployment_id=dep_id)
    assert (
        old.deployment.status == "Stopped" and old.deployment.rolled_back_by == done.deployment.id
    )
    recent = observe.recent_deployments(w.session, w.target)
    assert [r.id for r in recent[:2]] == [done.deployment.id, dep_id]
    assert recent[0].creator == "codeDeployRollback"


def test_rollback_after_the_reroute_returns_traffic_to_the_originals(default: Sandbox) -> None:
    w = Watch(default, "web", "web-prod")
    cd = w.client("codedeploy")
    w.snap()
    dep_id = cd.create_deployment(
        applicationName="web", deploymentGroupName="web-prod", revision=V2
    )["deploymentId"]
    ready = w.until(phase("ready"), timeout=40)
    originals = ids(ready.original)
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")
    waited = w.until(phase("termination-wait"), timeout=40)
    assert waited.traffic.replacement_percent == 100.0
    cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=True)
    back = w.until(
        lambda s: s.deployment.id != dep_id and s.deployment.status == "Succeeded", timeout=40
    )
    assert ids(back.original) == originals
    assert (back.traffic.original_percent, back.traffic.replacement_percent) == (100.0, 0.0)
    rolling = [s for s in w.seen if s.deployment.phase == "rolling-back"]
    if rolling:  # fast at this time scale, but when seen it must read right
        r = rolling[0]
        assert r.deployment.rollback_of == dep_id and r.deployment.waiting_for is None
        assert ids(r.original) == originals


def test_errors_that_make_a_snapshot_meaningless(default: Sandbox) -> None:
    w = Watch(default, "web", "no-such-group")
    with pytest.raises(ObserveError) as err:
        w.snap()
    assert err.value.aws_code == "DeploymentGroupDoesNotExistException"
    assert "deployment group no-such-group of web does not exist" in str(err.value)

    w = Watch(default, "nope", "web-prod")
    with pytest.raises(ObserveError) as err:
        w.snap()
    assert err.value.aws_code == "ApplicationDoesNotExistException"

    w = Watch(default, "web", "web-prod")
    with pytest.raises(ObserveError) as err:
        w.snap(deployment_id="d-NOSUCH123")
    assert err.value.aws_code == "DeploymentDoesNotExistException"
    assert "d-NOSUCH123" in str(err.value)

    dark = TargetConfig(
        name="dark",
        region="us-east-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        application="web",
        deployment_group="web-prod",
    )
    session = AwsSession(dark, connect_timeout=0.5, read_timeout=0.5, max_attempts=1)
    t0 = time.monotonic()
    with pytest.raises(ObserveError) as err:
        observe.snapshot(session, dark)
    assert time.monotonic() - t0 < 5
    assert err.value.aws_code == "EndpointConnectionError"
    assert "cannot reach" in str(err.value)


def test_a_failing_call_leaves_a_note_and_keeps_the_rest(default: Sandbox) -> None:
    # One attempt per call: this is about what a failed call leaves, not about retries.
    w = Watch(default, "web", "web-prod", max_attempts=1)
    default.faults.set_api(throttle_rate=1.0, operations=["DescribeAlarms", "GetMetricData"])
    try:
        s = w.snap()
    finally:
        default.faults.set_api(throttle_rate=0.0)
    assert {"alarms", "metrics"} <= set(s.unread)
    assert any(
        n.startswith("alarm states could not be read: AWS is throttling") and "Throttl" in n
        for n in s.notes
    ), s.notes
    assert s.alarms[0].state == "UNKNOWN"
    assert len(s.original.instances) == 4 and s.traffic.original_percent == 100.0
    assert not gates.alarms(s, GateSettings()).passed
    assert not w.snap().notes


def test_in_place_fleet_with_the_batch_in_flight(start: Callable[..., Sandbox]) -> None:
    sb = start("inplace")
    w = Watch(sb, "web", "web-inplace")
    before = w.snap()
    assert before.original is None and before.replacement is None
    assert len(before.fleet.instances) == 4 and before.traffic is None
    dep_id = w.client("codedeploy").create_deployment(
        applicationName="web", deploymentGroupName="web-inplace", revision=V2
    )["deploymentId"]
    busy = w.until(lambda s: s.deployment.id == dep_id and bool(s.fleet.in_flight))
    assert busy.deployment.phase == "installing"
    assert len(busy.fleet.in_flight) == 1  # OneAtATime
    flying = next(i for i in busy.fleet.instances if i.id == busy.fleet.in_flight[0])
    assert flying.current_event is not None
    assert not busy.action("approve").passed and busy.action("rollback").passed
    done = w.until(lambda s: s.deployment.status == "Succeeded", timeout=40)
    assert {i.revision for i in done.fleet.instances} == {"s3://web-revisions/web/v2.zip"}
    assert all(i.health[0].healthy for i in done.fleet.instances)
    texts = [e.text for a, b in zip(w.seen, w.seen[1:], strict=False) for e in observe.diff(a, b)]
    assert any("BlockTraffic started" in t for t in texts)


def test_weighted_listener_defines_environments_traffic_and_metrics(
    start: Callable[..., Sandbox],
) -> None:
    sb = start("weighted", load_rps=40)
    w = Watch(sb, "web", "web-weighted")
    cd = w.client("codedeploy")
    create_weighted_group(cd)
    s = w.snap()
    assert s.deployment is None
    assert {i.asg_name for i in s.original.instances} == {"web-blue-asg"}
    assert {i.asg_name for i in s.replacement.instances} == {"web-green-asg"}
    (weights,) = s.listeners
    assert dict(weights.weights) == {"web-blue-tg": 100, "web-green-tg": 0}
    assert (s.traffic.original_percent, s.traffic.replacement_percent) == (100.0, 0.0)
    assert s.traffic.basis.startswith(f"listener weights on web-alb:{weights.port}")
    assert s.action("shift").passed and s.action("deploy").passed
    assert {m.source for m in s.original.metrics} == {"web-blue-tg"}
    assert {m.source for m in s.replacement.metrics} == {"web-green-tg"}
    assert s.original.target_groups == ("web-blue-tg",)
    assert s.replacement.target_groups == ("web-green-tg",)
    # The listener sends clients to web-blue-tg alone (web-green-tg at weight 0): the verdict
    # counts the healthy targets there, and each target group's figures are its environment's.
    assert [(x.listener, x.target_groups) for x in s.serving or ()] == [
        (f"web-alb:{weights.port}", ("web-blue-tg",))
    ]
    assert verdict(s).level == "SAFE", verdict(s)
    line = metrics_line(s) or ""
    assert "web-blue-tg" not in line and "web-green-tg" not in line
    arns = {tg.name: tg.arn for tg in sb.world.target_groups.values()}
    assert dict(weights.arns) == arns == dict(s.target_group_arns)

    w.client("elbv2").modify_listener(
        ListenerArn=weights.listener_arn,
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": arn, "Weight": weight}
                        for arn, weight in (
                            (tg.arn, 25 if tg.name == "web-blue-tg" else 75)
                            for tg in sb.world.target_groups.values()
                        )
                    ]
                },
            }
        ],
    )
    shifted = w.until(lambda s: s.traffic.replacement_percent == 75.0)
    assert shifted.traffic.original_percent == 25.0
    texts = [e.text for e in observe.diff(s, shifted)]
    assert "traffic original/replacement: 100/0 → 25/75" in texts

    def served(s: Snapshot) -> bool:
        return any(
            m.name == "RequestCount" and sum(v for _, v in m.points) > 0
            for m in s.replacement.metrics
        )

    w.until(served)


def test_classic_load_balancer_health_and_cutover(start: Callable[..., Sandbox]) -> None:
    sb = start("classic")
    w = Watch(sb, "web", "web-classic")
    cd = w.client("codedeploy")
    cd.create_application(applicationName="web", computePlatform="Server")
    cd.create_deployment_group(
        applicationName="web",
        deploymentGroupName="web-classic",
        serviceRoleArn="arn:aws:iam::123456789012:role/CodeDeployServiceRole",
        autoScalingGroups=["web-asg"],
        deploymentConfigName="CodeDeployDefault.AllAtOnce",
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        blueGreenDeploymentConfiguration={
            "greenFleetProvisioningOption": {"action": "COPY_AUTO_SCALING_GROUP"},
            "deploymentReadyOption": {
                "actionOnTimeout": "STOP_DEPLOYMENT",
                "waitTimeInMinutes": 30,
            },
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 5,
            },
        },
        loadBalancerInfo={"elbInfoList": [{"name": "web-clb"}]},
    )
    s = w.snap()
    assert s.deployment is None and s.classic_load_balancers == ("web-clb",)
    assert {(h.kind, h.state) for i in s.original.instances for h in i.health} == {
        ("classic", "InService")
    }
    assert s.traffic.basis == "healthy registered targets in web-clb: 4 original, 0 replacement"
    assert s.action("deploy").passed and not s.action("rollback").passed

    dep_id = cd.create_deployment(
        applicationName="web", deploymentGroupName="web-classic", revision=V2
    )["deploymentId"]
    ready = w.until(phase("ready"), timeout=40)
    assert ready.deployment.deadline is not None
    assert ready.deployment.deadline - ready.timers[0].started == timedelta(minutes=30)
    gate = next(g for g in ready.gates if g.name == "replacement-healthy")
    assert gate.passed and "not yet registered with web-clb" in gate.reason
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")
    waited = w.until(phase("termination-wait"), timeout=40)
    assert (waited.traffic.original_percent, waited.traffic.replacement_percent) == (0.0, 100.0)
    assert {h.state for i in waited.replacement.instances for h in i.health} == {"InService"}
    assert waited.deployment.deadline - waited.timers[0].started == timedelta(minutes=5)
