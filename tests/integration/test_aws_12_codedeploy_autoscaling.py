"""Issue 12: CodeDeploy and Auto Scaling as AWS documents them (docs/aws-behaviour.md).

Each test drives its own sandbox with unmodified boto3 over HTTP. Timings follow the sandbox
clock: the scenarios' lifecycle durations at a time scale that leaves a lifecycle state or a
running event visible for a fraction of a real second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cutover.common import lifecycle
from cutover.sandbox.codedeploy import engine
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import wait_for

from tests.integration.test_codedeploy import (
    APP,
    FAST,
    blue_green_group,
    by_label,
    client,
    deploy,
    events,
    in_place_group,
    info,
    s3,
    targets,
    tg_states,
    wait_status,
)

pytestmark = pytest.mark.timeout(90)

HOOK_PREFIX = "CodeDeploy-managed-automatic-launch-deployment-hook-"


@pytest.fixture
def start(sandbox_factory: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    """A sandbox of a scenario; durations None keeps the scenario's lifecycle durations."""

    def run(
        scenario: str = "default", time_scale: float = 60, durations: dict | None = None
    ) -> Sandbox:
        sb = sandbox_factory(scenario, time_scale=time_scale)
        if durations is not None:
            engine.configure(sb.world, durations=durations)
        return sb

    return run


def lifecycle_state(asc: Any, iid: str) -> str | None:
    rows = asc.describe_auto_scaling_instances(InstanceIds=[iid])["AutoScalingInstances"]
    return rows[0]["LifecycleState"] if rows else None


def members(asc: Any, name: str) -> dict[str, str]:
    groups = asc.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return {i["InstanceId"]: i["LifecycleState"] for i in groups[0]["Instances"]} if groups else {}


def group_info(cd: Any, app: str, group: str) -> dict:
    return cd.get_deployment_group(applicationName=app, deploymentGroupName=group)[
        "deploymentGroupInfo"
    ]


def deployments_of(cd: Any, app: str, group: str) -> list[dict]:
    """The group's deployments as ListDeployments orders them, with their details."""
    ids = cd.list_deployments(applicationName=app, deploymentGroupName=group)["deployments"]
    got = cd.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"] if ids else []
    by_id = {d["deploymentId"]: d for d in got}
    return [by_id[i] for i in ids]


def hooks_of(asc: Any, name: str) -> list[dict]:
    return asc.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"]


def new_member(asc: Any, name: str, before: set[str]) -> str:
    return wait_for(
        lambda: next((i for i in members(asc, name) if i not in before), None),
        what="a new member",
    )


# ----- 3: the launch lifecycle hook and Auto Scaling's deployments -----------------------------


def test_aws_12_03_deployment_groups_install_the_launch_hook(start: Callable[..., Sandbox]) -> None:
    sb = start(durations=FAST)
    cd, asc = client(sb), client(sb, "autoscaling")
    (prod,) = group_info(cd, "web", "web-prod")["autoScalingGroups"]
    assert prod["name"] == "web-asg" and prod["hook"].startswith(HOOK_PREFIX + "web-prod-")
    in_place_group(cd, "ip", traffic=False, config="CodeDeployDefault.AllAtOnce")
    (ip,) = group_info(cd, APP, "ip")["autoScalingGroups"]
    assert ip["hook"].startswith(HOOK_PREFIX + "ip-") and ip["hook"] != prod["hook"]

    hooks = {h["LifecycleHookName"]: h for h in hooks_of(asc, "web-asg")}
    assert set(hooks) == {prod["hook"], ip["hook"]}
    hook = hooks[ip["hook"]]
    assert hook["AutoScalingGroupName"] == "web-asg"
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert hook["DefaultResult"] == "ABANDON"
    assert hook["HeartbeatTimeout"] == 600 and hook["GlobalTimeout"] == 60000
    named = asc.describe_lifecycle_hooks(
        AutoScalingGroupName="web-asg", LifecycleHookNames=[ip["hook"]]
    )["LifecycleHooks"]
    assert [h["LifecycleHookName"] for h in named] == [ip["hook"]]

    # Taking the Auto Scaling group out of the deployment group removes its hook; deleting
    # the deployment group removes the other.
    cd.update_deployment_group(
        applicationName=APP, currentDeploymentGroupName="ip", autoScalingGroups=[]
    )
    assert [h["LifecycleHookName"] for h in hooks_of(asc, "web-asg")] == [prod["hook"]]
    cd.delete_deployment_group(applicationName="web", deploymentGroupName="web-prod")
    assert hooks_of(asc, "web-asg") == []


