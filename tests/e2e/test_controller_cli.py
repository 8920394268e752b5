"""The command line alone carries deployments through, against `cutover sandbox --load 50`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from cutover.sandbox.control.client import ControlError
from cutover.sandbox.testing import control, wait_for

from tests.e2e import sandbox_process as e2e
from tests.e2e.sandbox_process import audit, cutover, phase, sandbox_process

WHERE = ["--application", "web", "--deployment-group", "web-prod"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("controller")
    with sandbox_process(state, "--time-scale", "100", "--load", "50") as (environ, _):
        yield environ


def status(env: dict[str, str], deployment: str | None = None) -> dict:
    return e2e.status(env, deployment=deployment)


def until(env: dict[str, str], pred, timeout: float = 60, deployment: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    return e2e.until(env, pred, timeout=timeout, deployment=deployment)


def load_errors(env: dict[str, str]) -> tuple[int, int]:
    stats = control(env).load()
    return stats["sent"], stats["errors"]


def test_deploy_approve_terminate_then_deploy_approve_rollback(env: dict[str, str]) -> None:
    before = len(audit(env))
    # Without --yes and without a terminal, nothing is sent.
    res = cutover(env, "deploy", *WHERE, "--revision", "s3://web-revisions/web/v2.zip")
    assert res.returncode == 2 and "--yes" in res.stderr

    res = cutover(env, "deploy", *WHERE, "--revision", "s3://web-revisions/web/v2.zip", "--yes")
    assert res.returncode == 0, res.stderr
    assert "codedeploy:CreateDeployment" in res.stdout and "started" in res.stdout
    ready = until(env, lambda d: phase(d) == "ready")
    dep = ready["deployment"]
    assert dep["waiting_for"] == "reroute-approval" and dep["deadline"]
    assert ready["traffic"]["original_percent"] == 100
    assert ready["actions"]["approve"]["allowed"]
    assert len(ready["replacement"]["instances"]) == 4

    res = cutover(env, "terminate-original", *WHERE, "--yes")
    assert res.returncode == 1 and "the termination wait starts after the reroute" in res.stderr

    res = cutover(env, "approve", *WHERE, "--yes")
    assert res.returncode == 0, res.stderr
    waiting = until(env, lambda d: phase(d) == "termination-wait")
    assert waiting["deployment"]["waiting_for"] == "termination"
    assert waiting["traffic"]["replacement_percent"] == 100
    assert not waiting["actions"]["approve"]["allowed"]
    assert waiting["actions"]["terminate-original"]["allowed"]

    res = cutover(env, "terminate-original", *WHERE, "--yes")
    assert res.returncode == 0, res.stderr
    done = until(env, lambda d: phase(d) == "succeeded")
    # The originals are gone: the way back is a redeploy of the revision before.
    assert "new deployment of the last revision" in done["actions"]["rollback"]["reason"]
    v2_fleet = {i["id"] for i in done["replacement"]["instances"]}
    assert len(v2_fleet) == 4

    # Second deployment: approve, then roll back after the reroute.
    res = cutover(env, "deploy", *WHERE, "--revision", "s3://web-revisions/web/v3.zip", "--yes")
    assert res.returncode == 0, res.stderr
    until(env, lambda d: phase(d) == "ready")
    assert cutover(env, "approve", *WHERE, "--yes").returncode == 0
    dep_id = until(env, lambda d: phase(d) == "termination-wait")["deployment"]["id"]
    res = cutover(env, "rollback", *WHERE, "--yes")
    assert res.returncode == 0, res.stderr
    assert "autoRollbackEnabled=true" in res.stdout
    rolled = until(
        env,
        lambda d: d["deployment"]["status"] == "Stopped" and d["deployment"]["rolled_back_by"],
        deployment=dep_id,
    )
    rollback_id = rolled["deployment"]["rolled_back_by"]
    back = until(
        env,
        lambda d: d["deployment"]["id"] == rollback_id and phase(d) == "succeeded",
    )
    serving = {
        i["id"]
        for env_ in (back["original"], back["replacement"])
        if env_
        for i in env_["instances"]
        if any(h["healthy"] for h in i["health"].values())
    }
    assert serving == v2_fleet, (serving, v2_fleet)

    records = audit(env)[before:]
    done_actions = [r["action"] for r in records if r["outcome"] == "done"]
    assert done_actions == [
        "deploy",
        "approve",
        "terminate-original",
        "deploy",
        "approve",
        "rollback",
    ]
    assert all(
        r["caller"] and r["server_time"] and r["request_id"]
        for r in records
        if r["outcome"] == "done"
    )
    assert [r["outcome"] for r in records if r["outcome"] not in ("done", "intent")] == [
        "cancelled",
        "refused",
    ]
    # Every send was preceded by its intent, fsynced.
    assert sum(r["outcome"] == "intent" for r in records) == len(done_actions)
    sent, errors = load_errors(env)
    assert sent > 500 and errors == 0, (sent, errors)


def test_approve_refused_for_an_unhealthy_replacement(env: dict[str, str]) -> None:
    res = cutover(env, "deploy", *WHERE, "--revision", "s3://web-revisions/web/v4.zip", "--yes")
    assert res.returncode == 0, res.stderr
    ready = until(env, lambda d: phase(d) == "ready")
    victim = ready["replacement"]["instances"][0]["id"]
    # A replacement that is already registered (as after a manual move) and fails its checks:
    # the health the load balancer reports is what the gate reads.
    elbv2 = boto3.client(
        "elbv2",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    (tg,) = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"]
    control(env).set_instance_fault(victim, unhealthy=True)
    elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": victim}])
    try:
        until(
            env,
            lambda d: any(
                i["id"] == victim and i["health"].get("web-tg", {}).get("state") == "unhealthy"
                for i in d["replacement"]["instances"]
            ),
            timeout=30,
        )
        before = len(audit(env))
        res = cutover(env, "approve", *WHERE, "--yes")
        assert res.returncode == 1
        assert victim in res.stderr and "web-tg" in res.stderr, res.stderr
        assert status(env)["deployment"]["status"] == "Ready"  # nothing was sent
        (record,) = audit(env)[before:]
        assert record["outcome"] == "refused" and record["action"] == "approve"
        assert any(not g["passed"] for g in record["gates"])
    finally:
        control(env).clear_faults()
        cutover(env, "stop", *WHERE, "--yes")
        until(env, lambda d: not d["deployment"] or d["deployment"]["status"] == "Stopped")


def test_status_under_throttling_and_when_unreachable(env: dict[str, str]) -> None:
    control(env).set_api_fault(throttle=0.5)
    try:
        t0 = time.monotonic()
        res = cutover(env, "status", *WHERE)
        took = time.monotonic() - t0
        assert res.returncode == 0, res.stderr
        assert "web/web-prod" in res.stdout
        print(f"status with half the calls throttled: {took:.1f} s")
    finally:
        control(env).clear_faults()
    control(env).set_api_fault(unreachable_s=10)
    wait_for(lambda: not reachable(env), 5, "the endpoint to go dark")
    t0 = time.monotonic()
    res = cutover(env, "status", *WHERE, timeout=60)
    took = time.monotonic() - t0
    print(f"status with the API unreachable: exit {res.returncode} after {took:.1f} s")
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "cannot reach" in res.stderr.lower()
    assert took < 10, took
    ok = lambda: cutover(env, "status", *WHERE).returncode == 0  # noqa: E731
    wait_for(ok, 30, "the sandbox to come back", every=0.5)


def reachable(env: dict[str, str]) -> bool:
    try:
        control(env).faults()
    except ControlError:
        return False
    return True


def test_read_only_and_bad_flags(env: dict[str, str], tmp_path: Path) -> None:
    res = cutover(env, "stop", *WHERE, "--read-only", "--yes")
    assert res.returncode == 2 and "read-only" in res.stderr
    res = cutover(env, "status")
    assert res.returncode == 2 and "--application" in res.stderr
    bad = tmp_path / "c.yaml"
    bad.write_text("targets:\n  prod:\n    regoin: x\n")
    res = cutover(env, "status", "--config", str(bad), "--target", "prod")
    assert res.returncode == 2 and f"{bad}:3:" in res.stderr and res.stderr.count("\n") == 1
    res = cutover(env, "shift", *WHERE, "--replacement", "150", "--yes")
    assert res.returncode == 2 and "--replacement" in res.stderr
    res = cutover(env, "status", "--application", "web", "--deployment-group", "nope")
    assert res.returncode == 1 and "DeploymentGroupDoesNotExistException" in res.stderr
