"""Soak: the dashboard on a 200-instance sandbox for a long while, with faults cycling.

The sandbox runs in its own process (`cutover sandbox --scenario big`), so its work is not
counted against the dashboard. The dashboard runs headless in this process, polling as it does
for a person. Meanwhile:

- a driver plays "someone else" with boto3: starts a blue/green deployment whenever none is
  running, continues it at Ready, cuts its termination wait short, and stops every third one
  with a rollback, so the view keeps changing through every phase;
- faults cycle every `--fault-every` seconds: none, 50% throttling, 2 s latency, the endpoint
  unreachable for 30 s, 90% throttling, an instance unhealthy.

Every `--sample-every` seconds it prints the dashboard process's resident memory, its CPU use
(share of one core over the interval), live Python objects, snapshots shown and refresh
failures; at the end, the first and last fifth of the run side by side and the memory trend.
Run by hand (not in CI):

    .venv/bin/python bench/soak.py                # 30 minutes
    .venv/bin/python bench/soak.py --minutes 3    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cutover.backend.actions import Controller  # noqa: E402
from cutover.backend.audit import AuditLog  # noqa: E402
from cutover.backend.aws.session import AwsSession  # noqa: E402
from cutover.backend.config import TargetConfig  # noqa: E402
from cutover.backend.observe import Observer  # noqa: E402
from cutover.sandbox.control.client import ControlClient  # noqa: E402
from cutover.sandbox.testing import aws_client  # noqa: E402
from cutover.tui.app import CutoverApp  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
FAULTS: list[tuple[str, dict | None]] = [
    ("none", None),
    ("throttle 50%", {"throttle": 0.5}),
    ("latency 2 s", {"latency_ms": 2000}),
    ("unreachable 30 s", {"unreachable_s": 30}),
    ("throttle 90%", {"throttle": 0.9}),
    ("instance unhealthy", {}),
]


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def cpu_seconds(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    minute: float
    rss: float
    cpu: float
    objects: int
    snapshots: int
    failures: int
    fault: str
    sandbox_rss: float
    sandbox_cpu: float


class Sandbox:
    def __init__(self, scenario: str, load: int, state: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(XDG_STATE_HOME=str(state), PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "cutover.cli", "sandbox", "--scenario", scenario),
                *("--port", "0", "--free-ports", "--json", "--load", str(load)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        text = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            text += line
            if line.startswith("}"):
                break
        self.summary = json.loads(text)
        self.endpoint = self.summary["env"]["AWS_ENDPOINT_URL"]
        self.control = ControlClient(self.endpoint)
        # Keep reading its reports so the pipe never fills and blocks it.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Driver(threading.Thread):
    """Someone else moving deployments along, and the fault switchboard."""

    def __init__(self, sb: Sandbox, fault_every: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.sb = sb
        self.fault_every = fault_every
        self.stop_event = stop
        self.fault = "none"
        self.deployments = 0
        self.errors = 0
        self.cd = aws_client(
            sb.endpoint,
            "codedeploy",
            config=Config(retries={"mode": "standard", "max_attempts": 8}),
        )
        self.rng = random.Random(1)

    def run(self) -> None:
        next_fault = time.monotonic() + self.fault_every
        index = 0
        while not self.stop_event.wait(2.0):
            if time.monotonic() >= next_fault:
                index = (index + 1) % len(FAULTS)
                self._set_fault(*FAULTS[index])
                next_fault = time.monotonic() + self.fault_every
            try:
                self._step()
            except Exception:
                self.errors += 1  # faults make the driver fail too; it tries again

    def _set_fault(self, name: str, body: dict | None) -> None:
        try:
            self.sb.control.clear_faults()
            if body:
                self.sb.control.set_api_fault(**body)
            elif name == "instance unhealthy":
                summary = self.sb.control.summary()
                ids = [i["id"] for i in summary.get("instances", []) if i.get("state") == "running"]
                if ids:
                    victim = self.rng.choice(ids)
                    self.sb.control.set_instance_fault(victim, unhealthy=True)
            self.fault = name
        except Exception:
            self.errors += 1

    def _step(self) -> None:
        listed = self.cd.list_deployments(
            applicationName="web",
            deploymentGroupName="web-prod",
            includeOnlyStatuses=["Created", "Queued", "InProgress", "Ready", "Baking"],
        )["deployments"]
        if not listed:
            self.deployments += 1
            self.cd.create_deployment(
                applicationName="web",
                deploymentGroupName="web-prod",
                revision={
                    "revisionType": "S3",
                    "s3Location": {
                        "bucket": "releases",
                        "key": f"web/v{self.deployments + 1}.zip",
                        "bundleType": "zip",
                    },
                },
            )
            return
        info = self.cd.get_deployment(deploymentId=listed[0])["deploymentInfo"]
        if info["status"] == "Ready":
            if self.deployments % 3 == 0:
                self.cd.stop_deployment(deploymentId=info["deploymentId"], autoRollbackEnabled=True)
            else:
                self.cd.continue_deployment(
                    deploymentId=info["deploymentId"], deploymentWaitType="READY_WAIT"
                )
        elif info["status"] == "InProgress":
            # Cut the termination wait short; refused (and ignored) in any other phase.
            try:
                self.cd.continue_deployment(
                    deploymentId=info["deploymentId"], deploymentWaitType="TERMINATION_WAIT"
                )
            except self.cd.exceptions.ClientError:
                pass


async def soak(args: argparse.Namespace) -> list[Sample]:
    state = Path(os.environ.get("TMPDIR", "/tmp")) / f"cutover-soak-{os.getpid()}"
    state.mkdir(parents=True, exist_ok=True)
    sb = Sandbox(args.scenario, args.load, state)
    stop = threading.Event()
    samples: list[Sample] = []
    try:
        target = TargetConfig(
            name="soak",
            region="us-east-1",
            endpoint_url=sb.endpoint,
            application="web",
            deployment_group="web-prod",
            poll_interval=2.0,
        )
        session = AwsSession(target)
        session.session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
        )
        session.create_clients()
        observer = Observer(session, target)
        app = CutoverApp(
            target,
            observer=observer,
            controller=Controller(session, target, AuditLog(state / "audit.jsonl")),
            sandbox=True,
        )
        counts = {"snapshots": 0, "failures": 0}
        feed = app.feed

        def counted_feed(snap: Any) -> None:
            counts["snapshots"] += 1
            feed(snap)

        app.feed = counted_feed  # type: ignore[method-assign]
        driver = Driver(sb, args.fault_every, stop)
        async with app.run_test(size=(140, 45)) as pilot:
            driver.start()
            started = time.monotonic()
            last_cpu, last_t = cpu_seconds(), time.monotonic()
            last_sb_cpu = cpu_seconds(sb.proc.pid)
            print(
                f"{'min':>5} {'RSS MB':>7} {'CPU %':>6} {'objects':>8} {'shown':>6} "
                f"{'stale':>6} {'sandbox MB':>10} {'sb CPU %':>8}  fault"
            )
            while time.monotonic() - started < args.minutes * 60:
                await pilot.pause(args.sample_every)
                if app.stale_error:
                    counts["failures"] += 1
                now = time.monotonic()
                cpu = cpu_seconds()
                sb_cpu = cpu_seconds(sb.proc.pid)
                span = now - last_t
                sample = Sample(
                    minute=(now - started) / 60,
                    rss=rss_mb(),
                    cpu=100 * (cpu - last_cpu) / span,
                    objects=len(gc.get_objects()),
                    snapshots=counts["snapshots"],
                    failures=counts["failures"],
                    fault=driver.fault,
                    sandbox_rss=rss_mb(sb.proc.pid),
                    sandbox_cpu=100 * (sb_cpu - last_sb_cpu) / span,
                )
                last_cpu, last_t, last_sb_cpu = cpu, now, sb_cpu
                samples.append(sample)
                print(
                    f"{sample.minute:5.1f} {sample.rss:7.1f} {sample.cpu:6.1f} "
                    f"{sample.objects:8d} {sample.snapshots:6d} {sample.failures:6d} "
                    f"{sample.sandbox_rss:10.1f} {sample.sandbox_cpu:8.1f}  {sample.fault}",
                    flush=True,
                )
            stop.set()
        observer.close()
        print(
            f"\ndeployments started by the driver: {driver.deployments}, "
            f"driver calls that failed under faults: {driver.errors}"
        )
    finally:
        stop.set()
        sb.stop()
    return samples


def report(samples: list[Sample]) -> None:
    if len(samples) < 5:
        return
    fifth = max(1, len(samples) // 5)
    first, last = samples[:fifth], samples[-fifth:]

    def avg(rows: list[Sample], attr: str) -> float:
        return statistics.fmean(getattr(s, attr) for s in rows)

    print(f"\n{'':22} {'first fifth':>12} {'last fifth':>12}")
    for attr, label in [
        ("rss", "RSS MB"),
        ("cpu", "CPU % of one core"),
        ("objects", "live objects"),
        ("sandbox_rss", "sandbox RSS MB"),
    ]:
        print(f"{label:22} {avg(first, attr):12.1f} {avg(last, attr):12.1f}")
    xs = [s.minute for s in samples]
    slope = statistics.linear_regression(xs, [s.rss for s in samples]).slope
    print(f"RSS trend: {slope * 60:+.1f} MB per hour over the run")
    refresh_rate = samples[-1].snapshots / (samples[-1].minute * 60)
    print(f"snapshots shown: {samples[-1].snapshots} ({refresh_rate:.2f} per second)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--scenario", default="big")
    parser.add_argument("--load", type=int, default=20, help="requests per second of load")
    parser.add_argument("--fault-every", type=float, default=60.0, help="seconds per fault")
    parser.add_argument("--sample-every", type=float, default=30.0, help="seconds per sample")
    args = parser.parse_args()
    report(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
