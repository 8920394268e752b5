"""Snapshot tests of the main screens at 120x40, fed hand-built snapshots and a frozen clock."""

from __future__ import annotations

from typing import Any

from cutover.backend.actions import ApiCall, Plan
from cutover.tui.app import CutoverApp
from cutover.tui.screens.confirm import ConfirmScreen
from textual.pilot import Pilot

from tests.e2e.fakes import DEP, NOW, TARGET, installing_then_ready

SIZE = (120, 40)


def make_app() -> CutoverApp:
    return CutoverApp(TARGET, now=lambda: NOW, poll=False)


async def fed(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, CutoverApp)
    await pilot.pause()
    for snap in installing_then_ready():
        app.feed(snap)
    await pilot.pause()


def test_main_screen(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=fed)


def test_help_screen(snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await fed(pilot)
        await pilot.press("question_mark")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_confirm_screen(snap_compare: Any) -> None:
    plan = Plan(
        action="rollback",
        target="prod-web",
        summary=f"Stop {DEP} and roll back to v1",
        deployment_id=DEP,
        calls=(
            ApiCall(
                "codedeploy", "stop_deployment", {"deploymentId": DEP, "autoRollbackEnabled": True}
            ),
        ),
        changes=("the replacement fleet is deregistered and terminated",),
        confirm_token=DEP[-4:],
        application="web",
        deployment_group="web-prod",
        account="123456789012",
        region="eu-west-1",
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await fed(pilot)
        pilot.app.push_screen(ConfirmScreen(plan))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
