"""The bake verdict's CloudWatch queries (backend/observe/bake.py): per target group behind an
Application Load Balancer, per classic load balancer, nothing for a Network Load Balancer; and
the windows each side of the reroute (backend/core/bake.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cutover.backend.config import BakeThresholds
from cutover.backend.core.bake import spans, window
from cutover.backend.core.facts import Classic, TargetGroup
from cutover.backend.observe.bake import bake_queries, read_bake
from cutover.backend.observe.calls import Parts

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


class _Paginator:
    def __init__(self, pages: list[dict], asked: list[dict]) -> None:
        self.pages, self.asked = pages, asked

    def paginate(self, **params: object) -> list[dict]:
        self.asked.append(params)
        return self.pages


class _Calls:
    """What read_bake needs of Calls: a CloudWatch client whose GetMetricData answers `data`
    (query id -> [(time, value)]), and `part` that runs the read."""

    def __init__(self, data: dict[str, list[tuple[datetime, float]]]) -> None:
        page = {
            "MetricDataResults": [
                {"Id": qid, "Timestamps": [t for t, _ in pts], "Values": [v for _, v in pts]}
                for qid, pts in data.items()
            ]
        }
        self.asked: list[dict] = []
        self.paginator = _Paginator([page], self.asked)

    def client(self, service: str) -> object:
        assert service == "cloudwatch"
        return type("CW", (), {"get_paginator": lambda _self, op: self.paginator})()

    def part(self, parts, key, what, fn, default):  # type: ignore[no-untyped-def]
        return fn()


def test_two_target_groups_add_their_counts_and_take_the_worse_percentile() -> None:
    reroute = (T + timedelta(minutes=10, seconds=5), T + timedelta(minutes=12, seconds=30))
    until = T + timedelta(minutes=20)
    before = [T + timedelta(minutes=m) for m in range(5, 10)]
    after = [T + timedelta(minutes=m) for m in range(15, 20)]
    # b0..b3 web-tg (requests, errors, p95, p99), b4..b7 web2-tg
    data = {
        "b0": [(t, 50.0) for t in before + after],
        "b1": [(t, 1.0) for t in after],
        "b2": [(t, 0.1) for t in before + after],
        "b4": [(t, 50.0) for t in before + after],
        "b6": [(t, 0.3) for t in after] + [(t, 0.1) for t in before],
    }
    calls = _Calls(data)
    v = read_bake(
        calls,  # type: ignore[arg-type]
        [tg("web-tg", "app/web-alb"), tg("web2-tg", "app/web-alb")],
        [],
        reroute,
        until,
        BakeThresholds(window_minutes=5),
        Parts(),
    )
    assert v is not None and v.sources == ("web-tg", "web2-tg")
    assert (v.baseline_requests, v.after_requests) == (500, 500)
    five = next(c for c in v.checks if c.name == "5xx")
    assert five.after == 1.0 and five.before == 0.0  # 5 of 500
    p95 = next(c for c in v.checks if c.name == "p95")
    assert (p95.before, p95.after) == (100.0, 300.0)
    [asked] = calls.asked
    assert asked["StartTime"] == T + timedelta(minutes=5) and asked["EndTime"] == until
    assert len(asked["MetricDataQueries"]) == 8

    # A settled baseline (ended 5 minutes ago or more) is kept: the next read asks only for
    # the minutes since the reroute, and judges the same.
    memo: dict = {}
    tgs = [tg("web-tg", "app/web-alb"), tg("web2-tg", "app/web-alb")]
    first = read_bake(
        calls, tgs, [], reroute, until, BakeThresholds(window_minutes=5), Parts(), memo
    )  # type: ignore[arg-type]
    again = read_bake(
        calls, tgs, [], reroute, until, BakeThresholds(window_minutes=5), Parts(), memo
    )  # type: ignore[arg-type]
    assert [a["StartTime"] for a in calls.asked[1:]] == [T + timedelta(minutes=5), after[0]]
    assert first == again == v


def test_a_network_load_balancer_alone_costs_no_call_and_says_what_it_cannot_measure() -> None:
    calls = _Calls({})
    reroute = (T, T + timedelta(minutes=2))
    v = read_bake(
        calls,  # type: ignore[arg-type]
        [tg("tcp-tg", "net/pay-nlb")],
        [],
        reroute,
        T + timedelta(minutes=10),
        BakeThresholds(),
        Parts(),
    )
    assert calls.asked == []
    assert v is not None and v.verdict == "not enough data"
    assert v.reason.startswith("tcp-tg: behind a Network Load Balancer, which publishes no HTTP")
    assert v.unmeasured == v.reason


def test_the_dashboard_asks_new_flows_of_the_network_load_balancer_not_the_target_group() -> None:
    """NewFlowCount's dimensions are LoadBalancer (or AvailabilityZone and LoadBalancer);
    asked with a TargetGroup dimension as well, CloudWatch has no such metric and answers
    nothing."""
    from cutover.backend.observe.cloudwatch import metric_queries

    queries = metric_queries([tg("tcp-tg", "net/payments-nlb")], [])
    flows = [q for q, s in queries if s.name == "NewFlowCount"]
    assert len(flows) == 1
    dims = flows[0]["MetricStat"]["Metric"]["Dimensions"]
    assert [d["Name"] for d in dims] == ["LoadBalancer"]
