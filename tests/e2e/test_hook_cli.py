"""`cutover hook` as the CodeDeploy agent runs it: a subprocess on the "instance", finding
itself through the sandbox's instance metadata, against `cutover sandbox --scenario hooks`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.e2e.sandbox_process import sandbox_process

ROOT = Path(__file__).resolve().parents[2]
CUTOVER = [sys.executable, "-m", "cutover.cli"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], dict]]:
    state = tmp_path_factory.mktemp("hooks")
    with sandbox_process(state, "--scenario", "hooks", "--time-scale", "50") as running:
        yield running


def cutover(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CUTOVER, *args],
        capture_output=True,
        text=True,
        env={**env, **extra},
        cwd=ROOT,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def instances(env: dict[str, str], app: str) -> list[str]:
    ec2 = boto3.client(
        "ec2",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    rows = ec2.describe_instances(Filters=[{"Name": "tag:app", "Values": [app]}])
    return sorted(i["InstanceId"] for r in rows["Reservations"] for i in r["Instances"])


def metadata_url(summary: dict, iid: str) -> str:
    return next(i["metadata_url"] for i in summary["instances"] if i["id"] == iid)


def test_deregister_and_register_as_the_agent_runs_them(
    sandbox: tuple[dict[str, str], dict],
) -> None:
    env, summary = sandbox
    iid = instances(env, "api")[0]
    agent = {
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": metadata_url(summary, iid),
        "DEPLOYMENT_ID": "d-CLITEST01",
        "DEPLOYMENT_GROUP_NAME": "api-hooks",
        "APPLICATION_NAME": "shop",
        "TARGET_GROUP_LIST": "api-tg",
    }
    res = cutover(env, "hook", "deregister", **agent, LIFECYCLE_EVENT="ApplicationStop")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines and all(line.startswith(f"cutover hook deregister: {iid}: ") for line in lines)
    assert "deployment d-CLITEST01, group shop/api-hooks, event ApplicationStop" in lines[0]
    assert lines[-1].endswith("out of service")
    res = cutover(env, "hook", "register", **agent, LIFECYCLE_EVENT="ApplicationStart")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == f"cutover hook register: {iid}: in service"


def test_bad_input_is_one_line_and_exit_2(
    sandbox: tuple[dict[str, str], dict], tmp_path: Path
) -> None:
    env, _ = sandbox
    res = cutover(env, "hook", "register", "--instance-id", "web-1")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "cutover hook register: argument --instance-id: 'web-1' is not an instance id "
        "(i-0123456789abcdef0)"
    ]
    res = cutover(env, "hook", "deregister", AWS_EC2_METADATA_DISABLED="true")
    assert res.returncode == 2
    assert "--instance-id: required when AWS_EC2_METADATA_DISABLED=true" in res.stderr
    config = tmp_path / "config.yaml"
    config.write_text("hooks:\n  elbs: [a]\n  prot: 80\n")
    iid = instances(env, "api")[0]
    res = cutover(env, "hook", "deregister", "--instance-id", iid, "--config", str(config))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"cutover hook deregister: {config}:3: unknown key 'prot' in hooks (expected one of: "
        "deployment_groups, elbs, lower_min_size, port, suspend_processes, target_groups)"
    ]
    res = cutover(env, "hook", "deregister", "--instance-id", iid, PORT="eighty")
    assert res.returncode == 2 and "PORT: 'eighty' is not a port number" in res.stderr


def test_aws_error_exit_1_last_line_says_why(sandbox: tuple[dict[str, str], dict]) -> None:
    env, _ = sandbox
    iid = instances(env, "legacy")[0]
    res = cutover(env, "hook", "deregister", "--instance-id", iid, "--elbs", "no-such-elb")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"cutover hook deregister: {iid}: ")
    assert "(AWS error LoadBalancerNotFound)" in last
