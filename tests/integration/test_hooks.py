"""`cutover hook deregister|register` against a running sandbox (scenario `hooks`), plus the
pieces that need no AWS: state interpretation, timeouts, settings, instance metadata."""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from cutover.backend.config import ConfigError, HookSettings, load_config
from cutover.backend.core import hooktags
from cutover.backend.hooks import (
    DONE,
    FAIL,
    REREGISTER,
    WAIT,
    HookError,
    HookUsage,
    Imds,
    Reporter,
    classic_verdict,
    clb_timeout,
    find_identity,
    merge_options,
    run_hook,
    target_verdict,
    tg_timeout,
)
from cutover.backend.hooks.places import recorded_home
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from cutover.sandbox.summary import summarize
from cutover.sandbox.testing import aws_client, control, wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs"
pytestmark = pytest.mark.sandbox("hooks", time_scale=50)
ALL_PROCESSES = ["AZRebalance", "AlarmNotification", "ScheduledActions", "ReplaceUnhealthy"]


# ----- fixtures ---------------------------------------------------------------------------------


class World:
    """A running `hooks` sandbox, boto3 clients on it, and a way to run a hook in-process."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.env = {**sb.env(), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
        self.asg = aws_client(sb, "autoscaling")
        self.ec2 = aws_client(sb, "ec2")
        self.elbv2 = aws_client(sb, "elbv2")
        self.elb = aws_client(sb, "elb")
        self.control = control(sb)
        self.calls: list[str] = []

    def tagged(self, app: str) -> list[str]:
        rows = self.ec2.describe_instances(Filters=[{"Name": "tag:app", "Values": [app]}])
        ids = [i["InstanceId"] for r in rows["Reservations"] for i in r["Instances"]]
        return sorted(ids)

    def group(self) -> dict:
        return self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
            "AutoScalingGroups"
        ][0]

    def members(self) -> list[str]:
        return sorted(m["InstanceId"] for m in self.group()["Instances"])

    def lifecycle(self, iid: str) -> str:
        return self.asg.describe_auto_scaling_instances(InstanceIds=[iid])["AutoScalingInstances"][
            0
        ]["LifecycleState"]

    def group_tags(self) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.group()["Tags"]}

    def suspended(self) -> set[str]:
        return {p["ProcessName"] for p in self.group()["SuspendedProcesses"]}

    def instance_tags(self, iid: str) -> dict[str, str]:
        rows = self.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])
        return {t["Key"]: t["Value"] for t in rows["Tags"]}

    def tg_arn(self, name: str) -> str:
        return self.elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]

    def tg_states(self, name: str, iid: str) -> list[str]:
        rows = self.elbv2.describe_target_health(TargetGroupArn=self.tg_arn(name))[
            "TargetHealthDescriptions"
        ]
        return [r["TargetHealth"]["State"] for r in rows if r["Target"]["Id"] == iid]

    def hook(
        self,
        action: str,
        iid: str | None,
        *,
        env: dict[str, str] | None = None,
        settings: HookSettings | None = None,
        sleep: Any = time.sleep,
        **flags: object,
    ) -> tuple[int, list[str], list[str]]:
        """Run a hook in-process: (exit code, stdout lines, stderr lines)."""
        environ = {**self.env, **(env or {})}
        out, err = io.StringIO(), io.StringIO()
        reporter = Reporter(action, out, err)
        session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
        )

        def record(model: Any, **_: object) -> None:
            self.calls.append(f"{model.service_model.endpoint_prefix}:{model.name}")

        session.events.register("before-call", record)
        try:
            options = merge_options(
                action,
                flags={"instance_id": iid, **flags},
                env=environ,
                settings=settings or HookSettings(),
            )
            code = run_hook(options, reporter, environ, session=session, poll_cap=0.5, sleep=sleep)
        except HookError as exc:
            reporter.error(str(exc))
            code = exc.code
        return code, out.getvalue().splitlines(), err.getvalue().splitlines()


@pytest.fixture
def world(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(sandbox)
    for key, value in w.env.items():
        monkeypatch.setenv(key, value)  # boto3 finds AWS_ENDPOINT_URL here, as on a host
    return w


def allowed_by_policy() -> set[str]:
    doc = json.loads((DOCS / "iam-policy-hooks.json").read_text())
    return {a for st in doc["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}


def index(lines: list[str], words: str) -> int:
    return next(i for i, line in enumerate(lines) if words in line)


# ----- Auto Scaling path ------------------------------------------------------------------------


def test_asg_round_trip_changes_and_restores_exactly_what_it_recorded(world: World) -> None:
    iid = world.members()[0]
    # Someone else suspended AZRebalance: the hooks must leave it suspended.
    world.asg.suspend_processes(AutoScalingGroupName="web-asg", ScalingProcesses=["AZRebalance"])
    deployment = {
        "DEPLOYMENT_ID": "d-HOOKTEST1",
        "DEPLOYMENT_GROUP_NAME": "web-hooks",
        "APPLICATION_NAME": "shop",
        "LIFECYCLE_EVENT": "ApplicationStop",
    }
    code, out, err = world.hook("deregister", iid, env=deployment)
    assert code == 0, err
    assert all(line.startswith(f"cutover hook deregister: {iid}: ") for line in out)
    assert world.lifecycle(iid) == "Standby"
    # Standby came only after the target group let go of it.
    assert world.tg_states("web-tg", iid) == []
    assert index(out, "out of target group web-tg") < index(out, "Standby in Auto Scaling")
    assert any("timeout 80 s, from target group web-tg" in line for line in out)
    group = world.group()
    assert (group["MinSize"], group["DesiredCapacity"]) == (3, 3)
    gtags = world.group_tags()
    assert gtags[hooktags.MIN_SIZE] == "4>3"
    assert gtags[hooktags.SUSPENDED] == "AlarmNotification,ScheduledActions,ReplaceUnhealthy"
    assert world.suspended() == set(ALL_PROCESSES)
    itags = world.instance_tags(iid)
    assert itags[hooktags.HOME] == "asg/web-asg tg/web-tg/80"
    dep, when, event = itags[hooktags.OUT].split()
    assert dep == "d-HOOKTEST1" and event == "ApplicationStop" and when.endswith("Z")

    code, out, err = world.hook("register", iid, env={**deployment, "LIFECYCLE_EVENT": "X"})
    assert code == 0, err
    assert world.lifecycle(iid) == "InService"
    assert world.tg_states("web-tg", iid) == ["healthy"]
    # Healthy first, then the record goes, then the group is restored.
    assert index(out, "healthy in target group web-tg") < index(out, f"removed {hooktags.OUT}")
    assert index(out, f"removed {hooktags.OUT}") < index(out, "restored MinSize")
    group = world.group()
    assert (group["MinSize"], group["DesiredCapacity"]) == (4, 4)
    assert world.suspended() == {"AZRebalance"}
    assert (
        hooktags.MIN_SIZE not in world.group_tags() and hooktags.SUSPENDED not in world.group_tags()
    )
    itags = world.instance_tags(iid)
    assert hooktags.OUT not in itags and itags[hooktags.HOME] == "asg/web-asg tg/web-tg/80"
    assert set(world.calls) <= allowed_by_policy(), set(world.calls) - allowed_by_policy()


def test_standby_comes_only_after_in_flight_requests_drained(world: World) -> None:
    summary = summarize(world.sb.world, world.sb)
    url = next(
        f"http://127.0.0.1:{ls['port']}/"  # listeners bind on loopback
        for lb in summary["load_balancers"]
        if lb["name"] == "web-alb"
        for ls in lb["listeners"]
    )
    members = world.members()
    for iid in members:  # slow answers keep requests in flight on every member
        world.control.set_instance_fault(iid, slow_ms=8000)

    def get() -> None:
        try:
            urllib.request.urlopen(url, timeout=10).read()
        except OSError:
            pass

    requests = [threading.Thread(target=get, daemon=True) for _ in range(12)]
    for t in requests:
        t.start()

    def in_flight_on_the_first() -> bool:
        with world.sb.world.lock:
            return any(
                t.inflight > 0
                for tg in world.sb.world.target_groups.values()
                for (iid, _), t in tg.targets.items()
                if iid == members[0]
            )

    wait_for(in_flight_on_the_first, 10, "requests in flight on the first member")
    code, out, err = world.hook("deregister", members[0])
    assert code == 0, err
    # The hook saw the target draining, and only then Standby.
    assert index(out, "waiting: web-tg:80 draining") < index(out, "out of target group web-tg")
    assert index(out, "out of target group web-tg") < index(out, "Standby in Auto Scaling")
    world.control.clear_faults()
    for t in requests:
        t.join(15)


def test_a_failed_deployment_s_leftovers_are_restored_to_the_original_values(
    world: World,
) -> None:
    a, b = world.members()[:2]
    assert world.hook("deregister", a)[0] == 0
    # The deployment fails here: a's register never runs. The next deployment goes on with b.
    assert world.hook("deregister", b)[0] == 0
    group = world.group()
    assert (group["MinSize"], group["DesiredCapacity"]) == (2, 2)
    assert world.group_tags()[hooktags.MIN_SIZE] == "4>2"  # the original, and what the hooks set
    code, out, _ = world.hook("register", b)
    assert code == 0
    assert any(f"{a} still out" in line for line in out)
    assert world.group()["MinSize"] == 2 and hooktags.MIN_SIZE in world.group_tags()
    # A deregister on an instance already in Standby (the retry) waits and succeeds.
    code, out, _ = world.hook("deregister", a)
    assert code == 0 and any("already Standby" in line for line in out)
    assert world.group()["MinSize"] == 2
    code, out, _ = world.hook("register", a)
    assert code == 0
    group = world.group()
    assert (group["MinSize"], group["DesiredCapacity"]) == (4, 4)
    assert world.suspended() == set()
    assert not {hooktags.MIN_SIZE, hooktags.SUSPENDED} & set(world.group_tags())


def test_register_on_an_instance_in_service_restores_recorded_leftovers(world: World) -> None:
    iid = world.members()[0]
    # What a hook killed midway leaves: MinSize lowered and processes suspended, recorded.
    world.asg.create_or_update_tags(
        Tags=[
            {"ResourceId": "web-asg", "ResourceType": "auto-scaling-group", "Key": k, "Value": v}
            for k, v in (
                (hooktags.MIN_SIZE, "4"),
                (hooktags.SUSPENDED, "AZRebalance,ScheduledActions"),
            )
        ]
    )
    world.asg.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=3)
    world.asg.suspend_processes(
        AutoScalingGroupName="web-asg", ScalingProcesses=["AZRebalance", "ScheduledActions"]
    )
    code, _, err = world.hook("register", iid)
    assert code == 0, err
    assert world.group()["MinSize"] == 4 and world.suspended() == set()
    assert not {hooktags.MIN_SIZE, hooktags.SUSPENDED} & set(world.group_tags())


# ----- plain target group and Classic paths -----------------------------------------------------


def test_target_group_path_round_trip_from_env_then_from_the_home_tag(world: World) -> None:
    iid = world.tagged("api")[0]
    code, out, err = world.hook("deregister", iid, env={"TARGET_GROUP_LIST": "api-tg"})
    assert code == 0, err
    assert world.tg_states("api-tg", iid) == []
    assert world.instance_tags(iid)[hooktags.HOME] == "tg/api-tg/80"
    assert index(out, "recorded") < index(out, "deregistering from target group api-tg")
    # A second deregister: already out, still succeeds, and the home tag is kept.
    code, out, _ = world.hook("deregister", iid, target_groups=["api-tg"])
    assert code == 0 and any("already out" in line for line in out)
    assert world.instance_tags(iid)[hooktags.HOME] == "tg/api-tg/80"
    # Register with nothing configured: the home tag says where it belongs.
    code, out, err = world.hook("register", iid)
    assert code == 0, err
    assert world.tg_states("api-tg", iid) == ["healthy"]
    assert hooktags.OUT not in world.instance_tags(iid)
    assert set(world.calls) <= allowed_by_policy()


def test_classic_load_balancer_path(world: World) -> None:
    iid = world.tagged("legacy")[0]
    code, _, err = world.hook("deregister", iid, env={"ELB_LIST": "legacy-elb"})
    assert code == 0, err
    registered = world.elb.describe_load_balancers(LoadBalancerNames=["legacy-elb"])
    assert iid not in {
        i["InstanceId"] for i in registered["LoadBalancerDescriptions"][0]["Instances"]
    }
    assert world.instance_tags(iid)[hooktags.HOME] == "elb/legacy-elb"
    code, _, err = world.hook("register", iid, elbs=["legacy-elb"])
    assert code == 0, err
    health = world.elb.describe_instance_health(
        LoadBalancerName="legacy-elb", Instances=[{"InstanceId": iid}]
    )["InstanceStates"][0]
    assert health["State"] == "InService"
    assert hooktags.OUT not in world.instance_tags(iid)
    assert set(world.calls) <= allowed_by_policy()


def test_aws_12_02_an_instance_already_out_of_a_classic_load_balancer_is_left_alone(
    world: World,
) -> None:
    """A classic load balancer answers for an instance it no longer has: OutOfService, "Instance
    is not currently registered with the LoadBalancer." That is out, not a registration to
    take away again."""
    iid = world.tagged("legacy")[0]
    env = {"ELB_LIST": "legacy-elb"}
    assert world.hook("deregister", iid, env=env)[0] == 0
    health = world.elb.describe_instance_health(
        LoadBalancerName="legacy-elb", Instances=[{"InstanceId": iid}]
    )["InstanceStates"][0]
    assert (health["State"], health["Description"]) == (
        "OutOfService",
        "Instance is not currently registered with the LoadBalancer.",
    )
    code, out, err = world.hook("deregister", iid, env=env)
    assert code == 0, err
    assert any("not registered in load balancer legacy-elb: already out" in line for line in out)
    assert world.calls.count("elasticloadbalancing:DeregisterInstancesFromLoadBalancer") == 1


def test_aws_12_02_a_refused_classic_register_whose_answer_was_lost_did_not_take_effect(
    world: World,
) -> None:
    """The read-back after a lost answer must not take OutOfService "not currently registered"
    for a registration."""
    iid = world.tagged("legacy")[0]
    assert world.hook("deregister", iid, env={"ELB_LIST": "legacy-elb"})[0] == 0
    world.ec2.stop_instances(InstanceIds=[iid])  # RegisterInstances will refuse it
    lose_answers(world, "RegisterInstancesWithLoadBalancer")
    code, _, err = world.hook("register", iid)
    assert code == 1
    assert sent(world, "RegisterInstancesWithLoadBalancer") == 1
    assert "RegisterInstancesWithLoadBalancer: refused" not in err[-1]
    assert err[-1].endswith(
        "read back: legacy-elb not registered (Instance is not currently registered with the "
        "LoadBalancer.): it did not take effect"
    ), err


@pytest.mark.parametrize(
    ("app", "env"),
    [("api", {"TARGET_GROUP_LIST": "api-tg"}), ("legacy", {"ELB_LIST": "legacy-elb"})],
)
def test_an_unhealthy_instance_fails_at_once_not_at_the_timeout(
    world: World, app: str, env: dict[str, str]
) -> None:
    iid = world.tagged(app)[0]
    assert world.hook("deregister", iid, env=env)[0] == 0
    world.control.set_instance_fault(iid, unhealthy=True)
    code, out, err = world.hook("register", iid)
    assert code == 1
    assert any("timeout 105 s" in line for line in out)
    where = "target group api-tg (port 80)" if app == "api" else "load balancer legacy-elb"
    assert where in err[-1]
    if app == "api":
        assert "unhealthy (Target." in err[-1]
    else:
        assert "UnhealthyThreshold" in err[-1]
    # It failed on the unhealthy state (the last line above), not by waiting out its 105 s.
    assert not any("timed out" in line for line in err), err
    assert hooktags.OUT in world.instance_tags(iid)  # still out: the record stays


def test_timeout_names_the_place_and_the_last_state(world: World) -> None:
    iid = world.tagged("api")[0]
    assert world.hook("deregister", iid, target_groups=["api-tg"])[0] == 0
    # Health checks far apart: the target stays initial well past the 3 s timeout however
    # slowly this machine runs the hook.
    arn = world.elbv2.describe_target_groups(Names=["api-tg"])["TargetGroups"][0]["TargetGroupArn"]
    with world.sb.world.lock:
        check = world.sb.world.target_groups[arn].health_check
        check.interval, check.healthy_threshold = 300, 10
    code, _, err = world.hook("register", iid, timeout=3.0)
    assert code == 1
    assert "timed out after 3 s" in err[-1] and "api-tg:80 initial" in err[-1]


def test_health_checks_disabled_counts_as_in(world: World) -> None:
    iid = world.tagged("api")[0]
    assert world.hook("deregister", iid, target_groups=["api-tg"])[0] == 0
    arn = world.tg_arn("api-tg")
    with world.sb.world.lock:  # the sandbox's model of a group with health checks off
        world.sb.world.target_groups[arn].health_check.enabled = False
    code, out, err = world.hook("register", iid)
    assert code == 0, err
    assert any("health checks are disabled" in line for line in out)
    assert world.tg_states("api-tg", iid) == ["unavailable"]


def test_timeouts_come_from_the_groups_own_settings(world: World) -> None:
    world.elbv2.modify_target_group_attributes(
        TargetGroupArn=world.tg_arn("api-tg"),
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "120"}],
    )
    iid = world.tagged("api")[0]
    code, out, _ = world.hook("deregister", iid, target_groups=["api-tg"])
    assert code == 0
    assert any("timeout 170 s, from target group api-tg" in line for line in out)
    code, out, _ = world.hook("register", iid, timeout=400.0)
    assert code == 0 and any("timeout 400 s (--timeout)" in line for line in out)


def test_aws_errors_exit_1_with_their_code(world: World) -> None:
    iid = world.tagged("api")[0]
    code, _, err = world.hook("deregister", iid, target_groups=["no-such-tg"])
    assert code == 1
    assert "(AWS error TargetGroupNotFound)" in err[-1]


def test_nothing_configured_is_bad_input(world: World) -> None:
    iid = world.tagged("api")[0]
    code, _, err = world.hook("deregister", iid)
    assert code == 2
    assert err == [
        f"cutover hook deregister: {iid}: no target groups or load balancers: set "
        "--target-groups/--elbs, TARGET_GROUP_LIST/ELB_LIST, or hooks: in the config"
    ]


def test_config_settings_for_the_deployment_group(world: World, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "hooks:\n"
        "  target_groups: [web-tg]\n"
        "  deployment_groups:\n"
        "    api-hooks: {target_groups: [api-tg]}\n"
    )
    settings = load_config(path).hooks.for_group("api-hooks")
    iid = world.tagged("api")[0]
    code, _, err = world.hook("deregister", iid, settings=settings)
    assert code == 0, err
    assert world.instance_tags(iid)[hooktags.HOME] == "tg/api-tg/80"


# ----- instance metadata ------------------------------------------------------------------------


def test_identity_from_the_sandbox_metadata_imdsv2(world: World) -> None:
    iid = world.tagged("api")[0]
    ident = Imds(world.sb.imds_url(iid)).identity()
    assert (ident.instance_id, ident.region) == (iid, "us-east-1")
    # The whole hook, finding itself through metadata (no --instance-id).
    code, out, err = world.hook(
        "deregister",
        None,
        env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": world.sb.imds_url(iid), "AWS_REGION": ""},
        target_groups=["api-tg"],
    )
    assert code == 0, err
    assert out[0].startswith(f"cutover hook deregister: {iid}: ")


def test_identity_when_tokens_are_required() -> None:
    scenario = load_scenario("hooks")
    scenario.imds_tokens = "required"
    with Sandbox(scenario, free_listener_ports=True, time_scale=50) as sb:
        iid = next(iter(sb.world.instances))
        assert Imds(sb.imds_url(iid)).identity().instance_id == iid


class FakeImds(BaseHTTPRequestHandler):
    """IMDS as an old proxy (no token PUT) or with tokens that expire after one use."""

    mode = "v1"
    tokens_issued = 0

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: str = "") -> None:
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_PUT(self) -> None:
        if self.mode == "v1":
            return self._send(405)
        FakeImds.tokens_issued += 1
        self._send(200, f"token{FakeImds.tokens_issued}")

    def do_GET(self) -> None:
        token = self.headers.get("X-aws-ec2-metadata-token")
        if self.mode == "expiring" and token != f"token{FakeImds.tokens_issued}":
            return self._send(401)
        if self.mode == "expiring" and self.path.endswith("instance-id"):
            FakeImds.tokens_issued += 1  # the next GET needs a new token
        if not self.path.startswith("/prefix/latest/"):
            return self._send(404)
        if self.path.endswith("instance-id"):
            return self._send(200, "i-0123456789abcdef0")
        self._send(200, json.dumps({"region": "eu-west-1", "availabilityZone": "eu-west-1a"}))


@pytest.fixture
def fake_imds() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeImds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/prefix"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("mode", ["v1", "expiring"])
def test_imds_falls_back_to_v1_on_405_and_refetches_an_expired_token(
    fake_imds: str, mode: str
) -> None:
    FakeImds.mode, FakeImds.tokens_issued = mode, 0
    ident = Imds(fake_imds).identity()  # no trailing slash: joined like botocore
    assert (ident.instance_id, ident.region) == ("i-0123456789abcdef0", "eu-west-1")


def test_imds_unreachable_is_one_line_and_quick() -> None:
    start = time.monotonic()
    with pytest.raises(HookError, match="did not answer"):
        Imds("http://127.0.0.1:9/", timeout=0.2).identity()
    assert time.monotonic() - start < 5


def test_metadata_disabled_needs_instance_id() -> None:
    options = merge_options("deregister", flags={}, env={}, settings=HookSettings())
    with pytest.raises(HookUsage, match="--instance-id: required when AWS_EC2_METADATA_DISABLED"):
        find_identity(options, {"AWS_EC2_METADATA_DISABLED": "true"})


def test_imds_url_join() -> None:
    assert Imds("http://h:1/i-0abc/").url("latest/x") == "http://h:1/i-0abc/latest/x"
    assert Imds("http://h:1/i-0abc").url("latest/x") == "http://h:1/i-0abc/latest/x"
    assert Imds().url("latest/x") == "http://169.254.169.254/latest/x"


# ----- pure pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "reason", "into", "action"),
    [
        ("healthy", None, True, DONE),
        ("initial", "Elb.RegistrationInProgress", True, WAIT),
        ("initial", "Elb.InitialHealthChecking", True, WAIT),
        ("unhealthy", "Target.ResponseCodeMismatch", True, FAIL),
        ("unhealthy", "Target.Timeout", True, FAIL),
        ("unhealthy", "Elb.InternalError", True, WAIT),
        ("unused", "Target.NotRegistered", True, WAIT),
        ("unused", "Target.NotInUse", True, FAIL),
        ("unused", "Target.InvalidState", True, FAIL),
        ("draining", "Target.DeregistrationInProgress", True, REREGISTER),
        ("unhealthy.draining", "Target.DeregistrationInProgress", True, REREGISTER),
        ("unavailable", "Target.HealthCheckDisabled", True, DONE),
        ("someday-new", None, True, WAIT),
        ("unused", "Target.NotRegistered", False, DONE),
        ("draining", "Target.DeregistrationInProgress", False, WAIT),
        ("unhealthy.draining", "Target.DeregistrationInProgress", False, WAIT),
        ("healthy", None, False, WAIT),
        ("unavailable", "Target.HealthCheckDisabled", False, WAIT),
    ],
)
def test_every_target_state_has_a_meaning(
    state: str, reason: str | None, into: bool, action: str
) -> None:
    assert target_verdict(state, reason, "text", into=into).action == action


def test_classic_states() -> None:
    draining = "Instance deregistration currently in progress."
    out = "Instance is not currently registered with the LoadBalancer."
    assert classic_verdict(None, None, None, into=False).action == DONE
    assert classic_verdict("OutOfService", "ELB", out, into=False).action == DONE
    assert classic_verdict("InService", "N/A", draining, into=False).action == WAIT
    assert classic_verdict("OutOfService", "ELB", "x", into=False).action == DONE
    assert classic_verdict("InService", "N/A", "N/A", into=True).action == DONE
    assert classic_verdict("InService", "N/A", draining, into=True).action == REREGISTER
    assert classic_verdict("OutOfService", "ELB", out, into=True).action == REREGISTER
    assert classic_verdict("OutOfService", "Instance", out, into=True).action == REREGISTER
    pending = "Instance registration is still in progress."
    assert classic_verdict("OutOfService", "ELB", pending, into=True).action == WAIT
    # After the first health check, until HealthyThreshold checks in a row have passed.
    not_yet = (
        "Instance has not passed the configured HealthyThreshold number of health checks "
        "consecutively."
    )
    assert classic_verdict("OutOfService", "Instance", not_yet, into=True).action == WAIT
    starting = "Instance is in pending state."
    assert classic_verdict("OutOfService", "Instance", starting, into=True).action == WAIT
    failed = "Instance has failed at least the UnhealthyThreshold number of health checks"
    assert classic_verdict("OutOfService", "Instance", failed, into=True).action == FAIL
    for state in ("stopped", "terminated"):
        stopped = f"Instance is in {state} state."
        assert classic_verdict("OutOfService", "Instance", stopped, into=True).action == FAIL


def test_timeout_formulas() -> None:
    tg = {"HealthCheckIntervalSeconds": 10, "HealthCheckTimeoutSeconds": 5}
    tg["HealthyThresholdCount"] = 3
    assert tg_timeout({"deregistration_delay.timeout_seconds": "30"}, tg, into=False) == 80
    assert tg_timeout({}, tg, into=True) == 4 * 10 + 5 + 60
    lb = {"HealthCheck": {"Interval": 30, "Timeout": 5, "HealthyThreshold": 10}}
    drain = {"ConnectionDraining": {"Enabled": True, "Timeout": 300}}
    assert clb_timeout(drain, lb, into=False) == 300 + 60 + 30
    assert clb_timeout({"ConnectionDraining": {"Enabled": False}}, lb, into=False) == 90
    assert clb_timeout({}, lb, into=True) == 11 * 30 + 5 + 60


def test_precedence_flags_env_config() -> None:
    config = HookSettings(target_groups=("cfg-tg",), port=8080)
    o = merge_options("deregister", flags={}, env={}, settings=config)
    assert (o.target_groups, o.elbs, o.port) == (("cfg-tg",), (), 8080)
    env = {"TARGET_GROUP_LIST": "a-tg, b-tg c-tg", "PORT": "81"}
    o = merge_options("deregister", flags={}, env=env, settings=config)
    assert (o.target_groups, o.port) == (("a-tg", "b-tg", "c-tg"), 81)
    o = merge_options("deregister", flags={"elbs": ["x-elb"], "port": 82}, env=env, settings=config)
    assert (o.target_groups, o.elbs, o.port) == ((), ("x-elb",), 82)
    with pytest.raises(HookUsage, match=r"^PORT: 'http' is not a port number"):
        merge_options("register", flags={}, env={"PORT": "http"}, settings=config)


def test_safety_11_min_size_record_forms() -> None:
    assert hooktags.parse_min_size("4>3") == (4, 3)
    assert hooktags.parse_min_size(" 6 > 2 ") == (6, 2)
    assert hooktags.parse_min_size("4") == (4, 3)  # earlier versions: the original only
    for bad in ("0", "3>3", "3>4", "4>", ">3", "four", "", "4>-1"):
        assert hooktags.parse_min_size(bad) is None, bad


def test_home_tag_round_trips() -> None:
    home = hooktags.parse_home("asg/web-asg tg/web-tg/80 tg/a/b/81 elb/legacy junk")
    assert home == hooktags.Home("web-asg", [("web-tg", 80), ("a/b", 81)], ["legacy"])
    # The hooks act only where a port is recorded.
    assert recorded_home("tg/web-tg/80 tg/by-hand elb/legacy") == ([("web-tg", 80)], ["legacy"])


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("hooks:\n  target_group: [a]\n", 2, "unknown key 'target_group' in hooks"),
        ("hooks:\n  suspend_processes: [Nope]\n", 2, "'Nope' is not an Auto Scaling process"),
        ("hooks:\n  port: 70000\n", 2, "hooks port must be from 1 to 65535"),
        ("hooks:\n  deployment_groups:\n    g: {elbs: x}\n", 3, "elbs must be a list"),
        ("hooks:\n  deployment_groups:\n    g: {lower: true}\n", 3, "unknown key 'lower'"),
    ],
)
def test_hooks_config_errors_name_the_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}:{line}: ")
    assert words in str(exc.value)


def test_hooks_config_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "hooks:\n  elbs: [legacy-elb]\n  lower_min_size: false\n  deployment_groups:\n"
        "    api-hooks: {target_groups: [api-tg], suspend_processes: []}\n"
    )
    hooks = load_config(path).hooks
    assert hooks.for_group("other") == HookSettings(elbs=("legacy-elb",), lower_min_size=False)
    api = hooks.for_group("api-hooks")
    assert api.target_groups == ("api-tg",) and api.elbs == ("legacy-elb",)
    assert api.suspend_processes == () and api.lower_min_size is False


# ----- issue 11: an operator's MinSize is never undone ------------------------------------------


def set_min_size(world: World, value: int) -> None:
    world.asg.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=value)


def test_safety_11_the_next_deployment_keeps_an_operator_s_min_size(world: World) -> None:
    a, b = world.members()[:2]
    assert world.hook("deregister", a)[0] == 0
    # The deployment is interrupted here (a stays in Standby); the operator then raises MinSize.
    set_min_size(world, 6)
    assert world.group()["DesiredCapacity"] == 6
    # The next deployment: b out and back, then a (already in Standby) out and back.
    code, out, err = world.hook("deregister", b)
    assert code == 0, err
    assert any("MinSize of web-asg is 6, not the 3 the hooks set" in line for line in out), out
    assert world.group()["MinSize"] == 5
    assert world.hook("register", b)[0] == 0
    assert world.hook("deregister", a)[0] == 0
    code, out, err = world.hook("register", a)
    assert code == 0, err
    assert any("restored MinSize of web-asg to 6" in line for line in out), out
    group = world.group()
    # a rejoined the 6 the operator asked for: ExitStandby adds it to the desired capacity.
    assert (group["MinSize"], group["DesiredCapacity"]) == (6, 7)
    assert hooktags.MIN_SIZE not in world.group_tags()


@pytest.mark.parametrize("record", ["4>3", "4"])  # "4": the form earlier versions wrote
def test_safety_11_register_leaves_a_changed_min_size_and_says_so(
    world: World, record: str
) -> None:
    iid = world.members()[0]
    assert world.hook("deregister", iid)[0] == 0
    group_tag = {"ResourceId": "web-asg", "ResourceType": "auto-scaling-group"}
    world.asg.create_or_update_tags(Tags=[{**group_tag, "Key": hooktags.MIN_SIZE, "Value": record}])
    set_min_size(world, 2)  # the operator, while the instance is out
    code, out, err = world.hook("register", iid)
    assert code == 0, err
    said = [line for line in out if "MinSize of web-asg" in line]
    assert said == [
        f"cutover hook register: {iid}: MinSize of web-asg is 2, not the 3 the hooks set: "
        "changed by someone else since, so left at 2 (it was 4 before the hooks lowered it)"
    ], out
    assert world.group()["MinSize"] == 2
    assert hooktags.MIN_SIZE not in world.group_tags()


def test_safety_11_the_record_holds_what_the_hooks_set_and_an_interrupted_one_is_restored(
    world: World,
) -> None:
    a, b = world.members()[:2]
    assert world.hook("deregister", a)[0] == 0
    assert world.group_tags()[hooktags.MIN_SIZE] == "4>3"
    # Interrupted: a stays out and the next deployment takes b out too.
    assert world.hook("deregister", b)[0] == 0
    assert world.group_tags()[hooktags.MIN_SIZE] == "4>2"
    assert world.group()["MinSize"] == 2
    assert world.hook("register", b)[0] == 0
    code, out, _ = world.hook("register", a)
    assert code == 0 and any("restored MinSize of web-asg to 4" in line for line in out)
    assert world.group()["MinSize"] == 4 and hooktags.MIN_SIZE not in world.group_tags()


def test_safety_11_a_stale_record_is_started_afresh_from_the_operator_s_value(
    world: World,
) -> None:
    # A record an interrupted deployment left (6, lowered to 5); the operator has set 4 since.
    group_tag = {"ResourceId": "web-asg", "ResourceType": "auto-scaling-group"}
    world.asg.create_or_update_tags(Tags=[{**group_tag, "Key": hooktags.MIN_SIZE, "Value": "6>5"}])
    iid = world.members()[0]
    code, out, err = world.hook("deregister", iid)
    assert code == 0, err
    assert any("MinSize of web-asg is 4, not the 5 the hooks set" in line for line in out), out
    assert any("lowered MinSize of web-asg from 4 to 3" in line for line in out), out
    assert world.group()["MinSize"] == 3 and world.group_tags()[hooktags.MIN_SIZE] == "4>3"
    code, out, err = world.hook("register", iid)
    assert code == 0, err
    assert world.group()["MinSize"] == 4 and hooktags.MIN_SIZE not in world.group_tags()


# ----- issue 12: a lost answer is read back, never resent -------------------------------------


def lose_answers(world: World, operation: str, count: int = 1) -> None:
    """The next `count` answers to `operation` are lost after the call took effect."""
    world.control.set_api_fault(drop_response=count, drop_operations=[operation])


def sent(world: World, operation: str) -> int:
    return int(world.control.faults()["requests"].get(operation, 0))


def test_safety_12_a_lost_answer_to_enter_standby_is_not_a_failure(world: World) -> None:
    iid = world.members()[0]
    lose_answers(world, "EnterStandby")
    code, out, err = world.hook("deregister", iid)
    assert code == 0, err
    assert sent(world, "EnterStandby") == 1  # sent once, never resent
    said = [line for line in out if "EnterStandby: the answer was lost" in line]
    # On a busy machine the instance may already be through EnteringStandby when it is read.
    assert len(said) == 1 and any(
        said[0].endswith(f"read back: {iid} is {state} in web-asg: it took effect, going on")
        for state in ("EnteringStandby", "Standby")
    ), out
    assert world.lifecycle(iid) == "Standby"
    assert world.hook("register", iid)[0] == 0
    assert world.group()["MinSize"] == 4


def test_safety_12_a_lost_answer_to_exit_standby_is_not_a_failure(world: World) -> None:
    iid = world.members()[0]
    assert world.hook("deregister", iid)[0] == 0
    lose_answers(world, "ExitStandby")
    code, out, err = world.hook("register", iid)
    assert code == 0, err
    assert sent(world, "ExitStandby") == 1
    assert any(
        "ExitStandby: the answer was lost" in line and "it took effect, going on" in line
        for line in out
    ), out
    assert world.lifecycle(iid) == "InService" and world.tg_states("web-tg", iid) == ["healthy"]


# Every other call the hooks make that changes something: each is sent exactly as often as
# without the fault (once per call), and its lost answer is read back.
CHANGES = [
    ("web", "deregister", "CreateTags", 1),
    ("web", "deregister", "CreateOrUpdateTags", 2),  # the suspended record, the MinSize record
    ("web", "deregister", "SuspendProcesses", 1),
    ("web", "deregister", "UpdateAutoScalingGroup", 1),
    ("web", "register", "DeleteTags", 2),  # the instance's out tag, then the group's records
    ("web", "register", "UpdateAutoScalingGroup", 1),
    ("web", "register", "ResumeProcesses", 1),
    ("api", "deregister", "DeregisterTargets", 1),
    ("api", "register", "RegisterTargets", 1),
    ("legacy", "deregister", "DeregisterInstancesFromLoadBalancer", 1),
    ("legacy", "register", "RegisterInstancesWithLoadBalancer", 1),
]


@pytest.mark.parametrize(("app", "action", "operation", "calls"), CHANGES)
def test_safety_12_every_change_is_sent_once_and_a_lost_answer_read_back(
    world: World, app: str, action: str, operation: str, calls: int
) -> None:
    env = {"web": {}, "api": {"TARGET_GROUP_LIST": "api-tg"}, "legacy": {"ELB_LIST": "legacy-elb"}}
    iid = world.members()[0] if app == "web" else world.tagged(app)[0]
    if action == "register":
        assert world.hook("deregister", iid, env=env[app])[0] == 0
    before = sent(world, operation)
    lose_answers(world, operation)
    code, out, err = world.hook(action, iid, env=env[app])
    assert code == 0, err
    assert sent(world, operation) - before == calls
    assert any(
        f"{operation}: the answer was lost" in line and "it took effect, going on" in line
        for line in out
    ), out
    if action == "deregister":
        code, _, err = world.hook("register", iid, env=env[app])
        assert code == 0, err
    group = world.group()
    assert (group["MinSize"], group["SuspendedProcesses"]) == (4, [])
    assert not [k for k in world.group_tags() if k.startswith("cutover:hook:")]
    assert hooktags.OUT not in world.instance_tags(iid)


def test_safety_12_a_lost_answer_to_a_call_that_did_not_take_effect_fails_with_the_error(
    world: World,
) -> None:
    iid = world.members()[0]
    # MinSize == desired and not lowered: Auto Scaling refuses EnterStandby, and that refusal
    # is lost on the way back.
    lose_answers(world, "EnterStandby")
    code, _, err = world.hook("deregister", iid, settings=HookSettings(lower_min_size=False))
    assert code == 1
    assert sent(world, "EnterStandby") == 1
    assert err[-1].startswith(f"cutover hook deregister: {iid}: EnterStandby: the answer was lost")
    assert err[-1].endswith(f"read back: {iid} is InService in web-asg: it did not take effect")
    assert world.lifecycle(iid) == "InService"


def test_safety_12_a_throttled_change_is_sent_again(world: World) -> None:
    """Throttling is a refusal before anything was done: sending it again is safe."""
    iid = world.members()[0]
    world.control.set_api_fault(throttle=1.0, operations=["EnterStandby"])

    def lift_then_sleep(seconds: float) -> None:
        world.control.clear_faults()
        time.sleep(seconds)

    code, out, err = world.hook("deregister", iid, sleep=lift_then_sleep)
    assert code == 0, err
    assert sent(world, "EnterStandby") == 2  # throttled, then sent again and done
    assert not any("answer was lost" in line for line in out)
    assert world.lifecycle(iid) == "Standby"