def test_aws_12_03_a_launched_instance_waits_for_an_autoscaling_deployment(
    start: Callable[..., Sandbox],
) -> None:
    sb = start()
    cd, asc = client(sb), client(sb, "autoscaling")
    group = group_info(cd, "web", "web-prod")
    past = group["lastSuccessfulDeployment"]["deploymentId"]
    revision = info(cd, past)["revision"]
    before = set(members(asc, "web-asg"))
    asc.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=5)
    iid = new_member(asc, "web-asg", before)

    seen: list[str] = []
    registered_while_waiting: list[bool] = []

    def in_service() -> bool:
        # Read the target group first: if the instance still waits afterwards, it waited then.
        registered = iid in tg_states(sb)
        state = lifecycle_state(asc, iid)
        if state and (not seen or seen[-1] != state):
            seen.append(state)
        if state == "Pending:Wait":
            registered_while_waiting.append(registered)
        return state == "InService"

    wait_for(in_service, timeout=30, what="the new instance InService")
    assert "Pending:Wait" in seen and seen[-1] == "InService", seen
    assert seen.index("Pending:Wait") < seen.index("InService")
    assert registered_while_waiting and not any(registered_while_waiting)

    newest, *older = deployments_of(cd, "web", "web-prod")
    assert [d["deploymentId"] for d in older] == [past]
    assert newest["creator"] == "autoscaling"
    assert newest["revision"] == revision
    assert newest["deploymentOverview"]["Succeeded"] == 1
    assert wait_status(cd, newest["deploymentId"], "Succeeded")["status"] == "Succeeded"
    (target,) = targets(cd, newest["deploymentId"]).values()
    assert target["targetId"] == iid and "instanceLabel" not in target
    assert list(events(target)) == list(lifecycle.INSTALL_EVENTS)
    assert {e["status"] for e in target["lifecycleEvents"]} == {"Succeeded"}
    group = group_info(cd, "web", "web-prod")
    assert group["lastAttemptedDeployment"]["deploymentId"] == newest["deploymentId"]
    assert group["lastSuccessfulDeployment"]["deploymentId"] == newest["deploymentId"]
    # Only once InService does Auto Scaling register it with the group's target group.
    wait_for(lambda: tg_states(sb).get(iid) == "healthy", what="the new instance healthy")


def test_aws_12_03_a_failed_autoscaling_deployment_abandons_the_launch(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(time_scale=300, durations=FAST)
    cd, asc = client(sb), client(sb, "autoscaling")
    engine.state(sb.world).faults.fail_hook("AfterInstall")
    before = set(members(asc, "web-asg"))
    asc.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=5)
    doomed = new_member(asc, "web-asg", before)

    def two_autoscaling() -> list[dict] | None:
        deps = [d for d in deployments_of(cd, "web", "web-prod") if d["creator"] == "autoscaling"]
        done = all(d["status"] in ("Succeeded", "Failed") for d in deps)
        return deps if len(deps) == 2 and done else None

    second, first = wait_for(two_autoscaling, timeout=30, what="two autoscaling deployments")
    assert first["status"] == "Failed" and second["status"] == "Succeeded"
    assert list(targets(cd, first["deploymentId"])) == [doomed]
    ec2 = client(sb, "ec2")
    wait_for(
        lambda: (
            ec2.describe_instances(InstanceIds=[doomed])["Reservations"][0]["Instances"][0][
                "State"
            ]["Name"]
            == "terminated"
        ),
        what="the abandoned instance terminated",
    )
    assert doomed not in tg_states(sb)
    (replacement,) = targets(cd, second["deploymentId"])
    assert replacement != doomed
    wait_for(lambda: members(asc, "web-asg").get(replacement) == "InService", what="InService")
    assert len(members(asc, "web-asg")) == 5


