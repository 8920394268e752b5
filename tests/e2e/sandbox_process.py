"""`cutover sandbox --json` in a subprocess, for tests that drive it like a user's terminal,
and what those tests share: `cutover` in a subprocess, the audit log. (The sandbox's control
API and boto3 clients come from cutover.sandbox.testing.)"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CUTOVER = [sys.executable, "-m", "cutover.cli"]


@contextlib.contextmanager
def sandbox_process(state: Path, *flags: str) -> Iterator[tuple[dict[str, str], dict]]:
    """Start `cutover sandbox --port 0 --free-ports --json FLAGS`; yield the environment a
    client needs (its export lines added to a clean copy of ours) and the world summary.
    Ctrl-C stops it on the way out, and it must stop."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        XDG_STATE_HOME=str(state / "state"),
        XDG_CONFIG_HOME=str(state / "config"),
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "cutover.cli", "sandbox", "--port", "0", "--free-ports"]
    proc = subprocess.Popen(
        [*command, "--json", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        text = ""
        for line in proc.stdout:
            text += line
            if line.startswith("}"):
                break
        summary = json.loads(text)
        env.update(summary["env"])
        yield env, summary
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cutover(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """`cutover ARGS` as a script would run it: no terminal, output captured."""
    return subprocess.run(
        [*CUTOVER, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def audit(env: dict[str, str]) -> list[dict]:
    """The audit records the commands run with `env` wrote."""
    path = Path(env["XDG_STATE_HOME"]) / "cutover" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def phase(doc: dict) -> str | None:
    """The phase in a `cutover status --json` document."""
    return doc["deployment"]["phase"] if doc["deployment"] else None


def create_weighted_group(codedeploy: Any, name: str = "web-weighted") -> None:
    """The blue/green deployment group of the `weighted` scenario (which has none): its two
    Auto Scaling groups found as they are, the listener's two target groups, no waits."""
    codedeploy.create_application(applicationName="web", computePlatform="Server")
    codedeploy.create_deployment_group(
        applicationName="web",
        deploymentGroupName=name,
        serviceRoleArn="arn:aws:iam::123456789012:role/CodeDeployServiceRole",
        autoScalingGroups=["web-blue-asg", "web-green-asg"],
        deploymentStyle={
            "deploymentType": "BLUE_GREEN",
            "deploymentOption": "WITH_TRAFFIC_CONTROL",
        },
        blueGreenDeploymentConfiguration={
            "greenFleetProvisioningOption": {"action": "DISCOVER_EXISTING"},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "KEEP_ALIVE"},
        },
        loadBalancerInfo={
            "targetGroupInfoList": [{"name": "web-blue-tg"}, {"name": "web-green-tg"}]
        },
    )
