"""Issue 11, every action safe by construction (intents, refusals, lost answers, another group):
through the real `cutover` in a subprocess against `cutover sandbox`
(tests/e2e/safety/conftest.py).

Each test is named after the item it proves; docs/reliability.md's safety table lists them.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cutover.sandbox.testing import aws_client, control

from tests.e2e.safety.steps import (
    WHERE,
    idle,
    one_line,
    ready,
    requests,
    status,
    until,
)
from tests.e2e.sandbox_process import CUTOVER, ROOT, audit, cutover, phase

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
