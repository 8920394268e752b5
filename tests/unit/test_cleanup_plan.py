"""The cleanup planner on fed snapshots: every call named in order (deregister where the left
fleet is registered, then delete its group), and refused when deregistering would leave a
load balancer without a healthy target or a deployment runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from cutover.backend.actions.cleanup import plan_cleanup
from cutover.backend.actions.plan import Plan, Request
from cutover.backend.model import Environment, Instance, Leftover, Snapshot, TargetHealth

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/1"


def inst(iid: str, healthy: bool) -> Instance:
    state = "healthy" if healthy else "unused"
    reason = None if healthy else "Target.NotRegistered"
    return Instance(iid, health=(TargetHealth("web-tg", "target-group", state, reason),))


def snapshot(*, originals_healthy: bool, active: str | None = None) -> Snapshot:
    fleet = Leftover(
        "replacement-fleet",
        "CodeDeploy_web-prod_d-1",
        "2 instance(s) of d-1's replacement still running",
        asg_name="CodeDeploy_web-prod_d-1",
        deployment_id="d-1",
        instance_ids=("i-r1", "i-r2"),
        registered_in=(("web-tg", ARN, ("i-r1", "i-r2")),),
    )
    return Snapshot(
        target="t",
        server_time=NOW,
        application="web",
        deployment_group="web-prod",
        original=Environment(
            "original", (inst("i-o1", originals_healthy), inst("i-o2", originals_healthy))
        ),
        replacement=Environment("replacement", (inst("i-r1", True), inst("i-r2", True))),
        unowned=(fleet,),
        active_deployment=active,
    )


def plan(snap: Snapshot) -> Plan:
    return plan_cleanup(Plan("cleanup", "t", ""), snap, Request(), None)  # type: ignore[arg-type]


def test_a_registered_left_fleet_is_deregistered_then_its_group_deleted() -> None:
    p = plan(snapshot(originals_healthy=True))
    assert p.refused is None
    assert [(c.api_name, c.params) for c in p.calls] == [
        ("DeregisterTargets", {"TargetGroupArn": ARN, "Targets": [{"Id": "i-r1"}, {"Id": "i-r2"}]}),
        (
            "DeleteAutoScalingGroup",
            {"AutoScalingGroupName": "CodeDeploy_web-prod_d-1", "ForceDelete": True},
        ),
    ]
    assert "2 healthy target(s) stay" in p.changes[0]


def test_refused_when_the_left_fleet_is_the_only_healthy_one() -> None:
    p = plan(snapshot(originals_healthy=False))
    assert p.refused is not None and "no healthy target" in p.refused
    assert p.calls == ()


def test_refused_while_a_deployment_runs() -> None:
    p = plan(snapshot(originals_healthy=True, active="d-2"))
    assert p.refused is not None and "d-2 is running" in p.refused


def test_while_a_deployment_runs_only_preview_registrations_are_removed() -> None:
    """A preview registration may be removed while a deployment runs (it serves no production
    traffic); a left fleet never is, even when both are listed."""
    preview_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-preview/2"
    left = Leftover(
        "preview-registration",
        "web-preview-tg",
        "i-r1 still registered in the preview target group",
        target_group_arn=preview_arn,
        deployment_id="d-2",
        instance_ids=("i-r1",),
    )
    snap = snapshot(originals_healthy=True, active="d-2")
    snap = replace(snap, unowned=(*(snap.unowned or ()), left))
    p = plan(snap)
    assert p.refused is None
    assert [c.api_name for c in p.calls] == ["DeregisterTargets"]
    assert p.calls[0].params["TargetGroupArn"] == preview_arn
    assert "delete" not in " ".join(p.changes).lower()
