"""The overview against two sandboxes as two sources (issue 16, items 2, 3 and 5).

Every group of both sources comes back in one call, in attention order, while deployments
change state: a blue/green deployment waiting for the reroute approval first, a stopped one
next, the quiet groups by name. A quiet tick costs one ListDeployments per source however
many groups there are; and a source whose endpoint dies goes stale alone, in words with the
error's code, while the other still answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cutover.backend.config import TargetConfig
from cutover.backend.model import OverviewRow
from cutover.backend.observe.overview import Overview
from cutover.backend.observe.sources import Source
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client, control, wait_for

from tests.integration.test_actions_execute import IAM_PREFIX, NO_PERMISSION, allowed
from tests.integration.test_observe import Recorder

TIME_SCALE = 100
V2 = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}
BATCH_V2 = {
    "revisionType": "S3",
    "s3Location": {"bucket": "batch-revisions", "key": "batch/v2.zip", "bundleType": "zip"},
}


def source(name: str, sb: Sandbox) -> Source:
    return Source(
        name, TargetConfig(name=name, region=sb.world.region, endpoint_url=sb.endpoint_url)
    )


@pytest.fixture
def two(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> tuple[Sandbox, Sandbox]:
    a = sandbox_factory("default", time_scale=TIME_SCALE)
    b = sandbox_factory("inplace", time_scale=TIME_SCALE)
    for key, value in a.env().items():
        if key != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return a, b


def names(rows: list[OverviewRow]) -> list[str]:
    return [f"{r.source}:{r.application}/{r.deployment_group}" for r in rows]


def add_quiet_groups(sb: Sandbox, n: int) -> None:
    """n in-place groups with nothing deployed, in an application of their own."""
    cd: Any = aws_client(sb, "codedeploy")
    cd.create_application(applicationName="quiet", computePlatform="Server")
    for i in range(n):
        cd.create_deployment_group(
            applicationName="quiet",
            deploymentGroupName=f"q-{i:03d}",
            serviceRoleArn="arn:aws:iam::123456789012:role/CodeDeployServiceRole",
            ec2TagFilters=[{"Key": "group", "Value": f"q-{i:03d}", "Type": "KEY_AND_VALUE"}],
        )


MINE = ["east:web/web-prod", "west:batch/batch-jobs", "west:web/web-inplace"]


def mine(rows: list[OverviewRow]) -> list[OverviewRow]:
    """The rows of the groups this test moves (a scenario may hold more), in their order."""
    return [r for r in rows if f"{r.source}:{r.application}/{r.deployment_group}" in MINE]


def ranked(rows: list[OverviewRow]) -> bool:
    ranks = [r.attention.rank for r in rows]  # type: ignore[union-attr]
    return ranks == sorted(ranks)


def test_two_sources_in_attention_order_as_deployments_move(two: tuple[Sandbox, Sandbox]) -> None:
    a, b = two
    # The inventory and the last hour's failures only when asked (the key on a screen).
    overview = Overview([source("east", a), source("west", b)], inventory_every=3600)
    try:
        rows = overview.rows()
        assert ranked(rows)
        assert names(mine(rows)) == [
            "west:batch/batch-jobs",
            "west:web/web-inplace",
            "east:web/web-prod",
        ]
        assert {r.attention.reason for r in mine(rows)} == {"quiet"}  # type: ignore[union-attr]
        assert all(r.account == "123456789012" and r.stale is None for r in rows)
        batch, inplace, prod = mine(rows)
        assert prod.style == "BLUE_GREEN" and prod.traffic_control
        assert batch.style == "IN_PLACE" and not batch.traffic_control
        assert inplace.style == "IN_PLACE" and inplace.traffic_control

        a_cd: Any = aws_client(a, "codedeploy")
        a_cd.create_deployment(applicationName="web", deploymentGroupName="web-prod", revision=V2)
        b_cd: Any = aws_client(b, "codedeploy")
        stopped = b_cd.create_deployment(
            applicationName="batch", deploymentGroupName="batch-jobs", revision=BATCH_V2
        )["deploymentId"]
        # Stopped at once: at this clock the two workers' install would be over in a second.
        b_cd.stop_deployment(deploymentId=stopped, autoRollbackEnabled=False)

        def stop_seen() -> list[OverviewRow] | None:
            # Never seen active, so found among the last hour's failures, read on demand.
            overview.refresh_inventory()
            rows = overview.rows()
            batch = next(r for r in rows if r.deployment_group == "batch-jobs")
            return rows if batch.attention.rank == 1 else None  # type: ignore[union-attr]

        rows = wait_for(stop_seen, timeout=60, what="batch-jobs stopped", every=0.2)
        assert ranked(rows)
        by_name = {r.deployment_group: r for r in mine(rows)}
        assert by_name["batch-jobs"].attention.reason.startswith(f"{stopped} stopped")  # type: ignore[union-attr]
        prod = by_name["web-prod"]
        # In progress (or already waiting for the approval), ranked around the stop.
        assert prod.deployment and prod.deployment.active and prod.health
        assert prod.attention and prod.attention.rank in (0, 3)
        assert by_name["web-inplace"].attention.rank == 5  # type: ignore[union-attr]

        def waiting() -> list[OverviewRow] | None:
            rows = mine(overview.rows())
            return rows if rows[0].attention.rank == 0 else None  # type: ignore[union-attr]

        got = wait_for(waiting, timeout=120, what="web-prod waiting for the approval", every=0.5)
        assert names(got) == MINE
        w, s, q = got
        assert w.deployment and w.deployment.waiting_for == "reroute-approval"
        assert w.deployment.deadline is not None and w.sandbox_rate == TIME_SCALE
        assert w.traffic is not None and {h.role for h in w.health} == {"original", "replacement"}
        assert s.attention and s.attention.rank == 1
        assert q.attention and q.attention.reason == "quiet"
        assert q.leftovers_note  # not checked for a quiet in-place group, and said

        # Seen active, then stopped with a rollback: its ending is read on the next tick,
        # without the inventory.
        a_cd.stop_deployment(deploymentId=w.deployment.id, autoRollbackEnabled=True)

        def prod_stopped() -> OverviewRow | None:
            rows = overview.rows()
            prod = next(r for r in rows if r.deployment_group == "web-prod")
            return prod if prod.attention.rank == 1 else None  # type: ignore[union-attr]

        prod = wait_for(prod_stopped, timeout=60, what="web-prod stopped", every=0.2)
        assert prod.attention and prod.attention.reason.startswith(f"{w.deployment.id} stopped")

        # A fresh overview (a new `status --all`) finds the stop among the last hour's
        # failures (ListDeployments with createTimeRange), not by seeing it end.
        fresh = Overview([source("west", b)])
        try:
            got = mine(fresh.rows())
            assert got[0].deployment_group == "batch-jobs" and got[0].recent_failure
            assert got[0].attention and got[0].attention.rank == 1
        finally:
            fresh.close()
    finally:
        overview.close()


def test_a_quiet_tick_costs_the_same_whatever_the_number_of_groups(
    two: tuple[Sandbox, Sandbox],
) -> None:
    _, b = two
    overview = Overview([source("west", b)], inventory_every=3600)
    try:
        overview.rows()  # the inventory and the last hour's failures
        recorders = [Recorder(r.session) for r in overview.readers]
        overview.rows()
        small = [dict(r.take()) for r in recorders]
        add_quiet_groups(b, 30)
        overview.refresh_inventory()
        rows = overview.rows()
        assert len([r for r in rows if r.application == "quiet"]) == 30
        for r in recorders:
            r.take()
        overview.rows()
        large = [dict(r.take()) for r in recorders]
        assert small == large == [{"ListDeployments": 1}]
    finally:
        overview.close()


def test_a_dead_source_goes_stale_alone(two: tuple[Sandbox, Sandbox]) -> None:
    a, b = two
    overview = Overview([source("east", a), source("west", b)])
    try:
        before = overview.rows()
        b.stop()
        rows = overview.rows()
        assert names(rows) == names(before)
        west = [r for r in rows if r.source == "west"]
        east = [r for r in rows if r.source == "east"]
        assert west and all(r.stale and "could not be read" in r.stale for r in west)
        assert all("EndpointConnectionError" in (r.stale or "") for r in west), west[0].stale
        assert east and all(r.stale is None for r in east)
        aws_client(a, "codedeploy").create_deployment(
            applicationName="web", deploymentGroupName="web-prod", revision=V2
        )
        rows = overview.rows()
        prod = next(r for r in rows if (r.source, r.deployment_group) == ("east", "web-prod"))
        assert prod.deployment and prod.deployment.active and prod.stale is None
        assert prod.attention and prod.attention.rank == 3
    finally:
        overview.close()


def test_a_source_never_read_says_so_on_one_row(two: tuple[Sandbox, Sandbox]) -> None:
    a, _ = two
    dead = Source(
        "dead", TargetConfig(name="dead", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    )
    overview = Overview([source("east", a), dead])
    try:
        rows = overview.rows()
        gone = [r for r in rows if r.source == "dead"]
        assert len(gone) == 1 and gone[0].application == "" and gone[0].stale
        assert "web-prod" in [r.deployment_group for r in rows if r.source == "east"]
    finally:
        overview.close()


def test_a_throttled_or_refused_source_says_why_and_the_other_answers(
    two: tuple[Sandbox, Sandbox],
) -> None:
    a, b = two
    overview = Overview([source("east", a), source("west", b)])
    try:
        overview.rows()
        control(b).set_api_fault(throttle=1.0, services=["codedeploy"])
        rows = overview.rows()
        west = [r for r in rows if r.source == "west"]
        assert west and all("throttling" in (r.stale or "") for r in west), west[0].stale
        assert all(r.stale is None for r in rows if r.source == "east")
        control(b).clear_faults()
        control(b).set_api_fault(deny="credentials", services=["codedeploy"])
        rows = overview.rows()
        west = [r for r in rows if r.source == "west"]
        assert all("(UnrecognizedClientException)" in (r.stale or "") for r in west), west[0].stale
        assert all(r.stale is None for r in rows if r.source == "east")
        control(b).clear_faults()
        rows = overview.rows()
        assert all(r.stale is None for r in rows)
    finally:
        overview.close()


def alarm_firing(sb: Sandbox, name: str, firing: bool) -> None:
    """Redefine the alarm so that its own evaluation keeps it in ALARM (threshold below any
    count, missing data breaching) or OK, and wait until it says so."""
    cw: Any = aws_client(sb, "cloudwatch")
    a = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    keep = ("Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods")
    cw.put_metric_alarm(
        AlarmName=name,
        **{k: a[k] for k in keep},
        Threshold=-1.0 if firing else 1e9,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="breaching" if firing else "notBreaching",
    )
    want = "ALARM" if firing else "OK"
    wait_for(
        lambda: cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == want,
        timeout=60,
        what=f"{name} {want}",
        every=0.2,
    )


def test_a_quiet_groups_alarms_in_alarm_are_read_with_the_inventory_not_per_tick(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = sandbox_factory("default", time_scale=TIME_SCALE)
    for key, value in a.env().items():
        if key != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    alarm_firing(a, "web-tg-5xx", True)
    overview = Overview([source("east", a)], inventory_every=3600)
    sent: set[str] = set()
    for service in ("codedeploy", "cloudwatch", "sts"):

        def record(model: Any = None, service: str = service, **_: Any) -> None:
            sent.add(f"{IAM_PREFIX[service]}:{model.name}")

        overview.readers[0].session.client(service).meta.events.register("before-call", record)
    try:
        rows = overview.rows()
        # The inventory's reads, the alarms' included, are all in the read-only policy.
        assert "cloudwatch:DescribeAlarms" in sent
        assert sent - NO_PERMISSION <= allowed("iam-policy-readonly.json"), sent
        prod = next(r for r in rows if r.deployment_group == "web-prod")
        assert prod.deployment is None or not prod.deployment.active  # a quiet group
        assert prod.alarms == ("web-tg-5xx",)
        assert all(r.alarms == () for r in rows if r is not prod)
        recorder = Recorder(overview.readers[0].session)
        rows = overview.rows()  # a tick: the alarms are not read again
        assert dict(recorder.take()) == {"ListDeployments": 1}
        assert next(r for r in rows if r.deployment_group == "web-prod").alarms == ("web-tg-5xx",)
        alarm_firing(a, "web-tg-5xx", False)
        overview.refresh_inventory()
        rows = overview.rows()
        assert recorder.take()["DescribeAlarms"] == 1
        assert next(r for r in rows if r.deployment_group == "web-prod").alarms == ()
    finally:
        overview.close()
