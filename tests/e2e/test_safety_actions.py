"""Issue 11: every action safe by construction, through the real `cutover` in a subprocess
against `cutover sandbox` (default scenario, clock x100: each 60-minute wait lasts 36 s).

Each test is named after the item it proves; docs/reliability.md's safety table lists them.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cutover.sandbox.testing import aws_client, control

from tests.e2e import sandbox_process as e2e
from tests.e2e.sandbox_process import CUTOVER, ROOT, audit, cutover, phase, sandbox_process

WHERE = ["--application", "web", "--deployment-group", "web-prod"]
V2 = "s3://web-revisions/web/v2.zip"
V3 = "s3://web-revisions/web/v3.zip"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("safety")
    with sandbox_process(state, "--time-scale", "100") as (environ, _):
        yield environ


@pytest.fixture(autouse=True)
def no_faults(env: dict[str, str]) -> Iterator[None]:
    yield
    control(env).clear_faults()


def status(env: dict[str, str], deployment: str | None = None) -> dict:
    return e2e.status(env, deployment=deployment)


def until(env: dict[str, str], pred: Callable[[dict], bool], timeout: float = 60) -> dict:
    return e2e.until(env, pred, timeout=timeout)


def requests(env: dict[str, str], operation: str) -> int:
    return control(env).faults()["requests"].get(operation, 0)


def idle(env: dict[str, str]) -> dict:
    """Stop whatever runs (rolling back), and wait until the group is quiet."""
    doc = status(env)
    if doc["deployment"] and doc["deployment"]["status"] in (
        "Created",
        "Queued",
        "InProgress",
        "Ready",
        "Baking",
    ):
        aws_client(env, "codedeploy").stop_deployment(
            deploymentId=doc["deployment"]["id"], autoRollbackEnabled=False
        )
    return until(env, lambda d: not d["active_deployment"], timeout=90)


def ready(env: dict[str, str], revision: str = V2) -> str:
    """A fresh deployment of `revision`, waiting in Ready; its id."""
    idle(env)
    res = cutover(env, "deploy", *WHERE, "--revision", revision, "--yes")
    assert res.returncode == 0, res.stderr
    doc = until(env, lambda d: phase(d) == "ready", timeout=90)
    return doc["deployment"]["id"]


def one_line(res: subprocess.CompletedProcess) -> str:
    assert res.stderr.count("\n") <= 2 and "Traceback" not in res.stderr, res.stderr
    return res.stderr


# ----- 3: an intent record before the first call ------------------------------------------------


def test_safety_03_nothing_is_sent_when_the_intent_cannot_be_written(
    env: dict[str, str], tmp_path: Path
) -> None:
    dep_id = ready(env)
    state = tmp_path / "state"
    (state / "cutover" / "audit.jsonl").mkdir(parents=True)  # a directory: not writable as a log
    before = requests(env, "StopDeployment")
    res = cutover({**env, "XDG_STATE_HOME": str(state)}, "stop", *WHERE, "--yes")
    assert res.returncode == 1, res
    line = one_line(res)
    assert "nothing was sent" in line and "audit.jsonl" in line, line
    assert requests(env, "StopDeployment") == before
    assert status(env)["deployment"]["status"] == "Ready"
    assert status(env)["deployment"]["id"] == dep_id


def test_safety_03_an_intent_without_outcome_is_shown_until_read_back(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dep_id = ready(env)
    # The approval takes 12 s to be answered; the CLI dies (kill -9) while it waits. Long
    # enough that the reads below (two `cutover status` and a dashboard start, a few seconds
    # on a busy machine) happen while it is still on its way.
    control(env).set_api_fault(latency_ms=12000, operations=["ContinueDeployment"])
    before = len(audit(env))
    proc = subprocess.Popen(
        [*CUTOVER, "approve", *WHERE, "--yes"],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(r["outcome"] == "intent" for r in audit(env)[before:]):
            assert time.monotonic() < deadline, "no intent record"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    (intent,) = audit(env)[before:]
    assert intent["action"] == "approve" and intent["deployment_id"] == dep_id
    assert any("ContinueDeployment" in line for line in intent["plan"])

    # Read while the call is still on its way: the outcome is unknown, with the plan.
    res = cutover(env, "status", *WHERE)
    assert res.returncode == 0, res.stderr
    assert "OUTCOME UNKNOWN" in res.stdout and "ContinueDeployment" in res.stdout, res.stdout
    doc = status(env)
    (pending,) = doc["pending_actions"]
    assert pending["outcome"] == "unknown" and pending["deployment_id"] == dep_id
    assert any("ContinueDeployment" in line for line in pending["plan"])

    # The dashboard shows it too.
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.setenv("XDG_STATE_HOME", env["XDG_STATE_HOME"])
    banner = asyncio.run(dashboard_banner(env))
    assert "Outcome unknown" in banner and "ContinueDeployment" in banner, banner

    # Once the state shows what happened, the outcome is recorded and no longer pending.
    doc = until(env, lambda d: phase(d) != "ready" and not d["pending_actions"], timeout=90)
    records = audit(env)[before:]
    settled = [r for r in records if r.get("attempt") == intent["attempt"] and r is not records[0]]
    assert [r["outcome"] for r in settled] == ["done"], records
    assert "state read again" in settled[0]["resolved_by"]
    assert requests(env, "ContinueDeployment") >= 1
    idle(env)


async def dashboard_banner(env: dict[str, str]) -> str:
    from cutover.backend.actions import Controller
    from cutover.backend.audit import AuditLog
    from cutover.backend.aws.session import AwsSession
    from cutover.backend.config import TargetConfig
    from cutover.backend.observe import Observer
    from cutover.tui.app import CutoverApp

    from tests.e2e.conftest import text_of, wait_until

    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        application="web",
        deployment_group="web-prod",
    )
    session = AwsSession(target)
    session.create_clients()
    observer = Observer(session, target)
    audit_log = AuditLog(Path(env["XDG_STATE_HOME"]) / "cutover" / "audit.jsonl")
    app = CutoverApp(target, observer=observer, controller=Controller(session, target, audit_log))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.snapshot is not None, 20, "the first snapshot")
            await pilot.pause(0.2)
            return text_of(app.dashboard.query_one("#banner"))
    finally:
        observer.close()


# ----- 4: the same availability check in every front end ------------------------------------


def test_safety_04_the_command_line_refuses_what_the_dashboard_refuses(
    env: dict[str, str],
) -> None:
    ready(env)
    doc = status(env)
    assert not doc["actions"]["shift"]["allowed"]
    before = requests(env, "DeregisterTargets")
    res = cutover(env, "shift", *WHERE, "--move", "original-out", "--yes")
    assert res.returncode == 1
    assert doc["actions"]["shift"]["reason"] in res.stderr, res.stderr
    assert requests(env, "DeregisterTargets") == before
    # Nothing moved: the same targets serve as before the refused command.
    after = status(env)
    assert after["traffic"] == doc["traffic"], (doc["traffic"], after["traffic"])
    assert audit(env)[-1]["outcome"] == "refused"


# ----- 6: mutating calls are sent once; a lost answer is read back -------------------------------


def test_safety_06_a_lost_answer_is_read_back_not_resent(env: dict[str, str]) -> None:
    dep_id = ready(env)
    before = requests(env, "ContinueDeployment")
    control(env).set_api_fault(drop_response=1, drop_operations=["ContinueDeployment"])
    res = cutover(env, "approve", *WHERE, "--yes")
    assert requests(env, "ContinueDeployment") == before + 1  # sent once, never again
    assert res.returncode == 0, res.stderr
    assert "no answer" in res.stdout and "took effect" in res.stdout, res.stdout
    record = audit(env)[-1]
    assert record["outcome"] == "done" and record["error_code"] == "OutcomeReadBack"
    assert "state read again" in record["resolved_by"]
    assert status(env)["deployment"]["id"] == dep_id
    assert phase(status(env)) != "ready"
    idle(env)


# ----- 7: the way back from a finished deployment ----------------------------------------------


def test_safety_07_rollback_of_a_finished_deployment(env: dict[str, str]) -> None:
    # v2 all the way through: its originals are gone.
    dep_v2 = ready(env, V2)
    assert cutover(env, "approve", *WHERE, "--yes").returncode == 0
    until(env, lambda d: phase(d) == "termination-wait", timeout=90)
    res = cutover(env, "terminate-original", *WHERE, "--yes")
    assert res.returncode == 0, res.stderr
    until(env, lambda d: d["deployment"]["status"] == "Succeeded", timeout=90)

    # Rolling back a finished deployment redeploys the last revision that succeeded before it.
    res = cutover(env, "rollback", *WHERE, "--yes")
    assert res.returncode == 0, res.stderr
    assert (
        f"Redeploy s3://web-revisions/web/v1.zip, the last revision that succeeded before {dep_v2}"
        in res.stdout
    ), res.stdout
    redeploy = status(env)["deployment"]["id"]
    assert redeploy != dep_v2
    idle(env)

    # A deployment rolled back by CodeDeploy, and the rollback itself, are refused.
    dep_v3 = ready(env, V3)
    res = cutover(env, "rollback", *WHERE, "--yes")
    assert res.returncode == 0, res.stderr
    until(env, lambda d: not d["active_deployment"], timeout=90)
    rollback = status(env, dep_v3)["deployment"]["rolled_back_by"]
    assert rollback and status(env)["deployment"]["id"] == rollback
    res = cutover(env, "rollback", *WHERE, "--deployment", dep_v3, "--yes")
    assert res.returncode == 1 and f"already rolled back by {rollback}" in res.stderr, res.stderr
    res = cutover(env, "rollback", *WHERE, "--deployment", rollback, "--yes")
    assert res.returncode == 1 and "itself the rollback" in res.stderr, res.stderr
    assert status(env)["deployment"]["id"] == rollback  # nothing new started


# ----- 8: a deployment of another group -------------------------------------------------------


def test_safety_08_a_deployment_of_another_group_is_a_usage_error(env: dict[str, str]) -> None:
    cd = aws_client(env, "codedeploy")
    try:
        cd.create_deployment_group(
            applicationName="web",
            deploymentGroupName="web-canary",
            serviceRoleArn="arn:aws:iam::123456789012:role/CodeDeployServiceRole",
            ec2TagFilters=[{"Key": "role", "Value": "canary", "Type": "KEY_AND_VALUE"}],
        )
    except cd.exceptions.DeploymentGroupAlreadyExistsException:
        pass
    dep_id = ready(env)
    canary = ["--application", "web", "--deployment-group", "web-canary"]
    before = len(audit(env))
    for command in (["stop", "--yes"], ["approve", "--yes"], ["status"]):
        res = cutover(env, *command, *canary, "--deployment", dep_id)
        assert res.returncode == 2, res
        line = one_line(res)
        assert f"{dep_id} belongs to web/web-prod, not web/web-canary" in line, line
    assert status(env)["deployment"]["status"] == "Ready"
    assert len(audit(env)) == before
    idle(env)


# ----- 9: the plan id covers where and the state planned from --------------------------------


def test_safety_09_a_new_decision_is_not_a_duplicate(env: dict[str, str]) -> None:
    idle(env)
    for _ in range(2):  # deploy, stop, deploy the same revision, stop
        res = cutover(env, "deploy", *WHERE, "--revision", V2, "--yes")
        assert res.returncode == 0, res.stderr
        assert "already sent" not in res.stderr
        until(env, lambda d: phase(d) == "ready", timeout=90)
        res = cutover(env, "stop", *WHERE, "--yes")
        assert res.returncode == 0, res.stderr
        until(env, lambda d: not d["active_deployment"], timeout=90)
    records = [r for r in audit(env) if r["outcome"] == "intent"][-4:]
    assert [r["action"] for r in records] == ["deploy", "stop", "deploy", "stop"]
    assert records[0]["plan_id"] != records[2]["plan_id"]
    for r in records:
        assert r["account"] == "123456789012" and r["region"] == "us-east-1"
        assert r["endpoint"] == env["AWS_ENDPOINT_URL"]


# ----- 10: the fleet gate compares with CodeDeploy's own targets -------------------------------


def test_safety_10_a_replaced_instance_fails_the_fleet_gate_in_a_fresh_process(
    env: dict[str, str],
) -> None:
    ready(env)
    doc = status(env)
    victim = doc["replacement"]["instances"][0]["id"]
    ids = {i["id"] for i in doc["replacement"]["instances"]}
    aws_client(env, "ec2").terminate_instances(InstanceIds=[victim])
    # Auto Scaling replaces it with an instance this deployment never installed.
    doc = until(
        env,
        lambda d: any(
            i["id"] not in ids and i["ec2_state"] in ("pending", "running")
            for i in d["replacement"]["instances"]
        ),
        timeout=60,
    )
    gate = next(g for g in doc["gates"] if g["name"] == "fleet-unchanged")
    assert not gate["passed"] and f"{victim} is gone" in gate["reason"], gate
    assert "is new (not deployed by" in gate["reason"]
    res = cutover(env, "approve", *WHERE, "--yes")
    assert res.returncode == 1 and "fleet-unchanged" not in res.stderr
    assert "differs from the instances" in res.stderr, res.stderr
    assert phase(status(env)) == "ready"
    idle(env)


# ----- 16: terminating the originals is gated like approving ----------------------------------


def test_safety_16_terminate_original_is_gated(env: dict[str, str]) -> None:
    ready(env)
    assert cutover(env, "approve", *WHERE, "--yes").returncode == 0
    doc = until(env, lambda d: phase(d) == "termination-wait", timeout=90)
    sick = doc["replacement"]["instances"][0]["id"]
    control(env).set_instance_fault(sick, unhealthy=True)
    doc = until(
        env,
        lambda d: any(
            i["id"] == sick and i["health"]["web-tg"]["state"] == "unhealthy"
            for i in d["replacement"]["instances"]
        ),
        timeout=30,
    )
    assert not doc["actions"]["terminate-original"]["allowed"]
    before = requests(env, "ContinueDeployment")
    res = cutover(env, "terminate-original", *WHERE, "--yes")
    assert res.returncode == 1
    assert sick in res.stderr and "web-tg" in res.stderr and "--override-gates" in res.stderr
    assert requests(env, "ContinueDeployment") == before
    assert audit(env)[-1]["outcome"] == "refused"

    res = cutover(env, "terminate-original", *WHERE, "--yes", "--override-gates")
    assert res.returncode == 0, res.stderr
    assert "OVERRIDDEN" in res.stdout
    intent = [r for r in audit(env) if r["outcome"] == "intent"][-1]
    assert intent["action"] == "terminate-original" and intent["override"]
    assert any(not g["passed"] for g in intent["gates"])
    until(env, lambda d: phase(d) in ("terminating", "succeeded"), timeout=60)
    control(env).clear_faults()
    idle(env)
