"""The dashboard at a laptop's 80x24: what decides the next keypress is on screen, whole."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cutover.backend.actions import ApiCall, Controller, Plan
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.tui.app import CutoverApp
from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.help import KEYS
from textual.containers import VerticalScroll
from textual.pilot import Pilot

from tests.e2e.conftest import text_of
from tests.e2e.fakes import DEP, NOW, TARGET, installing_then_ready, snapshot
from tests.e2e.test_leftovers_ui import in_place


def screen_lines(app: Any) -> list[str]:
    """The terminal as a person sees it: one string per row of cells."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def squeezed(text: str) -> str:
    """Text with borders, scrollbars and whitespace gone, so a wrapped line reads as one."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in "┃│█▀▄▌▐▊▎▍▋▉▏▕▔▁━─")


def test_a_narrow_terminal_stacks_the_fleets_and_keeps_the_next_key_in_view() -> None:
    asyncio.run(_narrow())


async def _narrow() -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot)
        screen = "\n".join(screen_lines(app))
        original = app.dashboard.query_one("#original").region
        replacement = app.dashboard.query_one("#replacement").region
        # One above the other, full width; the replacement (its health decides) first.
        assert replacement.width == original.width >= 78  # less the scrollbar
        assert replacement.bottom <= original.y
        assert replacement.bottom <= 24 - 2, "the replacement panel is seen without scrolling"
        assert "press r to approve the reroute" in screen
        assert "47m 30s left" in screen
        for key in ("rApprove", "bRoll back", "?Help", "qQuit"):
            assert key in screen.replace(" ", "").replace("Rollback", "Roll back"), key
        assert "t: not in the termination wait" in screen

        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        original = app.dashboard.query_one("#original").region
        replacement = app.dashboard.query_one("#replacement").region
        assert original.y == replacement.y and original.right <= replacement.x


def test_the_help_reads_whole_at_80x24() -> None:
    asyncio.run(_help())


async def _help() -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        seen = squeezed("".join(screen_lines(app)))
        scroll = app.screen.query_one(VerticalScroll)
        while scroll.scroll_y < scroll.max_scroll_y:
            scroll.scroll_down(animate=False)
            await pilot.pause()
            seen += squeezed("".join(screen_lines(app)))
        for key, text in KEYS:
            assert squeezed(text) in seen, f"{key}: {text}"
        assert squeezed("Escape closes this screen.") in seen


def test_panels_with_nothing_to_say_take_one_line() -> None:
    asyncio.run(_quiet())


async def _quiet() -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.feed(snapshot("installing"))
        await pilot.pause()
        gates, timeline = app.dashboard.query_one("#gates"), app.dashboard.query_one("#timeline")
        assert gates.region.height == timeline.region.height == 1
        assert "Gates: none" in text_of(gates)
        assert "Timeline: no changes seen yet" in text_of(timeline)
        app.feed(in_place(()))
        await pilot.pause()
        leftovers = app.dashboard.query_one("#leftovers")
        assert leftovers.region.height == 1
        assert "Leftovers: No leftovers" in "\n".join(screen_lines(app))


def test_the_timeline_keeps_the_time_and_kind_and_wraps_then_cuts_the_middle() -> None:
    asyncio.run(_timeline())


async def _timeline() -> None:
    from cutover.backend.model import Event

    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    async with app.run_test(size=(80, 40)) as pilot:
        await fed(pilot)
        iid = "i-0df884916e3530534"
        failed = (
            f"{iid}: AfterInstall failed (ScriptFailed: Script at specified location:"
            " scripts/after_install.sh run as user root failed with exit code 1)"
        )
        app.events = [*app.events, Event(NOW, "instance", failed, iid)]
        app.render_view()
        await pilot.pause()
        timeline = app.dashboard.query_one("#timeline")
        lines = text_of(timeline).splitlines()
        print("\n".join(lines))
        # An event is its first line and the indented ones under it.
        shown: list[list[str]] = []
        for line in lines:
            if line.startswith(" " * 18) and shown:
                shown[-1].append(line)
            else:
                shown.append([line])
        events = list(reversed(app.events))[: len(shown)]
        assert len(events) >= 3, "the fed snapshots made events"
        width = timeline.content_size.width
        for event_lines, ev in zip(shown, events, strict=True):
            assert all(len(line) <= width for line in event_lines), event_lines
            assert len(event_lines) <= 2, event_lines
            assert f" {ev.kind} " in event_lines[0], event_lines
            # Both ends of the text stay: what it is about, and how it ended.
            assert event_lines[-1].endswith(ev.text[-6:]), event_lines
        first = " ".join(line.strip() for line in shown[0])
        assert "i-…530534: AfterInstall failed" in first, first
        assert first.endswith("exit code 1)"), first


def test_the_whole_continue_deployment_call_reads_at_80x24(tmp_path: Path) -> None:
    asyncio.run(_approve_plan(tmp_path))


async def _approve_plan(tmp_path: Path) -> None:
    controller = Controller(AwsSession(TARGET), TARGET, AuditLog(tmp_path / "audit.jsonl"))
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False, controller=controller)
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        call = next(c for c in app.screen.plan.calls if c.api_name == "ContinueDeployment")
        shown = squeezed("".join(screen_lines(app)))
        assert squeezed(f"call: {call.text()}") in shown, "\n".join(screen_lines(app))
        assert DEP in call.text()
        for line in app.screen.plan.lines():
            assert squeezed(line) in shown, line
        assert "y sends" in "\n".join(screen_lines(app))


def test_a_long_plan_wraps_and_scrolls_with_the_token_in_view_at_80x24() -> None:
    asyncio.run(_long_plan())


async def _long_plan() -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot)
        plan = long_plan()
        app.push_screen(ConfirmScreen(plan))
        await pilot.pause()
        lines = screen_lines(app)
        create = plan.calls[0].text()
        # The typed token and its field are on screen from the start, however long the plan.
        assert f"Type {plan.confirm_token}" in "\n".join(lines)
        field = app.screen.query_one("#token")
        assert field.region.bottom <= 24 and field.region.height > 0
        # Scrolling the plan brings every part of every line into view.
        seen = squeezed("".join(lines))
        scroll = app.screen.query_one("#plan-scroll")
        while scroll.scroll_y < scroll.max_scroll_y:
            scroll.scroll_down(animate=False)
            await pilot.pause()
            seen += squeezed("".join(screen_lines(app)))
        assert scroll.max_scroll_y > 0, "the long plan is taller than 24 rows"
        for line in plan.lines():
            assert squeezed(line) in seen, line
        assert squeezed(create) in seen


def long_plan() -> Plan:
    """A new deployment whose call carries a revision much wider than 80 columns."""
    revision = {
        "revisionType": "S3",
        "s3Location": {
            "bucket": "web-revisions-production-eu-west-1-123456789012",
            "key": "web/releases/2026-03-04/web-v2.14.3-build-88412.zip",
            "bundleType": "zip",
            "eTag": "9b2cf535f27731c974343645a3985328",
        },
    }
    return Plan(
        action="rollback",
        target="prod-web",
        summary=f"Stop {DEP} and roll back to v1",
        deployment_id=DEP,
        calls=(
            ApiCall(
                "codedeploy",
                "CreateDeployment",
                {
                    "applicationName": "web",
                    "deploymentGroupName": "web-prod-blue-green-eu-west-1",
                    "revision": revision,
                    "description": "cutover: roll back web-prod to the revision before v2",
                },
            ),
        ),
        changes=tuple(
            f"replacement instance i-0r0{n}5f3c2a9d1e7b is terminated" for n in range(14)
        ),
        confirm_token=DEP[-4:],
        application="web",
        deployment_group="web-prod",
        account="123456789012",
        region="eu-west-1",
    )


async def fed(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, CutoverApp)
    await pilot.pause()
    for snap in installing_then_ready():
        app.feed(snap)
    await pilot.pause()


def test_the_gates_verdict_is_on_screen_at_80x24_while_ready() -> None:
    asyncio.run(_gates_verdict())


async def _gates_verdict() -> None:
    """The gates decide the approval; at 80x24 their panel is below the fleets, so the line
    above the footer carries their verdict, and a failing gate by name and reason."""
    from dataclasses import replace

    from cutover.backend.model import Check

    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await fed(pilot)
        await pilot.pause()
        screen = screen_lines(app)
        print("\n".join(screen))
        assert app.dashboard.query_one("#gates").region.y >= 24, "the panel is below the fold"
        assert any("Gates all 3 pass" in line for line in screen), screen
        # Every dimmed key's reason still starts on screen, cut with `…` rather than dropped.
        assert any("t: not in the termination wait" in line for line in screen), screen
        assert any("d: deployment" in line for line in screen), screen

        snap = app.snapshot
        assert snap is not None
        failing = Check("alarms", False, "web-tg-5xx is in ALARM since 03:01 (5xx > 10/min)")
        app.feed(replace(snap, gates=(snap.gates[0], snap.gates[1], failing)))
        await pilot.pause()
        screen = screen_lines(app)
        print("\n".join(screen))
        assert any("Gates 1 FAIL  alarms: web-tg-5xx is in ALARM" in line for line in screen)

        # Tall enough for the panel itself: no second copy of the verdict.
        await pilot.resize_terminal(200, 60)
        await pilot.pause()
        await pilot.pause()
        assert not any("Gates 1 FAIL" in line for line in screen_lines(app))
