"""The instance tables as a person reads them: at 80x24, every replacement's health in words
during Ready and during the reroute, trouble first, `o` for id order, the counts, no `None`."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from cutover.backend.model import Environment, Instance, Snapshot, TargetHealth
from cutover.tui.app import CutoverApp
from cutover.tui.screens.instance import InstanceScreen
from cutover.tui.widgets.rows import short_id

from tests.e2e.conftest import text_of
from tests.e2e.fakes import NOW, TARGET, snapshot

# Instance ids as EC2 makes them: the tails tell them apart.
IDS = {
    "original": [
        "i-0c1e5a9f3b7d21a04",
        "i-0f2b6d8e4c1a93b17",
        "i-07a3c9e1d5b2f4c26",
        "i-0d4f8b2a6e9c15d39",
    ],
    "replacement": [
        "i-0b9d3f7a1c5e82e41",
        "i-05e1a7c3f9b4d6f52",
        "i-0a8c2e6b4d1f37a63",
        "i-03f7b1d9e5a2c8b74",
    ],
}


def renamed(env: Environment) -> Environment:
    return replace(
        env,
        instances=tuple(
            replace(i, id=new) for i, new in zip(env.instances, IDS[env.role], strict=True)
        ),
    )


def ready() -> Snapshot:
    snap = snapshot("ready")
    assert snap.original and snap.replacement
    return replace(snap, original=renamed(snap.original), replacement=renamed(snap.replacement))


def tg(state: str, reason: str | None = None, **kw: Any) -> tuple[TargetHealth, ...]:
    return (TargetHealth("web-tg", "target-group", state, reason, port=80, **kw),)


def rerouting() -> Snapshot:
    """Traffic moving: two originals draining, one replacement still in its first checks,
    one failing them."""
    snap = ready()
    assert snap.deployment and snap.original and snap.replacement
    drain = tg(
        "draining",
        "Target.DeregistrationInProgress",
        drain_deadline=NOW + timedelta(seconds=40),
    )
    o = snap.original.instances
    r = snap.replacement.instances
    originals = (replace(o[0], health=drain), replace(o[1], health=drain), *o[2:])
    replacements = (
        replace(r[0], lifecycle_status="InProgress", current_event="AllowTraffic"),
        replace(r[1], health=tg("initial", "Elb.InitialHealthChecking")),
        replace(r[2], health=tg("unhealthy", "Target.Timeout")),
        r[3],
    )
    dep = replace(snap.deployment, status="InProgress", phase="rerouting", waiting_for=None)
    return replace(
        snap,
        server_time=NOW,
        deployment=dep,
        original=replace(snap.original, instances=originals),
        replacement=replace(snap.replacement, instances=replacements),
    )


def run(body: Any, size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(app, pilot)

    asyncio.run(main())


def shown(app: CutoverApp, panel: str) -> list[str]:
    """The table's lines as drawn, header first."""
    return app.dashboard.query_one(f"#{panel}").table.shown_text()


def line_of(lines: list[str], iid: str) -> str:
    found = [line for line in lines if short_id(iid) in line or iid in line]
    assert len(found) == 1, (iid, lines)
    return found[0]


def test_every_replacement_health_readable_at_80x24() -> None:
    async def body(app: CutoverApp, pilot: Any) -> None:
        app.feed(ready())
        await pilot.pause()
        lines = shown(app, "replacement")
        print("\n".join(lines))
        for iid in IDS["replacement"]:
            assert line_of(lines, iid).split()[1] == "healthy"

        app.feed(rerouting())
        await pilot.pause()
        lines = shown(app, "replacement")
        print("\n".join(lines))
        r = IDS["replacement"]
        # Trouble first: unhealthy, initial, in progress, then healthy.
        order = [lines.index(line_of(lines, iid)) for iid in (r[2], r[1], r[0], r[3])]
        assert order == [1, 2, 3, 4], lines
        assert "unhealthy: timed out" in line_of(lines, r[2])
        assert "initial: first checks" in line_of(lines, r[1])
        assert "healthy" in line_of(lines, r[0]) and "healthy" in line_of(lines, r[3])
        originals = shown(app, "original")
        print("\n".join(originals))
        for iid in IDS["original"][:2]:
            assert "draining 40s left" in line_of(originals, iid)
        summary = text_of(app.dashboard.query_one("#replacement .env-summary"))
        assert summary.startswith("1 unhealthy, 1 initial, 1 in progress, 1 healthy")
        assert summary.startswith("2 draining, 2 healthy") is False
        assert text_of(app.dashboard.query_one("#original .env-summary")).startswith(
            "2 draining, 2 healthy"
        )

    run(body)


