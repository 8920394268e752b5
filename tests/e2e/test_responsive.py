"""The dashboard never freezes: keys answer while AWS takes 3 s per call (well under a second,
where a frozen loop would take the 3 s; the figures themselves are measured in bench/)."""

from __future__ import annotations

import asyncio
import time

import pytest
from cutover.tui.screens.help import HelpScreen

from tests.e2e.conftest import Live, text_of, wait_until


# The scenario's own pace: a very fast sandbox clock keeps its in-process health checkers busy,
# which slows Pilot (it waits for the whole process to go idle), not the app.
@pytest.mark.time_scale(20)
def test_keypress_answers_while_every_call_takes_3s(live: Live) -> None:
    asyncio.run(_keypress_latency(live))


async def _keypress_latency(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        live.sandbox.faults.set_api(latency_ms=3000)
        # Make sure a poll is in flight on the slow API while we press.
        await wait_until(pilot, lambda: app._fetching, what="a poll in flight")

        # The help screen becomes active on the event loop, while the worker waits on AWS.
        # A watcher on the same loop sees the moment; were the loop blocked by an AWS call,
        # it would see it late. Pilot's press() itself also waits for the whole process to
        # go idle, which is reported but not what a person waits for.
        async def active() -> float:
            while not isinstance(app.screen, HelpScreen):
                await asyncio.sleep(0.001)
            return time.perf_counter()

        started = time.perf_counter()
        watcher = asyncio.create_task(active())
        await pilot.press("question_mark")
        await pilot.pause(0)
        returned = time.perf_counter()
        elapsed = await watcher - started
        assert isinstance(app.screen, HelpScreen)
        print(
            f"keypress to help screen active: {elapsed * 1000:.1f} ms"
            f" (press() returned after {(returned - started) * 1000:.0f} ms)"
        )
        assert app._fetching, "the slow poll was still in flight"
        assert elapsed < 1.0, f"{elapsed * 1000:.0f} ms"
        await pilot.press("escape")
        await pilot.pause(0)
        assert not isinstance(app.screen, HelpScreen)
        live.sandbox.faults.clear()


@pytest.mark.max_attempts(1)
def test_throttled_api_marks_the_view_stale_and_keeps_running(live: Live) -> None:
    asyncio.run(_stale(live))


async def _stale(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        live.sandbox.faults.set_api(throttle_rate=1.0)
        header = app.dashboard.query_one("#header")
        await wait_until(
            pilot, lambda: "STALE" in text_of(header), timeout=40, what="the STALE marker"
        )
        assert "Throttl" in text_of(header)
        assert app.interval > app.base_interval  # backed off
        # The last good view stays, and keys still work.
        assert app.dashboard.query_one("#original").table.row_count == 4
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        live.sandbox.faults.clear()
        app.refresh_now()
        await wait_until(pilot, lambda: "STALE" not in text_of(header), timeout=40, what="recovery")
