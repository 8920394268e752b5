"""What the safety of an action costs: the intent record, and learning the outcome of a lost
answer, each beside a baseline measured in the same run.

1. Writing one audit record (append + fsync) against building the same JSON line in memory.
2. `Controller.execute` of an approval that is answered, against one whose answer is lost
   (the sandbox's `drop_response` fault: the call takes effect, the connection closes), so
   the Controller reads the state again to learn that it took effect. Each run deploys to
   web/web-prod and waits for Ready first; only `execute` is timed.

Run by hand:

    .venv/bin/python bench/action_safety.py [--runs 5] [--records 200] [--dir ~/.local/state]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog, AuditRecord
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from support import sandbox_session


def audit_cost(records: int, where: str | None) -> tuple[float, float]:
    """(median ms to append+fsync one record, median ms to build its line)."""
    record = AuditRecord(
        action="approve",
        outcome="intent",
        target="bench",
        server_time="2026-12-04T00:00:00+00:00",
        plan=["Approve the traffic reroute of d-BENCH0001"] * 8,
        planned_from={"weights": {}, "registered": [f"i-{n:017x}@web-tg" for n in range(8)]},
    )
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        log = AuditLog(Path(tmp) / "audit.jsonl")
        appends, builds = [], []
        for _ in range(records):
            t0 = time.perf_counter()
            json.dumps(asdict(record), sort_keys=True, default=str)
            builds.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            log.append(record)
            appends.append((time.perf_counter() - t0) * 1000)
    return statistics.median(appends), statistics.median(builds)


def ready_snapshot(cd: object, observer: Observer, timeout: float = 120.0) -> object:
    cd.create_deployment(  # type: ignore[attr-defined]
        applicationName="web",
        deploymentGroupName="web-prod",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
        },
    )
    deadline = time.monotonic() + timeout
    while True:
        snap = observer.snapshot()
        if snap.deployment is not None and snap.deployment.status == "Ready" and snap.gates:
            return snap
        if time.monotonic() > deadline:
            raise SystemExit("no deployment reached Ready in time")
        time.sleep(0.3)


def stop(cd: object, observer: Observer) -> None:
    snap = observer.snapshot()
    if snap.deployment is not None and snap.deployment.active:
        cd.stop_deployment(deploymentId=snap.deployment.id, autoRollbackEnabled=False)  # type: ignore[attr-defined]
    while observer.snapshot().active_deployment:
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--time-scale", type=float, default=200)
    parser.add_argument(
        "--dir", help="where to write the audit records (the disk fsync pays for; default /tmp)"
    )
    args = parser.parse_args()

    append_ms, build_ms = audit_cost(args.records, args.dir)
    print(
        f"audit record: append+fsync median {append_ms:.3f} ms, building the line"
        f" {build_ms:.3f} ms (x{append_ms / build_ms:.0f})"
    )

    sb = Sandbox(load_scenario("default"), free_listener_ports=True, time_scale=args.time_scale)
    sb.start(wait_healthy=60)
    try:
        target, session = sandbox_session(sb)
        observer = Observer(session, target)
        cd = session.client("codedeploy")
        with tempfile.TemporaryDirectory() as tmp:
            controller = Controller(session, target, AuditLog(Path(tmp) / "audit.jsonl"))
            times: dict[str, list[float]] = {"answered": [], "answer lost": []}
            for run in range(args.runs):
                for kind in times:
                    snap = ready_snapshot(cd, observer)
                    plan = controller.plan("approve", snap)
                    if kind == "answer lost":
                        sb.faults.set_api(drop_response=1, drop_operations=["ContinueDeployment"])
                    t0 = time.perf_counter()
                    outcome = controller.execute(plan, observer.snapshot)
                    times[kind].append(time.perf_counter() - t0)
                    sb.faults.clear()
                    if outcome.state != "done":
                        raise SystemExit(f"run {run} {kind}: {outcome.state}: {outcome.message}")
                    stop(cd, observer)
        base = statistics.median(times["answered"])
        lost = statistics.median(times["answer lost"])
        print(f"approve, answered: median {base * 1000:.0f} ms over {args.runs} runs")
        print(
            f"approve, answer lost then read back: median {lost * 1000:.0f} ms"
            f" (x{lost / base:.1f} the answered one); outcome learnt: done every time"
        )
        observer.close()
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
