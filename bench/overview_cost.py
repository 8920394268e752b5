"""API calls and milliseconds per overview tick, at 10, 100 and 500 deployment groups with 0, 3
and 20 active deployments, beside the naive way (one per-group snapshot per group per tick)
measured in the same run on the same estate.

For each estate size, starts `cutover sandbox` in its own process (as users run it) with the
default world at real time (x1, so deployments stay in progress while they are measured), and
creates the groups with the API: in-place groups (application `estate`) whose tag filter finds
the workers of `app=web`, and quiet ones whose filter finds nothing. Then, for 0, 3 and 20
active deployments (started on the first groups), it measures:
- the overview (`backend.observe.overview.Overview`, one source): the calls and wall time of
  a warm tick (after the first, which reads the inventory; the median of --ticks), and
- the baseline: a warm `Observer.snapshot()` of every group, one after the other, as a
  dashboard per group would poll them.
and prints both and their ratio. The aim: the overview's calls per tick depend on the active
deployments only (the same at 10, 100 and 500 groups for the same active count).
Run by hand:

    .venv/bin/python bench/overview_cost.py [--sizes 10,100,500] [--active 0,3,20] [--ticks 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.observe import Observer
from cutover.backend.observe.overview import Overview, SourceReader
from cutover.backend.observe.sources import Source
from cutover.cli.sandbox_process import sandbox_process
from support import Ops

REVISION = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}
ROLE = "arn:aws:iam::123456789012:role/CodeDeployServiceRole"


def create_estate(cd: Any, n: int) -> list[str]:
    """n - 1 in-place groups beside web/web-prod (n in all); the first 20 find the web
    workers by tag, so a deployment to them runs."""
    cd.create_application(applicationName="estate", computePlatform="Server")
    names = []
    for i in range(n - 1):
        name = f"g-{i:03d}"
        value = "web" if i < 20 else f"nobody-{i}"
        cd.create_deployment_group(
            applicationName="estate",
            deploymentGroupName=name,
            serviceRoleArn=ROLE,
            ec2TagFilters=[{"Key": "app", "Value": value, "Type": "KEY_AND_VALUE"}],
        )
        names.append(name)
    return names


def overview_tick(
    overview: Overview, session: AwsSession, ops: Ops, ticks: int
) -> tuple[float, float, Counter[str]]:
    overview.rows()  # the first tick also reads the inventory
    calls, ms = [], []
    for _ in range(ticks):
        ops.take()
        c0, t0 = session.calls, time.monotonic()
        rows = overview.rows()
        ms.append((time.monotonic() - t0) * 1000)
        calls.append(session.calls - c0)
        assert not any(r.stale for r in rows), [r.stale for r in rows if r.stale][:1]
    return statistics.median(calls), statistics.median(ms), ops.take()


def baseline_tick(target: TargetConfig, groups: list[tuple[str, str]]) -> tuple[int, float]:
    """Every group's snapshot once (cold), then once more (warm, measured)."""
    session = AwsSession(target)
    session.create_clients()
    observers = [
        Observer(
            session, TargetConfig(**{**target.__dict__, "application": a, "deployment_group": g})
        )
        for a, g in groups
    ]
    for o in observers:
        o.snapshot()
    c0, t0 = session.calls, time.monotonic()
    for o in observers:
        o.snapshot()
    elapsed = (time.monotonic() - t0) * 1000
    for o in observers:
        o.close()
    return session.calls - c0, elapsed


def measure(n: int, actives: list[int], ticks: int, tmp: Path) -> list[tuple]:
    out = []
    state = {**os.environ, "XDG_STATE_HOME": str(tmp)}
    with sandbox_process("--time-scale", "1", env=state, quiet=True) as (_, summary):
        env = summary["env"]
        os.environ.update({k: v for k, v in env.items() if k != "AWS_ENDPOINT_URL"})
        target = TargetConfig(
            name="bench", region=env["AWS_REGION"], endpoint_url=env["AWS_ENDPOINT_URL"]
        )
        reader = SourceReader(Source("bench", target), inventory_every=3600)
        session = reader.session
        ops = Ops(session)
        cd = session.client("codedeploy")
        names = create_estate(cd, n)
        groups = [("web", "web-prod")] + [("estate", g) for g in names]
        started = 0
        for active in actives:
            for name in names[started:active]:
                cd.create_deployment(
                    applicationName="estate", deploymentGroupName=name, revision=REVISION
                )
            started = max(started, active)
            overview = Overview([reader.source], reader=lambda _s: reader)
            overview.refresh_inventory()
            calls, ms, per_op = overview_tick(overview, session, ops, ticks)
            base_calls, base_ms = baseline_tick(target, groups)
            out.append((n, active, calls, ms, base_calls, base_ms))
            print(
                f"{n:>4} groups {active:>2} active | overview {calls:>5.0f} calls {ms:>8.1f} ms"
                f" | per-group snapshots {base_calls:>5} calls {base_ms:>8.1f} ms"
                f" | ratio calls {calls / base_calls:.3f} ms {ms / base_ms:.3f}",
                flush=True,
            )
            print(
                "      one overview tick: "
                + ", ".join(f"{k} {v}" for k, v in sorted(per_op.items()))
            )
        reader.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10,100,500")
    p.add_argument("--active", default="0,3,20")
    p.add_argument("--ticks", type=int, default=5)
    args = p.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    actives = sorted(int(x) for x in args.active.split(","))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            results += measure(n, [a for a in actives if a < n], args.ticks, Path(tmp))
    print("\ncalls per overview tick by active deployments (the aim: one number per column):")
    for active in actives:
        per_size = {n: c for n, a, c, *_ in results if a == active}
        shown = "  ".join(f"{n} groups: {c:.0f}" for n, c in per_size.items())
        print(f"  {active:>2} active: {shown}")


if __name__ == "__main__":
    main()
