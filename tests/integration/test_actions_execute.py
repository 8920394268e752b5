"""Executing plans against a running sandbox: once only, re-checked, audited, within IAM."""

from __future__ import annotations

import json
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
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs"
IAM_PREFIX = {
    "codedeploy": "codedeploy",
    "ec2": "ec2",
    "autoscaling": "autoscaling",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "cloudwatch": "cloudwatch",
    "sts": "sts",
}
# Needs no permission: AWS answers it for any valid credentials.
NO_PERMISSION = {"sts:GetCallerIdentity"}
V2 = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}

pytestmark = pytest.mark.sandbox("default", time_scale=100)


def allowed(policy: str) -> set[str]:
    doc = json.loads((DOCS / policy).read_text())
    return {a for st in doc["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> tuple[Sandbox, Controller, Observer, list[str]]:
    sb = sandbox
    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sb.endpoint_url,
        application="web",
        deployment_group="web-prod",
    )
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    calls: list[str] = []
    for service in ("codedeploy", "ec2", "autoscaling", "elbv2", "elb", "cloudwatch", "sts"):

        def record(model: object, service: str = service, **_: object) -> None:
            calls.append(f"{IAM_PREFIX[service]}:{model.name}")  # type: ignore[attr-defined]

        session.client(service).meta.events.register("before-call", record)
        if service not in ("cloudwatch", "sts"):
            # Mutating calls go through the send-once clients.
            session.sender(service).meta.events.register("before-call", record)
    controller = Controller(session, target, AuditLog(tmp_path / "audit.jsonl"))
    return sb, controller, Observer(session, target), calls


def wait(observer: Observer, pred: Callable[[Snapshot], bool], timeout: float = 30) -> Snapshot:
    def matching() -> Snapshot | None:
        snap = observer.snapshot()
        return snap if pred(snap) else None

    return wait_for(matching, timeout, "the deployment's state", every=0.1)


def test_plans_run_once_are_rechecked_and_stay_within_iam(
    world: tuple[Sandbox, Controller, Observer, list[str]],
) -> None:
    sb, ctl, obs, calls = world
    snap = obs.snapshot()
    deploy = ctl.plan("deploy", snap, revision="s3://web-revisions/web/v2.zip")
    outcome = ctl.execute(deploy, obs.snapshot)
    assert outcome.ok, outcome.message
    dep_id = outcome.result["deploymentId"]

    ready = wait(obs, lambda s: s.deployment is not None and s.deployment.status == "Ready")
    approve = ctl.plan("approve", ready)
    assert approve.refused is None, approve.refused
    first = ctl.execute(approve, obs.snapshot)
    second = ctl.execute(approve, obs.snapshot)
    assert first.ok and not second.ok
    assert "already sent" in second.message
    assert calls.count("codedeploy:ContinueDeployment") == 1

    waiting = wait(obs, lambda s: s.deployment.waiting_for == "termination")
    # The bake verdict was read (its GetMetricData is among the calls checked against IAM).
    assert waiting.bake is not None and "bake" not in waiting.unread
    terminate = ctl.plan("terminate-original", waiting)
    assert terminate.confirm_token == dep_id[-4:]
    # Someone else ends the wait between the snapshot and the keypress.
    other = boto3.client(
        "codedeploy",
        endpoint_url=sb.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    other.continue_deployment(deploymentId=dep_id, deploymentWaitType="TERMINATION_WAIT")
    wait(obs, lambda s: s.deployment.status == "Succeeded")
    refused = ctl.execute(terminate, obs.snapshot)
    assert not refused.ok and "changed since the plan was made" in refused.message
    assert calls.count("codedeploy:ContinueDeployment") == 1

    records = list(ctl.audit.records())
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("deploy", "intent"),
        ("deploy", "done"),
        ("approve", "intent"),
        ("approve", "done"),
        ("approve", "refused"),
        ("terminate-original", "refused"),
    ]
    assert records[1]["deployment_id"] == dep_id and records[1]["request_id"]
    assert records[3]["gates"] and all(g["passed"] for g in records[3]["gates"])
    # The intent names the plan and where it acts; its outcome carries the same attempt.
    assert records[0]["attempt"] == records[1]["attempt"] and records[0]["plan"]
    assert records[0]["region"] == "us-east-1" and records[0]["endpoint"]

    # Every call made, and every call any plan would make, is in the operator policy; every
    # read is in the read-only one.
    final = obs.snapshot()
    planned = [
        f"{IAM_PREFIX[c.service]}:{c.api_name}"
        for action, kw in (
            ("deploy", {}),
            ("stop", {}),
            ("rollback", {}),
            ("shift", {"move": "replacement-in"}),
            ("shift", {"move": "original-out"}),
        )
        for c in ctl.plan(action, final, **kw).calls  # type: ignore[arg-type]
    ]
    mutating = {
        "codedeploy:CreateDeployment",
        "codedeploy:ContinueDeployment",
        "codedeploy:StopDeployment",
    }
    reads = {c for c in calls if c not in mutating} - NO_PERMISSION
    assert reads <= allowed("iam-policy-readonly.json"), reads - allowed("iam-policy-readonly.json")
    everything = (set(calls) | set(planned)) - NO_PERMISSION
    assert everything <= allowed("iam-policy-operator.json"), everything - allowed(
        "iam-policy-operator.json"
    )
