"""The overview's order: the groups that need a person first, and why, in words. Pure.

Ranks, first to last:
0 waiting for the reroute approval (least time left first),
1 failed or rolled back within the last hour (newest first),
2 stopping or rolling back,
3 in progress,
4 waiting out the termination wait,
5 quiet (by name).
A source that could not be read keeps its rows' last rank (they say they are stale); a source
never read at all has one row without a group, ranked quiet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cutover.backend.model import Attention, OverviewDeployment, OverviewRow

WAITING, FAILED, STOPPING, IN_PROGRESS, TERMINATION_WAIT, QUIET = range(6)
RECENT = timedelta(hours=1)
_FAR = datetime.max.replace(tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _failure(row: OverviewRow, now: datetime) -> OverviewDeployment | None:
    """The failed or stopped deployment of the last hour that still stands: not followed by a
    deployment a person started that succeeded (a rollback that succeeded is still news)."""
    failed = row.recent_failure
    d = row.deployment
    if d is not None and d.status in ("Failed", "Stopped"):
        failed = d
    if failed is None:
        return None
    ended = failed.complete_time or failed.create_time
    if ended is not None and now - ended > RECENT:
        return None
    if (
        d is not None
        and d.id != failed.id
        and d.status == "Succeeded"
        and not d.rollback
        and (d.create_time or _EPOCH) > (failed.create_time or _EPOCH)
    ):
        return None
    return failed


def attention(row: OverviewRow, now: datetime) -> Attention:
    """The row's rank and the reason in words (`now` is the server's time)."""
    d = row.deployment
    if d is not None and d.active and d.waiting_for == "reroute-approval":
        return Attention(WAITING, f"waiting for approval to reroute traffic ({d.id})")
    failed = _failure(row, now)
    if failed is not None:
        what = "stopped" if failed.status == "Stopped" else "failed"
        tail = ""
        if d is not None and d.active and d.id != failed.id:
            tail = "; rolling back" if d.rollback else f"; {d.id} in progress"
        elif d is not None and d.rollback and d.status == "Succeeded":
            tail = "; rolled back"
        code = f" ({failed.error_code})" if failed.error_code else ""
        return Attention(FAILED, f"{failed.id} {what}{code} within the last hour{tail}")
    if d is not None and d.active:
        if d.rollback or d.phase == "rolling-back":
            return Attention(STOPPING, f"rolling back ({d.id})")
        if d.waiting_for == "termination" or d.phase in ("termination-wait", "terminating"):
            return Attention(TERMINATION_WAIT, f"termination wait ({d.id})")
        return Attention(IN_PROGRESS, f"in progress: {d.phase} ({d.id})")
    if not row.application:
        return Attention(QUIET, "the source could not be read" if row.stale else "not read yet")
    return Attention(QUIET, "quiet")


def _within(row: OverviewRow, rank: int) -> tuple:
    d = row.deployment
    if rank == WAITING:
        return ((d.deadline if d and d.deadline else _FAR),)
    if rank == FAILED:
        f = _failure(row, row.server_time or _EPOCH) or d
        ended = (f.complete_time or f.create_time) if f else None
        return (-(ended or _EPOCH).timestamp(),)
    if rank in (STOPPING, IN_PROGRESS, TERMINATION_WAIT):
        return (-((d.create_time if d else None) or _EPOCH).timestamp(),)
    return ()


def order(rows: Iterable[OverviewRow], now: datetime | None = None) -> list[OverviewRow]:
    """The rows with their attention filled in, most urgent first. Each row is ranked against
    its own server time (`now` when given: one clock for every source)."""
    ranked = []
    for row in rows:
        when = now or row.server_time or datetime.now(UTC)
        row = replace(row, attention=attention(row, when), server_time=row.server_time or when)
        ranked.append(row)

    def key(r: OverviewRow) -> tuple:
        rank = r.attention.rank if r.attention else QUIET
        name = (r.application.lower(), r.deployment_group.lower(), r.source.lower())
        return (rank, *_within(r, rank), name)

    return sorted(ranked, key=key)
