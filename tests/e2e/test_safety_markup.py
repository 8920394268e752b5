"""Issue 11, item 13: AWS's own words are shown as they are, never parsed as markup.

AWS messages and error codes come in square brackets often enough
(`[DeploymentIsNotInReadyStateException]`); read as Textual markup they vanish, and a `[/...]`
closing tag with nothing open raises a markup error inside the app."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from cutover.backend.actions.plan import Outcome, Plan
from cutover.tui.acting import ActionDone
from cutover.tui.app import CutoverApp
from textual.widgets._toast import Toast

from tests.e2e.conftest import text_of, wait_until
from tests.e2e.fakes import NOW, TARGET, snapshot

NASTY = "[DeploymentIsNotInReadyStateException] [/bold] not ready [b]yet[/b] [link=x]"


def run(body: Any) -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)

    async def main() -> None:
        # Toasts are rendered (run_test leaves them out unless asked), so markup would bite.
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await pilot.pause()
            await body(app, pilot)

    asyncio.run(main())


def toasts(app: CutoverApp) -> str:
    return "\n".join(str(t.render()) for t in app.screen.query(Toast))


def test_safety_13_an_action_outcome_is_shown_literally() -> None:
    async def body(app: CutoverApp, pilot: Any) -> None:
        app.feed(snapshot("ready"))
        plan = Plan(action="approve", target="prod-web", summary="Approve")
        app.post_message(
            ActionDone(
                Outcome(plan, False, NASTY, error_code="InvalidParameterException", state="failed")
            )
        )
        await wait_until(pilot, lambda: NASTY in toasts(app), 10, "the failure's toast")
        shown = toasts(app)
        assert "[InvalidParameterException]" in shown
        app.notify(f"plain notify: {NASTY}")
        await wait_until(
            pilot, lambda: f"plain notify: {NASTY}" in toasts(app), 10, "the plain toast"
        )

    run(body)


def test_safety_13_a_failure_message_in_the_banner_and_table_is_literal() -> None:
    async def body(app: CutoverApp, pilot: Any) -> None:
        snap = snapshot("ready")
        assert snap.deployment is not None and snap.replacement is not None
        failed = replace(
            snap,
            deployment=replace(
                snap.deployment,
                status="Failed",
                error_code="HEALTH_CONSTRAINTS",
                error_message=NASTY,
            ),
            replacement=replace(
                snap.replacement,
                instances=(
                    replace(snap.replacement.instances[0], lifecycle_status="[Failed]"),
                    *snap.replacement.instances[1:],
                ),
            ),
        )
        app.feed(failed)
        await pilot.pause()
        assert NASTY in text_of(app.dashboard.query_one("#banner"))
        table = app.dashboard.query_one("#replacement").table
        row = table.get_row_at(0)
        assert any("[Failed]" in str(cell) for cell in row), row

    run(body)
