"""The report's chart: one SVG of a deployment over time, drawn with matplotlib.

matplotlib is imported here and nowhere else (an import-linter contract keeps it out of the
dashboard, the TUI and the backend): it costs a second to import, and only `cutover report`
draws. No pyplot: a Figure and its SVG canvas, so no GUI backend is ever looked for.

Five panels sharing the time axis, the phases shaded on each and numbered on the first:
the traffic split between the environments, the instances in service (by their lifecycle
events) and healthy (CloudWatch's HealthyHostCount), requests per minute, 5xx per minute
(the targets' and the load balancers' own), and p95 latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib
from cutover.backend.core.history import History, kind, serving
from cutover.backend.model import Series
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# The same bytes for the same record: no date in the file, fixed element ids.
matplotlib.rcParams["svg.hashsalt"] = "cutover-report"
# Text stays text: a smaller file whose words can be searched and copied.
matplotlib.rcParams["svg.fonttype"] = "none"
# Past this many points a marker per minute is clutter (a two-day termination wait).
MARKERS_UP_TO = 120

ORIGINAL, REPLACEMENT = "#1f77b4", "#2ca02c"
PHASE_SHADES = ("#f2f2f2", "#e0e8f5")
COUNTS = ("requests", "target-5xx", "lb-5xx")


def draw(history: History, path: Path) -> None:
    fig = Figure(figsize=(11, 13), layout="constrained")
    axes = fig.subplots(5, 1, sharex=True, height_ratios=(1.1, 1, 1, 1, 1))
    title = _title(history)
    fig.suptitle(title, fontsize=12)
    _split(axes[0], history)
    _instances(axes[1], history)
    _series(axes[2], history, "requests", "requests / min", "Requests per minute")
    _five_xx(axes[3], history)
    _latency(axes[4], history)
    for ax in axes:
        _phases(ax, history, numbered=ax is axes[0])
        ax.grid(True, alpha=0.3)
        ax.set_xlim(_num(history.start), _num(history.end))
    sandbox = " (the sandbox's clock)" if history.snapshot.sandbox_rate is not None else ""
    axes[-1].set_xlabel(f"time, UTC{sandbox}")
    ticks = mdates.AutoDateLocator(tz=UTC, minticks=5, maxticks=12)
    ticks.intervald[mdates.MINUTELY] = [1, 2, 5, 10, 15, 30]  # round minutes
    axes[-1].xaxis.set_major_locator(ticks)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
    if history.phases:
        fig.supxlabel(_phase_key(history), fontsize=8, x=0.01, ha="left")
    fig.savefig(path, format="svg", metadata={"Date": None})


def _phase_key(h: History) -> str:
    """The phases' numbers in words, wrapped to the figure's width."""
    lines, line = [], "Phases:"
    for n, p in enumerate(h.phases, 1):
        item = f"  {n}: {p.name}"
        if len(line) + len(item) > 140:
            lines.append(line)
            line = "       "
        line += item
    return "\n".join([*lines, line])


def _title(h: History) -> str:
    d = h.snapshot.deployment
    assert d is not None
    every = f"{h.period // 60}-minute" if h.period else "no"
    return f"{d.id}  {d.application}/{d.deployment_group}  {d.status}  ({every} CloudWatch data)"


def _num(t: datetime) -> float:
    return float(mdates.date2num(t.astimezone(UTC)))


def _phases(ax: Axes, h: History, *, numbered: bool) -> None:
    for n, p in enumerate(h.phases):
        end = p.end or h.end
        ax.axvspan(_num(p.start), _num(end), color=PHASE_SHADES[n % 2], zorder=0, lw=0)
        ax.axvline(_num(p.start), color="#888888", lw=0.6, ls="--", zorder=1)
        if numbered:
            mid = _num(p.start) + (_num(end) - _num(p.start)) / 2
            ax.text(
                mid,
                1.02,
                str(n + 1),
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
                color="#444444",
            )


def _by_kind(h: History, k: str) -> list[Series]:
    return [s for s in h.series if kind(s) == k]


def _env_of(h: History) -> dict[str, str]:
    """Target group -> environment, for the groups that serve one environment alone."""
    out = {}
    for role, env in (("original", h.snapshot.original), ("replacement", h.snapshot.replacement)):
        for tg in env.target_groups if env else ():
            out[tg] = role
    return out


def _split(ax: Axes, h: History) -> None:
    ax.set_title("Traffic split between the environments", fontsize=10, loc="left")
    ax.set_ylabel("% of requests")
    ax.set_ylim(0, 100)
    env_of = _env_of(h)
    requests = _by_kind(h, "requests")
    per_env: dict[str, dict[datetime, float]] = {"original": {}, "replacement": {}}
    for s in requests:
        role = env_of.get(s.source or "")
        if role:
            for t, v in s.points:
                per_env[role][t] = per_env[role].get(t, 0.0) + v
    if per_env["original"] and per_env["replacement"]:
        times = sorted(set(per_env["original"]) | set(per_env["replacement"]))
        repl = []
        for t in times:
            a, b = per_env["original"].get(t, 0.0), per_env["replacement"].get(t, 0.0)
            repl.append(100 * b / (a + b) if a + b else float("nan"))
        x = [_num(t) for t in times]
        basis = "RequestCount per environment's target group"
    elif len({s.source for s in requests if s.points}) >= 2:
        # Several target groups, but not one per environment: their shares, as measured.
        _split_by_target_group(ax, h, [s for s in requests if s.points])
        return
    else:
        x, repl = _estimated_split(h)
        basis = "estimated from lifecycle events (instances registered)"
    if not [r for r in repl if r == r]:  # every share NaN: nobody known to serve
        _legend_or_none(ax, False, "no instance of this deployment is known to CodeDeploy")
        return
    ax.fill_between(
        x, 0, [100 - r for r in repl], step="post", color=ORIGINAL, alpha=0.55, label="original"
    )
    ax.fill_between(
        x,
        [100 - r for r in repl],
        100,
        step="post",
        color=REPLACEMENT,
        alpha=0.55,
        label="replacement",
    )
    ax.legend(loc="upper left", fontsize=8, title=basis, title_fontsize=8)


def _split_by_target_group(ax: Axes, h: History, requests: list[Series]) -> None:
    per_tg: dict[str, dict[datetime, float]] = {}
    for s in requests:
        into = per_tg.setdefault(s.source or s.name, {})
        for t, v in s.points:
            into[t] = into.get(t, 0.0) + v
    times = sorted({t for values in per_tg.values() for t in values})
    totals = [sum(values.get(t, 0.0) for values in per_tg.values()) for t in times]
    shares = [
        [
            100 * values.get(t, 0.0) / total if total else float("nan")
            for t, total in zip(times, totals, strict=True)
        ]
        for values in per_tg.values()
    ]
    ax.set_title("Traffic split between the target groups", fontsize=10, loc="left")
    ax.stackplot([_num(t) for t in times], *shares, labels=list(per_tg), step="post", alpha=0.6)
    ax.legend(loc="upper left", fontsize=8, title="RequestCount per target group", title_fontsize=8)


def _estimated_split(h: History) -> tuple[list[float], list[float]]:
    orig = serving(h.instances("original"), h.start, serving_first=True)
    repl = serving(h.instances("replacement"), h.start, serving_first=False)
    times = sorted({t for t, _ in orig} | {t for t, _ in repl} | {h.end})
    x, share = [], []
    for t in times:
        a, b = _at(orig, t), _at(repl, t)
        x.append(_num(t))
        share.append(100 * b / (a + b) if a + b else float("nan"))
    return x, share


def _at(steps: Sequence[tuple[datetime, int]], t: datetime) -> int:
    value = steps[0][1] if steps else 0
    for at, count in steps:
        if at <= t:
            value = count
    return value


def _instances(ax: Axes, h: History) -> None:
    ax.set_title(
        "Instances in service (lifecycle events) and healthy (CloudWatch)", fontsize=10, loc="left"
    )
    ax.set_ylabel("instances")
    for role, color, first in (
        ("original", ORIGINAL, True),
        ("replacement", REPLACEMENT, False),
        ("fleet", ORIGINAL, True),
    ):
        instances = h.instances(role)
        if not instances:
            continue
        steps = serving(instances, h.start, serving_first=first)
        x = [_num(t) for t, _ in steps] + [_num(h.end)]
        y = [c for _, c in steps] + [steps[-1][1]]
        ax.step(x, y, where="post", color=color, lw=2, label=f"{role} in service")
    for series in _by_kind(h, "healthy"):
        _line(
            ax,
            h,
            series,
            f"healthy in {series.source} (min/min)",
            color="#555555",
            ls="-",
            marker=".",
        )
    for series in _by_kind(h, "unhealthy"):
        if any(v for _, v in series.points):
            _line(ax, h, series, f"unhealthy in {series.source} (max/min)", color="#d62728")
    # Room above the lines for the legend.
    ax.set_ylim(0, max(ax.get_ylim()[1], 1) * 1.4)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8, ncols=3)
    else:
        _legend_or_none(ax, False, "no instance of this deployment is known to CodeDeploy")


def _points(h: History, s: Series) -> list[tuple[datetime, float]]:
    """What to draw: a count is 0 in a minute without a data point (ELB publishes nothing for a
    minute without requests); any other figure is unknown there, so its line breaks."""
    period = timedelta(seconds=h.period or 60)
    if kind(s) in COUNTS:
        # Only between the first and the last minute CloudWatch has any count for this load
        # balancer: outside, it kept nothing (or nothing was measured yet), which is not 0.
        known = [
            t for o in h.series if o.source == s.source and kind(o) in COUNTS for t, _ in o.points
        ]
        have = dict(s.points)
        t, out = min(known), []
        while t <= max(known):
            out.append((t, have.get(t, 0.0)))
            t += period
        return out
    out = []
    for n, (t, v) in enumerate(s.points):
        if n and t - s.points[n - 1][0] > period:
            out.append((t - period, float("nan")))
        out.append((t, v))
    return out


def _line(ax: Axes, h: History, s: Series, label: str, scale: float = 1.0, **style: object) -> None:
    if not s.points:
        return
    s = replace(s, points=tuple(_points(h, s)))
    if len(s.points) > MARKERS_UP_TO:
        style.pop("marker", None)
    ax.plot(
        [_num(t) for t, _ in s.points],
        [v * scale for _, v in s.points],
        label=label,
        lw=1.4,
        **style,
    )


def _series(ax: Axes, h: History, k: str, ylabel: str, title: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel)
    drawn = False
    for s in _by_kind(h, k):
        if s.points:
            flows = s.name == "NewFlowCount"  # a Network Load Balancer counts TCP flows
            _line(
                ax, h, s, f"new TCP flows, {s.source}" if flows else s.source or s.name, marker="."
            )
            drawn = True
    ax.set_ylim(bottom=0)
    _legend_or_none(ax, drawn)


def _five_xx(ax: Axes, h: History) -> None:
    ax.set_title("5xx per minute", fontsize=10, loc="left")
    ax.set_ylabel("5xx / min")
    drawn = False
    for s in _by_kind(h, "target-5xx"):
        if s.points:
            _line(ax, h, s, f"targets in {s.source}", color="#d62728", marker=".")
            drawn = True
    for s in _by_kind(h, "lb-5xx"):
        if s.points:
            _line(ax, h, s, f"{s.source} itself", color="#ff7f0e", marker=".")
            drawn = True
    ax.set_ylim(bottom=0, top=None if drawn else 1)
    _legend_or_none(ax, drawn, "no 5xx reported (CloudWatch reports a nonzero count only)")


def _latency(ax: Axes, h: History) -> None:
    ax.set_title("Latency (p95 per minute)", fontsize=10, loc="left")
    ax.set_ylabel("ms")
    drawn = False
    for s in _by_kind(h, "p95"):
        if s.points:
            _line(ax, h, s, f"p95 {s.source}", scale=1000.0, marker=".")
            drawn = True
    ax.set_ylim(bottom=0)
    _legend_or_none(ax, drawn)


def _legend_or_none(ax: Axes, drawn: bool, words: str = "no data points") -> None:
    if drawn:
        ax.legend(loc="upper left", fontsize=8)
    else:
        ax.text(
            0.5,
            0.5,
            words,
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#666666",
            fontsize=9,
        )
