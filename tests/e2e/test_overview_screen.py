"""The overview screen (issue 16): every group in the backend's order, Enter opens a group's
dashboard, Escape there comes back on the same group, `/` filters, the bell rings once per
group that starts waiting for approval. Fed rows at a frozen clock, and the real app polling a
sandbox while a deployment starts and waits for the approval."""

from __future__ import annotations

import asyncio
import functools
import io
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from cutover.backend.config import TargetConfig
from cutover.backend.model import OverviewRow
from cutover.backend.observe.overview import Overview
from cutover.backend.observe.sources import Source
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client
from cutover.tui.app import CutoverApp
from cutover.tui.overview_app import OverviewApp
from cutover.tui.screens.help import HelpScreen
from rich.console import Console
from textual.widgets import DataTable

from tests.e2e.fakes import NOW, TARGET
from tests.e2e.overview_fakes import estate, large_estate

V2 = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}


def sync(test: Callable[..., Any]) -> Callable[..., Any]:
    """Run a Pilot test to its end on its own event loop (as the other dashboard tests do)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(test(*args, **kwargs))

    return run


def table_groups(app: OverviewApp) -> list[str]:
    table = app.screen_overview.query_one(DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def help_words(screen: HelpScreen) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(screen.content)
    return console.export_text()


def counting_bell(app: OverviewApp | CutoverApp) -> list[int]:
    rang: list[int] = []
    app.bell = lambda: rang.append(1)  # type: ignore[method-assign]
    return rang


@sync
async def test_rows_in_the_backends_order_and_enter_opens_the_group_under_the_cursor() -> None:
    app = OverviewApp(now=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(estate())
        await pilot.pause()
        assert table_groups(app)[:3] == ["web/web-prod", "payments/payments-prod", "api/api-prod"]
        await pilot.press("down", "down", "enter")
        await pilot.pause()
    chosen = app.return_value
    assert chosen is not None and chosen.key == ("prod", "api", "api-prod")


@sync
async def test_the_cursor_starts_on_the_group_asked_for_once_the_rows_come() -> None:
    app = OverviewApp(now=lambda: NOW, select=("prod", "worker", "worker-batch"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.feed(estate())
        await pilot.pause()
        table = app.screen_overview.query_one(DataTable)
        assert str(table.get_row_at(table.cursor_row)[1]) == "worker/worker-batch"


@sync
async def test_coming_back_puts_the_cursor_on_the_same_group() -> None:
    rows = estate()
    app = OverviewApp(now=lambda: NOW, rows=rows, select=("prod", "worker", "worker-batch"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen_overview.query_one(DataTable)
        assert str(table.get_row_at(table.cursor_row)[1]) == "worker/worker-batch"
        # The group moved up meanwhile (a deployment started): the cursor follows it.
        moved = [rows[6], *rows[:6], *rows[7:]]
        app.feed(moved)
        await pilot.pause()
        assert str(table.get_row_at(table.cursor_row)[1]) == "worker/worker-batch"
        assert table.cursor_row == 0


@sync
async def test_at_500_groups_a_refresh_updates_rows_in_place_keeping_cursor_and_scroll() -> None:
    rows = large_estate(500)
    deep = rows[400]
    app = OverviewApp(now=lambda: NOW, rows=rows, select=deep.key)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen_overview
        table = screen.query_one(DataTable)
        assert table.row_count == 500 and screen.current() == deep
        slots, scroll = list(table.rows), table.scroll_y
        assert scroll > 0
        app.feed(rows)  # a refresh: nothing moved
        await pilot.pause()
        assert screen.current() == deep and table.scroll_y == scroll
        # A re-sort: a group far below starts a deployment and moves to the top; the cursor
        # stays on its group (one row further down), the table is not rebuilt.
        going = replace(rows[480], attention=rows[2].attention, deployment=rows[2].deployment)
        app.feed([going, *rows[:480], *rows[481:]])
        await pilot.pause()
        assert screen.current() is not None and screen.current().key == deep.key  # type: ignore[union-attr]
        assert table.cursor_row == 401
        assert list(table.rows) == slots
        # The inventory shrinks: rows go from the end, the others stay.
        app.feed(rows[:450])
        await pilot.pause()
        assert list(table.rows) == slots[:450] and screen.current() == deep


@sync
async def test_escape_on_a_dashboard_opened_from_the_overview_goes_back() -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False, back=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "back to the overview" in help_words(app.screen)
        await pilot.press("escape")  # closes the help
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_value == "back"
    alone = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    async with alone.run_test(size=(120, 40)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert alone.is_running  # a dashboard opened on its own has nowhere to go back to


@sync
async def test_slash_filters_by_name_and_escape_clears() -> None:
    app = OverviewApp(now=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(estate())
        await pilot.pause()
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"search")
        await pilot.pause()
        assert table_groups(app) == [
            "search/search-indexer",
            "search/search-prod",
            "search/search-staging",
        ]
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
    assert app.return_value is not None and app.return_value.deployment_group == "search-prod"


@sync
async def test_the_bell_rings_once_per_group_that_starts_waiting() -> None:
    app = OverviewApp(now=lambda: NOW)
    rang = counting_bell(app)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            app.feed(estate())
            await pilot.pause()
        assert rang == [1]
        assert app.waiting_line == "web/web-prod is waiting for approval (d-WAIT00001)"
        banner = str(app.screen_overview.query_one("#overview-banner").render())
        assert "WAITING FOR APPROVAL: web/web-prod, 42m 10s left" in banner
        app.feed(estate("d-WAIT00002"))  # the next deployment of the group waits in turn
        await pilot.pause()
        assert rang == [1, 1]


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (140, 45), (200, 60)])
@sync
async def test_every_row_reads_at_any_size_and_the_cursors_reason_shows_whole(
    size: tuple[int, int],
) -> None:
    """What the group needs, its name, its latest deployment's state and age are never cut
    (an approval's reason used to push them out at 140 columns); the cursor's whole reason
    shows under the table."""
    app = OverviewApp(now=lambda: NOW)
    async with app.run_test(size=size) as pilot:
        app.feed(estate())
        await pilot.pause()
        table = app.screen_overview.query_one(DataTable)
        heads = [str(c.label) for c in table.ordered_columns]
        assert heads[:4] == ["attention", "application/group", "latest", "started"]
        assert sum(c.get_render_width(table) for c in table.ordered_columns) <= size[0]
        first = [str(c) for c in table.get_row_at(0)]
        assert first[:4] == ["approve? 42m left", "web/web-prod", "waiting-reroute", "7m00s ago"]
        failed = [str(c) for c in table.get_row_at(1)]
        assert failed[0] == "FAILED 12m ago"
        detail = str(app.screen_overview.query_one("#overview-detail").render())
        assert detail == (
            "web/web-prod: waiting for approval to reroute traffic (d-WAIT00001), 42m 10s left"
        )
        await pilot.press("down")
        await pilot.pause()
        detail = str(app.screen_overview.query_one("#overview-detail").render())
        assert detail == "payments/payments-prod: d-FAIL00001 failed within the last hour"


def stale_row(rows: list[OverviewRow]) -> list[OverviewRow]:
    return [replace(r, stale="could not be read: ExpiredToken") for r in rows]


@sync
async def test_a_source_that_cannot_be_read_shows_stale_on_its_rows() -> None:
    app = OverviewApp(now=lambda: NOW)
    async with app.run_test(size=(200, 60)) as pilot:
        app.feed(stale_row(estate()))
        await pilot.pause()
        table = app.screen_overview.query_one(DataTable)
        heads = [str(c.label) for c in table.ordered_columns]
        assert str(table.get_row_at(0)[heads.index("stale")]) == "could not be read: ExpiredToken"
        detail = str(app.screen_overview.query_one("#overview-detail").render())
        assert detail.endswith("\nSTALE: could not be read: ExpiredToken")


# ----- against a sandbox ------------------------------------------------------------------


def _until(pilot: Any, check: Callable[[], bool], what: str, timeout: float = 90) -> Any:
    async def wait() -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.1)

    return wait()


@pytest.mark.timeout(240)
@sync
async def test_a_deployment_that_starts_and_waits_comes_first_and_opens_its_group(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory("default", time_scale=150)
    for key, value in sb.env().items():
        if key != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    target = TargetConfig(name="sandbox", region=sb.world.region, endpoint_url=sb.endpoint_url)
    overview = Overview([Source("sandbox", target)])
    app = OverviewApp(overview, interval=0.3)
    rang = counting_bell(app)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: len(app.rows) >= 12, "the estate listed")
            assert [r.attention.rank for r in app.rows] == sorted(  # type: ignore[union-attr]
                r.attention.rank  # type: ignore[union-attr]
                for r in app.rows
            )
            aws_client(sb, "codedeploy").create_deployment(
                applicationName="web", deploymentGroupName="web-prod", revision=V2
            )

            def first_is_web(reason: str) -> bool:
                top = app.screen_overview.shown[0] if app.screen_overview.shown else None
                return bool(
                    top
                    and top.deployment_group == "web-prod"
                    and top.attention
                    and top.attention.reason.startswith(reason)
                )

            await _until(pilot, lambda: first_is_web("waiting for approval"), "web-prod waits")
            assert table_groups(app)[0] == "web/web-prod"
            await _until(pilot, lambda: len(rang) == 1, "the bell")
            for _ in range(5):  # more polls while it waits: no second bell
                await pilot.pause(0.3)
            assert rang == [1]
            # The cursor stayed on the group it was on when web-prod moved above it.
            await pilot.press(*["up"] * 12, "enter")
            await pilot.pause()
        chosen = app.return_value
        assert chosen is not None and chosen.key == ("sandbox", "web", "web-prod")
    finally:
        overview.close()


@sync
async def test_question_mark_lists_the_keys_and_q_quits() -> None:
    app = OverviewApp(now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        app.feed(estate())
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_words(app.screen)
        for words in ("open the group's dashboard", "filter the groups by name", "quit"):
            assert words in text
        await pilot.press("escape", "q")
        await pilot.pause()
    assert app.return_value is None
