"""`cutover sandbox --json` in a subprocess, for tests that drive it like a user's terminal,
and what those tests share: `cutover` in a subprocess, the audit log. (The sandbox's control
API and boto3 clients come from cutover.sandbox.testing.)"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cutover.cli.sandbox_process import sandbox_process as running_sandbox_process

ROOT = Path(__file__).resolve().parents[2]
CUTOVER = [sys.executable, "-m", "cutover.cli"]


@contextlib.contextmanager
def sandbox_process(state: Path, *flags: str) -> Iterator[tuple[dict[str, str], dict]]:
    """`cutover sandbox FLAGS` with its state and config under `state`; yields the environment
    a client needs and the world summary (cutover.cli.sandbox_process)."""
    env = dict(os.environ)
    env.update(
        XDG_STATE_HOME=str(state / "state"),
        XDG_CONFIG_HOME=str(state / "config"),
        PYTHONPATH=str(ROOT),
    )
    with running_sandbox_process(*flags, env=env, cwd=ROOT) as running:
        yield running


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


WEB = ("--application", "web", "--deployment-group", "web-prod")


def status(env: dict[str, str], *where: str, deployment: str | None = None) -> dict:
    """`cutover status --json` for the group `where` names (the default scenario's web/web-prod
    when empty), as a script reads it; it must succeed."""
    extra = ["--deployment", deployment] if deployment else []
    res = cutover(env, "status", *(where or WEB), *extra, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def until(
    env: dict[str, str],
    pred: Callable[[dict], bool],
    *where: str,
    timeout: float = 60,
    deployment: str | None = None,
) -> dict:
    """The first status document `pred` holds for, polled as a person would re-run the
    command; on timeout the assertion lists the phases seen last."""
    deadline = time.monotonic() + timeout
    seen: list[str | None] = []
    while True:
        doc = status(env, *where, deployment=deployment)
        seen.append(phase(doc))
        if pred(doc):
            return doc
        assert time.monotonic() < deadline, f"phases seen: {seen[-10:]}; {doc['deployment']}"
        time.sleep(0.3)


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
