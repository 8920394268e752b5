"""While a group's dashboard is open from the overview, another group that starts waiting for
the reroute approval rings the dashboard's bell, named in a notification, once; the open
group's own wait is the dashboard's to ring for (issue 16: the bell rings once per group)."""

from __future__ import annotations

import asyncio

from cutover.backend.model import OverviewRow
from cutover.cli.overview_watch import OverviewWatch
from cutover.tui.app import CutoverApp

from tests.e2e.fakes import NOW, TARGET
from tests.e2e.overview_fakes import estate
from tests.e2e.test_overview_screen import _until, counting_bell, sync


class Reads:
    """The overview's rows, counted."""

    def __init__(self, rows: list[OverviewRow]) -> None:
        self.rows_now = rows
        self.count = 0

    def rows(self) -> list[OverviewRow]:
        self.count += 1
        return self.rows_now


def said(app: CutoverApp) -> list[str]:
    return [n.message for n in app._notifications]


@sync
async def test_another_group_waiting_rings_once_in_the_open_dashboard() -> None:
    reads = Reads(estate())  # web/web-prod waits for the approval (d-WAIT00001)
    rang: set[str] = set()
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False, back=True)
    bells = counting_bell(app)
    watch = OverviewWatch(reads, rang, ("prod", "api", "api-prod"), every=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        watch.start(app)
        try:
            await _until(pilot, lambda: bool(bells), "the bell", timeout=30)
            await _until(pilot, lambda: reads.count >= 5, "more reads", timeout=30)
            await asyncio.sleep(0.1)
            assert bells == [1] and "d-WAIT00001" in rang
            assert [m for m in said(app) if "waiting for approval" in m] == [
                "web/web-prod is waiting for approval (d-WAIT00001):"
                " Escape goes back to the overview"
            ]
        finally:
            watch.stop()
    assert watch.rows == reads.rows_now  # the overview shows them on return


@sync
async def test_the_open_groups_own_wait_is_left_to_its_dashboard() -> None:
    reads = Reads(estate())
    rang: set[str] = set()
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False, back=True)
    bells = counting_bell(app)
    watch = OverviewWatch(reads, rang, ("prod", "web", "web-prod"), every=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        watch.start(app)
        try:
            await _until(pilot, lambda: reads.count >= 3, "reads", timeout=30)
        finally:
            watch.stop()
    # Marked rung, so the overview does not ring for it again on return.
    assert bells == [] and rang == {"d-WAIT00001"}
