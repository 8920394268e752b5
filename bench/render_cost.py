"""Milliseconds per dashboard refresh for fleets of 4, 50 and 200 instances per environment.

Builds snapshots by hand (a cutover mid-reroute: both fleets, health in one target group,
lifecycle events, some targets draining), feeds a new one to the running app for every
refresh, and measures the CPU time of `feed()` plus the layout and paint it causes (until
the app is idle; CPU time, because waiting for idleness itself takes wall time that is not
work). `feed` alone (the widget updates, synchronous) is shown too. Each refresh changes a
few instances' states, as a real poll does. Run by hand:

    .venv/bin/python bench/render_cost.py [--refreshes 60]
"""

from __future__ import annotations

import argparse
import asyncio
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


async def measure(n: int, refreshes: int) -> tuple[list[float], list[float]]:
    target = TargetConfig(name="bench", application="web", deployment_group="web-prod")
    clock = {"now": NOW}
    app = CutoverApp(target, poll=False, now=lambda: clock["now"])
    cpu: list[float] = []
    update: list[float] = []
    async with app.run_test(size=(140, 45)) as pilot:
        app.feed(snapshot(n, 0))
        await pilot.pause()
        for tick in range(1, refreshes + 1):
            snap = snapshot(n, tick)
            clock["now"] = snap.server_time
            c0 = time.process_time()
            t0 = time.perf_counter()
            app.feed(replace(snap))
            update.append((time.perf_counter() - t0) * 1000)
            await pilot.pause()
            cpu.append((time.process_time() - c0) * 1000)
    return cpu, update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=60)
    args = parser.parse_args()
    print("milliseconds per refresh (CPU: feed + layout + paint; update: feed alone)")
    print(f"{'instances/env':>13}  {'CPU median':>10}  {'CPU p95':>8}  {'update median':>13}")
    for n in (4, 50, 200):
        cpu, update = asyncio.run(measure(n, args.refreshes))
        cpu.sort()
        p95 = cpu[min(len(cpu) - 1, int(len(cpu) * 0.95))]
        print(
            f"{n:>13}  {statistics.median(cpu):>10.1f}  {p95:>8.1f}  "
            f"{statistics.median(update):>13.1f}"
        )


if __name__ == "__main__":
    main()
