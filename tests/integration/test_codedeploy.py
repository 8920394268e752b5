"""CodeDeploy in the sandbox, driven by unmodified boto3 over HTTP.

Flows run against their own sandbox (the default scenario, at a high time scale with lifecycle
events of a sandbox second each), so a whole blue/green cutover takes about a real second;
API-only checks share one sandbox. Traffic is checked for real through the listener: each
answer names the revision of the instance that served it.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError
from cutover.common import lifecycle
from cutover.sandbox import codedeploy as engine
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.services.codedeploy import common as codedeploy_service
from cutover.sandbox.testing import aws_client, wait_for

TIME_SCALE = 300
pytestmark = [pytest.mark.timeout(60), pytest.mark.sandbox(time_scale=TIME_SCALE)]
APP = "shop"
ROLE = "arn:aws:iam::123456789012:role/CodeDeployServiceRole"
FAST = {name: 1.0 for name in engine.DEFAULT_DURATIONS}


def s3(label: str) -> dict:
    return {
        "revisionType": "S3",
        "s3Location": {"bucket": "shop-artifacts", "key": f"web/{label}.zip", "bundleType": "zip"},
    }


# ----- helpers ---------------------------------------------------------------------------------


RETRIES = Config(retries={"max_attempts": 2})


def fast(sb: Sandbox) -> Sandbox:
    """`sb` with lifecycle events of a sandbox second each."""
    engine.configure(sb.world, durations=FAST)
    return sb


def client(sb: Sandbox, service: str = "codedeploy") -> Any:
    return aws_client(sb, service, config=RETRIES)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def blue_green_group(
    cd: Any,
    name: str,
    *,
    config: str = "CodeDeployDefault.AllAtOnce",
    ready: str = "STOP_DEPLOYMENT",
    ready_minutes: int = 60,
    original: str = "TERMINATE",
    termination_minutes: int = 60,
    rollback_events: list[str] | None = None,
    alarms: list[str] | None = None,
    ignore_poll_alarm_failure: bool = False,
) -> None:
    if APP not in cd.list_applications()["applications"]:
        cd.create_application(applicationName=APP, computePlatform="Server")
    params: dict = {
        "applicationName": APP,
        "deploymentGroupName": name,
        "serviceRoleArn": ROLE,
        "autoScalingGroups": ["web-asg"],
        "deploymentConfigName": config,
        "deploymentStyle": {
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": original,
                "terminationWaitTimeInMinutes": termination_minutes,
            },
            "deploymentReadyOption": {
                "actionOnTimeout": ready,
                "waitTimeInMinutes": ready_minutes if ready == "STOP_DEPLOYMENT" else 0,
            },
            "greenFleetProvisioningOption": {"action": "COPY_AUTO_SCALING_GROUP"},
        },
        "loadBalancerInfo": {"targetGroupInfoList": [{"name": "web-tg"}]},
    }
    if rollback_events:
        params["autoRollbackConfiguration"] = {"enabled": True, "events": rollback_events}
    if alarms:
        params["alarmConfiguration"] = {
            "enabled": True,
            "ignorePollAlarmFailure": ignore_poll_alarm_failure,
            "alarms": [{"name": a} for a in alarms],
        }
    cd.create_deployment_group(**params)


def in_place_group(cd: Any, name: str, *, traffic: bool, config: str, **extra: Any) -> None:
    if APP not in cd.list_applications()["applications"]:
        cd.create_application(applicationName=APP)
    params = {
        "applicationName": APP,
        "deploymentGroupName": name,
        "serviceRoleArn": ROLE,
        "autoScalingGroups": ["web-asg"],
        "deploymentConfigName": config,
        "deploymentStyle": {
            "deploymentType": "IN_PLACE",
            "deploymentOption": "WITH_TRAFFIC_CONTROL" if traffic else "WITHOUT_TRAFFIC_CONTROL",
        },
        **extra,
    }
    if traffic:
        params["loadBalancerInfo"] = {"targetGroupInfoList": [{"name": "web-tg"}]}
    cd.create_deployment_group(**params)


def deploy(cd: Any, group: str, label: str = "v2", **extra: Any) -> str:
    return cd.create_deployment(
        applicationName=APP, deploymentGroupName=group, revision=s3(label), **extra
    )["deploymentId"]


def info(cd: Any, did: str) -> dict:
    return cd.get_deployment(deploymentId=did)["deploymentInfo"]


def wait_status(cd: Any, did: str, *statuses: str, timeout: float = 20.0) -> dict:
    seen: list[str] = []

    def check() -> dict | None:
        d = info(cd, did)
        if not seen or seen[-1] != d["status"]:
            seen.append(d["status"])
        return d if d["status"] in statuses else None

    try:
        return wait_for(check, timeout, f"{did} to be {'/'.join(statuses)}")
    except AssertionError:
        raise AssertionError(f"{did} went {' -> '.join(seen)}, never {statuses}") from None


def targets(cd: Any, did: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    kwargs: dict = {"deploymentId": did}
    ids: list[str] = []
    while True:
        page = cd.list_deployment_targets(**kwargs)
        ids += page["targetIds"]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    for i in range(0, len(ids), 25):
        got = cd.batch_get_deployment_targets(deploymentId=did, targetIds=ids[i : i + 25])
        for t in got["deploymentTargets"]:
            out[t["instanceTarget"]["targetId"]] = t["instanceTarget"]
    return out


def events(target: dict) -> dict[str, dict]:
    return {e["lifecycleEventName"]: e for e in target["lifecycleEvents"]}


def by_label(ts: dict[str, dict], label: str) -> dict[str, dict]:
    return {k: v for k, v in ts.items() if v.get("instanceLabel") == label}


def tg_states(sb: Sandbox) -> dict[str, str]:
    elbv2 = client(sb, "elbv2")
    arn = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"][0]["TargetGroupArn"]
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {h["Target"]["Id"]: h["TargetHealth"]["State"] for h in health}


def listener_port(sb: Sandbox) -> int:
    return sb.scenario.listener_ports()[0][1]


def revisions_served(sb: Sandbox, requests: int = 12) -> dict[str, int]:
    """Revision -> answers, from real requests through the load balancer's listener."""
    port = listener_port(sb)
    out: dict[str, int] = {}
    for _ in range(requests):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            resp.read()
            key = resp.getheader("X-Revision") if resp.status == 200 else f"HTTP {resp.status}"
            out[key or "?"] = out.get(key or "?", 0) + 1
        finally:
            conn.close()
    return out


def instance_states(sb: Sandbox, ids: list[str]) -> dict[str, str]:
    with sb.world.lock:
        return {i: sb.world.instances[i].state for i in ids if i in sb.world.instances}


def group_asgs(cd: Any, group: str) -> list[str]:
    grp = cd.get_deployment_group(applicationName=APP, deploymentGroupName=group)
    return [a["name"] for a in grp["deploymentGroupInfo"]["autoScalingGroups"]]


def asg_names(sb: Sandbox) -> set[str]:
    with sb.world.lock:
        return set(sb.world.asgs)


