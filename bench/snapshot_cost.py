"""API calls and milliseconds per snapshot, for fleets of 4, 50, 200 and 1,000 instances.

For each size, starts `cutover sandbox` in its own process (as users run it) with the big.yaml
world (the default world with N instances in web-asg; the 4- and 50-instance files are derived
from it) or, for 1,000, the huge scenario at its own slower clock (2,000 instances' health
checks at the bench's clock would starve the sandbox), creates a blue/green deployment of
web/web-prod and waits until it is Ready, so both fleets are present (2 x N deployment
targets). Then takes snapshots the way the dashboard does (one AwsSession, `previous` passed
along) and prints, per size: the calls of the first (cold) snapshot, of a warm snapshot when
idle (before the deployment) and of warm snapshots with both fleets, which operations they
were, and the median / p90 wall time. While the deployment waits for the reroute no target
moves, so warm snapshots should not read targets at all, and their calls should not grow with
the fleet (only the first look at Ready pays for AWS's batch limits: BatchGetDeploymentTargets
takes 25 ids, ListDeploymentTargets pages 100).
The last line compares the calls at 1,000 with the calls at 50 (the aim: at most 2x).
Run by hand:

    .venv/bin/python bench/snapshot_cost.py [--sizes 4,50,200,1000] [--snapshots 10]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.observe import Observer
from cutover.cli.sandbox_process import sandbox_process
from support import Ops

SCENARIOS = Path(__file__).resolve().parents[1] / "sandbox" / "scenarios"
BIG = SCENARIOS / "big.yaml"
HUGE = SCENARIOS / "huge.yaml"  # 1,000 instances, at the scenario's own time scale
REVISION = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}


def scenario_for(n: int, tmp: Path) -> Path:
    """big.yaml itself for 200 instances, huge.yaml for 1,000, else a copy of big.yaml with
    web-asg resized to n."""
    text = BIG.read_text()
    if n == 200:
        return BIG
    if n == 1000:
        return HUGE
    text = text.replace(
        "    min: 200\n    max: 400\n    desired: 200\n",
        f"    min: {n}\n    max: {2 * n}\n    desired: {n}\n",
    )
    path = tmp / f"big-{n}.yaml"
    path.write_text(text)
    return path


def measure(n: int, snapshots: int, time_scale: float, tmp: Path, parallel: int) -> dict:
    path = scenario_for(n, tmp)
    t0 = time.monotonic()
    clock = [] if path == HUGE else ["--time-scale", str(time_scale)]
    state = {**os.environ, "XDG_STATE_HOME": str(tmp)}
    flags = ("--scenario", str(path), *clock)
    with sandbox_process(*flags, env=state, quiet=True) as (_, summary):
        env = summary["env"]
        os.environ.update({k: v for k, v in env.items() if k != "AWS_ENDPOINT_URL"})
        target = TargetConfig(
            name="bench",
            region=env["AWS_REGION"],
            endpoint_url=env["AWS_ENDPOINT_URL"],
            application="web",
            deployment_group="web-prod",
        )
        session = AwsSession(target)
        session.create_clients()
        ops = Ops(session)
        observer = Observer(session, target, batch_parallel=parallel)
        out: dict = {"n": n, "boot_s": time.monotonic() - t0}

        cold = observer.snapshot()
        out["cold"] = (cold.api_calls, cold.elapsed_ms, ops.take())
        idle = observer.snapshot(previous=cold)
        out["idle"] = (idle.api_calls, idle.elapsed_ms, ops.take())

        cd = session.client("codedeploy")
        dep = cd.create_deployment(
            applicationName="web", deploymentGroupName="web-prod", revision=REVISION
        )["deploymentId"]
        t1 = time.monotonic()
        while cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"] != "Ready":
            if time.monotonic() - t1 > 600:
                raise SystemExit(f"{n}: deployment {dep} not Ready after 600 s")
            time.sleep(0.5)
        out["ready_s"] = time.monotonic() - t1
        ops.take()
        prev = observer.snapshot(previous=idle)  # the first look at the new deployment
        ops.take()
        calls, ms, per_op = [], [], Counter()
        for _ in range(snapshots):
            s = observer.snapshot(previous=prev)
            prev = s
            calls.append(s.api_calls)
            ms.append(s.elapsed_ms)
            per_op += ops.take()
        out["targets"] = len(prev.original.instances) + len(prev.replacement.instances)
        out["phase"] = prev.deployment.phase
        out["notes"] = prev.notes
        out["ready"] = (calls, ms, Counter({k: v // snapshots for k, v in per_op.items()}))
        return out


def fmt_ops(ops: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,50,200,1000")
    parser.add_argument("--snapshots", type=int, default=10)
    parser.add_argument("--time-scale", type=float, default=50.0)
    parser.add_argument(
        "--batch-parallel",
        type=int,
        default=4,
        help="BatchGetDeploymentTargets calls in flight at once (default 4)",
    )
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = measure(n, args.snapshots, args.time_scale, Path(tmp), args.batch_parallel)
            rows.append(r)
            calls, ms, per_op = r["ready"]
            print(
                f"\n{n} instances per fleet: sandbox up in {r['boot_s']:.1f} s,"
                f" deployment Ready in {r['ready_s']:.1f} s ({r['targets']} instances observed,"
                f" phase {r['phase']})"
            )
            for label in ("cold", "idle"):
                n_calls, n_ms, n_ops = r[label]
                print(f"  {label} snapshot: {n_calls} calls, {n_ms:.0f} ms ({fmt_ops(n_ops)})")
            p90 = sorted(ms)[int(0.9 * (len(ms) - 1))]
            print(
                f"  both fleets:   {statistics.median(calls):g} calls, median"
                f" {statistics.median(ms):.0f} ms, p90 {p90:.0f} ms ({fmt_ops(per_op)})"
            )
            if r["notes"]:
                print(f"  notes: {r['notes']}")
    print("\ninstances/fleet  targets  calls/snapshot  median ms")
    for r in rows:
        calls, ms, _ = r["ready"]
        print(
            f"{r['n']:>15}  {r['targets']:>7}  {statistics.median(calls):>14g}"
            f"  {statistics.median(ms):>9.0f}"
        )
    calls_at = {r["n"]: statistics.median(r["ready"][0]) for r in rows}
    if 50 in calls_at and 1000 in calls_at:
        print(f"calls at 1000 / calls at 50: {calls_at[1000] / calls_at[50]:.2f} (aim: <= 2)")


if __name__ == "__main__":
    main()
