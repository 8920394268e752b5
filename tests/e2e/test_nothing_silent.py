"""Nothing silent: a key or a palette entry that does not apply now says why, in the words of
the availability check (what `cutover status` prints under Actions)."""

from __future__ import annotations

import asyncio

from cutover.tui.screens.confirm import ConfirmScreen
from textual.command import CommandList, CommandPalette

from tests.e2e.conftest import Live, wait_until


def notes(live: Live) -> list[tuple[str, str]]:
    """(title, message) of every notification the app raised."""
    return [(n.title, n.message) for n in live.app._notifications]


def test_a_dimmed_key_says_why(live: Live) -> None:
    asyncio.run(_dimmed(live))


async def _dimmed(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        snap = app.snapshot
        assert snap is not None
        for key, action in (("t", "terminate-original"), ("r", "approve")):
            check = snap.action(action)
            assert not check.passed
            assert (
                app.dashboard.check_action({"t": "terminate", "r": "approve"}[key], ()) is None
            ), "the key is dimmed"
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            assert (f"{action}: not now", check.reason) in notes(live)


def test_a_hidden_key_says_why(live: Live) -> None:
    """Read-only hides the mutating keys; pressing one still answers."""
    live.app.read_only = True
    asyncio.run(_hidden(live))


async def _hidden(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        assert app.dashboard.check_action("deploy", ()) is False
        await pilot.press("d")
        await pilot.pause()
        assert ("deploy: not now", "read-only: nothing can be changed from here") in notes(live)


def test_the_palette_marks_what_cannot_run_with_the_reason(live: Live) -> None:
    asyncio.run(_palette(live))


async def _palette(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        snap = app.snapshot
        assert snap is not None
        reason = snap.action("approve").reason
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"approve")

        def shown() -> str:
            options = app.screen.query_one(CommandList)
            return "\n".join(
                str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
            )

        await wait_until(pilot, lambda: "Approve" in shown(), what="the approve entry")
        assert "(not now)" in shown()
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert ("approve: not now", reason) in notes(live)
