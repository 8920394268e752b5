"""Issue 11, every action safe by construction (a rollback of a finished deployment; a new decision
is not a duplicate): through the real `cutover` in a subprocess against `cutover sandbox`
(tests/e2e/safety/conftest.py).

Each test is named after the item it proves; docs/reliability.md's safety table lists them.
"""

from __future__ import annotations

from tests.e2e.safety.steps import (
    V2,
    V3,
    WHERE,
    idle,
    ready,
    status,
    until,
)
from tests.e2e.sandbox_process import audit, cutover, phase

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
