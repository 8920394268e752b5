"""The bake verdict in words (the dashboard's line and banner, `cutover status`) and as the
`bake` object of `cutover status --json` (docs/status-schema.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cutover.backend.core.bake import NOTE
from cutover.backend.model import BakeVerdict


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def bake_label(b: BakeVerdict) -> str:
    """`BAD`, `OK`, `WATCH`; `not enough data` as it is (no verdict to shout)."""
    return b.verdict.upper() if b.verdict in ("ok", "watch", "bad") else b.verdict


def bake_headline(b: BakeVerdict) -> str:
    """`Bake BAD: 5xx 4.8% after vs 0.0% before (limit 1%)`."""
    return f"Bake {bake_label(b)}: {b.reason}"


def bake_windows(b: BakeVerdict) -> str:
    """`after 5 min, 212 requests vs before 5 min, 200 requests (web-tg)`."""
    where = f" ({', '.join(b.sources)})" if b.sources else ""
    return (
        f"after {b.after_minutes} min, {b.after_requests:.0f} requests vs before"
        f" {b.baseline_minutes} min, {b.baseline_requests:.0f} requests{where}"
    )


def bake_status_lines(b: BakeVerdict) -> list[str]:
    """`cutover status`: `Bake: BAD: 5xx 4.8% after ...` and its details, indented."""
    lines = [f"Bake: {bake_label(b)}: {b.reason}", f"  {bake_windows(b)}"]
    if b.unmeasured:
        lines.append(f"  not measured: {b.unmeasured}")
    if b.verdict == "bad":
        lines.append("  b / cutover rollback: roll back (nothing rolls back on its own)")
    lines.append(f"  {NOTE}")
    return lines


def bake_document(b: BakeVerdict | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {
        "verdict": b.verdict,
        "reason": b.reason,
        "checks": [
            {
                "name": c.name,
                "level": c.level,
                "before": c.before,
                "after": c.after,
                "limit": c.limit,
                "text": c.text,
            }
            for c in b.checks
        ],
        "baseline": {
            "start": _time(b.baseline_start),
            "end": _time(b.baseline_end),
            "minutes": b.baseline_minutes,
            "requests": b.baseline_requests,
        },
        "after": {
            "start": _time(b.after_start),
            "end": _time(b.after_end),
            "minutes": b.after_minutes,
            "requests": b.after_requests,
        },
        "sources": list(b.sources),
        "unmeasured": b.unmeasured,
        "thresholds": dict(b.thresholds),
        "read_at": _time(b.read_at),
        "note": NOTE,
    }
