"""How the dashboard rides out the AWS API going dark for 30 s (real seconds), and how long
after the endpoint answers again the view is fresh.

Runs the real app headless (Textual's run_test) against an in-process sandbox with the
production settings (poll every 2 s, botocore's 4 attempts, MAX_BACKOFF 30 s) and prints:
when STALE appeared, when the endpoint came back, when STALE cleared, and how many refreshes
the poll interval after. `--after-backoff` first throttles every call until the poller has backed
off to its ceiling, so the outage starts with the longest interval. Run by hand:

    .venv/bin/python bench/outage_recovery.py [--seconds 30] [--after-backoff]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


import cutover.tui.app
from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from cutover.tui.app import CutoverApp
from support import sandbox_session


async def run(sb: Sandbox, app: CutoverApp, seconds: float, after_backoff: bool) -> None:
    def header() -> str:
        return str(app.dashboard.query_one("#header").render())

    async def until(pred, limit: float) -> float:  # type: ignore[no-untyped-def]
        t0 = time.monotonic()
        while not pred():
            if time.monotonic() - t0 > limit:
                raise SystemExit(f"gave up after {limit:.0f} s; header: {header()}")
            await asyncio.sleep(0.05)
        return time.monotonic()

    async with app.run_test(size=(120, 40)):
        await until(lambda: app.snapshot is not None, 30)
        if after_backoff:
            sb.faults.set_api(throttle_rate=1.0)
            t0 = time.monotonic()
            await until(lambda: app.interval >= cutover.tui.app.MAX_BACKOFF, 300)
            print(f"backed off to {app.interval:.0f} s in {time.monotonic() - t0:.1f} s")
            sb.faults.set_api(throttle_rate=0.0)
        dark = time.monotonic()
        sb.call(_go_dark(sb, seconds))
        seen: float | None = None
        while sb.faults.unreachable_until is not None or time.monotonic() - dark < 1:
            if seen is None and "cannot reach" in header():
                seen = time.monotonic()
                print(f"STALE shown {seen - dark:.1f} s after the endpoint went dark:")
                print(f"  {header().splitlines()[-1].strip()!r}")
            await asyncio.sleep(0.05)
        back = time.monotonic()
        print(f"endpoint answering again after {back - dark:.1f} s")
        if seen is None:
            print("  (no poll fell inside the outage: the interval was longer than it)")
        before = app.snapshot
        fresh = await until(
            lambda: app.snapshot is not before and "STALE" not in header(), 2 * seconds + 60
        )
        print(f"view fresh {fresh - back:.1f} s after the endpoint came back")
        print(f"poll interval now {app.interval} s")


async def _go_dark(sb: Sandbox, seconds: float) -> None:
    sb._go_dark(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="outage length (real s)")
    parser.add_argument("--after-backoff", action="store_true")
    args = parser.parse_args()
    sb = Sandbox(load_scenario("default"), free_listener_ports=True)
    sb.start(wait_healthy=30)
    try:
        target, session = sandbox_session(sb)
        observer = Observer(session, target)
        audit = AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
        app = CutoverApp(
            target, observer=observer, controller=Controller(session, target, audit), sandbox=True
        )
        print(
            f"poll interval {app.base_interval} s, MAX_BACKOFF {cutover.tui.app.MAX_BACKOFF} s,"
            f" outage {args.seconds:.0f} s"
        )
        asyncio.run(run(sb, app, args.seconds, args.after_backoff))
        observer.close()
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
