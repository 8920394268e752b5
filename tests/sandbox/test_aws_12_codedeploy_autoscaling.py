"""Issue 12: CodeDeploy and Auto Scaling as AWS documents them (docs/aws-behaviour.md).

Each test drives its own sandbox with unmodified boto3 over HTTP. Timings follow the sandbox
clock: the scenarios' lifecycle durations at a time scale that leaves a lifecycle state or a
running event visible for a fraction of a real second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from backend.sandbox import engine
from backend.sandbox.runner import Sandbox
from backend.sandbox.scenario import load_scenario
from tests.sandbox.test_codedeploy import (
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
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def sandboxes() -> Iterator[list[Sandbox]]:
    started: list[Sandbox] = []
    try:
        yield started
    finally:
        for sb in started:
            sb.stop()


@pytest.fixture
def start(sandboxes: list[Sandbox]) -> Callable[..., Sandbox]:
    """A sandbox of a scenario; durations None keeps the scenario's lifecycle durations."""

    def run(
        scenario: str = "default", time_scale: float = 60, durations: dict | None = None
    ) -> Sandbox:
        sb = Sandbox(
            load_scenario(scenario), port=0, time_scale=time_scale, free_listener_ports=True
        )
        sandboxes.append(sb)
        sb.start(wait_healthy=30)
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
            engine.INSTALL_EVENTS
        )
        summary = cd.get_deployment_instance(deploymentId=did, instanceId=iid)["instanceSummary"]
        assert [e["lifecycleEventName"] for e in summary["lifecycleEvents"]] == list(
            engine.INSTALL_EVENTS
        )
    batch = cd.batch_get_deployment_instances(deploymentId=did, instanceIds=list(ts))
    for summary in batch["instancesSummary"]:
        assert len(summary["lifecycleEvents"]) == len(engine.INSTALL_EVENTS)