@pytest.fixture
def sb(sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    return fast(sandbox_factory(time_scale=TIME_SCALE))


@pytest.fixture
def cd(sb: Sandbox) -> Any:
    return client(sb)


@pytest.fixture
def seeded(sb: Sandbox) -> Callable[[str], str]:
    """Seed a group's history with a successful v1 so rollbacks have somewhere to go."""

    def seed(group: str) -> str:
        return engine.record_past_deployment(sb.world, APP, group, "v1", revision=s3("v1"))

    return seed


@pytest.fixture(scope="module")
def shared(shared_sandbox: Sandbox) -> Sandbox:
    return fast(shared_sandbox)


@pytest.fixture(scope="module")
def api(shared: Sandbox) -> Any:
    cd = client(shared)
    in_place_group(cd, "api-ip", traffic=False, config="CodeDeployDefault.AllAtOnce")
    blue_green_group(cd, "api-bg")
    engine.record_past_deployment(shared.world, APP, "api-ip", "v1", ago=7200)
    engine.record_past_deployment(shared.world, APP, "api-ip", "v0", "Failed", ago=10800)
    return cd


# ----- blue/green ------------------------------------------------------------------------------


def test_blue_green_cutover_ready_reroute_terminate(sb: Sandbox, cd: Any, seeded: Any) -> None:
    blue_green_group(cd, "bg")
    past = seeded("bg")
    originals = sorted(m for m in tg_states(sb))
    did = deploy(cd, "bg", description="v2 to prod")

    ready = wait_status(cd, did, "Ready")
    assert ready["deploymentOverview"]["Ready"] == 4
    assert ready["deploymentOverview"]["Pending"] == 4
    copy = f"CodeDeploy_bg_{did}"
    assert ready["targetInstances"] == {"autoScalingGroups": [copy]}
    assert ready["previousRevision"] == s3("v1")
    assert ready["creator"] == "user" and ready["description"] == "v2 to prod"
    ts = targets(cd, did)
    assert sorted(by_label(ts, "Blue")) == originals
    greens = sorted(by_label(ts, "Green"))
    assert {t["status"] for t in by_label(ts, "Green").values()} == {"Ready"}
    # Replacement instances run v2 but take no traffic yet; their group has no load balancer.
    with sb.world.lock:
        assert {sb.world.instances[i].revision for i in greens} == {"v2"}
        assert sb.world.asgs[copy].target_group_arns == []
        assert sb.world.asgs[copy].desired == 4
    assert revisions_served(sb) == {"v1": 12}
    with pytest.raises(ClientError) as exc:
        cd.continue_deployment(deploymentId=did, deploymentWaitType="TERMINATION_WAIT")
    assert error_code(exc) == "DeploymentIsNotInReadyStateException"

    cd.continue_deployment(deploymentId=did, deploymentWaitType="READY_WAIT")
    with pytest.raises(ClientError) as exc:
        cd.continue_deployment(deploymentId=did, deploymentWaitType="READY_WAIT")
    assert error_code(exc) == "DeploymentIsNotInReadyStateException"
    waiting = wait_for(
        lambda: (d := info(cd, did))["instanceTerminationWaitTimeStarted"] and d, what="rerouted"
    )
    assert waiting["status"] == "InProgress"
    assert tg_states(sb) == {i: "healthy" for i in greens}
    assert revisions_served(sb) == {"v2": 12}
    ts = targets(cd, did)
    assert {t["status"] for t in ts.values()} == {"Succeeded"}
    green_events = events(ts[greens[0]])
    assert list(green_events) == list(lifecycle.INSTALL_EVENTS + lifecycle.ALLOW_EVENTS)
    assert list(events(ts[originals[0]])) == list(lifecycle.BLOCK_EVENTS)
    allow = green_events["AllowTraffic"]
    assert allow["diagnostics"]["errorCode"] == "Success"
    assert allow["endTime"] > allow["startTime"]
    # The load balancers moved to the replacement group; the group now names it.
    assert group_asgs(cd, "bg") == [copy]
    groups = client(sb, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-asg", copy]
    )["AutoScalingGroups"]
    attached = {g["AutoScalingGroupName"]: g["TargetGroupARNs"] for g in groups}
    assert attached["web-asg"] == [] and len(attached[copy]) == 1
    assert set(instance_states(sb, originals).values()) == {"running"}

    cd.continue_deployment(deploymentId=did, deploymentWaitType="TERMINATION_WAIT")
    cd.get_waiter("deployment_successful").wait(
        deploymentId=did, WaiterConfig={"Delay": 0.1, "MaxAttempts": 200}
    )
    done = info(cd, did)
    assert done["status"] == "Succeeded" and "errorInformation" not in done
    assert done["completeTime"] >= done["startTime"] >= done["createTime"]
    assert set(instance_states(sb, originals).values()) <= {"terminated"}
    assert "web-asg" not in asg_names(sb)
    grp = cd.get_deployment_group(applicationName=APP, deploymentGroupName="bg")
    grp = grp["deploymentGroupInfo"]
    assert grp["lastSuccessfulDeployment"]["deploymentId"] == did
    assert grp["lastAttemptedDeployment"]["status"] == "Succeeded"
    assert grp["targetRevision"] == s3("v2")
    listed = cd.list_deployments(applicationName=APP, deploymentGroupName="bg")["deployments"]
    assert listed == [did, past]
    for call in (
        lambda: cd.stop_deployment(deploymentId=did),
        lambda: cd.continue_deployment(deploymentId=did, deploymentWaitType="TERMINATION_WAIT"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "DeploymentAlreadyCompletedException"


def test_keep_alive_with_continue_deployment_succeeds_after_reroute(sb: Sandbox, cd: Any) -> None:
    blue_green_group(cd, "bg", ready="CONTINUE_DEPLOYMENT", original="KEEP_ALIVE")
    originals = sorted(tg_states(sb))
    did = deploy(cd, "bg", label="v7")
    done = wait_status(cd, did, "Succeeded")
    assert done["instanceTerminationWaitTimeStarted"] is False
    assert done["deploymentOverview"]["Succeeded"] == 8
    # The originals stay, running but out of the load balancer.
    assert set(instance_states(sb, originals).values()) == {"running"}
    states = tg_states(sb)
    assert not set(states) & set(originals) and set(states.values()) == {"healthy"}
    assert revisions_served(sb) == {"v7": 12}
    assert "web-asg" in asg_names(sb)
    assert group_asgs(cd, "bg") == [f"CodeDeploy_bg_{did}"]


def test_ready_wait_timeout_stops_and_rolls_back(sb: Sandbox, cd: Any, seeded: Any) -> None:
    blue_green_group(cd, "bg", ready_minutes=1, rollback_events=["DEPLOYMENT_FAILURE"])
    seeded("bg")
    did = deploy(cd, "bg")
    stopped = wait_status(cd, did, "Stopped", "Failed", "Succeeded")
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "TIMEOUT"
    rollback = stopped["rollbackInfo"]["rollbackDeploymentId"]
    done = wait_status(cd, rollback, "Succeeded", "Failed", "Stopped")
    assert done["status"] == "Succeeded"
    assert done["creator"] == "codeDeployRollback"
    assert f"CodeDeploy_bg_{did}" not in asg_names(sb)
    assert revisions_served(sb) == {"v1": 12}


def test_stop_with_rollback_at_ready(sb: Sandbox, cd: Any, seeded: Any) -> None:
    blue_green_group(cd, "bg")
    seeded("bg")
    originals = sorted(tg_states(sb))
    did = deploy(cd, "bg")
    wait_status(cd, did, "Ready")
    greens = sorted(by_label(targets(cd, did), "Green"))

    stop = cd.stop_deployment(deploymentId=did, autoRollbackEnabled=True)
    assert stop["status"] in ("Pending", "Succeeded") and stop["statusMessage"]
    stopped = info(cd, did)
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "MANUAL_STOP"
    rollback = stopped["rollbackInfo"]["rollbackDeploymentId"]
    done = wait_status(cd, rollback, "Succeeded", "Failed", "Stopped")
    assert done["status"] == "Succeeded"
    assert done["revision"] == s3("v1")
    assert done["rollbackInfo"]["rollbackTriggeringDeploymentId"] == did
    assert rollback in info(cd, did)["rollbackInfo"]["rollbackMessage"]
    # The Ready replacement targets were skipped; the fleet is gone.
    assert {t["status"] for t in by_label(targets(cd, did), "Green").values()} == {"Skipped"}
    assert f"CodeDeploy_bg_{did}" not in asg_names(sb)
    wait_for(lambda: set(instance_states(sb, greens).values()) <= {"terminated"}, what="terminated")
    assert sorted(tg_states(sb)) == originals
    assert revisions_served(sb) == {"v1": 12}
    assert group_asgs(cd, "bg") == ["web-asg"]


def test_stop_with_rollback_after_reroute_restores_originals(
    sb: Sandbox, cd: Any, seeded: Any
) -> None:
    blue_green_group(cd, "bg", ready="CONTINUE_DEPLOYMENT")
    seeded("bg")
    originals = sorted(tg_states(sb))
    did = deploy(cd, "bg")
    wait_for(lambda: info(cd, did)["instanceTerminationWaitTimeStarted"], what="termination wait")
    assert revisions_served(sb) == {"v2": 12}
    greens = sorted(by_label(targets(cd, did), "Green"))

    cd.stop_deployment(deploymentId=did, autoRollbackEnabled=True)
    stopped = info(cd, did)
    rollback = stopped["rollbackInfo"]["rollbackDeploymentId"]
    done = wait_status(cd, rollback, "Succeeded", "Failed", "Stopped")
    assert done["status"] == "Succeeded", done.get("errorInformation")
    assert info(cd, did)["rollbackInfo"] == {
        "rollbackDeploymentId": rollback,
        "rollbackMessage": f"Deployment {did} was rolled back by {rollback}",
    }
    assert done["rollbackInfo"]["rollbackTriggeringDeploymentId"] == did
    # A rollback swaps the traffic trios: originals allow, replacements block.
    ts = targets(cd, rollback)
    assert sorted(by_label(ts, "Blue")) == originals
    assert list(events(ts[originals[0]])) == list(lifecycle.ALLOW_EVENTS)
    assert list(events(ts[greens[0]])) == list(lifecycle.BLOCK_EVENTS)
    assert tg_states(sb) == {i: "healthy" for i in originals}
    assert revisions_served(sb) == {"v1": 12}
    assert f"CodeDeploy_bg_{did}" not in asg_names(sb)
    wait_for(lambda: set(instance_states(sb, greens).values()) <= {"terminated"}, what="gone")
    assert group_asgs(cd, "bg") == ["web-asg"]
    groups = client(sb, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-asg"]
    )["AutoScalingGroups"]
    assert len(groups[0]["TargetGroupARNs"]) == 1
    grp = cd.get_deployment_group(applicationName=APP, deploymentGroupName="bg")
    assert grp["deploymentGroupInfo"]["lastSuccessfulDeployment"]["deploymentId"] == rollback


def test_stop_without_rollback_and_stop_on_request_default(
    sb: Sandbox, cd: Any, seeded: Any
) -> None:
    engine.configure(sb.world, durations={"Install": 3000.0})
    blue_green_group(cd, "bg", rollback_events=["DEPLOYMENT_STOP_ON_REQUEST"])
    seeded("bg")
    did = deploy(cd, "bg")

    def installing() -> bool:
        greens = by_label(targets(cd, did), "Green").values()
        return len(greens) == 4 and all(
            events(t)["Install"]["status"] == "InProgress" for t in greens
        )

    wait_for(installing, what="Install under way")
    # Install runs on the instances: the stop is pending until it ends or is cut short.
    assert cd.stop_deployment(deploymentId=did, autoRollbackEnabled=False)["status"] == "Pending"
    stopped = wait_status(cd, did, "Stopped", "Failed", "Succeeded")
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "MANUAL_STOP"
    assert "rollbackInfo" not in stopped
    ts = targets(cd, did)
    for t in by_label(ts, "Green").values():
        assert t["status"] == "Failed"
        assert events(t)["Install"]["status"] == "Failed"
        assert events(t)["AllowTraffic"]["status"] == "Skipped"
    assert {t["status"] for t in by_label(ts, "Blue").values()} == {"Skipped"}
    # Once a stop has ended it, asking again answers Succeeded (deployment-steps-server).
    assert cd.stop_deployment(deploymentId=did)["status"] == "Succeeded"

    # Without autoRollbackEnabled, the group's DEPLOYMENT_STOP_ON_REQUEST decides.
    engine.configure(sb.world, durations=FAST)
    second = deploy(cd, "bg", label="v3")
    wait_status(cd, second, "Ready")
    cd.stop_deployment(deploymentId=second)
    rollback = info(cd, second)["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_status(cd, rollback, "Succeeded", "Failed")["status"] == "Succeeded"


def test_hook_failure_diagnostics_auto_rollback_and_waiter_failure(
    sb: Sandbox, cd: Any, seeded: Any
) -> None:
    blue_green_group(
        cd, "bg", config="CodeDeployDefault.OneAtATime", rollback_events=["DEPLOYMENT_FAILURE"]
    )
    seeded("bg")
    faults = engine.state(sb.world).faults
    faults.fail_hook("ValidateService", exit_code=3)
    did = deploy(cd, "bg")
    with pytest.raises(WaiterError) as waited:
        cd.get_waiter("deployment_successful").wait(
            deploymentId=did, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
        )
    assert "Failed" in str(waited.value)
    failed = info(cd, did)
    assert failed["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"
    assert "too many individual instances failed" in failed["errorInformation"]["message"]
    greens = by_label(targets(cd, did), "Green")
    statuses = sorted(t["status"] for t in greens.values())
    assert statuses == ["Failed", "Skipped", "Skipped", "Skipped"]
    bad = next(t for t in greens.values() if t["status"] == "Failed")
    validate = events(bad)["ValidateService"]
    assert validate["status"] == "Failed"
    diag = validate["diagnostics"]
    assert diag["errorCode"] == "ScriptFailed"
    assert diag["scriptName"] == "scripts/validate_service.sh"
    assert diag["message"] == (
        "Script at specified location: scripts/validate_service.sh run as user root failed "
        "with exit code 3"
    )
    assert diag["logTail"].count("\n") >= 3
    assert events(bad)["BeforeAllowTraffic"]["status"] == "Skipped"
    assert events(bad)["Install"]["diagnostics"]["errorCode"] == "Success"
    rollback = failed["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_status(cd, rollback, "Succeeded", "Failed")["status"] == "Succeeded"
    assert revisions_served(sb) == {"v1": 12}
    assert faults.describe()["hook_failures"] == []


def test_replacements_never_healthy_fail_allow_traffic(sb: Sandbox, cd: Any, seeded: Any) -> None:
    engine.configure(sb.world, allow_traffic_timeout=60.0, min_real_timeout=0.5)
    blue_green_group(cd, "bg", ready="CONTINUE_DEPLOYMENT", rollback_events=["DEPLOYMENT_FAILURE"])
    seeded("bg")
    originals = sorted(tg_states(sb))
    engine.state(sb.world).faults.make_replacements_unhealthy()
    did = deploy(cd, "bg")
    failed = wait_status(cd, did, "Failed", "Succeeded", "Stopped")
    assert failed["status"] == "Failed"
    greens = by_label(targets(cd, did), "Green")
    allow = [events(t)["AllowTraffic"] for t in greens.values()]
    assert {a["status"] for a in allow} == {"Failed"}
    assert (
        "did not pass the health checks of target group web-tg"
        in (allow[0]["diagnostics"]["message"])
    )
    with sb.world.lock:
        assert all(sb.world.instances[i].fault.unhealthy for i in greens)
    # The originals never left; the rollback takes the unhealthy fleet away again.
    rollback = failed["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_status(cd, rollback, "Succeeded", "Failed")["status"] == "Succeeded"
    assert sorted(tg_states(sb)) == originals
    assert revisions_served(sb) == {"v1": 12}


def test_instance_dies_mid_reroute(sb: Sandbox, cd: Any) -> None:
    blue_green_group(cd, "bg", config="CodeDeployDefault.OneAtATime", ready="CONTINUE_DEPLOYMENT")
    originals = sorted(tg_states(sb))
    engine.state(sb.world).faults.kill_instance("AllowTraffic")
    did = deploy(cd, "bg")
    failed = wait_status(cd, did, "Failed", "Succeeded")
    assert failed["status"] == "Failed"
    assert failed["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"
    assert "rollbackInfo" not in failed
    greens = by_label(targets(cd, did), "Green")
    dead = [i for i, t in greens.items() if t["status"] == "Failed"]
    assert len(dead) == 1
    # OneAtATime keeps all but one healthy: after one failure nothing else is rerouted.
    assert sorted(t["status"] for t in greens.values()) == [
        "Failed",
        "Skipped",
        "Skipped",
        "Skipped",
    ]
    assert sorted(tg_states(sb)) == originals
    allow = events(greens[dead[0]])["AllowTraffic"]
    assert allow["diagnostics"]["errorCode"] == "UnknownError"
    assert "CodeDeploy agent" in allow["diagnostics"]["message"]
    wait_for(lambda: instance_states(sb, dead[:1]) == {dead[0]: "terminated"}, what="dead")


def test_discover_existing_behind_a_classic_load_balancer(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = fast(sandbox_factory("classic", time_scale=TIME_SCALE))
    cd = client(sandbox)
    autoscaling = client(sandbox, "autoscaling")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web-green",
        LaunchTemplate={"LaunchTemplateName": "web"},
        MinSize=2,
        MaxSize=4,
        DesiredCapacity=2,
        AvailabilityZones=["us-east-1a", "us-east-1b"],
    )

    def green_members() -> list[str]:
        groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web-green"])
        members = groups["AutoScalingGroups"][0]["Instances"]
        return [m["InstanceId"] for m in members if m["LifecycleState"] == "InService"]

    greens = sorted(wait_for(lambda: len(green_members()) == 2 and green_members()))
    elb = client(sandbox, "elb")

    def clb_states() -> dict[str, str]:
        health = elb.describe_instance_health(LoadBalancerName="web-clb")["InstanceStates"]
        return {h["InstanceId"]: h["State"] for h in health}

    originals = sorted(clb_states())
    cd.create_application(applicationName=APP)
    cd.create_deployment_group(
        applicationName=APP,
        deploymentGroupName="classic",
        serviceRoleArn=ROLE,
        autoScalingGroups=["web-asg"],
        deploymentConfigName="CodeDeployDefault.HalfAtATime",
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            },
            "greenFleetProvisioningOption": {"action": "DISCOVER_EXISTING"},
        },
        loadBalancerInfo={"elbInfoList": [{"name": "web-clb"}]},
    )
    with pytest.raises(ClientError) as exc:
        deploy(cd, "classic")
    assert error_code(exc) == "InvalidTargetInstancesException"
    did = deploy(cd, "classic", targetInstances={"autoScalingGroups": ["web-green"]})
    done = wait_status(cd, did, "Succeeded", "Failed", "Stopped")
    assert done["status"] == "Succeeded", done.get("errorInformation")
    assert done["targetInstances"] == {"autoScalingGroups": ["web-green"]}
    ts = targets(cd, did)
    assert sorted(by_label(ts, "Green")) == greens
    assert sorted(by_label(ts, "Blue")) == originals
    assert clb_states() == {i: "InService" for i in greens}
    port = sandbox.scenario.listener_ports()[0][1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("X-Revision") == "v2"
    conn.close()
    assert group_asgs(cd, "classic") == ["web-green"]
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web-green"])
    assert groups["AutoScalingGroups"][0]["LoadBalancerNames"] == ["web-clb"]
    assert "web-asg" not in asg_names(sandbox)
    assert set(instance_states(sandbox, originals).values()) <= {"terminated"}


class RecordingHooks:
    """A lifecycle strategy that runs every script instantly and fails one event."""

    def __init__(self, fail: str) -> None:
        self.fail = fail
        self.seen: list[tuple[str, str]] = []

    def start(self, ctx: engine.HookContext) -> Any:
        self.seen.append((ctx.instance_id, ctx.event))
        if ctx.event == self.fail:
            diagnostics = engine.script_failure(ctx.event, exit_code=7)
            return engine.TimedRun(ctx.started, engine.HookResult(False, diagnostics))
        return engine.TimedRun(ctx.started)


def test_lifecycle_hooks_strategy_is_replaceable(sb: Sandbox, cd: Any) -> None:
    hooks = RecordingHooks(fail="AfterInstall")
    engine.configure(sb.world, hooks=hooks)
    in_place_group(cd, "ip", traffic=True, config="CodeDeployDefault.OneAtATime")
    did = deploy(cd, "ip")
    failed = wait_status(cd, did, "Failed", "Succeeded")
    assert failed["status"] == "Failed"
    first = hooks.seen[0][0]
    # CodeDeploy itself does BlockTraffic / AllowTraffic; the strategy runs the scripts.
    assert [event for iid, event in hooks.seen if iid == first] == [
        "BeforeBlockTraffic",
        "AfterBlockTraffic",
        "ApplicationStop",
        "DownloadBundle",
        "BeforeInstall",
        "Install",
        "AfterInstall",
    ]
    diag = events(targets(cd, did)[first])["AfterInstall"]["diagnostics"]
    assert diag["message"].endswith("failed with exit code 7")


class StubAlarm:
    def __init__(self, state: str) -> None:
        self.state_value = state


def test_alarm_stops_deployment_and_rolls_back(sb: Sandbox, cd: Any, seeded: Any) -> None:
    blue_green_group(cd, "bg", alarms=["shop-5xx"], rollback_events=["DEPLOYMENT_STOP_ON_ALARM"])
    seeded("bg")
    with sb.world.lock:
        sb.world.alarms["shop-5xx"] = StubAlarm("OK")
    did = deploy(cd, "bg")
    wait_status(cd, did, "Ready")
    with sb.world.lock:
        sb.world.alarms["shop-5xx"].state_value = "ALARM"
    stopped = wait_status(cd, did, "Stopped")
    assert stopped["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "shop-5xx" in stopped["errorInformation"]["message"]
    rollback = stopped["rollbackInfo"]["rollbackDeploymentId"]
    # The rollback is not stopped by the alarm that caused it.
    assert wait_status(cd, rollback, "Succeeded", "Stopped")["status"] == "Succeeded"
    assert revisions_served(sb) == {"v1": 12}


def test_missing_alarm_stops_unless_poll_failures_are_ignored(sb: Sandbox, cd: Any) -> None:
    blue_green_group(cd, "strict", alarms=["nope"])
    blue_green_group(cd, "lenient", alarms=["nope"], ignore_poll_alarm_failure=True)
    strict = deploy(cd, "strict")
    stopped = wait_status(cd, strict, "Stopped", "Ready")
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "rollbackInfo" not in stopped
    lenient = deploy(cd, "lenient")
    assert wait_status(cd, lenient, "Stopped", "Ready")["status"] == "Ready"


# ----- in-place --------------------------------------------------------------------------------


def test_in_place_with_traffic_control(sb: Sandbox, cd: Any) -> None:
    in_place_group(cd, "ip", traffic=True, config="CodeDeployDefault.HalfAtATime")
    instances = sorted(tg_states(sb))
    did = deploy(cd, "ip", label="v5")
    low = [4]

    def done() -> dict | None:
        states = tg_states(sb)
        low[0] = min(low[0], sum(s == "healthy" for s in states.values()))
        d = info(cd, did)
        return d if d["status"] not in ("Created", "InProgress") else None

    finished = wait_for(done, what="in-place deployment")
    assert finished["status"] == "Succeeded", finished.get("errorInformation")
    # HalfAtATime keeps at least 2 of 4 in service.
    assert low[0] >= 2
    ts = targets(cd, did)
    assert sorted(ts) == instances
    for t in ts.values():
        assert "instanceLabel" not in t
        assert list(events(t)) == list(lifecycle.IN_PLACE_EVENTS)
        assert {e["status"] for e in t["lifecycleEvents"]} == {"Succeeded"}
    assert tg_states(sb) == {i: "healthy" for i in instances}
    assert revisions_served(sb) == {"v5": 12}
    # Instances the group launches later run the new revision.
    with sb.world.lock:
        assert sb.world.asgs["web-asg"].revision == "v5"
    with pytest.raises(ClientError) as exc:
        cd.continue_deployment(deploymentId=did)
    assert error_code(exc) == "DeploymentAlreadyCompletedException"


def test_in_place_without_traffic_control_stops_the_app(sb: Sandbox, cd: Any) -> None:
    engine.configure(sb.world, durations={"Install": 120.0})
    in_place_group(cd, "ip", traffic=False, config="CodeDeployDefault.OneAtATime")
    did = deploy(cd, "ip", label="v9")

    def stopped_instance() -> str | None:
        with sb.world.lock:
            return next((i.id for i in sb.world.instances.values() if not i.app_running), None)

    iid = wait_for(stopped_instance, what="an instance with its application stopped")
    with sb.world.lock:
        port = sb.world.instances[iid].port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    assert conn.getresponse().status == 503
    conn.close()
    with pytest.raises(ClientError) as exc:
        cd.continue_deployment(deploymentId=did, deploymentWaitType="READY_WAIT")
    assert error_code(exc) == "UnsupportedActionForDeploymentTypeException"
    finished = wait_status(cd, did, "Succeeded", "Failed", timeout=30)
    assert finished["status"] == "Succeeded"
    for t in targets(cd, did).values():
        # Without a load balancer only the install events are listed (aws-behaviour.md).
        assert list(events(t)) == list(lifecycle.INSTALL_EVENTS)
        assert events(t)["Install"]["status"] == "Succeeded"
    assert revisions_served(sb) == {"v9": 12}


def test_in_place_failure_rolls_back_to_previous_revision(
    sb: Sandbox, cd: Any, seeded: Any
) -> None:
    in_place_group(
        cd,
        "ip",
        traffic=True,
        config="CodeDeployDefault.OneAtATime",
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
    )
    seeded("ip")
    faults = engine.state(sb.world).faults
    faults.fail_hook("AfterInstall", error_code="ScriptMissing")
    did = deploy(cd, "ip")
    failed = wait_status(cd, did, "Failed", "Succeeded")
    assert failed["status"] == "Failed"
    bad = next(t for t in targets(cd, did).values() if t["status"] == "Failed")
    diag = events(bad)["AfterInstall"]["diagnostics"]
    assert diag["errorCode"] == "ScriptMissing"
    assert diag["message"].startswith("Script does not exist at specified location")
    rollback = failed["rollbackInfo"]["rollbackDeploymentId"]
    done = wait_status(cd, rollback, "Succeeded", "Failed")
    assert done["status"] == "Succeeded"
    with sb.world.lock:
        assert {i.revision for i in sb.world.instances.values() if i.state == "running"} == {"v1"}
    assert revisions_served(sb) == {"v1": 12}


# ----- errors ----------------------------------------------------------------------------------


def test_continue_and_stop_errors(shared: Sandbox, api: Any) -> None:
    cd = api
    for call, code in (
        (lambda: cd.get_deployment(deploymentId="d-AAAAAAAAA"), "DeploymentDoesNotExistException"),
        (lambda: cd.get_deployment(deploymentId="nope"), "InvalidDeploymentIdException"),
        (
            lambda: cd.continue_deployment(deploymentId="d-AAAAAAAAA"),
            "DeploymentDoesNotExistException",
        ),
        (lambda: cd.stop_deployment(deploymentId="d-AAAAAAAAA"), "DeploymentDoesNotExistException"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == code
    engine.configure(shared.world, durations={"Install": 100000.0})
    try:
        did = deploy(cd, "api-bg", label="v3")
        wait_for(lambda: info(cd, did)["status"] == "InProgress", what="in progress")
        for wait_type, code in (
            ("READY_WAIT", "DeploymentIsNotInReadyStateException"),
            ("TERMINATION_WAIT", "DeploymentIsNotInReadyStateException"),
            ("SOMETIME", "InvalidDeploymentWaitTypeException"),
        ):
            with pytest.raises(ClientError) as exc:
                cd.continue_deployment(deploymentId=did, deploymentWaitType=wait_type)
            assert error_code(exc) == code, wait_type
        with pytest.raises(ClientError) as exc:
            deploy(cd, "api-bg", label="v4")
        assert error_code(exc) == "DeploymentLimitExceededException"
        assert did in exc.value.response["Error"]["Message"]
        assert cd.stop_deployment(deploymentId=did)["status"] in ("Pending", "Succeeded")
    finally:
        engine.configure(shared.world, durations=FAST)


def test_create_deployment_errors(api: Any) -> None:
    cd = api
    cases: list[tuple[dict, str]] = [
        ({"applicationName": "nope", "deploymentGroupName": "x"},
         "ApplicationDoesNotExistException"),
        ({"applicationName": APP, "deploymentGroupName": "nope"},
         "DeploymentGroupDoesNotExistException"),
        ({"applicationName": APP}, "DeploymentGroupNameRequiredException"),
        (
            {"applicationName": APP, "deploymentGroupName": "api-ip", "revision": s3("v2"),
             "deploymentConfigName": "Nope"},
            "DeploymentConfigDoesNotExistException",
        ),
        (
            {"applicationName": APP, "deploymentGroupName": "api-ip",
             "revision": {"revisionType": "String", "string": {"content": "x"}}},
            "InvalidRevisionException",
        ),
        (
            {"applicationName": APP, "deploymentGroupName": "api-ip",
             "revision": {"revisionType": "S3", "s3Location": {"bucket": "b"}}},
            "InvalidRevisionException",
        ),
        (
            {"applicationName": APP, "deploymentGroupName": "api-ip", "revision": s3("v2"),
             "targetInstances": {"autoScalingGroups": ["web-asg"]}},
            "InvalidTargetInstancesException",
        ),
        (
            {"applicationName": APP, "deploymentGroupName": "api-ip", "revision": s3("v2"),
             "fileExistsBehavior": "CLOBBER"},
            "InvalidFileExistsBehaviorException",
        ),
    ]  # fmt: skip
    for params, code in cases:
        with pytest.raises(ClientError) as exc:
            cd.create_deployment(**params)
        assert error_code(exc) == code, params
    cd.create_deployment_group(
        applicationName=APP, deploymentGroupName="fresh", serviceRoleArn=ROLE,
        autoScalingGroups=["web-asg"],
    )  # fmt: skip
    with pytest.raises(ClientError) as exc:
        cd.create_deployment(applicationName=APP, deploymentGroupName="fresh")
    assert error_code(exc) == "RevisionRequiredException"


def test_deployment_group_errors(api: Any) -> None:
    cd = api
    with pytest.raises(ClientError) as exc:
        cd.create_application(applicationName=APP)
    assert error_code(exc) == "ApplicationAlreadyExistsException"
    base = {"applicationName": APP, "serviceRoleArn": ROLE}
    blue_green = {
        "deploymentStyle": {
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        "loadBalancerInfo": {"targetGroupInfoList": [{"name": "web-tg"}]},
    }
    cases: list[tuple[dict, str]] = [
        ({"deploymentGroupName": "api-ip"}, "DeploymentGroupAlreadyExistsException"),
        ({"deploymentGroupName": "g", "autoScalingGroups": ["nope"]},
         "InvalidAutoScalingGroupException"),
        ({"deploymentGroupName": "g", "deploymentConfigName": "Nope"},
         "DeploymentConfigDoesNotExistException"),
        (
            {"deploymentGroupName": "g",
             "loadBalancerInfo": {"targetGroupInfoList": [{"name": "nope"}]}},
            "InvalidLoadBalancerInfoException",
        ),
        (
            {"deploymentGroupName": "g", "deploymentStyle": {"deploymentType": "IN_PLACE",
             "deploymentOption": "WITH_TRAFFIC_CONTROL"}},
            "InvalidLoadBalancerInfoException",
        ),
        (
            {"deploymentGroupName": "g", **blue_green, "blueGreenDeploymentConfiguration": {
                "greenFleetProvisioningOption": {"action": "COPY_AUTO_SCALING_GROUP"}}},
            "InvalidBlueGreenDeploymentConfigurationException",
        ),
        (
            {"deploymentGroupName": "g", **blue_green, "autoScalingGroups": ["web-asg"],
             "blueGreenDeploymentConfiguration": {"terminateBlueInstancesOnDeploymentSuccess": {
                 "action": "TERMINATE", "terminationWaitTimeInMinutes": 2881}}},
            "InvalidBlueGreenDeploymentConfigurationException",
        ),
        (
            {"deploymentGroupName": "g", "autoRollbackConfiguration": {"enabled": True,
             "events": ["WHENEVER"]}},
            "InvalidAutoRollbackConfigException",
        ),
        (
            {"deploymentGroupName": "g", "alarmConfiguration": {"enabled": True, "alarms": [
                {"name": f"a{i}"} for i in range(11)]}},
            "AlarmsLimitExceededException",
        ),
    ]  # fmt: skip
    for params, code in cases:
        with pytest.raises(ClientError) as exc:
            cd.create_deployment_group(**base, **params)
        assert error_code(exc) == code, params
    with pytest.raises(ClientError) as exc:
        cd.get_deployment_group(applicationName=APP, deploymentGroupName="nope")
    assert error_code(exc) == "DeploymentGroupDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.get_application(applicationName="nope")
    assert error_code(exc) == "ApplicationDoesNotExistException"


# ----- listing, targets, configs, revisions ----------------------------------------------------


def test_targets_filters_pagination_and_batch_limit(
    shared: Sandbox, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cd = api
    did = deploy(cd, "api-bg", label="v8")
    try:
        wait_status(cd, did, "Ready")
        all_ids = cd.list_deployment_targets(deploymentId=did)["targetIds"]
        assert len(all_ids) == 8
        ready = cd.list_deployment_targets(
            deploymentId=did, targetFilters={"TargetStatus": ["Ready"]}
        )["targetIds"]
        blue = cd.list_deployment_targets(
            deploymentId=did, targetFilters={"ServerInstanceLabel": ["Blue"]}
        )["targetIds"]
        assert len(ready) == 4 and len(blue) == 4 and not set(ready) & set(blue)
        both = cd.list_deployment_targets(
            deploymentId=did,
            targetFilters={"TargetStatus": ["Pending"], "ServerInstanceLabel": ["Blue"]},
        )["targetIds"]
        assert sorted(both) == sorted(blue)
        for filters, code in (
            ({"Color": ["Blue"]}, "InvalidTargetFilterNameException"),
            ({"ServerInstanceLabel": ["Purple"]}, "InvalidInstanceTypeException"),
            ({"TargetStatus": ["Sleeping"]}, "InvalidInstanceStatusException"),
        ):
            with pytest.raises(ClientError) as exc:
                cd.list_deployment_targets(deploymentId=did, targetFilters=filters)
            assert error_code(exc) == code
        monkeypatch.setattr(codedeploy_service, "PAGE", 3)
        first = cd.list_deployment_targets(deploymentId=did)
        assert len(first["targetIds"]) == 3 and first["nextToken"]
        assert len(targets(cd, did)) == 8
        with pytest.raises(ClientError) as exc:
            cd.list_deployment_targets(deploymentId=did, nextToken="garbage")
        assert error_code(exc) == "InvalidNextTokenException"
        monkeypatch.undo()

        with pytest.raises(ClientError) as exc:
            cd.batch_get_deployment_targets(deploymentId=did, targetIds=all_ids * 4)
        assert error_code(exc) == "DeploymentTargetListSizeExceededException"
        with pytest.raises(ClientError) as exc:
            cd.batch_get_deployment_targets(deploymentId=did, targetIds=["i-0000000000000000"])
        assert error_code(exc) == "DeploymentTargetDoesNotExistException"
        one = cd.get_deployment_target(deploymentId=did, targetId=ready[0])["deploymentTarget"]
        assert one["deploymentTargetType"] == "InstanceTarget"
        target = one["instanceTarget"]
        assert target["instanceLabel"] == "Green" and target["status"] == "Ready"
        assert target["targetArn"].endswith(f":instance/{ready[0]}")
        assert events(target)["ValidateService"]["status"] == "Succeeded"
        assert events(target)["AllowTraffic"]["status"] == "Pending"

        # The legacy instance calls see the same targets.
        listed = cd.list_deployment_instances(deploymentId=did, instanceTypeFilter=["Green"])
        assert sorted(listed["instancesList"]) == sorted(ready)
        summary = cd.get_deployment_instance(deploymentId=did, instanceId=ready[0])
        assert summary["instanceSummary"]["instanceType"] == "Green"
        batch = cd.batch_get_deployment_instances(deploymentId=did, instanceIds=blue[:2])
        assert {s["status"] for s in batch["instancesSummary"]} == {"Pending"}
        with pytest.raises(ClientError) as exc:
            cd.get_deployment_instance(deploymentId=did, instanceId="i-0000000000000000")
        assert error_code(exc) == "InstanceDoesNotExistException"
    finally:
        cd.stop_deployment(deploymentId=did, autoRollbackEnabled=False)


def test_list_deployments_history_and_filters(api: Any) -> None:
    cd = api
    listed = cd.list_deployments(applicationName=APP, deploymentGroupName="api-ip")["deployments"]
    infos = cd.batch_get_deployments(deploymentIds=listed)["deploymentsInfo"]
    assert [i["deploymentId"] for i in infos] == listed
    created = [i["createTime"] for i in infos]
    assert created == sorted(created, reverse=True)
    assert [i["status"] for i in infos][-2:] == ["Succeeded", "Failed"]
    failed = cd.list_deployments(
        applicationName=APP, deploymentGroupName="api-ip", includeOnlyStatuses=["Failed"]
    )["deployments"]
    assert failed == [i["deploymentId"] for i in infos if i["status"] == "Failed"]
    assert failed[-1] == listed[-1]
    old = infos[-1]["createTime"]
    window = cd.list_deployments(
        applicationName=APP,
        deploymentGroupName="api-ip",
        createTimeRange={"end": old},
    )["deployments"]
    assert window == listed[-1:]
    failed_info = infos[-1]
    assert failed_info["errorInformation"]["code"] == "HEALTH_CONSTRAINTS"
    grp = cd.get_deployment_group(applicationName=APP, deploymentGroupName="api-ip")
    last = grp["deploymentGroupInfo"]["lastSuccessfulDeployment"]
    assert last["status"] == "Succeeded" and last["endTime"] > last["createTime"]
    with pytest.raises(ClientError) as exc:
        cd.list_deployments(applicationName=APP)
    assert error_code(exc) == "DeploymentGroupNameRequiredException"
    with pytest.raises(ClientError) as exc:
        cd.list_deployments(
            applicationName=APP, deploymentGroupName="api-ip", includeOnlyStatuses=["Asleep"]
        )
    assert error_code(exc) == "InvalidDeploymentStatusException"
    with pytest.raises(ClientError) as exc:
        cd.batch_get_deployments(deploymentIds=listed * 26)
    assert error_code(exc) == "BatchLimitExceededException"


def test_deployment_configs(api: Any) -> None:
    cd = api
    names = cd.list_deployment_configs()["deploymentConfigsList"]
    assert set(engine.BUILTIN_CONFIGS) <= set(names)
    for name, (kind, value) in engine.BUILTIN_CONFIGS.items():
        got = cd.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
        assert got["minimumHealthyHosts"] == {"type": kind, "value": value}
        assert got["computePlatform"] == "Server"
    cid = cd.create_deployment_config(
        deploymentConfigName="ThreeQuarters",
        minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 75},
    )["deploymentConfigId"]
    got = cd.get_deployment_config(deploymentConfigName="ThreeQuarters")["deploymentConfigInfo"]
    assert got["deploymentConfigId"] == cid
    for params, code in (
        ({"deploymentConfigName": "ThreeQuarters",
          "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 1}},
         "DeploymentConfigAlreadyExistsException"),
        ({"deploymentConfigName": "Bad", "minimumHealthyHosts": {"type": "FLEET_PERCENT",
                                                                 "value": 100}},
         "InvalidMinimumHealthyHostValueException"),
    ):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            cd.create_deployment_config(**params)
        assert error_code(exc) == code
    with pytest.raises(ClientError) as exc:
        cd.get_deployment_config(deploymentConfigName="Nope")
    assert error_code(exc) == "DeploymentConfigDoesNotExistException"
    # Keeping 4 of 4 instances healthy leaves none to deploy to.
    cd.create_deployment_config(
        deploymentConfigName="AllHealthy", minimumHealthyHosts={"type": "HOST_COUNT", "value": 4}
    )
    did = deploy(cd, "api-ip", deploymentConfigName="AllHealthy")
    failed = wait_status(cd, did, "Failed", "Succeeded")
    assert failed["errorInformation"]["code"] == "HEALTH_CONSTRAINTS_INVALID"
    assert failed["deploymentConfigName"] == "AllHealthy"


def test_minimum_healthy_hosts_arithmetic() -> None:
    # FLEET_PERCENT rounds up: 40% of 9 instances keeps 4 healthy, so 5 go at once.
    assert engine.minimum_healthy("FLEET_PERCENT", 40, 9) == (4, None)
    assert engine.minimum_healthy("HOST_COUNT", 6, 9) == (6, None)
    assert engine.minimum_healthy("MOST_CONCURRENCY", 1, 4) == (3, 1)
    assert engine.minimum_healthy("FLEET_PERCENT", 50, 4) == (2, None)


def test_revisions_and_labels(api: Any) -> None:
    cd = api
    cd.register_application_revision(
        applicationName=APP, revision=s3("v42"), description="not deployed yet"
    )
    got = cd.get_application_revision(applicationName=APP, revision=s3("v42"))
    assert got["revisionInfo"]["description"] == "not deployed yet"
    assert "firstUsedTime" not in got["revisionInfo"]
    used = cd.get_application_revision(
        applicationName=APP,
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "shop-revisions", "key": "shop/v1.zip", "bundleType": "zip"},
        },
    )["revisionInfo"]
    assert "api-ip" in used["deploymentGroups"] and used["firstUsedTime"]
    undeployed = cd.list_application_revisions(applicationName=APP, deployed="exclude")
    assert undeployed["revisions"] == [s3("v42")]
    with pytest.raises(ClientError) as exc:
        cd.get_application_revision(applicationName=APP, revision=s3("v404"))
    assert error_code(exc) == "RevisionDoesNotExistException"
    assert engine.revision_label(s3("v2")) == "v2"
    assert (
        engine.revision_label(
            {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "a/b/release-7.tar.gz"}}
        )
        == "release-7"
    )
    commit = "0f3c2ab9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3"
    assert (
        engine.revision_label(
            {"revisionType": "GitHub", "gitHubLocation": {"repository": "o/r", "commitId": commit}}
        )
        == commit
    )


def test_applications_and_groups_listing(api: Any) -> None:
    cd = api
    assert APP in cd.list_applications()["applications"]
    apps = cd.batch_get_applications(applicationNames=[APP])["applicationsInfo"]
    assert apps[0]["computePlatform"] == "Server" and apps[0]["applicationId"]
    groups = cd.list_deployment_groups(applicationName=APP)["deploymentGroups"]
    assert {"api-ip", "api-bg"} <= set(groups)
    batch = cd.batch_get_deployment_groups(
        applicationName=APP, deploymentGroupNames=["api-bg", "nope"]
    )
    assert [g["deploymentGroupName"] for g in batch["deploymentGroupsInfo"]] == ["api-bg"]
    assert "nope" in batch["errorMessage"]
    bg = batch["deploymentGroupsInfo"][0]
    assert bg["autoScalingGroups"][0]["name"] == "web-asg"
    assert bg["autoScalingGroups"][0]["hook"].startswith(
        "CodeDeploy-managed-automatic-launch-deployment-hook-api-bg-"
    )
    assert bg["blueGreenDeploymentConfiguration"]["greenFleetProvisioningOption"] == {
        "action": "COPY_AUTO_SCALING_GROUP"
    }
    assert bg["computePlatform"] == "Server" and bg["serviceRoleArn"] == ROLE
    history = cd.list_deployments(applicationName=APP, deploymentGroupName="api-ip")
    cd.update_deployment_group(
        applicationName=APP,
        currentDeploymentGroupName="api-ip",
        newDeploymentGroupName="api-renamed",
        deploymentConfigName="CodeDeployDefault.HalfAtATime",
    )
    got = cd.get_deployment_group(applicationName=APP, deploymentGroupName="api-renamed")
    assert got["deploymentGroupInfo"]["deploymentConfigName"] == "CodeDeployDefault.HalfAtATime"
    moved = cd.list_deployments(applicationName=APP, deploymentGroupName="api-renamed")
    assert moved["deployments"] == history["deployments"]
    cd.update_deployment_group(
        applicationName=APP,
        currentDeploymentGroupName="api-renamed",
        newDeploymentGroupName="api-ip",
        deploymentConfigName="CodeDeployDefault.AllAtOnce",
    )
    cd.create_deployment_group(
        applicationName=APP, deploymentGroupName="doomed", serviceRoleArn=ROLE
    )
    for _ in range(2):  # deleting a group that is gone succeeds
        out = cd.delete_deployment_group(applicationName=APP, deploymentGroupName="doomed")
        assert out["hooksNotCleanedUp"] == []
    assert "doomed" not in cd.list_deployment_groups(applicationName=APP)["deploymentGroups"]


def test_aws_cli_reads_deployments(shared: Sandbox, api: Any) -> None:
    """The AWS CLI speaks JSON (not CBOR) to CodeDeploy; the same answers come back."""
    import json
    import subprocess
    import sys

    listed = api.list_deployments(applicationName=APP, deploymentGroupName="api-ip")
    did = listed["deployments"][-1]
    env = {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": shared.world.region,
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "deploy", "get-deployment", "--deployment-id", did,
         "--endpoint-url", shared.endpoint_url, "--output", "json"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["deploymentInfo"]
    assert got["deploymentId"] == did and got["status"] == "Failed"


# ----- load ------------------------------------------------------------------------------------


def test_no_failed_requests_across_cutover_and_rollback(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sandbox = fast(sandbox_factory(time_scale=100, load_rps=50))
    cd = client(sandbox)
    blue_green_group(cd, "bg", ready="CONTINUE_DEPLOYMENT")
    engine.record_past_deployment(sandbox.world, APP, "bg", "v1")
    originals = sorted(tg_states(sandbox))
    # Slow requests in flight make the originals drain visibly before they go.
    stop = threading.Event()
    slow_errors: list[str] = []

    def slow() -> None:
        port = listener_port(sandbox)
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/work?ms=300")
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    slow_errors.append(str(resp.status))
            except OSError as exc:
                slow_errors.append(type(exc).__name__)
            finally:
                conn.close()

    threads = [threading.Thread(target=slow, daemon=True) for _ in range(6)]
    for t in threads:
        t.start()
    seen: dict[str, set[str]] = {i: set() for i in originals}
    did = deploy(cd, "bg")

    def rerouted() -> bool:
        for iid, state in tg_states(sandbox).items():
            if iid in seen:
                seen[iid].add(state)
        return info(cd, did)["instanceTerminationWaitTimeStarted"]

    wait_for(rerouted, 30, "reroute")
    assert any("draining" in s for s in seen.values()), seen
    assert not set(tg_states(sandbox)) & set(originals)
    cd.continue_deployment(deploymentId=did, deploymentWaitType="TERMINATION_WAIT")
    wait_status(cd, did, "Succeeded", timeout=30)

    second = deploy(cd, "bg", label="v3")
    wait_for(lambda: info(cd, second)["instanceTerminationWaitTimeStarted"], 30, "reroute")
    assert revisions_served(sandbox) == {"v3": 12}
    cd.stop_deployment(deploymentId=second, autoRollbackEnabled=True)
    rollback = info(cd, second)["rollbackInfo"]["rollbackDeploymentId"]
    assert wait_status(cd, rollback, "Succeeded", "Failed", timeout=30)["status"] == "Succeeded"
    assert revisions_served(sandbox) == {"v2": 12}
    stop.set()
    for t in threads:
        t.join(5)
    assert sandbox.load is not None
    # Every request sent so far has its answer once none is in flight.
    wait_for(lambda: sandbox.load.stats()["in_flight"] == 0, what="the load's answers")
    stats = sandbox.load.stats()

    assert stats["sent"] > 100
    assert stats["errors"] == 0, stats
    assert slow_errors == []