def test_aws_12_03_scale_out_during_a_deployment_gets_a_follow_on_deployment(
    start: Callable[..., Sandbox],
) -> None:
    sb = start("inplace", time_scale=200)
    cd, asc = client(sb), client(sb, "autoscaling")
    past = group_info(cd, "web", "web-inplace")["lastSuccessfulDeployment"]["deploymentId"]
    old = info(cd, past)["revision"]
    before = set(members(asc, "web-asg"))
    user = cd.create_deployment(
        applicationName="web", deploymentGroupName="web-inplace", revision=s3("v2")
    )["deploymentId"]
    asc.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=5)
    iid = new_member(asc, "web-asg", before)

    def scaled() -> dict | None:
        deps = deployments_of(cd, "web", "web-inplace")
        return next((d for d in deps if d["creator"] == "autoscaling"), None)

    auto = wait_for(scaled, what="the autoscaling deployment")
    # It installs the last successful revision, not the one being deployed, alongside the
    # user's deployment.
    assert auto["revision"] == old
    assert info(cd, user)["status"] == "InProgress"
    assert list(targets(cd, auto["deploymentId"])) == [iid]
    assert wait_status(cd, auto["deploymentId"], "Succeeded", "Failed")["status"] == "Succeeded"
    assert wait_status(cd, user, "Succeeded", "Failed", timeout=40)["status"] == "Succeeded"
    assert iid not in targets(cd, user)

    def follow_on() -> dict | None:
        deps = deployments_of(cd, "web", "web-inplace")
        return next((d for d in deps if d["creator"] == "CodeDeployAutoUpdate"), None)

    update = wait_for(follow_on, what="the follow-on deployment")
    assert update["revision"] == s3("v2")
    assert update["updateOutdatedInstancesOnly"] is True
    assert list(targets(cd, update["deploymentId"])) == [iid]
    assert wait_status(cd, update["deploymentId"], "Succeeded", "Failed", timeout=30)["status"] == (
        "Succeeded"
    )
    fleet = members(asc, "web-asg")
    assert len(fleet) == 5 and set(fleet.values()) == {"InService"}
    with sb.world.lock:
        assert {sb.world.instances[i].revision for i in fleet} == {"v2"}
    order = [d["deploymentId"] for d in deployments_of(cd, "web", "web-inplace")]
    assert order == [update["deploymentId"], auto["deploymentId"], user, past]


