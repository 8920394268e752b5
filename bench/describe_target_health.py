"""How many DescribeTargetHealth calls per second the sandbox endpoint sustains.

Starts `cutover sandbox` in its own process (as users run it) with one Application Load
Balancer whose target group holds 100 targets (an Auto Scaling group of 100 instances, health
checks running), waits for them to be healthy, then calls DescribeTargetHealth through boto3
over HTTP for a fixed time, from 1, 2 and 4 client processes. Prints calls per second and
latency percentiles. Run by hand:

    .venv/bin/python bench/describe_target_health.py [--seconds 5] [--targets 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

from botocore.config import Config
from cutover.cli.sandbox_process import sandbox_process
from cutover.sandbox.testing import aws_client

SCENARIO = """
name: bench-dth
time_scale: 10
target_groups:
  - name: big-tg
    health_check: {{interval: 10, timeout: 5, healthy_threshold: 2, unhealthy_threshold: 2}}
load_balancers:
  - name: big-alb
    listeners:
      - port: 8080
        forward: [{{target_group: big-tg}}]
auto_scaling_groups:
  - name: big-asg
    min: {n}
    max: {n}
    desired: {n}
    target_groups: [big-tg]
"""


def one_client(endpoint: str, tg_arn: str, seconds: float) -> list[float]:
    client = aws_client(
        endpoint, "elbv2", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        out = client.describe_target_health(TargetGroupArn=tg_arn)
        latencies.append(time.perf_counter() - t0)
        assert len(out["TargetHealthDescriptions"]) >= 100
    return latencies


def run(endpoint: str, tg_arn: str, seconds: float, clients: int) -> list[float]:
    """Latencies of every call made by `clients` client processes (boto3 parsing is CPU-bound,
    so threads in one process would measure the GIL, not the endpoint)."""
    with multiprocessing.Pool(clients) as pool:
        results = pool.starmap(one_client, [(endpoint, tg_arn, seconds)] * clients)
    return [x for r in results for x in r]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--targets", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(SCENARIO.format(n=args.targets))
        t0 = time.monotonic()
        flags = ("--scenario", str(path))
        env = {**os.environ, "XDG_STATE_HOME": tmp}
        with sandbox_process(*flags, env=env, quiet=True) as (_, summary):
            endpoint = summary["env"]["AWS_ENDPOINT_URL"]
            (tg,) = summary["target_groups"]
            healthy = sum(state == "healthy" for state in tg["targets"].values())
            print(
                f"sandbox with {healthy}/{args.targets} healthy targets ready in "
                f"{time.monotonic() - t0:.1f} s"
            )
            for clients in (1, 2, 4):
                lat = run(endpoint, tg["arn"], args.seconds, clients)
                calls = len(lat)
                lat_ms = sorted(x * 1000 for x in lat)
                p99 = lat_ms[min(len(lat_ms) - 1, int(len(lat_ms) * 0.99))]
                print(
                    f"DescribeTargetHealth, {args.targets} targets, {clients} client process(es): "
                    f"{calls / args.seconds:.0f} calls/s, median "
                    f"{statistics.median(lat_ms):.1f} ms, p99 {p99:.1f} ms "
                    f"({calls} calls in {args.seconds:g} s)"
                )


if __name__ == "__main__":
    main()
