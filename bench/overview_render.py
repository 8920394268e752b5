"""Milliseconds per overview refresh at 12, 100 and 500 deployment groups.

Measures, in the same run, the overview's table as it is (cells rewritten in place, rows
added or removed only when the number of groups changes) against the same screen drawing
every row anew on each refresh (`show(..., rebuild=True)`: what a refresh cost before). Rows
are built by hand at a frozen clock that moves a second per refresh (the countdowns and ages
change, as they do every second on screen); every fifth refresh a quiet group starts a
deployment and moves to the top (a re-sort). The cursor sits on a group deep in the list.
CPU time of `feed()` plus the layout and paint it causes (until the app is idle); the
variants alternate in rounds, so a busy machine slows them alike. Run by hand:

    .venv/bin/python bench/overview_render.py [--refreshes 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from cutover.tui import overview_app
from cutover.tui.overview_app import OverviewApp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.fakes import NOW
from tests.e2e.overview_fakes import large_estate


class Rebuilding(OverviewApp):
    """The baseline: every row drawn anew each refresh."""

    CSS_PATH = str(Path(overview_app.__file__).parent / "app.tcss")

    def render_view(self) -> None:
        if not self.screen_stack or not self.screen_overview.is_mounted:
            return
        now = self.now()
        self.screen_overview.show(self.rows, now, self.banner(now), rebuild=True)


def tick_rows(rows: list[Any], tick: int) -> list[Any]:
    if tick % 5:
        return rows
    moved = len(rows) - 1 - tick % (len(rows) // 2)
    going = replace(rows[moved], attention=rows[2].attention, deployment=rows[2].deployment)
    return [going, *rows[:moved], *rows[moved + 1 :]]


async def measure(n: int, refreshes: int, rebuild: bool) -> list[float]:
    clock = {"now": NOW}
    rows = large_estate(n)
    cls = Rebuilding if rebuild else OverviewApp
    app = cls(now=lambda: clock["now"], rows=rows, select=rows[int(n * 0.8)].key)
    app.bell = lambda: None  # type: ignore[method-assign]
    cpu: list[float] = []
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        for tick in range(1, refreshes + 1):
            clock["now"] = NOW + timedelta(seconds=tick)
            fed = tick_rows(rows, tick)
            c0 = time.process_time()
            app.feed(fed)
            await pilot.pause()
            cpu.append((time.process_time() - c0) * 1000)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sizes", default="12,100,500")
    args = parser.parse_args()
    print("milliseconds per overview refresh (CPU: feed + layout + paint on the event loop)")
    print(f"{'groups':>6}  {'in place':>9}  {'rebuild':>8}  {'in place/rebuild':>16}")
    for n in [int(s) for s in args.sizes.split(",")]:
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for rebuild in (False, True):
                per_round = max(1, args.refreshes // args.rounds)
                runs[rebuild] += asyncio.run(measure(n, per_round, rebuild))
        ours, base = statistics.median(runs[False]), statistics.median(runs[True])
        print(f"{n:>6}  {ours:>9.1f}  {base:>8.1f}  {ours / base:>16.2f}")


if __name__ == "__main__":
    main()
