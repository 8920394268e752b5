"""The bake verdict (backend/core/bake.py): ok, watch, bad or not enough data, with the numbers
and the limits that decided it; the rank test; the `bake:` config section."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cutover.backend.config import BakeThresholds, ConfigError, load_config
from cutover.backend.core.bake import Minute, Window, judge, mann_whitney

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
T = BakeThresholds()


def window(start_min: int, rows: list[tuple[float, float, float, float]]) -> Window:
    """Per minute: (requests, 5xx, p95 ms, p99 ms)."""
    start = T0 + timedelta(minutes=start_min)
    minutes = tuple(
        Minute(start + timedelta(minutes=i), r, e, p95, p99)
        for i, (r, e, p95, p99) in enumerate(rows)
    )
    return Window(start, start + timedelta(minutes=len(rows)), minutes)


BEFORE = window(0, [(100, 0, 80 + i % 3, 150 + i % 5) for i in range(10)])


def test_healthy_replacements_are_ok_with_the_numbers() -> None:
    after = window(15, [(100, 0, 81 + i % 2, 152) for i in range(10)])
    v = judge(BEFORE, after, T, sources=("web-tg",))
    assert v.verdict == "ok", v.reason
    assert v.reason.startswith("5xx 0.0% after vs 0.0% before (limit 1%); p95 82 ms after vs")
    assert (v.after_requests, v.baseline_requests, v.after_minutes) == (1000, 1000, 10)
    assert ("max_5xx_percent", 1.0) in v.thresholds


def test_a_5xx_share_above_the_objective_is_bad_and_says_so() -> None:
    after = window(15, [(100, 5, 82, 150)] * 4 + [(100, 4, 82, 150)])
    v = judge(BEFORE, after, T, sources=("web-tg",))
    assert v.verdict == "bad"
    assert v.reason == "5xx 4.8% after vs 0.0% before (limit 1%)"
    check = next(c for c in v.checks if c.name == "5xx")
    assert (check.level, round(check.after, 1), check.limit) == ("bad", 4.8, 1.0)


def test_slower_but_within_the_objective_is_watch_when_the_rank_test_agrees() -> None:
    after = window(15, [(100, 0, 200 + i, 300) for i in range(10)])
    v = judge(BEFORE, after, T, sources=("web-tg",))
    assert v.verdict == "watch"
    assert "p95 204 ms after vs 81 ms before (limit 1000 ms): +152%, rank test p=0.000" in v.reason
    assert "(allowed +50%)" in v.reason


def test_a_p99_above_its_limit_is_bad() -> None:
    after = window(15, [(100, 0, 90, 3000)] * 5)
    v = judge(BEFORE, after, BakeThresholds(max_p99_ms=2000), sources=("web-tg",))
    assert v.verdict == "bad" and v.reason.startswith("p99 3000 ms after vs 152 ms before")


def test_one_slow_minute_among_many_is_within_noise() -> None:
    before = window(0, [(100, 0, 80 + (i * 7) % 40, 150) for i in range(10)])
    after = window(15, [(100, 0, 85 + (i * 7) % 40, 150) for i in range(9)] + [(100, 0, 900, 950)])
    v = judge(before, after, T, sources=("web-tg",))
    assert v.verdict == "ok", v.reason


def test_five_requests_are_never_a_confident_verdict() -> None:
    after = window(15, [(1, 1, 5000, 5000)] * 5)
    v = judge(BEFORE, after, T, sources=("web-tg",))
    assert v.verdict == "not enough data"
    assert v.reason == "5 requests in 5 min since the reroute (needs 100 in 3 min)"
    assert v.checks == ()
    short = judge(BEFORE, window(15, [(500, 0, 80, 150)] * 2), T, sources=("web-tg",))
    assert short.verdict == "not enough data" and "in 2 min" in short.reason


def test_without_a_baseline_only_the_objectives_judge() -> None:
    after = window(15, [(100, 0, 300, 400)] * 5)
    v = judge(window(0, []), after, T, sources=("web-tg",))
    assert v.verdict == "ok"
    assert "no baseline" in v.reason and "baseline only 0 requests: no comparison" in v.reason


def test_a_network_load_balancer_says_what_it_cannot_measure() -> None:
    v = judge(window(0, []), window(15, []), T, unmeasured="no 5xx or response times (NLB)")
    assert v.verdict == "not enough data" and v.reason == "no 5xx or response times (NLB)"


def test_mann_whitney_one_sided() -> None:
    low, high = [1.0, 2, 3, 4, 5, 6], [7.0, 8, 9, 10, 11, 12]
    assert mann_whitney(low, high) < 0.01
    assert mann_whitney(high, low) > 0.99
    assert mann_whitney([1.0] * 6, [1.0] * 6) == 1.0
    # By hand: U(after) = 22 of 25 pairs, mean 12.5, sd sqrt(25 * 11 / 12) = 4.787,
    # z = (22 - 12.5 - 0.5) / 4.787 = 1.880, one-sided p = 0.0300.
    assert mann_whitney([1.0, 2, 3, 5, 7], [4.0, 6, 8, 9, 10]) == pytest.approx(0.0300, abs=0.0005)


def test_bake_config_keys_and_bad_values(tmp_path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(
        "defaults:\n  bake: {window_minutes: 5}\n"
        "targets:\n  web:\n    bake:\n      max_5xx_percent: 0.5\n      min_requests: 20\n"
    )
    bake = load_config(p).target("web").bake
    assert (bake.window_minutes, bake.max_5xx_percent, bake.min_requests) == (5, 0.5, 20)
    assert bake.max_p95_ms == BakeThresholds().max_p95_ms
    p.write_text("targets:\n  web:\n    bake:\n      max_p95_ms: fast\n")
    with pytest.raises(ConfigError, match=r"c.yaml:4: target web bake max_p95_ms must be a number"):
        load_config(p)
    p.write_text("targets:\n  web:\n    bake:\n      window: 5\n")
    with pytest.raises(ConfigError, match=r"c.yaml:4: .*window"):
        load_config(p)
    p.write_text("targets:\n  web:\n    bake: {window_minutes: 2, min_minutes: 3}\n")
    with pytest.raises(ConfigError, match=r"min_minutes: 3 is more than window_minutes \(2\)"):
        load_config(p)
