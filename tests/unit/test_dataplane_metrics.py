"""RequestMetrics: what the proxies record is what CloudWatch-style queries give back."""

from __future__ import annotations

import threading

import pytest
from cutover.sandbox.dataplane.metrics import RequestMetrics
from cutover.sandbox.world import Clock

LB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/0123"


def ok(m: RequestMetrics, ts: float, latency: float, status: int = 200, target: str = "i-1"):
    m.record(
        lb=LB, tg=TG, target=target, status=status, latency=latency, elb_generated=False, ts=ts
    )


def test_counts_by_dimension_and_status_class() -> None:
    m = RequestMetrics()
    ok(m, 1.0, 0.010)
    ok(m, 1.5, 0.020, status=404, target="i-2")
    ok(m, 2.0, 0.030, status=500)
    m.record(lb=LB, tg=TG, target=None, status=503, latency=None, elb_generated=True, ts=3.0)
    lb = m.totals("lb", LB)
    assert lb["RequestCount"] == 4
    assert lb["HTTPCode_Target_2XX_Count"] == 1
    assert lb["HTTPCode_Target_4XX_Count"] == 1
    assert lb["HTTPCode_Target_5XX_Count"] == 1
    assert lb["HTTPCode_ELB_5XX_Count"] == 1 and lb["HTTPCode_ELB_503_Count"] == 1
    assert lb["TargetResponseTime"] == pytest.approx(0.020)
    assert lb["TargetResponseTime.SampleCount"] == 3
    assert m.totals("tg", TG)["RequestCount"] == 4
    assert m.totals("target", "i-1")["RequestCount"] == 2
    assert m.totals("target", "i-2")["HTTPCode_Target_4XX_Count"] == 1
    assert m.totals("target", "i-3") == {}


def test_query_groups_buckets_into_periods() -> None:
    m = RequestMetrics()
    for second in range(120):
        ok(m, second + 0.5, 0.001 * (second + 1))
    points = m.query("lb", LB, "RequestCount", 0, 120, 60, "Sum")
    assert points == [(0, 60), (60, 60)]
    assert m.query("lb", LB, "RequestCount", 0, 120, 60, "Average") == [(0, 1.0), (60, 1.0)]
    assert m.query("lb", LB, "TargetResponseTime", 0, 60, 60, "Maximum") == [(0, 0.060)]
    assert m.query("lb", LB, "TargetResponseTime", 0, 60, 60, "Minimum") == [(0, 0.001)]
    [(_, avg)] = m.query("lb", LB, "TargetResponseTime", 0, 60, 60, "Average")
    assert avg == pytest.approx(0.0305)
    [(_, p99)] = m.query("lb", LB, "TargetResponseTime", 0, 120, 120, "p99")
    assert p99 == pytest.approx(0.119, rel=0.06)
    [(_, p50)] = m.query("tg", TG, "TargetResponseTime", 0, 120, 120, "p50")
    assert p50 == pytest.approx(0.060, rel=0.06)
    # Periods without data are left out; classic names are aliases.
    assert m.query("lb", LB, "HTTPCode_Target_5XX_Count", 0, 120, 60, "Sum") == []
    assert m.query("lb", LB, "HTTPCode_Backend_2XX", 30, 40, 5, "Sum") == [(30, 5), (35, 5)]
    assert m.query("lb", LB, "Latency", 0, 10, 10, "SampleCount") == [(0, 10)]
    with pytest.raises(ValueError):
        m.query("lb", LB, "RequestCount", 0, 10, 10, "Median")


def test_old_data_rolls_up_then_expires() -> None:
    m = RequestMetrics(fine_retention=120, retention=600)
    for second in range(0, 1200, 2):
        ok(m, float(second), 0.005)
    # Recent data is still per second; older data is per minute; the oldest is gone.
    recent = m.query("lb", LB, "RequestCount", 1140, 1200, 2, "Sum")
    assert len(recent) == 30 and all(v == 1 for _, v in recent)
    older = m.query("lb", LB, "RequestCount", 600, 960, 60, "Sum")
    assert older == [(600 + 60 * k, 30) for k in range(6)]
    assert m.query("lb", LB, "RequestCount", 0, 500, 60, "Sum") == []
    # Lifetime totals never expire.
    assert m.totals("lb", LB)["RequestCount"] == 600


def test_flows_and_active_samples() -> None:
    m = RequestMetrics()
    m.record_flow(lb=LB, tg=TG, target="i-1", new=True, ts=1.0)
    m.record_flow(lb=LB, tg=TG, target="i-1", new=False, nbytes=500, ts=2.0)
    for ts, active in ((1.0, 1), (1.5, 3), (2.5, 2)):
        m.sample_active("lb", LB, active, ts=ts)
    assert m.totals("lb", LB)["NewFlowCount"] == 1
    assert m.totals("tg", TG)["ProcessedBytes"] == 500
    assert m.totals("lb", LB)["ActiveFlowCount"] == 2
    assert m.query("lb", LB, "ActiveFlowCount", 0, 10, 10, "Maximum") == [(0, 3.0)]
    assert m.query("lb", LB, "ActiveFlowCount", 0, 10, 10, "Average") == [(0, 2.0)]


def test_clock_conversions_and_thread_safety() -> None:
    clock = Clock(time_scale=10)
    m = RequestMetrics(clock)
    when = m.datetime_of(100.0)
    assert m.elapsed_of(when) == pytest.approx(100.0, abs=0.01)

    def writer() -> None:
        for _ in range(2000):
            m.record(lb=LB, tg=TG, target="i-1", status=200, latency=0.01, elb_generated=False)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.totals("lb", LB)["RequestCount"] == 8000
    dims = {(kind, key): names for kind, key, names in m.dimensions()}
    assert set(dims) == {("lb", LB), ("tg", TG), ("target", "i-1")}
    assert {"RequestCount", "TargetResponseTime"} <= set(dims[("lb", LB)])
    with pytest.raises(ValueError):
        RequestMetrics().record(
            lb=LB, tg=None, target=None, status=200, latency=0.1, elb_generated=False
        )
