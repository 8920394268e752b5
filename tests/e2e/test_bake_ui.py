"""The bake verdict on the dashboard (Pilot, hand-built snapshots): a line during the
termination wait with the numbers, the windows and the before-vs-after note; a bad verdict
raises a banner that offers b, and nothing rolls back until the engineer presses it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from cutover.backend.config import BakeThresholds
from cutover.backend.core.bake import Minute, Window, judge
from cutover.backend.present.status_text import render_status
from cutover.tui.app import CutoverApp

from tests.e2e.conftest import text_of
from tests.e2e.fakes import NOW, TARGET, verdict_state


def windows(errors: float) -> tuple[Window, Window]:
    def side(start: int, e: float) -> Window:
        t0 = NOW + timedelta(minutes=start)
        rows = tuple(Minute(t0 + timedelta(minutes=i), 40, e, 15, 40) for i in range(5))
        return Window(t0, t0 + timedelta(minutes=5), rows)

    return side(-20, 0), side(-6, errors)


def test_a_bad_bake_verdict_raises_a_banner_that_offers_b_and_does_nothing_itself() -> None:
    ok = judge(*windows(0), BakeThresholds(), sources=("web-tg",))
    bad = judge(*windows(2), BakeThresholds(), sources=("web-tg",))
    assert (ok.verdict, bad.verdict) == ("ok", "bad")
    safe = verdict_state("SAFE")
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.feed(replace(safe, bake=ok))
            screen = app.dashboard
            line = text_of(screen.query_one("#bake"))
            assert line.startswith("Bake OK: 5xx 0.0% after vs 0.0% before (limit 1%)")
            assert "after 5 min, 200 requests vs before 5 min, 200 requests (web-tg)" in line
            assert "before vs after the reroute, not side by side" in line
            assert "Bake" not in text_of(screen.query_one("#banner"))

            app.feed(replace(safe, bake=bad))
            await pilot.pause()
            banner = text_of(screen.query_one("#banner"))
            assert banner.startswith("Bake verdict BAD: 5xx 5.0% after vs 0.0% before (limit 1%).")
            assert "Originals terminate: " in banner
            assert "b rolls back (nothing does on its own)" in banner
            assert screen.query_one("#banner").has_class("-bad")
            assert app.screen is screen, "nothing opens or rolls back on its own"
            assert screen.check_action("rollback", ()) is True  # b: the usual plan and confirm

    asyncio.run(main())
    text = render_status(replace(safe, bake=bad))
    assert "Bake: BAD: 5xx 5.0% after vs 0.0% before (limit 1%)" in text
    assert "b / cutover rollback: roll back (nothing rolls back on its own)" in text
