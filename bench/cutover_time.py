"""Wall time of a full blue/green cutover against the time its configuration implies.

Starts the default scenario at a chosen time scale (with load), deploys a new revision to
web/web-prod through boto3, approves the reroute as soon as the deployment is Ready and lets
the termination wait run out. For each phase it prints the sandbox time the configuration
implies (lifecycle durations, batches, health-check thresholds, the deregistration delay, the
termination wait), that time divided by the time scale, and the real time measured. Run by
hand:

    .venv/bin/python bench/cutover_time.py [--time-scale 200] [--load 20]
"""

from __future__ import annotations

import argparse
import math
import time

from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from cutover.sandbox.testing import aws_client

INSTALL = (
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
)


def implied(sandbox: Sandbox) -> dict[str, float]:
    """Sandbox seconds each phase should take, from the scenario's own settings."""
    sc = sandbox.scenario
    durations = sc.codedeploy.durations
    group = sc.codedeploy.applications[0].groups[0].params
    asg = next(a for a in sc.auto_scaling_groups if a.name == group["autoScalingGroups"][0])
    tg = next(t for t in sc.target_groups if t.name == "web-tg")
    hc = tg.health_check
    n = asg.desired
    # HalfAtATime keeps half the replacement fleet healthy: two batches of n/2.
    batches = math.ceil(n / max(1, n - math.ceil(n * 0.5)))
    install = batches * sum(durations.get(e, 0) for e in INSTALL)
    # The first health check runs at registration: healthy after (threshold - 1) intervals.
    allow = batches * (
        durations.get("BeforeAllowTraffic", 0)
        + (hc.healthy_threshold - 1) * hc.interval
        + durations.get("AfterAllowTraffic", 0)
    )
    # BlockTraffic lasts the deregistration delay: ELB shows a deregistered target draining
    # until the delay is over, however soon its last request ended.
    block = batches * (
        durations.get("BeforeBlockTraffic", 0)
        + tg.deregistration_delay
        + durations.get("AfterBlockTraffic", 0)
    )
    bg = group["blueGreenDeploymentConfiguration"]
    termination = bg["terminateBlueInstancesOnDeploymentSuccess"]["terminationWaitTimeInMinutes"]
    return {
        "to Ready (provision + install)": install,
        "reroute (allow + block traffic)": allow + block,
        "termination wait": termination * 60.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=200.0)
    parser.add_argument("--load", type=float, default=20.0)
    args = parser.parse_args()
    sandbox = Sandbox(
        load_scenario("default"),
        free_listener_ports=True,
        time_scale=args.time_scale,
        load_rps=args.load,
    )
    sandbox.start(wait_healthy=60)
    try:
        cd = aws_client(sandbox, "codedeploy")

        def status(dep_id: str) -> dict:
            return cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]

        def until(pred, dep_id: str) -> float:  # type: ignore[no-untyped-def]
            t0 = time.monotonic()
            while not pred(status(dep_id)):
                time.sleep(0.02)
            return time.monotonic() - t0

        start = time.monotonic()
        dep_id = cd.create_deployment(
            applicationName="web",
            deploymentGroupName="web-prod",
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
            },
        )["deploymentId"]
        measured = {
            "to Ready (provision + install)": until(lambda d: d["status"] == "Ready", dep_id)
        }
        cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")
        measured["reroute (allow + block traffic)"] = until(
            lambda d: d.get("instanceTerminationWaitTimeStarted"), dep_id
        )
        measured["termination wait"] = until(
            lambda d: d["status"] in ("Succeeded", "Failed", "Stopped"), dep_id
        )
        total = time.monotonic() - start
        final = status(dep_id)["status"]
        expected = implied(sandbox)
        print(f"full cutover of web/web-prod at time scale x{args.time_scale:g}: {final}")
        head = ("phase", "implied (sandbox s)", "implied (real s)", "measured (real s)")
        print(f"{head[0]:<34}{head[1]:>21}{head[2]:>18}{head[3]:>19}")
        for phase, sandbox_s in expected.items():
            real = sandbox_s / args.time_scale
            print(f"{phase:<34}{sandbox_s:>21.0f}{real:>18.2f}{measured[phase]:>19.2f}")
        implied_total = sum(expected.values()) / args.time_scale
        print(f"{'total':<34}{sum(expected.values()):>21.0f}{implied_total:>18.2f}{total:>19.2f}")
        if sandbox.load is not None:
            stats = sandbox.load.stats()
            print(f"load: {stats['sent']} requests sent, {stats['errors']} failed")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
