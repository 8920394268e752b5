"""Issue 12: CodeDeploy and Auto Scaling as AWS documents them (docs/aws-behaviour.md).

Each test drives its own sandbox with unmodified boto3 over HTTP. Timings follow the sandbox
clock: the scenarios' lifecycle durations at a time scale that leaves a lifecycle state or a
running event visible for a fraction of a real second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from backend.sandbox import engine
from backend.sandbox.runner import Sandbox
from backend.sandbox.scenario import load_scenario
from tests.sandbox.test_codedeploy import (
    FAST,
    client,
    deploy,
    in_place_group,
    targets,
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
