"""What the bake verdict costs: API calls per refresh in the termination wait (bake read on
its cadence) beside the same refreshes at Ready (no bake read), on the default world under
load, refreshed every 2 seconds of the server's clock as the dashboard does on AWS.

Starts an in-process sandbox (default world, --time-scale, --load rps), deploys web/web-prod,
takes `--refreshes` snapshots 2 server seconds apart at Ready, approves, waits for the
termination wait, and takes as many there. Prints calls per refresh in each phase, the
GetMetricData calls per refresh, the bake reads per server minute, and the ratio of the
termination wait's calls per refresh to Ready's (the baseline, measured in the same run).

    .venv/bin/python bench/bake_cost.py [--refreshes 90] [--time-scale 20] [--load 40]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from support import sandbox_session

REVISION = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}
SERVICES = ("codedeploy", "ec2", "autoscaling", "elbv2", "elb", "cloudwatch", "sts")


def refreshes(observer: Observer, ops: Counter[str], n: int, scale: float) -> dict:
    """n snapshots 2 server seconds apart: calls per refresh and GetMetricData in all."""
    ops.clear()
    calls, prev, t0 = [], None, time.monotonic()
    first = last = None
    for i in range(n):
        s = observer.snapshot(previous=prev)
        first = first or s
        last = prev = s
        calls.append(s.api_calls)
        time.sleep(max(0.0, t0 + (i + 1) * 2 / scale - time.monotonic()))
    server_minutes = (last.server_time - first.server_time).total_seconds() / 60
    return {
        "calls": calls,
        "metric_reads": ops["GetMetricData"],
        "minutes": server_minutes,
        "phase": last.deployment.phase,
        "bake": last.bake,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refreshes", type=int, default=90)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--load", type=float, default=40.0)
    args = parser.parse_args()
    sb = Sandbox(load_scenario("default"), time_scale=args.time_scale, load_rps=args.load)
    sb.start()
    try:
        target, session = sandbox_session(sb)
        ops: Counter[str] = Counter()

        def count(model: object = None, **_: object) -> None:
            ops[getattr(model, "name", "?")] += 1

        for name in SERVICES:
            session.client(name).meta.events.register("before-call", count)
        observer = Observer(session, target)
        cd = session.client("codedeploy")
        dep = cd.create_deployment(
            applicationName="web", deploymentGroupName="web-prod", revision=REVISION
        )["deploymentId"]
        while observer.snapshot().deployment.phase != "ready":
            time.sleep(0.2)
        ready = refreshes(observer, ops, args.refreshes, args.time_scale)
        cd.continue_deployment(deploymentId=dep, deploymentWaitType="READY_WAIT")
        while observer.snapshot().deployment.phase != "termination-wait":
            time.sleep(0.2)
        wait = refreshes(observer, ops, args.refreshes, args.time_scale)
    finally:
        sb.stop()
    print(f"{args.refreshes} refreshes 2 server seconds apart, time scale {args.time_scale:g}")
    for label, r in (("ready (baseline)", ready), ("termination wait", wait)):
        per_minute = r["metric_reads"] / r["minutes"] if r["minutes"] else 0.0
        print(
            f"  {label:<17} phase {r['phase']:<16} calls/refresh median"
            f" {statistics.median(r['calls']):g}, mean {statistics.mean(r['calls']):.2f};"
            f" GetMetricData {r['metric_reads']} in {r['minutes']:.1f} server min"
            f" ({r['metric_reads'] / len(r['calls']):.2f}/refresh, {per_minute:.2f}/min)"
        )
    bake = wait["bake"]
    if bake is not None:
        print(f"  verdict: {bake.verdict}: {bake.reason}")
    ratio = statistics.mean(wait["calls"]) / statistics.mean(ready["calls"])
    print(f"termination wait / ready, mean calls per refresh: {ratio:.3f}")


if __name__ == "__main__":
    main()
