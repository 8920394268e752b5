"""The world keeps moving behind dialogs: polling goes on while one is open, and a
confirmation whose plan the state has overtaken says so before anything is sent."""

from __future__ import annotations

import asyncio

from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.help import HelpScreen

from tests.e2e.conftest import Live, text_of, wait_until


def test_the_approve_confirm_says_when_the_deployment_was_stopped_behind_it(live: Live) -> None:
    asyncio.run(_stopped_behind(live))


async def _stopped_behind(live: Live) -> None:
    app = live.app
    cd = live.client("codedeploy")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        dep_id = live.deploy()
        await wait_until(
            pilot,
            lambda: app.snapshot is not None and app.snapshot.action("approve").passed,
            what="approve allowed",
        )
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.stale is None
        opened_at = app.snapshot.server_time  # type: ignore[union-attr]

        cd.stop_deployment(deploymentId=dep_id, autoRollbackEnabled=False)
        await wait_until(pilot, lambda: confirm.stale is not None, what="the confirm told")
        moved = text_of(confirm.query_one("#moved"))
        assert moved.startswith("OUT OF DATE: ") and dep_id in moved and "Stopped" in moved
        prompt = text_of(confirm.query_one("#prompt"))
        assert "Sending is off: the controller would refuse this plan now" in prompt
        # Behind the dialog, the dashboard kept reading: a newer snapshot, shown.
        assert app.snapshot is not None and app.snapshot.server_time > opened_at
        assert app.screen is confirm

        await pilot.press("y")
        await pilot.pause()
        assert app.screen is confirm, "a plan the state has overtaken is not sent"
        assert any(n.title == "approve: plan out of date" for n in app._notifications)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
    sent = [r for r in live.audit.records() if r["action"] == "approve"]
    assert all(r["outcome"] != "intent" for r in sent), sent


def test_the_dashboard_stays_fresh_behind_a_dialog(live: Live) -> None:
    asyncio.run(_fresh_behind(live))


async def _fresh_behind(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        first = app.snapshot
        assert first is not None
        live.deploy()
        # The deployment started while the help screen is up reaches the dashboard behind it.
        await wait_until(
            pilot,
            lambda: (
                "InProgress" in text_of(app.dashboard.query_one("#header"))
                or "Ready" in text_of(app.dashboard.query_one("#header"))
            ),
            what="the new deployment behind the dialog",
        )
        assert isinstance(app.screen, HelpScreen)
        assert app.snapshot is not first


def test_a_phase_moved_on_is_said_and_a_changed_status_turns_sending_off() -> None:
    from cutover.backend.actions import Plan
    from cutover.backend.config import TargetConfig
    from cutover.tui.app import CutoverApp

    from tests.e2e.fakes import TARGET, snapshot

    installing = snapshot("installing")
    dep = installing.deployment
    assert dep is not None and dep.status == "InProgress"
    plan = Plan(
        action="stop",
        target="t",
        summary=f"Stop {dep.id}",
        deployment_id=dep.id,
        expect_status="InProgress",
    )
    app = CutoverApp(TargetConfig(**TARGET.__dict__), poll=False)

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            app.feed(installing)
            confirm = ConfirmScreen(plan, installing)
            answers: list[bool | None] = []
            await app.push_screen(confirm, answers.append)
            await pilot.pause()
            confirm.against(snapshot("rerouting"))
            await pilot.pause()
            assert confirm.stale is None
            moved = text_of(confirm.query_one("#moved"))
            assert f"{dep.id} moved on since the plan was made: installing -> rerouting" in moved
            assert "the plan still applies" in moved
            confirm.against(snapshot("ready"))  # Ready: not the InProgress the plan expects
            await pilot.pause()
            assert confirm.stale is not None and "Ready" in confirm.stale
            await pilot.press("y")
            assert app.screen is confirm and not answers
            confirm.against(snapshot("rerouting"))  # back as planned: sending is on again
            await pilot.pause()
            assert "Send it?" in text_of(confirm.query_one("#prompt"))
            await pilot.press("y")
            await pilot.pause()
            assert answers == [True]

    asyncio.run(main())
