"""Preview before approval through the controller, against the preview scenario: what a
snapshot costs with and without a preview (one DescribeTargetHealth more, nothing more once
its listener is known), the preview and the approval that ends it, a registration left behind
and its cleanup, and every call within the IAM policies in docs/."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import Snapshot
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client, wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs"
PREFIX = {"elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing"}
NO_PERMISSION = {"sts:GetCallerIdentity"}
TG = "web-preview-tg"

pytestmark = pytest.mark.sandbox("preview", time_scale=100)


def allowed(policy: str) -> set[str]:
    doc = json.loads((DOCS / policy).read_text())
    return {a for st in doc["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}


def wired(sb: Sandbox, target: TargetConfig) -> tuple[AwsSession, list[str]]:
    """A session whose every call (reads and sends) is recorded as `service:Operation`."""
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    calls: list[str] = []
    for service in ("codedeploy", "ec2", "autoscaling", "elbv2", "elb", "cloudwatch", "sts"):

        def record(model: object, service: str = service, **_: object) -> None:
            calls.append(f"{PREFIX.get(service, service)}:{model.name}")  # type: ignore[attr-defined]

        session.client(service).meta.events.register("before-call", record)
        if service not in ("cloudwatch", "sts"):
            session.sender(service).meta.events.register("before-call", record)
    return session, calls


def until(obs: Observer, pred: Callable[[Snapshot], bool], what: str) -> Snapshot:
    def matching() -> Snapshot | None:
        snap = obs.snapshot()
        return snap if pred(snap) else None

    return wait_for(matching, 60, what, every=0.1)


def test_preview_costs_one_read_ends_with_the_approval_and_stays_within_iam(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    plain = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        application="web",
        deployment_group="web-prod",
    )
    target = replace(plain, preview_target_group=TG)
    plain_session, plain_calls = wired(sandbox, plain)
    session, calls = wired(sandbox, target)
    plain_obs, obs = Observer(plain_session, plain), Observer(session, target)
    ctl = Controller(session, target, AuditLog(tmp_path / "audit.jsonl"))
    cd, elb2 = aws_client(sandbox, "codedeploy"), aws_client(sandbox, "elbv2")

    cd.create_deployment(applicationName="web", deploymentGroupName="web-prod")
    ready = until(obs, lambda s: s.action("preview").passed, "Ready, with the preview offered")
    assert ready.preview is not None and ready.preview.listener and ready.preview.address
    until(plain_obs, lambda s: s.deployment is not None and s.deployment.status == "Ready", "R")

    # Warm, a preview costs one DescribeTargetHealth a snapshot and nothing else.
    def warm(o: Observer, log: list[str]) -> Counter[str]:
        o.snapshot()
        del log[:]
        o.snapshot()
        return Counter(log)

    extra = warm(obs, calls) - warm(plain_obs, plain_calls)
    assert extra == Counter({"elasticloadbalancing:DescribeTargetHealth": 1}), extra

    outcome = ctl.execute(ctl.plan("preview", obs.snapshot()), obs.snapshot)
    assert outcome.ok, outcome.message
    ids = {i.id for i in ready.replacement.instances}  # type: ignore[union-attr]
    shown = until(
        obs,
        lambda s: {t.name for t in s.preview.targets if t.healthy} == ids,  # type: ignore[union-attr]
        "both healthy in the preview",
    )
    approve = ctl.plan("approve", shown)
    assert [c.api_name for c in approve.calls] == ["ContinueDeployment", "DeregisterTargets"]
    planned = [
        f"{PREFIX.get(c.service, c.service)}:{c.api_name}"
        for name in ("preview", "approve", "stop", "rollback")
        for c in ctl.plan(name, shown).calls
    ]
    assert "elasticloadbalancing:DeregisterTargets" in planned
    assert ctl.execute(approve, obs.snapshot).ok

    # Someone registers an instance in the preview again (the console): a leftover, removed
    # by cleanup while the reroute runs.
    arn = shown.preview.arn  # type: ignore[union-attr]
    until(obs, lambda s: not s.preview.registered, "the preview emptied")  # type: ignore[union-attr]
    one = sorted(ids)[0]
    elb2.register_targets(TargetGroupArn=arn, Targets=[{"Id": one}])
    left = until(obs, lambda s: bool(s.unowned), "the registration listed as left")
    assert [(lo.kind, lo.instance_ids) for lo in left.unowned] == [  # type: ignore[union-attr]
        ("preview-registration", (one,))
    ]
    cleanup = ctl.plan("cleanup", left)
    assert [c.api_name for c in cleanup.calls] == ["DeregisterTargets"], cleanup.lines()
    assert ctl.execute(cleanup, obs.snapshot).ok
    until(obs, lambda s: not s.unowned, "the left registration gone")

    mutating = {
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
        "codedeploy:ContinueDeployment",
        "codedeploy:StopDeployment",
        "codedeploy:CreateDeployment",
    }
    reads = {c for c in calls if c not in mutating} - NO_PERMISSION
    assert reads <= allowed("iam-policy-readonly.json"), reads - allowed("iam-policy-readonly.json")
    everything = (set(calls) | set(planned)) - NO_PERMISSION
    assert everything <= allowed("iam-policy-operator.json")
    assert {
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
    } <= set(calls)


def test_a_preview_target_group_on_no_listener_is_said_to_prove_nothing(
    sandbox_factory: Callable[..., Sandbox], tmp_path: Path
) -> None:
    scenario = (
        Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "preview.yaml"
    ).read_text()
    lonely = "  - name: web-lonely-tg\n    health_check: {path: /health}\n"
    with_lonely = scenario.replace("\nload_balancers:", lonely + "\nload_balancers:", 1)
    assert with_lonely != scenario
    path = tmp_path / "lonely.yaml"
    path.write_text(with_lonely)
    sb = sandbox_factory(str(path), time_scale=100)
    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sb.endpoint_url,
        application="web",
        deployment_group="web-prod",
        preview_target_group="web-lonely-tg",
    )
    session, _ = wired(sb, target)
    snap = Observer(session, target).snapshot()
    assert snap.preview is not None and snap.preview.listener is None
    assert "web-lonely-tg is attached to no listener" in (snap.preview.problem or "")
    assert "Target.NotInUse" in (snap.preview.problem or "")
    assert "attached to no listener" in snap.action("preview").reason
