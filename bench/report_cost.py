"""What `cutover report` costs, each beside a baseline measured in the same run:

1. Reading a deployment after the fact (`read_history`: the snapshot, the rollback, the
   window's GetMetricData) against one `cutover status` snapshot of the same group: API calls
   and milliseconds.
2. Drawing the chart (matplotlib's SVG canvas) against building the Markdown.
3. Importing the chart's module (matplotlib) against importing the command line's entry
   point, each in a fresh interpreter: what the dashboard would pay if it loaded the report.

Run by hand:

    .venv/bin/python bench/report_cost.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cutover.backend.observe import Observer
from cutover.backend.observe.history import read_history
from cutover.backend.present.report import render_report
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from support import sandbox_session


def ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def import_ms(module: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    got = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        * 1000
        for _ in range(runs)
    ]
    return statistics.median(got)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    sb = Sandbox(load_scenario("default"), port=0, time_scale=100)
    sb.start(wait_healthy=60)
    try:
        target, session = sandbox_session(sb)
        observer = Observer(session, target)
        calls0 = session.calls
        observer.snapshot()
        snap_calls = session.calls - calls0
        snap_ms = ms(lambda: Observer(session, target).snapshot(), args.runs)
        calls0 = session.calls
        history = read_history(Observer(session, target), None)
        report_calls = session.calls - calls0
        report_ms = ms(lambda: read_history(Observer(session, target), None), args.runs)
    finally:
        sb.stop()
    from cutover.cli.report_chart import draw

    with tempfile.TemporaryDirectory() as tmp:
        draw_ms = ms(lambda: draw(history, Path(tmp) / "x.svg"), args.runs)
    md_ms = ms(lambda: render_report(history, [], "x.svg"), args.runs)
    chart_import = import_ms("cutover.cli.report_chart", args.runs)
    main_import = import_ms("cutover.cli.main", args.runs)
    print(
        f"read: report {report_calls} calls {report_ms:.0f} ms; status snapshot"
        f" {snap_calls} calls {snap_ms:.0f} ms; ratio {report_ms / snap_ms:.1f}x"
    )
    print(
        f"draw: chart {draw_ms:.0f} ms; Markdown {md_ms:.1f} ms; ratio"
        f" {draw_ms / max(md_ms, 0.001):.0f}x"
    )
    print(
        f"import: cutover.cli.report_chart {chart_import:.0f} ms; cutover.cli.main"
        f" {main_import:.0f} ms; ratio {chart_import / main_import:.1f}x"
    )


if __name__ == "__main__":
    main()