def test_aws_12_03_the_copied_group_gets_the_hook_when_it_takes_over(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(time_scale=300, durations=FAST)
    cd, asc = client(sb), client(sb, "autoscaling")
    blue_green_group(cd, "bg", ready="STOP_DEPLOYMENT", termination_minutes=0)
    engine.record_past_deployment(sb.world, APP, "bg", "v1", revision=s3("v1"))
    did = deploy(cd, "bg")
    wait_status(cd, did, "Ready")
    copy = f"CodeDeploy_bg_{did}"
    (original,) = group_info(cd, APP, "bg")["autoScalingGroups"]
    assert original["hook"] in {h["LifecycleHookName"] for h in hooks_of(asc, "web-asg")}
    assert hooks_of(asc, copy) == []
    cd.continue_deployment(deploymentId=did, deploymentWaitType="READY_WAIT")
    assert wait_status(cd, did, "Succeeded", "Failed", "Stopped")["status"] == "Succeeded"

    (taken,) = group_info(cd, APP, "bg")["autoScalingGroups"]
    assert taken["name"] == copy and taken["hook"] != original["hook"]
    assert [h["LifecycleHookName"] for h in hooks_of(asc, copy)] == [taken["hook"]]
    # A scale-out of the new group now gets the revision that was just deployed.
    before = set(members(asc, copy))
    asc.set_desired_capacity(AutoScalingGroupName=copy, DesiredCapacity=len(before) + 1)
    iid = new_member(asc, copy, before)

    def autoscaling() -> dict | None:
        deps = deployments_of(cd, APP, "bg")
        return next((d for d in deps if d["creator"] == "autoscaling"), None)

    auto = wait_for(autoscaling, what="the autoscaling deployment")
    assert auto["revision"] == s3("v2")
    assert wait_status(cd, auto["deploymentId"], "Succeeded", "Failed")["status"] == "Succeeded"
    wait_for(lambda: tg_states(sb).get(iid) == "healthy", what="the new instance healthy")
    with sb.world.lock:
        assert sb.world.instances[iid].revision == "v2"


def test_aws_12_03_a_blue_green_deployment_carries_on_beside_autoscaling_deployments(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(time_scale=300, durations=FAST)
    cd, asc = client(sb), client(sb, "autoscaling")
    blue_green_group(cd, "bg")
    engine.record_past_deployment(sb.world, APP, "bg", "v1", revision=s3("v1"))
    did = deploy(cd, "bg")
    wait_status(cd, did, "Ready")

    def autoscaling(n: int) -> list[dict] | None:
        deps = [d for d in deployments_of(cd, APP, "bg") if d["creator"] == "autoscaling"]
        return deps if len(deps) == n else None

    # The original group scales out while the deployment waits for approval.
    asc.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=5)
    (auto,) = wait_for(lambda: autoscaling(1), what="an autoscaling deployment")
    assert auto["revision"] == s3("v1")
    group = group_info(cd, APP, "bg")
    assert group["lastAttemptedDeployment"]["deploymentId"] == auto["deploymentId"]
    # The group's own deployment still holds the one-at-a-time rule.
    with pytest.raises(ClientError) as exc:
        deploy(cd, "bg", label="v3")
    assert exc.value.response["Error"]["Code"] == "DeploymentLimitExceededException"
    assert did in exc.value.response["Error"]["Message"]
    assert wait_status(cd, auto["deploymentId"], "Succeeded")["status"] == "Succeeded"
    assert info(cd, did)["status"] == "Ready"

    cd.continue_deployment(deploymentId=did, deploymentWaitType="READY_WAIT")
    wait_for(lambda: info(cd, did)["instanceTerminationWaitTimeStarted"], what="rerouted")
    # The copy now serves and has the hook: its scale-out gets the last successful revision,
    # which is still v1 until this deployment succeeds.
    copy = f"CodeDeploy_bg_{did}"
    asc.set_desired_capacity(AutoScalingGroupName=copy, DesiredCapacity=5)
    later, _ = wait_for(lambda: autoscaling(2), what="a second autoscaling deployment")
    assert later["revision"] == s3("v1")
    (late,) = targets(cd, later["deploymentId"])
    assert wait_status(cd, later["deploymentId"], "Succeeded")["status"] == "Succeeded"
    cd.continue_deployment(deploymentId=did, deploymentWaitType="TERMINATION_WAIT")
    assert wait_status(cd, did, "Succeeded", "Failed")["status"] == "Succeeded"

    def follow_on() -> dict | None:
        deps = deployments_of(cd, APP, "bg")
        return deps[0] if deps[0]["creator"] == "CodeDeployAutoUpdate" else None

    update = wait_for(follow_on, what="the follow-on deployment")
    assert update["revision"] == s3("v2") and list(targets(cd, update["deploymentId"])) == [late]
    assert wait_status(cd, update["deploymentId"], "Succeeded", "Failed")["status"] == "Succeeded"
    # Newest created first: both autoscaling deployments came after the deployment they
    # ran beside.
    order = [(d["creator"], d["revision"]) for d in deployments_of(cd, APP, "bg")]
    assert order == [
        ("CodeDeployAutoUpdate", s3("v2")),
        ("autoscaling", s3("v1")),
        ("autoscaling", s3("v1")),
        ("user", s3("v2")),
        ("user", s3("v1")),
    ]
    with sb.world.lock:
        assert {sb.world.instances[i].revision for i in sb.world.asgs[copy].members} == {"v2"}


def test_aws_12_03_a_launch_hook_holds_instances_until_its_action_completes(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(time_scale=300, durations=FAST)
    asc, ec2 = client(sb, "autoscaling"), client(sb, "ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]]
    asc.create_auto_scaling_group(
        AutoScalingGroupName="jobs",
        LaunchTemplate={"LaunchTemplateName": "jobs"},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=0,
        VPCZoneIdentifier=",".join(subnets),
    )
    asc.put_lifecycle_hook(
        AutoScalingGroupName="jobs",
        LifecycleHookName="warm-up",
        LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
        HeartbeatTimeout=7200,
        NotificationMetadata="cache",
    )
    (hook,) = hooks_of(asc, "jobs")
    assert hook["DefaultResult"] == "ABANDON" and hook["GlobalTimeout"] == 172800
    asc.set_desired_capacity(AutoScalingGroupName="jobs", DesiredCapacity=2)
    wait_for(lambda: list(members(asc, "jobs").values()) == ["Pending:Wait"] * 2, what="wait")
    kept, dropped = sorted(members(asc, "jobs"))
    asc.record_lifecycle_action_heartbeat(
        AutoScalingGroupName="jobs", LifecycleHookName="warm-up", InstanceId=kept
    )
    asc.complete_lifecycle_action(
        AutoScalingGroupName="jobs",
        LifecycleHookName="warm-up",
        InstanceId=kept,
        LifecycleActionResult="CONTINUE",
    )
    wait_for(lambda: members(asc, "jobs").get(kept) == "InService", what="InService")
    with pytest.raises(ClientError) as exc:
        asc.complete_lifecycle_action(
            AutoScalingGroupName="jobs",
            LifecycleHookName="warm-up",
            InstanceId=kept,
            LifecycleActionResult="CONTINUE",
        )
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    # Deleting the hook abandons the launch still waiting on it; a new one takes its place
    # and, with no hook left, goes straight InService.
    asc.delete_lifecycle_hook(AutoScalingGroupName="jobs", LifecycleHookName="warm-up")
    wait_for(lambda: dropped not in members(asc, "jobs"), what="the abandoned launch gone")
    wait_for(lambda: list(members(asc, "jobs").values()) == ["InService"] * 2, what="two InService")


# ----- 7: StopDeployment's answer -----------------------------------------------------------


def test_aws_12_07_stop_answers_succeeded_when_immediate_and_pending_while_events_run(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(time_scale=60, durations=FAST)
    cd = client(sb)
    blue_green_group(cd, "bg")
    engine.record_past_deployment(sb.world, APP, "bg", "v1", revision=s3("v1"))
    did = deploy(cd, "bg")
    wait_status(cd, did, "Ready")
    # Nothing runs on an instance at Ready: the stop is immediate.
    assert cd.stop_deployment(deploymentId=did, autoRollbackEnabled=False)["status"] == (
        "Succeeded"
    )
    assert info(cd, did)["status"] == "Stopped"

    engine.configure(sb.world, durations={"Install": 60.0})
    second = deploy(cd, "bg", label="v3")

    def installing() -> bool:
        greens = by_label(targets(cd, second), "Green").values()
        return bool(greens) and all(events(t)["Install"]["status"] == "InProgress" for t in greens)

    wait_for(installing, what="Install under way")
    answer = cd.stop_deployment(deploymentId=second, autoRollbackEnabled=False)
    assert answer["status"] == "Pending"
    # The running Install events finish before the deployment is Stopped.
    assert info(cd, second)["status"] == "InProgress"
    stopped = wait_status(cd, second, "Stopped", "Failed", "Succeeded")
    assert stopped["status"] == "Stopped" and stopped["errorInformation"]["code"] == "MANUAL_STOP"
    for t in by_label(targets(cd, second), "Green").values():
        assert events(t)["Install"]["status"] == "Succeeded"
        assert events(t)["AfterInstall"]["status"] == "Skipped"
    # "After the pending operation is complete, subsequent calls to stop the deployment
    # return a status of succeeded."
    assert cd.stop_deployment(deploymentId=second)["status"] == "Succeeded"


# ----- 8: the size of the copied Auto Scaling group ------------------------------------------


def test_aws_12_08_the_copy_is_sized_from_healthy_in_service_instances(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(time_scale=300, durations=FAST)
    cd, asc = client(sb), client(sb, "autoscaling")
    (standby, *_) = sorted(members(asc, "web-asg"))
    # Launch suspended, so the group does not replace the instance it no longer counts.
    asc.suspend_processes(AutoScalingGroupName="web-asg", ScalingProcesses=["Launch"])
    asc.enter_standby(
        AutoScalingGroupName="web-asg", InstanceIds=[standby], ShouldDecrementDesiredCapacity=False
    )
    wait_for(lambda: lifecycle_state(asc, standby) == "Standby", what="Standby")
    (source,) = asc.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
        "AutoScalingGroups"
    ]
    assert source["DesiredCapacity"] == 4
    blue_green_group(cd, "bg")
    did = deploy(cd, "bg")
    ready = wait_status(cd, did, "Ready")
    (copy,) = asc.describe_auto_scaling_groups(AutoScalingGroupNames=[f"CodeDeploy_bg_{did}"])[
        "AutoScalingGroups"
    ]
    assert copy["DesiredCapacity"] == 3 and copy["MinSize"] <= 3
    assert ready["deploymentOverview"]["Ready"] == 3
    assert len(by_label(targets(cd, did), "Green")) == 3


# ----- 9: in-place without a load balancer lists the install events only -----------------------


def test_aws_12_09_in_place_without_a_load_balancer_lists_only_install_events(
    start: Callable[..., Sandbox],
) -> None:
    sb = start(time_scale=300, durations=FAST)
    cd = client(sb)
    in_place_group(cd, "ip", traffic=False, config="CodeDeployDefault.AllAtOnce")
    did = deploy(cd, "ip")
    assert wait_status(cd, did, "Succeeded", "Failed")["status"] == "Succeeded"
    ts = targets(cd, did)
    assert len(ts) == 4
    for iid, t in ts.items():
        assert [e["lifecycleEventName"] for e in t["lifecycleEvents"]] == list(
            lifecycle.INSTALL_EVENTS
        )
        summary = cd.get_deployment_instance(deploymentId=did, instanceId=iid)["instanceSummary"]
        assert [e["lifecycleEventName"] for e in summary["lifecycleEvents"]] == list(
            lifecycle.INSTALL_EVENTS
        )
    batch = cd.batch_get_deployment_instances(deploymentId=did, instanceIds=list(ts))
    for summary in batch["instancesSummary"]:
        assert len(summary["lifecycleEvents"]) == len(lifecycle.INSTALL_EVENTS)
