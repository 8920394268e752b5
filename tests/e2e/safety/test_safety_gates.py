"""Issue 11, every action safe by construction (the fleet gate in a fresh process;
terminate-original is gated): through the real `cutover` in a subprocess against `cutover sandbox`
(tests/e2e/safety/conftest.py).

Each test is named after the item it proves; docs/reliability.md's safety table lists them.
"""

from __future__ import annotations

from cutover.sandbox.testing import aws_client, control

from tests.e2e.safety.steps import (
    WHERE,
    idle,
    ready,
    requests,
    status,
    until,
)
from tests.e2e.sandbox_process import audit, cutover, phase

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