def test_o_toggles_id_order_and_the_cursor_stays_on_its_instance() -> None:
    async def body(app: CutoverApp, pilot: Any) -> None:
        app.feed(rerouting())
        await pilot.pause()
        table = app.dashboard.query_one("#replacement").table
        table.focus()
        r = IDS["replacement"]
        assert table.row_ids == [r[2], r[1], r[0], r[3]]
        await pilot.press("down")  # onto r[1], the one in its first checks
        assert table.cursor_id == r[1]
        await pilot.press("o")
        assert table.row_ids == sorted(r)
        assert app.dashboard.query_one("#original").table.row_ids == sorted(IDS["original"])
        assert table.cursor_id == r[1]
        assert "by id" in str(app.dashboard.query_one("#replacement").border_subtitle)
        # A new snapshot re-sorts nothing in id order, and the cursor follows its instance.
        healed = rerouting()
        assert healed.replacement
        fixed = replace(healed.replacement.instances[2], health=tg("healthy"))
        app.feed(
            replace(
                healed,
                replacement=replace(
                    healed.replacement,
                    instances=(
                        *healed.replacement.instances[:2],
                        fixed,
                        healed.replacement.instances[3],
                    ),
                ),
                server_time=NOW + timedelta(seconds=2),
            )
        )
        await pilot.pause()
        await pilot.press("o")
        # initial, in progress, then the healthy ones by id
        assert table.row_ids == [r[1], r[0], r[3], r[2]]
        assert table.cursor_id == r[1]
        await pilot.press("enter")
        assert isinstance(app.screen, InstanceScreen)
        assert r[1] in text_of(app.screen.query_one("#instance-text"))  # whole, not shortened

    run(body)


def test_deleted_group_and_unknown_revision_said_in_words() -> None:
    async def body(app: CutoverApp, pilot: Any) -> None:
        snap = rerouting()
        assert snap.original and snap.deployment
        gone = replace(snap.original, desired=None, instances=())
        app.feed(
            replace(
                snap,
                original=gone,
                deployment=replace(snap.deployment, previous_revision=None),
            )
        )
        await pilot.pause()
        summary = text_of(app.dashboard.query_one("#original .env-summary"))
        assert "web-asg deleted" in summary and "None" not in summary
        header = text_of(app.dashboard.query_one("#header"))
        assert "?" not in header and "v2 (no earlier revision known)" in header
        everything = " ".join(
            " ".join(app.dashboard.query_one(f"#{p}").table.shown_text())
            + text_of(app.dashboard.query_one(f"#{p} .env-summary"))
            for p in ("original", "replacement")
        )
        for leak in ("None", "?", "InProgress", "Target.", "Elb."):
            assert leak not in everything, leak

    run(body, size=(120, 40))


def test_instance_without_az_or_state_has_no_question_marks() -> None:
    async def body(app: CutoverApp, pilot: Any) -> None:
        snap = ready()
        assert snap.replacement
        bare = Instance(id=IDS["replacement"][0])
        app.feed(replace(snap, replacement=replace(snap.replacement, instances=(bare,))))
        await pilot.pause()
        app.open_instance(bare.id)
        await pilot.pause()
        details = text_of(app.screen.query_one("#instance-text"))
        assert "?" not in details and "None" not in details

    run(body, size=(120, 40))


def test_a_thousand_instances_draw_only_the_rows_on_screen() -> None:
    async def body(app: CutoverApp, pilot: Any) -> None:
        snap = ready()
        assert snap.replacement
        base = snap.replacement.instances[0]
        fleet = tuple(replace(base, id=f"i-0{n:016x}") for n in range(1000))
        big = replace(snap, replacement=replace(snap.replacement, instances=fleet))
        table = app.dashboard.query_one("#replacement").table
        drawn: list[int] = []
        render_line = table.render_line

        def counted(y: int) -> Any:
            drawn.append(y)
            return render_line(y)

        table.render_line = counted  # type: ignore[method-assign]
        app.feed(big)
        await pilot.pause()
        assert table.row_count == 1000
        assert 0 < len(drawn) <= 3 * table.size.height
        # One instance far below the screen turns unhealthy: it sorts to the top, so the
        # screen changes, and is drawn again, and only the screen.
        drawn.clear()
        sick = replace(fleet[700], health=tg("unhealthy", "Target.Timeout"))
        worse = (*fleet[:700], sick, *fleet[701:])
        app.feed(replace(big, replacement=replace(big.replacement, instances=worse)))
        await pilot.pause()
        assert table.row_ids[0] == sick.id
        assert "unhealthy: timed out" in table.shown_text()[1]
        assert 0 < len(drawn) <= 3 * table.size.height
        # In id order, the same change far below the screen costs no drawing at all.
        await pilot.press("o")
        await pilot.pause()
        drawn.clear()
        app.feed(replace(big, replacement=replace(big.replacement, instances=fleet)))
        await pilot.pause()
        assert drawn == []
        text = text_of(app.dashboard.query_one("#replacement .env-summary"))
        assert text.startswith("1000 healthy")

    run(body, size=(120, 40))


def test_both_tables_shorten_ids_together_at_every_width() -> None:
    """Draining originals need a wider health column than the replacements: at some widths
    one table alone would cut its ids. The same instance kind must read one way on screen."""

    async def body(app: CutoverApp, pilot: Any) -> None:
        app.feed(rerouting())
        seen = set()
        for width in range(110, 201, 6):
            await pilot.resize_terminal(width, 40)
            await pilot.pause()
            await pilot.pause()  # a table that changed its ids asks the other to follow
            styles = set()
            for panel in ("original", "replacement"):
                lines = shown(app, panel)
                for iid in IDS[panel]:
                    line = line_of(lines, iid)
                    styles.add("whole" if iid in line else f"{len(line.split()[0])} wide")
            assert len(styles) == 1, (width, styles)
            seen |= styles
        # Both kinds were met on the way, so the widths tried cross the line.
        assert "whole" in seen and len(seen) == 2, seen

    run(body, size=(110, 40))
