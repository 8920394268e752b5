"""Planning actions over hand-built snapshots: preconditions, exact calls, confirmations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cutover.backend.actions import Controller, parse_revision
from cutover.backend.actions.catalogue import action_checks
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import (
    Check,
    Deployment,
    Environment,
    Instance,
    ListenerWeights,
    Snapshot,
    TargetHealth,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TARGET = TargetConfig(name="t", region="us-east-1", application="web", deployment_group="web-prod")


def dep(status: str = "Ready", **kw: object) -> Deployment:
    base = dict(
        id="d-ABCDEFGH1",
        status=status,
        phase={"Ready": "ready", "InProgress": "rerouting"}.get(status, status.lower()),
        application="web",
        deployment_group="web-prod",
        style="BLUE_GREEN",
        traffic_control=True,
        waiting_for="reroute-approval" if status == "Ready" else None,
    )
    base.update(kw)
    return Deployment(**base)  # type: ignore[arg-type]


def snap(deployment: Deployment | None, **kw: object) -> Snapshot:
    base = dict(
        target="t",
        server_time=NOW,
        application="web",
        deployment_group="web-prod",
        deployment=deployment,
        original=Environment("original", (Instance("i-1"), Instance("i-2"))),
        replacement=Environment("replacement", (Instance("i-3"), Instance("i-4"))),
        target_groups=("web-tg",),
        target_group_arns=(("web-tg", "arn:tg/web-tg"),),
    )
    base.update(kw)
    built = Snapshot(**base)  # type: ignore[arg-type]
    if "actions" in kw:
        return built
    # The availability checks every front end uses: plans are refused whenever they refuse.
    return replace(built, actions=action_checks(built))


@pytest.fixture
def ctl(tmp_path: Path) -> Controller:
    return Controller(AwsSession(TARGET), TARGET, AuditLog(tmp_path / "a.jsonl"))


def test_approve_plans_one_continue_deployment(ctl: Controller) -> None:
    plan = ctl.plan("approve", snap(dep(), gates=(Check("healthy", True, "all healthy"),)))
    assert plan.refused is None
    assert [c.text() for c in plan.calls] == [
        "codedeploy:ContinueDeployment deploymentId=d-ABCDEFGH1 deploymentWaitType=READY_WAIT"
    ]
    assert plan.confirm_token == "y"
    assert any("gate healthy: pass" in line for line in plan.lines())


def test_approve_refused_by_gate_names_the_reason(ctl: Controller) -> None:
    gate = Check("replacement-healthy", False, "i-3 is unhealthy in web-tg")
    plan = ctl.plan("approve", snap(dep(), gates=(gate,)))
    assert plan.refused is not None and not plan.calls
    assert plan.refused.startswith("a gate failed: i-3 is unhealthy in web-tg")
    assert "--override-gates" in plan.refused
    overridden = ctl.plan("approve", snap(dep(), gates=(gate,)), override_gates=True)
    assert overridden.refused is None and overridden.override


def test_approve_refused_when_not_ready(ctl: Controller) -> None:
    plan = ctl.plan("approve", snap(dep("InProgress")))
    assert plan.refused is not None and "not waiting for reroute approval" in plan.refused
    # The refusal is the availability check's own words, as the dashboard shows them.
    assert plan.refused == snap(dep("InProgress")).action("approve").reason


def test_dangerous_actions_need_the_id_typed(ctl: Controller) -> None:
    plan = ctl.plan(
        "terminate-original",
        snap(dep("InProgress", waiting_for="termination", phase="termination-wait")),
    )
    assert plan.confirm_token == "FGH1"
    assert "i-1, i-2" in plan.changes[0]
    rb = ctl.plan("rollback", snap(dep("InProgress")))
    assert rb.confirm_token == "FGH1"
    assert rb.calls[0].params == {"deploymentId": "d-ABCDEFGH1", "autoRollbackEnabled": True}


def test_deploy_refused_while_one_is_active(ctl: Controller) -> None:
    plan = ctl.plan("deploy", snap(dep("InProgress")), revision="s3://b/web/v2.zip")
    assert plan.refused is not None and "one deployment per group" in plan.refused
    ok = ctl.plan("deploy", snap(dep("Succeeded")), revision="s3://b/web/v2.zip")
    assert ok.calls[0].params["revision"] == {
        "revisionType": "S3",
        "s3Location": {"bucket": "b", "key": "web/v2.zip", "bundleType": "zip"},
    }


def test_shift_weights_and_moves(ctl: Controller) -> None:
    lw = ListenerWeights(
        load_balancer="web-alb",
        port=8080,
        rule_arn="arn:rule",
        listener_arn="arn:listener",
        weights=(("web-blue-tg", 100), ("web-green-tg", 0)),
        arns=(("web-blue-tg", "arn:blue"), ("web-green-tg", "arn:green")),
    )

    def inst(iid: str, tg: str) -> Instance:
        return Instance(iid, health=(TargetHealth(tg, "target-group", "healthy"),))

    s = snap(
        None,
        listeners=(lw,),
        original=Environment("original", (inst("i-1", "web-blue-tg"),)),
        replacement=Environment("replacement", (inst("i-3", "web-green-tg"),)),
        target_groups=("web-blue-tg", "web-green-tg"),
    )
    plan = ctl.plan("shift", s, replacement_percent=25)
    (call,) = plan.calls
    assert call.operation == "modify_listener"
    groups = call.params["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    assert groups == [
        {"TargetGroupArn": "arn:blue", "Weight": 75},
        {"TargetGroupArn": "arn:green", "Weight": 25},
    ]
    assert "web-blue-tg 100, web-green-tg 0 -> web-blue-tg 75, web-green-tg 25" in plan.changes[0]
    # CodeDeploy owns the traffic while a deployment runs: no move then.
    busy = ctl.plan("shift", snap(dep("InProgress")), move="replacement-out")
    assert busy.refused is not None and "CodeDeploy owns the traffic" in busy.refused
    both = (("web-tg", "healthy"),)

    def env(role: str, ids: tuple[str, ...]) -> Environment:
        return Environment(
            role,  # type: ignore[arg-type]
            tuple(
                Instance(i, health=tuple(TargetHealth(t, "target-group", h) for t, h in both))
                for i in ids
            ),
        )

    done = snap(
        dep("Succeeded"),
        original=env("original", ("i-1", "i-2")),
        replacement=env("replacement", ("i-3", "i-4")),
    )
    move = ctl.plan("shift", done, move="replacement-out")
    assert move.calls[0].operation == "deregister_targets"
    assert move.calls[0].params["Targets"] == [{"Id": "i-3"}, {"Id": "i-4"}]
    assert move.confirm_token == "FGH1"
    bad = ctl.plan("shift", s, move="sideways")
    assert bad.refused is not None and "--move must be one of" in bad.refused


def test_read_only_refuses_everything(tmp_path: Path) -> None:
    ctl = Controller(AwsSession(TARGET), TARGET, AuditLog(tmp_path / "a"), read_only=True)
    assert ctl.plan("stop", snap(dep("InProgress"))).refused == (
        "read-only mode: mutating actions are disabled"
    )


def test_plan_id_is_stable_and_specific(ctl: Controller) -> None:
    a = ctl.plan("stop", snap(dep("InProgress")))
    b = ctl.plan("stop", snap(dep("InProgress")))
    c = ctl.plan("stop", snap(dep("InProgress", id="d-OTHER0001")))
    assert a.id == b.id != c.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://bucket/app/v3.tgz", "tgz"),
        ("s3://bucket/v3.tar", "tar"),
    ],
)
def test_parse_revision(text: str, expected: str) -> None:
    assert parse_revision(text)["s3Location"]["bundleType"] == expected


@pytest.mark.parametrize("text", ["s3://bucket", "s3://b/v3", "v3", "github:repo@"])
def test_parse_revision_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="--revision"):
        parse_revision(text)
