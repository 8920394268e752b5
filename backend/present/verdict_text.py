"""The verdict in words (the dashboard's header line, `cutover status`, `--brief`), the figures
that belong to no one environment, and the last action from the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cutover.backend.actions.catalogue import BY_NAME
from cutover.backend.core.verdict import Verdict, metric_scope, per_minute, verdict
from cutover.backend.model import LB_OWN_5XX, TARGET_5XX, Snapshot

# How the verdict's action is said after its key.
ACTION_WORDS = {
    "rollback": "roll back",
    "stop": "stop the deployment",
    "approve": "approve the reroute",
}


def span(seconds: float) -> str:
    """`53m`, `1h 05m`, `40s`: a duration short enough for a one-line verdict."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total}s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def key_text(v: Verdict, *, cli: bool = False) -> str | None:
    """`b roll back` (the dashboard), `b / cutover rollback: roll back` (pasted text)."""
    if v.action is None:
        return None
    key = BY_NAME[v.action].key
    words = ACTION_WORDS.get(v.action, v.action)
    return f"{key} / cutover {v.action}: {words}" if cli else f"{key} {words}"


def timer_text(v: Verdict, now: datetime, rate: float = 1.0) -> str | None:
    """`in 53m the originals are terminated` (real time: `rate` is the server clock's speed,
    a sandbox's may run faster)."""
    if v.deadline is None or v.if_nobody is None:
        return None
    left = (v.deadline - now).total_seconds() / rate
    if left <= 0:
        return f"the wait has ended: {v.if_nobody}"
    return f"in {span(left)} {v.if_nobody}"


def verdict_line(snap: Snapshot, now: datetime | None = None, *, cli: bool = False) -> str:
    """`DEGRADED: 2 of 4 replacements unhealthy, 5xx 38/min in web-tg · b roll back · in 53m
    the originals are terminated`."""
    v = verdict(snap)
    parts = [f"{v.level}: {v.why}"]
    rate = snap.sandbox_rate or 1.0
    parts += [x for x in (key_text(v, cli=cli), timer_text(v, now or snap.server_time, rate)) if x]
    return " · ".join(parts)


def metrics_line(snap: Snapshot) -> str | None:
    """The figures no environment owns alone: per target group (labelled with whom it
    serves) and each load balancer's own 5xx. None when there are none."""
    attributed = {
        id(s)
        for env in (snap.original, snap.replacement, snap.fleet)
        if env is not None
        for s in env.metrics
    }
    now = snap.server_time
    per_source: dict[str, list[str]] = {}
    own: list[str] = []
    for s in snap.metrics:
        if id(s) in attributed or not s.source:
            continue
        if s.name in LB_OWN_5XX:
            own.append(f"{s.source} own 5xx {per_minute(s, now):.0f}/min")
        elif s.name in TARGET_5XX:
            per_source.setdefault(s.source, []).append(f"5xx {per_minute(s, now):.0f}/min")
        elif s.name == "RequestCount" and s.last is not None:
            per_source.setdefault(s.source, []).insert(0, f"req {s.last:.0f}/min")
    if not (per_source or own):
        return None
    parts = [f"{metric_scope(snap, name)}: {' '.join(w)}" for name, w in per_source.items()]
    return " · ".join(parts + own)


def when_text(t: datetime | None, now: datetime, rate: float = 1.0) -> str:
    """`2026-12-04 15:42:07Z (18m ago)`: absolute UTC on the server's clock, relative in
    brackets in real time (`rate`: the server clock's speed; a sandbox's may run faster)."""
    if t is None:
        return "-"
    delta = (now - t).total_seconds() / rate
    rel = f"{span(delta)} ago" if delta >= 0 else f"in {span(-delta)}"
    return f"{t:%Y-%m-%d %H:%M:%S}Z ({rel})"


def last_action_text(record: dict[str, Any] | None, now: datetime, rate: float = 1.0) -> str:
    """`last action: approve d-… by alice at 2026-… (12m ago): done` from an audit record."""
    if record is None:
        return "last action: none recorded on this machine"
    when: datetime | None
    try:
        when = datetime.fromisoformat(str(record.get("server_time")))
    except ValueError:
        when = None
    who = record.get("caller") or "?"
    on = f" {record['deployment_id']}" if record.get("deployment_id") else ""
    outcome = record.get("outcome") or "?"
    if outcome == "intent":
        outcome = "sent, outcome not recorded"
    at = when_text(when, now, rate)
    return f"last action: {record.get('action')}{on} by {who} at {at}: {outcome}"
