"""Milliseconds per dashboard refresh for fleets of 4 to 1,000 instances per environment.

Measures, in the same run, the dashboard as it is (instance tables that draw only the rows on
screen) against the same dashboard whose instance tables are Textual DataTables updated cell by
cell by row key (the naive baseline: what the panels were before). Builds snapshots by hand
(a cutover mid-reroute: both fleets, health in one target group,
lifecycle events, some targets draining), feeds a new one to the running app for every
refresh, and measures the CPU time of `feed()` plus the layout and paint it causes (until
the app is idle; CPU time, because waiting for idleness itself takes wall time that is not
work). `feed` alone (the widget updates, synchronous) is shown too. Each refresh changes a
few instances' states, as a real poll does. The variants alternate in rounds, so a busy
machine slows them alike. "ours, no GC" runs with Python's cyclic garbage collector paused
during the refreshes: the p95 of the others is mostly its full collections, whose cost grows
with the live objects (the snapshots) whatever the widgets do; this row shows the
widgets'. Run by hand:

    .venv/bin/python bench/render_cost.py [--refreshes 60]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cutover.backend.config import TargetConfig
from cutover.backend.model import (
    Check,
    Deployment,
    Environment,
    Instance,
    LifecycleEvent,
    Snapshot,
    TargetHealth,
    Traffic,
)
from cutover.tui.app import CutoverApp
from cutover.tui.polling import timeline_events
from cutover.tui.screens import dashboard
from cutover.tui.widgets.common import TextStatic
from cutover.tui.widgets.environment import EnvironmentPanel, summary_text
from cutover.tui.widgets.rows import COLUMNS, Row
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Sparkline

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
INSTALL = ("ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall")


def instance(i: int, role: str, tick: int) -> Instance:
    iid = f"i-{role[0]}{i:016x}"
    state = "healthy"
    if role == "original" and (i + tick) % 7 == 0:
        state = "draining"
    if role == "replacement" and (i + tick) % 11 == 0:
        state = "initial"
    events = tuple(
        LifecycleEvent(name, "Succeeded", NOW - timedelta(minutes=5), NOW - timedelta(minutes=4))
        for name in INSTALL
    )
    return Instance(
        id=iid,
        az=f"us-east-1{'ab'[i % 2]}",
        instance_type="t3.micro",
        ec2_state="running",
        label="Blue" if role == "original" else "Green",
        lifecycle_status="InProgress" if state != "healthy" else "Succeeded",
        current_event="BlockTraffic" if state == "draining" else None,
        events=events,
        health=(
            TargetHealth(
                "web-tg",
                "target-group",
                state,
                "Target.DeregistrationInProgress" if state == "draining" else None,
                drain_deadline=NOW + timedelta(seconds=40) if state == "draining" else None,
            ),
        ),
    )


def snapshot(n: int, tick: int) -> Snapshot:
    dep = Deployment(
        id="d-BENCH0001",
        status="InProgress",
        phase="rerouting",
        application="web",
        deployment_group="web-prod",
        style="BLUE_GREEN",
        traffic_control=True,
        revision="s3://web-revisions/web/v2.zip",
        previous_revision="s3://web-revisions/web/v1.zip",
        create_time=NOW - timedelta(minutes=10),
    )
    return Snapshot(
        target="bench",
        server_time=NOW + timedelta(seconds=tick),
        application="web",
        deployment_group="web-prod",
        account="123456789012",
        region="us-east-1",
        deployment=dep,
        original=Environment("original", tuple(instance(i, "original", tick) for i in range(n))),
        replacement=Environment(
            "replacement", tuple(instance(i, "replacement", tick) for i in range(n))
        ),
        traffic=Traffic(40.0 + tick % 10, 60.0 - tick % 10, "healthy registered targets"),
        gates=(Check("capacity", True, "replacement has enough capacity"),),
        actions=(Check("rollback", True, "the originals are still there"),),
        target_groups=("web-tg",),
    )


class DataTablePanel(EnvironmentPanel):
    """The baseline: the same panel over a DataTable, rows added, removed and updated cell by
    cell by instance id (unchanged rows skipped), in fleet order (no sort)."""

    def compose(self) -> ComposeResult:
        yield TextStatic(classes="env-summary")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
        for name in COLUMNS:
            table.add_column(name, key=name)
        yield table
        with Vertical(classes="env-sparks"):
            yield Sparkline([], summary_function=max, classes="spark-healthy")
            yield TextStatic(classes="env-metrics")

    def show(self, env: Environment | None, now: datetime, server_time: datetime) -> None:
        if env is None:  # before the first snapshot
            self.query_one(".env-summary", TextStatic).set_text(Text("none yet"))
            return
        rows = self._rows(env, now)
        self.query_one(".env-summary", TextStatic).set_text(summary_text(env, rows))
        table = self.query_one(DataTable)
        with self.app.batch_update():
            for row in rows:
                cells = (Text(row.id), *row.cells)  # built for every row: DataTable keeps them
                if row.id not in table.rows:
                    table.add_row(*cells, key=row.id)
                    self._drawn[row.id] = row
                elif not row.same_as(self._drawn[row.id]):
                    for col, cell in zip(COLUMNS, cells, strict=True):
                        table.update_cell(row.id, col, cell, update_width=True)
                    self._drawn[row.id] = row

    def _fit_sparks(self) -> None:
        pass

    @property
    def _drawn(self) -> dict[str, Row]:
        if not hasattr(self, "_drawn_rows"):
            self._drawn_rows: dict[str, Row] = {}
        return self._drawn_rows


async def measure(
    n: int, refreshes: int, naive: bool, gc_off: bool = False
) -> tuple[list[float], list[float], list[float]]:
    target = TargetConfig(name="bench", application="web", deployment_group="web-prod")
    clock = {"now": NOW}
    # The dashboard composes its panels by this name: the baseline swaps the class in.
    dashboard.EnvironmentPanel = DataTablePanel if naive else EnvironmentPanel  # type: ignore[misc]
    app = CutoverApp(target, poll=False, now=lambda: clock["now"])
    cpu: list[float] = []
    update: list[float] = []
    worker: list[float] = []
    async with app.run_test(size=(140, 45)) as pilot:
        app.feed(snapshot(n, 0))
        await pilot.pause()
        if gc_off:
            gc.disable()
        for tick in range(1, refreshes + 1):
            snap = snapshot(n, tick)
            clock["now"] = snap.server_time
            # The poll worker works out the timeline's events before the loop sees the
            # snapshot; timed apart, as it runs off the loop.
            d0 = time.process_time()
            events = timeline_events(app.snapshot, snap)
            worker.append((time.process_time() - d0) * 1000)
            c0 = time.process_time()
            t0 = time.perf_counter()
            app.feed(replace(snap), events)
            update.append((time.perf_counter() - t0) * 1000)
            await pilot.pause()
            cpu.append((time.process_time() - c0) * 1000)
        gc.enable()
    dashboard.EnvironmentPanel = EnvironmentPanel  # type: ignore[misc]
    return cpu, update, worker


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sizes", default="4,50,200,1000")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    print(
        "milliseconds per refresh (CPU: feed + layout + paint on the event loop; update: feed"
        " alone; timeline: the poll worker's comparison with the last snapshot)"
    )
    print(
        f"{'instances/env':>13}  {'table':<11}  {'CPU median':>10}  {'CPU p95':>8}"
        f"  {'update median':>13}  {'timeline median':>15}  {'p95 ours/naive':>14}"
    )
    ours95: dict[int, float] = {}
    nogc95: dict[int, float] = {}
    ratio: dict[int, float] = {}
    for n in sizes:
        variants = ("ours", "DataTable", "ours, no GC")
        runs: dict[str, tuple[list[float], ...]] = {v: ([], [], []) for v in variants}
        per_round = max(1, args.refreshes // args.rounds)
        for _ in range(args.rounds):
            for name in variants:
                naive = name == "DataTable"
                # The DataTable takes seconds per refresh at 1,000: a few refreshes say it.
                count = max(3, per_round // 4) if naive and n >= 1000 else per_round
                got = asyncio.run(measure(n, count, naive, gc_off=name == "ours, no GC"))
                for into, values in zip(runs[name], got, strict=True):
                    into.extend(values)
        ours95[n] = p95(runs["ours"][0])
        nogc95[n] = p95(runs["ours, no GC"][0])
        ratio[n] = ours95[n] / p95(runs["DataTable"][0])
        for name in variants:
            cpu, update, worker = runs[name]
            share = f"{ratio[n]:>14.2f}" if name == "ours" else ""
            print(
                f"{n:>13}  {name:<11}  {statistics.median(cpu):>10.1f}  {p95(cpu):>8.1f}"
                f"  {statistics.median(update):>13.1f}  {statistics.median(worker):>15.1f}"
                f"  {share}"
            )
    if 200 in ratio:
        print(f"ratio p95 at 200: {ratio[200]:.2f}")
        if 1000 in ours95:
            print(f"ours p95 at 1000 / ours p95 at 200: {ours95[1000] / ours95[200]:.2f}")
            print(
                f"ours p95 at 1000 / at 200 without Python's cyclic GC: "
                f"{nogc95[1000] / nogc95[200]:.2f}"
            )


if __name__ == "__main__":
    main()
