"""`cutover status --all`: the overview's rows as text (80 columns) and as the documented
`overview` JSON document (docs/status-schema.json, `$defs/overview`).

Rows come in attention order (`core.attention`). Countdowns and ages are real time: a sandbox's
clock may run faster (`sandbox_rate`), and its seconds are divided by the rate, as
`status_text` does for one group.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import humanize
from cutover.backend.model import OverviewDeployment, OverviewRow
from cutover.backend.present.status_json import SCHEMA_VERSION

WIDTH = 80
STYLE_WORDS = {"BLUE_GREEN": "blue/green", "IN_PLACE": "in-place"}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def style_words(row: OverviewRow) -> str:
    """blue/green (always behind a load balancer), or in-place with or without one."""
    style = STYLE_WORDS.get(row.style, row.style.lower())
    if row.style == "BLUE_GREEN":
        return style
    return f"{style}, {'with' if row.traffic_control else 'no'} traffic control"


def seconds_left(row: OverviewRow) -> float | None:
    """Real seconds until the deployment's deadline (negative once passed)."""
    d = row.deployment
    if d is None or d.deadline is None or row.server_time is None:
        return None
    return (d.deadline - row.server_time).total_seconds() / (row.sandbox_rate or 1.0)


def _ago(when: datetime | None, row: OverviewRow) -> str:
    if when is None or row.server_time is None:
        return ""
    delta = (row.server_time - when) / (row.sandbox_rate or 1.0)
    return humanize.naturaltime(delta)


def why(row: OverviewRow) -> str:
    """The attention reason with its countdown or age, in real time."""
    reason = row.attention.reason if row.attention else "not ranked"
    d = row.deployment
    left = seconds_left(row)
    if d is not None and d.waiting_for and left is not None:
        if left > 0:
            reason += (
                f", {humanize.precisedelta(left, minimum_unit='seconds', format='%0.0f')} left"
            )
        else:
            reason += ", deadline passed"
    elif row.attention and row.attention.rank == 1 and row.recent_failure is not None:
        f = row.recent_failure
        reason += f" ({_ago(f.complete_time or f.create_time, row)})"
    return reason


def _details(row: OverviewRow, many_sources: bool) -> str:
    d = row.deployment
    bits = []
    if d is not None:
        age = _ago(d.create_time, row)
        bits.append(f"{d.id} {d.status}" + (f" ({d.phase})" if d.phase != d.status.lower() else ""))
        if age:
            bits.append(f"started {age}")
    else:
        bits.append("no deployment yet" if row.application else "")
    if row.traffic is not None:
        t = row.traffic
        bits.append(f"traffic {t.original_percent:.0f}/{t.replacement_percent:.0f}")
    if row.health:
        bits.append(" ".join(f"{h.role} {h.healthy}/{h.total}" for h in row.health))
    if row.alarms:
        bits.append("ALARM " + ",".join(row.alarms))
    if row.leftovers:
        bits.append(f"{row.leftovers} leftover(s)")
    bits.append(style_words(row))
    if many_sources:
        bits.append(f"{row.source} {row.account or '?'} {row.region or '?'}")
    return " · ".join(b for b in bits if b)


def _wrap(text: str, first: str, rest: str = "      ") -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def render_overview(rows: Sequence[OverviewRow]) -> str:
    """The rows as text: per group its name and why it sorts there, then its deployment."""
    sources = list(dict.fromkeys(r.source for r in rows))
    rates = {r.sandbox_rate for r in rows if r.sandbox_rate is not None}
    head = f"{len([r for r in rows if r.application])} deployment group(s)"
    head += f" in {len(sources)} source(s), most urgent first"
    lines = []
    if rates:
        shown = ", ".join(f"x{r:g}" for r in sorted(rates))
        lines.append(f"SANDBOX (clock {shown}; ages and waits below in real time)")
    lines.append(head)
    for r in rows:
        name = f"{r.application}/{r.deployment_group}" if r.application else f"[{r.source}]"
        rank = r.attention.rank if r.attention else "-"
        lines += _wrap(why(r), f"{rank} {name:<28} ", " " * 31)
        if r.application:
            lines += _wrap(_details(r, len(sources) > 1), "    ")
        if r.stale:
            lines += _wrap(r.stale, "    STALE: ")
    return "\n".join(lines)


def _deployment(d: OverviewDeployment | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "id": d.id,
        "status": d.status,
        "phase": d.phase,
        "waiting_for": d.waiting_for,
        "deadline": _time(d.deadline),
        "create_time": _time(d.create_time),
        "complete_time": _time(d.complete_time),
        "rollback": d.rollback,
        "error_code": d.error_code,
    }


def _group(r: OverviewRow) -> dict[str, Any]:
    t = r.traffic
    return {
        "application": r.application or None,
        "deployment_group": r.deployment_group or None,
        "source": r.source,
        "account": r.account,
        "region": r.region,
        "endpoint_url": r.endpoint_url,
        "style": r.style,
        "traffic_control": r.traffic_control,
        "deployment": _deployment(r.deployment),
        "recent_failure": _deployment(r.recent_failure),
        "seconds_left": seconds_left(r),
        "traffic": None
        if t is None
        else {
            "original_percent": t.original_percent,
            "replacement_percent": t.replacement_percent,
            "basis": t.basis,
        },
        "health": [{"role": h.role, "healthy": h.healthy, "total": h.total} for h in r.health],
        "alarms_in_alarm": list(r.alarms),
        "leftovers": r.leftovers,
        "leftovers_note": r.leftovers_note,
        "stale": r.stale,
        "sandbox_clock_rate": r.sandbox_rate,
        "server_time": _time(r.server_time),
        "attention": {
            "rank": r.attention.rank if r.attention else None,
            "reason": r.attention.reason if r.attention else None,
            "text": why(r),
        },
    }


def overview_document(
    rows: Sequence[OverviewRow], sources: Sequence[str] | None = None
) -> dict[str, Any]:
    """The `overview` document: every group in attention order; `sources` the names read (in
    the config file's order), else those of the rows."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "overview",
        "sources": list(sources)
        if sources is not None
        else list(dict.fromkeys(r.source for r in rows)),
        "groups": [_group(r) for r in rows],
    }
