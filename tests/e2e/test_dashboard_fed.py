"""Dashboard behaviour on hand-built snapshots: keys, read-only, bell, banner, details."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from cutover.backend.config import TargetConfig
from cutover.backend.model import Check
from cutover.tui.app import CutoverApp
from cutover.tui.screens.help import HelpScreen
from cutover.tui.screens.instance import InstanceScreen

from tests.e2e.conftest import text_of
from tests.e2e.fakes import NOW, TARGET, installing_then_ready, snapshot


def run(app: CutoverApp, body: Any) -> None:
    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await body(app, pilot)

    asyncio.run(main())


def test_keys_dim_with_reason_and_bell_rings_once() -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]

    async def body(app: CutoverApp, pilot: Any) -> None:
        installing, ready = installing_then_ready()
        app.feed(installing)
        screen = app.dashboard
        assert screen.check_action("approve", ()) is None  # dimmed: not waiting
        assert screen.check_action("rollback", ()) is True
        assert "not waiting for approval" in text_of(screen.query_one("#why"))
        assert rings == []
        app.feed(ready)
        app.feed(replace(ready, server_time=NOW))
        assert screen.check_action("approve", ()) is True
        assert rings == [1], "the bell rings once per deployment"
        banner = text_of(screen.query_one("#banner"))
        assert "press r to approve" in banner and "47m 30s left" in banner
        assert "v1 -> v2" in text_of(screen.query_one("#header"))
        assert screen.query_one("#replacement").table.row_count == 4

    run(app, body)


def test_read_only_removes_mutating_keys_and_commands() -> None:
    target = TargetConfig(**{**TARGET.__dict__, "read_only": True})
    app = CutoverApp(target, now=lambda: NOW, poll=False)

    async def body(app: CutoverApp, pilot: Any) -> None:
        app.feed(snapshot("ready"))
        screen = app.dashboard
        for action in ("approve", "terminate", "rollback", "stop", "deploy", "shift"):
            assert screen.check_action(action, ()) is False
        assert screen.check_action("picker", ()) is True
        await pilot.press("r")
        assert app.screen is screen  # nothing opened
        from cutover.tui.commands import CutoverCommands

        provider = CutoverCommands(screen)
        titles = [title for title, *_ in provider._commands()]
        assert "Approve reroute" not in titles and "Help" in titles

    run(app, body)


def test_failed_deployment_banner_says_why() -> None:
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)

    async def body(app: CutoverApp, pilot: Any) -> None:
        snap = snapshot("ready")
        assert snap.deployment is not None and snap.replacement is not None
        bad = replace(
            snap.replacement.instances[0],
            lifecycle_status="Failed",
            events=(
                *snap.replacement.instances[0].events,
                replace(
                    snap.replacement.instances[0].events[-1],
                    name="ValidateService",
                    status="Failed",
                    error_code="ScriptFailed",
                    message="validate.sh exited 1",
                    log_tail="curl: (7) connection refused",
                ),
            ),
        )
        failed = replace(
            snap,
            deployment=replace(
                snap.deployment,
                status="Failed",
                phase="failed",
                waiting_for=None,
                error_code="HEALTH_CONSTRAINTS",
                error_message="too many individual instances failed",
            ),
            replacement=replace(snap.replacement, instances=(bad, *snap.replacement.instances[1:])),
        )
        app.feed(failed)
        banner = text_of(app.dashboard.query_one("#banner"))
        assert "Failed" in banner and "HEALTH_CONSTRAINTS" in banner
        assert f"{bad.id} failed at ValidateService: validate.sh exited 1" in banner
        # Enter on the failing row opens its details with diagnostics and the log tail.
        table = app.dashboard.query_one("#replacement").table
        table.focus()
        table.move_cursor(row=table.get_row_index(bad.id))
        await pilot.press("enter")
        assert isinstance(app.screen, InstanceScreen)
        details = text_of(app.screen.query_one("#instance-text"))
        assert "ScriptFailed" in details and "connection refused" in details
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)

    run(app, body)


def test_sparkline_text() -> None:
    from cutover.tui.widgets.environment import spark

    assert spark([1, 2, 3, 4, 5]) == "▁▃▅▆█"
    assert spark([0, 0]) == "▁▁"
    assert spark([]) == ""


def test_ready_with_a_failing_gate_says_so_in_the_banner() -> None:
    """At Ready with a gate failing (a replacement unhealthy in the preview, say), the banner
    must not just say "press r to approve": it says a gate fails and which, as the
    termination wait's banner does."""
    app = CutoverApp(TARGET, now=lambda: NOW, poll=False)

    async def body(app: CutoverApp, pilot: Any) -> None:
        ready = snapshot("ready")
        why = "i-0a is unhealthy in preview web-preview-tg (Target.ResponseCodeMismatch)"
        failing = replace(
            ready,
            gates=(Check("replacement-healthy", False, why), *ready.gates[1:]),
            actions=tuple(
                Check("approve", False, f"a gate failed: {why}", overridable=True)
                if c.name == "approve"
                else c
                for c in ready.actions
            ),
        )
        app.feed(failing)
        await pilot.pause()
        banner = text_of(app.dashboard.query_one("#banner"))
        assert "Replacement ready, but a gate fails" in banner, banner
        assert why in banner and "47m 30s left" in banner
        assert "press r to approve the reroute" not in banner

    run(app, body)
