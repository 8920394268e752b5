"""The bake verdict's CloudWatch queries (backend/observe/bake.py): per target group behind an
Application Load Balancer, per classic load balancer, nothing for a Network Load Balancer; and
the windows each side of the reroute (backend/core/bake.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cutover.backend.core.bake import spans, window
from cutover.backend.core.facts import Classic, TargetGroup
from cutover.backend.observe.bake import bake_queries

ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
T = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def tg(name: str, lb: str) -> TargetGroup:
    return TargetGroup(name, f"{ARN}targetgroup/{name}/abc", (f"{ARN}loadbalancer/{lb}/1",), 60, {})


def test_queries_per_kind_of_load_balancer() -> None:
    queries, nlb = bake_queries(
        [tg("web-tg", "app/web-alb"), tg("tcp-tg", "net/pay-nlb")], [Classic("api-clb", 30)]
    )
    assert nlb == ["tcp-tg"]
    got = [
        (
            q.source,
            q.role,
            q.query["MetricStat"]["Metric"]["Namespace"],
            q.query["MetricStat"]["Metric"]["MetricName"],
            q.query["MetricStat"]["Stat"],
            q.query["MetricStat"]["Period"],
        )
        for q in queries
    ]
    assert got == [
        ("web-tg", "requests", "AWS/ApplicationELB", "RequestCount", "Sum", 60),
        ("web-tg", "errors", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", 60),
        ("web-tg", "p95", "AWS/ApplicationELB", "TargetResponseTime", "p95", 60),
        ("web-tg", "p99", "AWS/ApplicationELB", "TargetResponseTime", "p99", 60),
        ("api-clb", "requests", "AWS/ELB", "RequestCount", "Sum", 60),
        ("api-clb", "errors", "AWS/ELB", "HTTPCode_Backend_5XX", "Sum", 60),
        ("api-clb", "p95", "AWS/ELB", "Latency", "p95", 60),
        ("api-clb", "p99", "AWS/ELB", "Latency", "p99", 60),
    ]
    assert queries[0].query["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "TargetGroup", "Value": "targetgroup/web-tg/abc"},
        {"Name": "LoadBalancer", "Value": "app/web-alb/1"},
    ]
    assert queries[4].query["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "LoadBalancerName", "Value": "api-clb"}
    ]
    assert len({q.query["Id"] for q in queries}) == len(queries)


def test_windows_leave_out_the_reroute_and_partial_minutes() -> None:
    start, end = T + timedelta(minutes=20, seconds=30), T + timedelta(minutes=23, seconds=10)
    baseline, after = spans(start, end, T + timedelta(minutes=30, seconds=59), 5)
    assert baseline == (T + timedelta(minutes=15), T + timedelta(minutes=20))
    assert after == (T + timedelta(minutes=25), T + timedelta(minutes=30))
    early = spans(start, end, T + timedelta(minutes=24, seconds=5), 5)[1]
    assert early == (T + timedelta(minutes=24), T + timedelta(minutes=24))  # nothing yet
    w = window(after, {T + timedelta(minutes=26): 50}, {}, {T + timedelta(minutes=26): 0.25}, {})
    assert [m.requests for m in w.minutes] == [0, 50, 0, 0, 0]  # no datapoint: no request
    assert w.minutes[1].p95_ms == 250 and w.minutes[1].p99_ms is None
