"""Keys typed faster than a dialog opens reach the dialog, in order.

A terminal delivers a burst of keys at once (a fast typist, a paste, tmux send-keys): `d`,
ctrl+u and a revision arrive before the revision prompt has mounted its input. They must all
land in the prompt, none on the screen behind it and none lost.
"""

from __future__ import annotations

import asyncio

from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.revision import RevisionScreen
from textual import events
from textual.widgets import Input

from tests.e2e.conftest import Live, wait_until

V2 = "s3://web-revisions/web/v2.zip"


def _burst(app, keys: list[str]) -> None:
    """Queue keys as one terminal read does: all before any is handled."""
    for key in keys:
        char = key if len(key) == 1 else None
        app.post_message(events.Key(key, char))


def test_revision_typed_ahead_of_the_prompt(live: Live) -> None:
    asyncio.run(_typed_ahead(live))


async def _typed_ahead(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        await wait_until(pilot, lambda: app.snapshot.action("deploy").passed, what="deploy allowed")
        _burst(app, ["d", "ctrl+u", *V2])
        await wait_until(pilot, lambda: isinstance(app.screen, RevisionScreen), what="prompt")
        await pilot.pause(0.3)
        print(
            "STACK",
            app.screen_stack,
            [(id(i), i.value) for s in app.screen_stack for i in s.query(Input)],
        )
        assert app.screen.query_one(Input).value == V2


def test_a_y_typed_with_the_key_does_not_confirm_an_unseen_plan(live: Live) -> None:
    asyncio.run(_unseen(live))


async def _unseen(live: Live) -> None:
    app = live.app
    cd = live.client("codedeploy")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        dep_id = live.deploy()
        await wait_until(pilot, lambda: app.snapshot.action("stop").passed, what="stop allowed")
        _burst(app, ["s", "y"])
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.pause(0.5)
        # Still asking, nothing sent, nothing recorded as sent.
        assert isinstance(app.screen, ConfirmScreen)
        status = cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"]
        assert status not in ("Stopped", "Failed")
        assert not [r for r in live.audit.records() if r.get("action") == "stop"]
        # Read, then answered: it sends.
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: (
                cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"]
                in ("Stopped", "Failed")
            ),
            what="the deployment stopped",
        )
