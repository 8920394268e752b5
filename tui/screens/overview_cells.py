"""The overview table's words: each group's cells, short enough that a row reads at 80
columns, and the columns that fit a width. Pure: no widget.

The attention column says what a person must do in a few words (`approve? 42m left`,
`FAILED 12m ago`); the whole reason, with the deployment and the wait's countdown, is shown
for the cursor's row under the table (`detail`). Every column has a fixed width for a given
set of rows, so a refresh can replace a cell's text without measuring the table again.
"""

from __future__ import annotations

from datetime import datetime

from cutover.backend.core.attention import (
    FAILED,
    IN_PROGRESS,
    QUIET,
    STOPPING,
    TERMINATION_WAIT,
    WAITING,
)
from cutover.backend.model import OverviewRow
from cutover.backend.present.overview import style_words
from cutover.tui.widgets.common import countdown, real

# (column id, header, narrowest width): attention and group are always shown, then each in
# this order while it fits; the last one that does not fit whole is cut when worth it. The
# narrowest widths hold the usual texts, so a refresh rarely changes the layout.
COLUMNS = (
    ("why", "attention", 19),
    ("group", "application/group", 0),
    ("status", "latest", 15),
    ("age", "started", 9),
    ("where", "account/region", 0),
    ("stale", "stale", 0),
    ("traffic", "traffic o/r", 0),
    ("health", "healthy o/r", 11),
    ("alarms", "alarms in ALARM", 0),
    ("deployment", "deployment", 11),
    ("style", "style", 0),
)
HEADERS = {key: head for key, head, _ in COLUMNS}
GAP = 2  # DataTable's cell padding, both sides
MIN_SHOWN = 8  # a column cut narrower than this is left out


def group_name(row: OverviewRow) -> str:
    return f"{row.application}/{row.deployment_group}" if row.application else f"[{row.source}]"


def _seconds(later: datetime, earlier: datetime, now: datetime) -> int:
    return int(real(later - earlier, now).total_seconds())


def short_span(seconds: int) -> str:
    """42m, 4m10s, 1h05m, 2d: a span in a few characters."""
    if seconds < 60:
        return f"{max(0, seconds)}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes}m{secs:02d}s"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 24 else f"{hours // 24}d"


def short_ago(when: datetime | None, now: datetime) -> str:
    return "" if when is None else f"{short_span(_seconds(now, when, now))} ago"


def short_why(row: OverviewRow, now: datetime) -> str:
    """What the group needs, in a few words; an alarm in ALARM said beside a group in progress
    or quiet (the alarms column is the first to give way on a narrow terminal)."""
    words = _short_why(row, now)
    if row.alarms and words in ("in progress", "quiet"):
        words += ", ALARM"
    return words


def _short_why(row: OverviewRow, now: datetime) -> str:
    a, d = row.attention, row.deployment
    if a is None:
        return "stale" if row.stale else "-"
    if a.rank == WAITING and d is not None:
        if d.deadline is None:
            return "approve?"
        left = _seconds(d.deadline, now, now)
        return f"approve? {short_span(left)} left" if left > 0 else "approve? past due"
    if a.rank == FAILED:
        failed = d if d is not None and d.status in ("Failed", "Stopped") else row.recent_failure
        if failed is None:
            return "FAILED"
        word = "STOPPED" if failed.status == "Stopped" else "FAILED"
        return f"{word} {short_ago(failed.complete_time or failed.create_time, now)}".strip()
    if a.rank == STOPPING:
        return "rolling back"
    if a.rank == IN_PROGRESS:
        return "in progress"
    if a.rank == TERMINATION_WAIT:
        return "termination wait"
    if a.rank == QUIET and not row.application:
        return "unreadable" if row.stale else "not read yet"
    return "quiet"


def detail(row: OverviewRow, now: datetime) -> str:
    """The cursor's row in full: its reason with the wait's countdown, its alarms, and why it
    is stale."""
    reason = row.attention.reason if row.attention else "not ranked"
    d = row.deployment
    if d is not None and d.waiting_for and d.deadline is not None:
        reason += f", {countdown(d.deadline, now)}"
    text = f"{group_name(row)}: {reason}"
    if row.alarms:
        text += f"; alarms in ALARM: {', '.join(row.alarms)}"
    if row.stale:
        text += f"\nSTALE: {row.stale}"
    return text


def cells(row: OverviewRow, now: datetime) -> dict[str, str]:
    d = row.deployment
    status = dep = age = ""
    if d is not None:
        # The phase says more than the status when it was derived (Ready: waiting-reroute).
        status = d.phase if d.phase != d.status.lower() else d.status
        dep, age = d.id, short_ago(d.create_time, now)
    elif row.application:
        status = "none yet"
    t = row.traffic
    return {
        "why": short_why(row, now),
        "group": group_name(row),
        "where": f"{row.account or '?'} {row.region or '?'}",
        "status": status,
        "deployment": dep,
        "age": age,
        "traffic": f"{t.original_percent:.0f}/{t.replacement_percent:.0f}" if t else "",
        # o(riginal), r(eplacement), f(leet), as the traffic column's o/r
        "health": " ".join(f"{h.role[0]} {h.healthy}/{h.total}" for h in row.health),
        "alarms": ",".join(row.alarms),
        "style": style_words(row) if row.application else "",
        "stale": row.stale or "",
    }


def layout(table: list[dict[str, str]], width: int, many_sources: bool) -> list[tuple[str, int]]:
    """The columns that fit `width`, each with its width: attention and group always, then
    each in order while it fits whole; the first that does not is cut to what is left when
    that is worth showing. A column empty on every row is left out."""
    out: list[tuple[str, int]] = []
    used = 0
    for key, head, least in COLUMNS:
        if key == "where" and not many_sources:
            continue
        natural = max([len(head), least] + [len(r[key]) for r in table])
        if key not in ("why", "group"):
            if not any(r[key] for r in table):
                continue
            if used + natural + GAP > width:
                room = width - used - GAP
                if room >= MIN_SHOWN:
                    out.append((key, room))
                break
        out.append((key, natural))
        used += natural + GAP
    return out
