"""Blue/green capacity no deployment owns, against the sandbox's default scenario: the
replacement fleet a stop without rollback leaves running, an instance Auto Scaling launched
outside any deployment serving in web-tg, and the cleanup action that removes the fleet
through the controller (plan, intent, each call once, outcome)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import Snapshot
from cutover.backend.observe import Observer
from cutover.backend.present.status_json import status_document
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client, wait_for

from tests.integration.test_actions_execute import IAM_PREFIX, allowed

pytestmark = pytest.mark.sandbox("default", time_scale=100)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> tuple[Sandbox, Controller, Observer, list[str]]:
    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        application="web",
        deployment_group="web-prod",
    )
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    calls: list[str] = []
    for service in ("autoscaling", "elbv2", "elb"):

        def record(model: object, service: str = service, **_: object) -> None:
            calls.append(f"{IAM_PREFIX[service]}:{model.name}")  # type: ignore[attr-defined]

        session.sender(service).meta.events.register("before-call", record)
    controller = Controller(session, target, AuditLog(tmp_path / "audit.jsonl"))
    observer = Observer(session, target)
    yield sandbox, controller, observer, calls
    observer.close()


def wait(observer: Observer, pred: Callable[[Snapshot], bool], timeout: float = 30) -> Snapshot:
    def matching() -> Snapshot | None:
        snap = observer.snapshot()
        return snap if pred(snap) else None

    return wait_for(matching, timeout, "the group's state", every=0.1)


def stop_at_ready(sb: Sandbox) -> str:
    """A deployment of web-prod stopped without rollback while it waits in Ready."""
    cd = aws_client(sb, "codedeploy")
    did = cd.create_deployment(
        applicationName="web",
        deploymentGroupName="web-prod",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
        },
    )["deploymentId"]
    wait_for(
        lambda: cd.get_deployment(deploymentId=did)["deploymentInfo"]["status"] == "Ready",
        30,
        "the deployment to be Ready",
    )
    cd.stop_deployment(deploymentId=did, autoRollbackEnabled=False)
    return did


def test_a_stop_without_rollback_leaves_the_replacement_group_and_cleanup_removes_it(
    world: tuple[Sandbox, Controller, Observer, list[str]],
) -> None:
    sb, ctl, obs, calls = world
    # The scenario's history deployment names no targets: nothing to compare with, no flag.
    assert obs.snapshot().unowned == ()
    did = stop_at_ready(sb)
    copy = f"CodeDeploy_web-prod_{did}"
    snap = wait(obs, lambda s: s.deployment is not None and s.deployment.status == "Stopped")
    # AWS: the stop runs no further lifecycle event, so the copied group stays, with its
    # instances, outside the deployment group.
    asc = aws_client(sb, "autoscaling")
    left = asc.describe_auto_scaling_groups(AutoScalingGroupNames=[copy])["AutoScalingGroups"]
    assert left and len(left[0]["Instances"]) == 4
    assert [lo.kind for lo in snap.unowned] == ["replacement-fleet"]
    fleet = snap.unowned[0]
    assert fleet.resource == copy and fleet.deployment_id == did
    assert len(fleet.instance_ids) == 4 and fleet.registered_in == ()
    doc = status_document(snap)
    assert doc["unowned"][0]["kind"] == "replacement-fleet" and doc["unowned_note"] is None
    assert snap.action("cleanup").passed

    plan = ctl.plan("cleanup", snap)
    assert plan.refused is None, plan.refused
    assert [c.api_name for c in plan.calls] == ["DeleteAutoScalingGroup"]
    assert plan.calls[0].params == {"AutoScalingGroupName": copy, "ForceDelete": True}
    assert plan.confirm_token == did[-4:]
    planned = {f"{IAM_PREFIX[c.service]}:{c.api_name}" for c in plan.calls}
    assert planned <= allowed("iam-policy-operator.json")

    outcome = ctl.execute(plan, obs.snapshot)
    assert outcome.ok, outcome.message
    again = ctl.execute(plan, obs.snapshot)
    assert not again.ok
    assert calls.count("autoscaling:DeleteAutoScalingGroup") == 1
    after = wait(obs, lambda s: s.unowned == ())
    wait_for(
        lambda: (
            not asc.describe_auto_scaling_groups(AutoScalingGroupNames=[copy])["AutoScalingGroups"]
        ),
        30,
        "the left group to be deleted",
    )
    assert not after.action("cleanup").passed
    assert [(r["action"], r["outcome"]) for r in ctl.audit.records()][:2] == [
        ("cleanup", "intent"),
        ("cleanup", "done"),
    ]


def test_cleanup_is_refused_while_a_deployment_of_the_group_runs(
    world: tuple[Sandbox, Controller, Observer, list[str]],
) -> None:
    sb, ctl, obs, calls = world
    stop_at_ready(sb)
    snap = wait(obs, lambda s: bool(s.unowned))
    plan = ctl.plan("cleanup", snap)
    assert plan.refused is None
    cd = aws_client(sb, "codedeploy")
    cd.create_deployment(
        applicationName="web",
        deploymentGroupName="web-prod",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "web-revisions", "key": "web/v3.zip", "bundleType": "zip"},
        },
    )
    running = wait(obs, lambda s: s.active_deployment is not None)
    assert running.unowned is None and "is running" in (running.unowned_note or "")
    refused = ctl.execute(plan, obs.snapshot)
    assert not refused.ok and "started since the plan was made" in refused.message
    assert "is running" in ctl.plan("cleanup", running).refused
    assert calls == []


def test_an_instance_auto_scaling_launched_outside_any_deployment_is_flagged(
    world: tuple[Sandbox, Controller, Observer, list[str]],
) -> None:
    sb, ctl, obs, _calls = world
    stop_at_ready(sb)
    wait(obs, lambda s: bool(s.unowned))
    # Without CodeDeploy's launch hook, Auto Scaling puts a new instance in service (and in
    # web-tg) without any deployment.
    asc = aws_client(sb, "autoscaling")
    for hook in asc.describe_lifecycle_hooks(AutoScalingGroupName="web-asg")["LifecycleHooks"]:
        asc.delete_lifecycle_hook(
            AutoScalingGroupName="web-asg", LifecycleHookName=hook["LifecycleHookName"]
        )
    group = asc.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])
    before = {i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]}
    asc.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=5)
    snap = wait(obs, lambda s: any(lo.kind == "unowned-instance" for lo in s.unowned or ()))
    flagged = [lo for lo in snap.unowned if lo.kind == "unowned-instance"]
    assert len(flagged) == 1 and flagged[0].resource not in before
    assert "web-tg" in flagged[0].detail and "no deployment installed it" in flagged[0].detail
    new = next(i for i in snap.original.instances if i.id == flagged[0].resource)
    assert new.revision is None
    # Flagged, never removed: the cleanup removes the left fleet only and names the instance.
    plan = ctl.plan("cleanup", snap)
    assert all(flagged[0].resource not in str(c.params) for c in plan.calls)
    assert any(flagged[0].resource in ch and "not touched" in ch for ch in plan.changes)
