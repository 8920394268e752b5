"""Snapshot tests of the main screens at a laptop's 80x24, the README's 120x40 and a wide 200x60,
fed hand-built snapshots and a frozen clock."""

from __future__ import annotations

from typing import Any

import pytest
from cutover.backend.actions import ApiCall, Plan
from cutover.tui.app import CutoverApp
from cutover.tui.screens.confirm import ConfirmScreen
from textual.pilot import Pilot
from textual.widgets import Input

from tests.e2e.fakes import DEP, NOW, TARGET, installing_then_ready, verdict_state
from tests.e2e.test_layout import long_plan
from tests.e2e.test_leftovers_ui import in_place

SIZES = pytest.mark.parametrize(
    "size", [(80, 24), (120, 40), (200, 60)], ids=lambda s: "x".join(map(str, s))
)


def make_app() -> CutoverApp:
    return CutoverApp(TARGET, now=lambda: NOW, poll=False)


async def fed(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, CutoverApp)
    await pilot.pause()
    for snap in installing_then_ready():
        app.feed(snap)
    await pilot.pause()


@SIZES
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=fed)


async def steady_cursor(pilot: Pilot[Any]) -> None:
    """Stop the token field's cursor blinking: where it is in its blink when the picture is
    taken depends on how busy the machine is."""
    await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@SIZES
def test_help_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await fed(pilot)
        await pilot.press("question_mark")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_confirm_screen_long_plan(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await fed(pilot)
        await pilot.app.push_screen(ConfirmScreen(long_plan()))
        await steady_cursor(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@SIZES
def test_in_place_fleet(snap_compare: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        app = pilot.app
        assert isinstance(app, CutoverApp)
        app.feed(in_place(None, active=True))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("level", ["SAFE", "DEGRADED", "OUTAGE"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: "x".join(map(str, s)))
def test_verdict(snap_compare: Any, level: str, size: tuple[int, int]) -> None:
    """The verdict line in the header, in each of its states, in the termination wait."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        app = pilot.app
        assert isinstance(app, CutoverApp)
        app.feed(verdict_state(level))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_confirm_screen(snap_compare: Any) -> None:
    size = (120, 40)
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
        await pilot.app.push_screen(ConfirmScreen(plan))
        await steady_cursor(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
