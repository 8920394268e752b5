"""A whole cutover, and two rollbacks, driven by the AWS CLI alone against `cutover sandbox --load`.

This is what an engineer does by hand today; the sandbox must behave like CodeDeploy through
all of it, and the load generator must count no failed request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cutover.sandbox.testing import control

from tests.e2e.sandbox_process import sandbox_process

ROOT = Path(__file__).resolve().parents[2]
AWS = str(Path(sys.executable).parent / "aws")
if not Path(AWS).exists():
    AWS = shutil.which("aws") or "aws"

pytestmark = pytest.mark.skipif(
    not Path(AWS).exists() and shutil.which("aws") is None, reason="the AWS CLI is not installed"
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("cutover")
    with sandbox_process(state, "--time-scale", "100", "--load", "50") as (env, summary):
        env["LISTENER_PORT"] = str(summary["load_balancers"][0]["listeners"][0]["port"])
        yield env


def aws(env: dict[str, str], *args: str, check: bool = True) -> dict:
    res = subprocess.run(
        [AWS, *args, "--output", "json"], capture_output=True, text=True, env=env, timeout=120
    )
    if check:
        assert res.returncode == 0, f"aws {' '.join(args)}: {res.stderr}"
    return json.loads(res.stdout) if res.stdout.strip() else {}


def deployment(env: dict[str, str], dep_id: str) -> dict:
    return aws(env, "deploy", "get-deployment", "--deployment-id", dep_id)["deploymentInfo"]


def wait_status(env: dict[str, str], dep_id: str, *wanted: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        info = deployment(env, dep_id)
        if info["status"] in wanted:
            return info
        assert info["status"] not in ("Failed", "Stopped") or "Failed" in wanted, info
        assert time.monotonic() < deadline, f"{dep_id} stayed {info['status']}"
        time.sleep(0.3)


def create(env: dict[str, str], revision: str) -> str:
    out = aws(
        env,
        "deploy",
        "create-deployment",
        "--application-name",
        "web",
        "--deployment-group-name",
        "web-prod",
        "--s3-location",
        f"bucket=web-revisions,key=web/{revision}.zip,bundleType=zip",
    )
    return out["deploymentId"]


def approve(env: dict[str, str], dep_id: str, wait_type: str) -> None:
    args = ["--deployment-id", dep_id, "--deployment-wait-type", wait_type]
    aws(env, "deploy", "continue-deployment", *args)


def target_group_states(env: dict[str, str]) -> dict[str, str]:
    arn = aws(env, "elbv2", "describe-target-groups", "--names", "web-tg")["TargetGroups"][0][
        "TargetGroupArn"
    ]
    health = aws(env, "elbv2", "describe-target-health", "--target-group-arn", arn)
    return {
        d["Target"]["Id"]: d["TargetHealth"]["State"] for d in health["TargetHealthDescriptions"]
    }


def served_revisions(env: dict[str, str], n: int = 20) -> set[str]:
    seen = set()
    for _ in range(n):
        url = f"http://127.0.0.1:{env['LISTENER_PORT']}/"
        with urllib.request.urlopen(url, timeout=5) as resp:
            seen.add(resp.headers["X-Revision"])
    return seen


def load_errors(env: dict[str, str]) -> tuple[int, int]:
    stats = control(env).load()
    return stats["sent"], stats["errors"]


def test_full_cutover_then_two_rollbacks(sandbox: dict[str, str]) -> None:
    env = sandbox
    # 1. Deploy v2: Ready, approve, traffic moves, terminate the originals, Succeeded.
    dep = create(env, "v2")
    info = wait_status(env, dep, "Ready")
    originals = set(target_group_states(env))
    approve(env, dep, "READY_WAIT")
    deadline = time.monotonic() + 60
    while True:
        info = deployment(env, dep)
        states = target_group_states(env)
        replacements = {i: s for i, s in states.items() if i not in originals}
        if info.get("instanceTerminationWaitTimeStarted") and not set(states) & originals:
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.3)
    assert set(replacements.values()) == {"healthy"} and len(replacements) == 4
    assert served_revisions(env) == {"v2"}
    approve(env, dep, "TERMINATION_WAIT")
    waited = subprocess.run(
        [AWS, "deploy", "wait", "deployment-successful", "--deployment-id", dep],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert waited.returncode == 0, waited.stderr
    ec2 = aws(env, "ec2", "describe-instances", "--instance-ids", *sorted(originals))
    assert {i["State"]["Name"] for r in ec2["Reservations"] for i in r["Instances"]} <= {
        "shutting-down",
        "terminated",
    }

    # 2. Deploy v3, stop with rollback at Ready: the rollback succeeds, v2 keeps serving.
    v2_fleet = set(target_group_states(env))
    dep = create(env, "v3")
    wait_status(env, dep, "Ready")
    aws(env, "deploy", "stop-deployment", "--deployment-id", dep, "--auto-rollback-enabled")
    info = wait_status(env, dep, "Stopped")
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    assert deployment(env, rollback)["rollbackInfo"]["rollbackTriggeringDeploymentId"] == dep
    wait_status(env, rollback, "Succeeded")
    assert set(target_group_states(env)) == v2_fleet
    assert set(target_group_states(env).values()) == {"healthy"}
    assert served_revisions(env) == {"v2"}

    # 3. Deploy v4, approve, then roll back after the reroute: traffic returns to v2.
    dep = create(env, "v4")
    wait_status(env, dep, "Ready")
    approve(env, dep, "READY_WAIT")
    deadline = time.monotonic() + 60
    while not deployment(env, dep).get("instanceTerminationWaitTimeStarted"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert served_revisions(env) == {"v4"}
    aws(env, "deploy", "stop-deployment", "--deployment-id", dep, "--auto-rollback-enabled")
    rollback = wait_status(env, dep, "Stopped")["rollbackInfo"]["rollbackDeploymentId"]
    wait_status(env, rollback, "Succeeded")
    assert set(target_group_states(env)) == v2_fleet
    assert set(target_group_states(env).values()) == {"healthy"}
    assert served_revisions(env) == {"v2"}
    groups = aws(env, "autoscaling", "describe-auto-scaling-groups")["AutoScalingGroups"]
    # One web fleet is left (the default scenario's other applications have their own).
    web = [g for g in groups if {"Key": "app", "Value": "web"} in _tags(g)]
    assert len(web) == 1, [g["AutoScalingGroupName"] for g in groups]

    sent, errors = load_errors(env)
    assert sent > 500 and errors == 0, (sent, errors)


def _tags(group: dict) -> list[dict]:
    return [{"Key": t["Key"], "Value": t["Value"]} for t in group.get("Tags", [])]
