"""Issue 12, item 3, the product side: when Auto Scaling launches instances during a blue/green
deployment, CodeDeploy starts deployments of its own (creator `autoscaling`) that become the
group's latest. `cutover status` keeps supervising the deployment a person started, shows
CodeDeploy's own beside it, and the gates count the launched instances for what they are.
Through the real command line against `cutover sandbox` (default scenario, clock x50)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cutover.sandbox.testing import aws_client

from tests.e2e import sandbox_process as e2e
from tests.e2e.sandbox_process import cutover, phase, sandbox_process

WHERE = ["--application", "web", "--deployment-group", "web-prod"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("autoscaling")
    # x50: the hour-long ready wait lasts 72 s, time for a scale-out and back before approving.
    with sandbox_process(state, "--time-scale", "50") as (environ, _):
        yield environ


def status(env: dict[str, str]) -> dict:
    return e2e.status(env)


def until(env: dict[str, str], pred: Callable[[dict], bool], timeout: float = 90) -> dict:
    return e2e.until(env, pred, timeout=timeout)


def gate(doc: dict, name: str) -> dict:
    return next(g for g in doc["gates"] if g["name"] == name)


def test_aws_12_03_status_keeps_the_blue_green_deployment_beside_auto_scaling_s(
    env: dict[str, str],
) -> None:
    res = cutover(env, "deploy", *WHERE, "--revision", "s3://web-revisions/web/v2.zip", "--yes")
    assert res.returncode == 0, res.stderr
    ready = until(env, lambda d: phase(d) == "ready")
    ours = ready["deployment"]["id"]
    asc = aws_client(env, "autoscaling")

    # The original group scales out while the deployment waits for approval.
    asc.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=5)
    doc = until(env, lambda d: d["automatic_deployment"] is not None)
    auto = doc["automatic_deployment"]
    assert auto["creator"] == "autoscaling" and auto["id"] != ours
    assert auto["revision"] == "s3://web-revisions/web/v1.zip"
    # Still the deployment a person started, waiting for approval.
    assert doc["deployment"]["id"] == ours and phase(doc) == "ready"
    assert doc["active_deployment"] == ours
    assert any(f"CodeDeploy's own deployment {auto['id']}" in n for n in doc["notes"])
    text = cutover(env, "status", *WHERE).stdout
    assert f"Deployment {ours}" in text and f"CodeDeploy's own deployment {auto['id']}" in text
    # The launched original counts: the replacement is now smaller than the original.
    doc = until(env, lambda d: d["automatic_deployment"]["status"] == "Succeeded")
    doc = until(env, lambda d: len(d["original"]["instances"]) == 5)
    assert not gate(doc, "capacity")["passed"], gate(doc, "capacity")
    assert "original 5" in gate(doc, "capacity")["reason"]
    # The engineer judges four replacements enough: an explicit, audited override.
    res = cutover(env, "approve", *WHERE, "--yes")
    assert res.returncode == 1 and "original 5" in res.stderr, res.stderr
    assert "the original has grown since it was copied" in res.stderr
    res = cutover(env, "approve", *WHERE, "--yes", "--override-gates")
    assert res.returncode == 0, res.stderr
    waiting = until(env, lambda d: phase(d) == "termination-wait")
    assert gate(waiting, "fleet-unchanged")["passed"], waiting["gates"]

    # The replacement scales out in the termination wait: CodeDeploy gives the new instance
    # the group's last successful revision (v1), not this deployment's (v2).
    copy = waiting["replacement"]["asg_name"]
    size = len(waiting["replacement"]["instances"])
    asc.set_desired_capacity(AutoScalingGroupName=copy, DesiredCapacity=size + 1)
    doc = until(
        env,
        lambda d: (
            d["automatic_deployment"] is not None and d["automatic_deployment"]["id"] != auto["id"]
        ),
    )
    later = doc["automatic_deployment"]
    assert doc["deployment"]["id"] == ours and phase(doc) == "termination-wait"
    (launched,) = later["instances"]
    doc = until(env, lambda d: not gate(d, "fleet-unchanged")["passed"])
    reason = gate(doc, "fleet-unchanged")["reason"]
    assert f"{launched} is new (launched by Auto Scaling" in reason, reason
    assert later["id"] in reason and "v1.zip" in reason
    assert not doc["actions"]["terminate-original"]["allowed"]
    res = cutover(env, "terminate-original", *WHERE, "--yes")
    assert res.returncode == 1 and launched in res.stderr, res.stderr
