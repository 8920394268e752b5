"""The fault matrix, command-line side: exit codes and one-line messages under each fault, and
nothing sent twice. Runs `cutover` in subprocesses against `cutover sandbox` in another.

Covered elsewhere, not repeated here: status with half the calls throttled and with the API
unreachable (tests/e2e/test_controller_cli.py::test_status_under_throttling_and_when_unreachable);
a config key that is not one (`regoin`) naming file:line, and an unknown deployment group
(test_controller_cli.py::test_read_only_and_bad_flags). See docs/reliability.md.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cutover.sandbox.testing import control

from tests.e2e import sandbox_process as e2e
from tests.e2e.sandbox_process import audit, cutover, phase, sandbox_process

WHERE = ["--application", "web", "--deployment-group", "web-prod"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("faults")
    with sandbox_process(state, "--time-scale", "150") as (environ, _):
        yield environ


def clear(env: dict[str, str]) -> None:
    control(env).clear_faults()


def requests(env: dict[str, str], operation: str) -> int:
    """Calls of `operation` that reached the sandbox, refused ones included."""
    return control(env).faults()["requests"].get(operation, 0)


def status(env: dict[str, str], deployment: str | None = None) -> dict:
    return e2e.status(env, deployment=deployment)


def until(env: dict[str, str], pred, timeout: float = 60, deployment: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    return e2e.until(env, pred, timeout=timeout, deployment=deployment)


def one_line(res: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in res.stderr, res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    return res.stderr


def settle(env: dict[str, str]) -> None:
    """No deployment of the group running (stop the one that is)."""
    clear(env)
    doc = status(env)
    if doc["deployment"] and doc["deployment"]["status"] not in ("Succeeded", "Failed", "Stopped"):
        cutover(env, "stop", *WHERE, "--yes")
    until(
        env,
        lambda d: (
            not d["deployment"] or d["deployment"]["status"] in ("Succeeded", "Failed", "Stopped")
        ),
    )


# ----- API faults ---------------------------------------------------------------------------------


def test_status_with_90_percent_throttled(env: dict[str, str]) -> None:
    control(env).set_api_fault(throttle=0.9)
    try:
        t0 = time.monotonic()
        res = cutover(env, "status", *WHERE)
        took = time.monotonic() - t0
    finally:
        clear(env)
    print(f"status with 90% of calls throttled: exit {res.returncode} after {took:.1f} s")
    # Either the snapshot got through (what could not be read is noted) or one line says
    # AWS is throttling; never a traceback, never a hang.
    if res.returncode == 0:
        assert "web/web-prod" in res.stdout
    else:
        assert res.returncode == 1
        assert "Throttl" in one_line(res) or "throttl" in res.stderr
    assert took < 60, took  # about 15 s on an idle machine; botocore retries each call 4 times


def test_status_with_credentials_rejected(env: dict[str, str]) -> None:
    res = cutover(env, "sandbox", "fault", "api", "--deny", "credentials")
    assert res.returncode == 0, res.stderr
    assert "credentials are rejected" in res.stdout
    try:
        res = cutover(env, "status", *WHERE)
    finally:
        clear(env)
    assert res.returncode == 1
    line = one_line(res)
    assert "InvalidClientTokenId" in line and "access key is not valid" in line, line


def test_approve_with_access_denied_fails_once_and_is_audited(env: dict[str, str]) -> None:
    settle(env)
    res = cutover(env, "deploy", *WHERE, "--revision", "s3://web-revisions/web/v2.zip", "--yes")
    assert res.returncode == 0, res.stderr
    dep_id = until(env, lambda d: phase(d) == "ready")["deployment"]["id"]
    res = cutover(
        env,
        "sandbox",
        "fault",
        "api",
        "--deny",
        "access",
        "--deny-operation",
        "ContinueDeployment",
    )
    assert res.returncode == 0 and "access denied to ContinueDeployment" in res.stdout
    before = requests(env, "ContinueDeployment")
    try:
        res = cutover(env, "approve", *WHERE, "--yes")
        assert res.returncode == 1
        line = one_line(res)
        assert "AccessDeniedException" in line and "access denied" in line, line
        assert requests(env, "ContinueDeployment") == before + 1  # not retried
        record = audit(env)[-1]
        assert (record["action"], record["outcome"]) == ("approve", "failed")
        assert record["error_code"] == "AccessDeniedException" and record["rejected"]
        assert status(env, dep_id)["deployment"]["status"] == "Ready"
    finally:
        settle(env)


def test_a_revision_whose_key_does_not_exist(env: dict[str, str]) -> None:
    settle(env)
    # The sandbox has no S3: it plays the missing key as CodeDeploy reports it, at
    # DownloadBundle on every replacement.
    res = cutover(env, "sandbox", "fault", "hook", "DownloadBundle", "--times", "4")
    assert res.returncode == 0, res.stderr
    res = cutover(
        env, "deploy", *WHERE, "--revision", "s3://web-revisions/web/no-such-key.zip", "--yes"
    )
    assert res.returncode == 0, res.stderr
    dep_id = res.stdout.split("deployment ")[-1].split()[0]
    try:
        until(env, lambda d: d["deployment"]["status"] == "Failed", deployment=dep_id)
        res = cutover(env, "status", *WHERE, "--deployment", dep_id)
        assert res.returncode == 0, res.stderr
        print(res.stdout)
        assert "Failed" in res.stdout
        assert "DownloadBundle" in res.stdout
        assert "The specified key does not exist." in res.stdout
    finally:
        settle(env)


# ----- bad input --------------------------------------------------------------------------------


def test_malformed_config_unknown_target_and_bad_revision(
    env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("targets:\n  prod:\n    application: web\n    deployment_group: [web\n")
    res = cutover(env, "status", "--config", str(broken), "--target", "prod")
    assert res.returncode == 2
    assert f"{broken}:" in one_line(res) and "YAML" in res.stderr

    good = tmp_path / "good.yaml"
    good.write_text(
        "targets:\n  prod:\n    application: web\n    deployment_group: web-prod\n"
        "  stage:\n    application: web\n    deployment_group: web-stage\n"
    )
    res = cutover(env, "status", "--config", str(good), "--target", "nope")
    assert res.returncode == 2
    line = one_line(res)
    assert "--target" in line and "prod" in line and "stage" in line

    before = requests(env, "CreateDeployment")
    for bad in ("s3://web-revisions", "web/v2.zip", "s3://web-revisions/web/v2.exe"):
        res = cutover(env, "deploy", *WHERE, "--revision", bad, "--yes")
        assert res.returncode == 2, (bad, res.stderr)
        assert "--revision" in one_line(res)
    assert requests(env, "CreateDeployment") == before
