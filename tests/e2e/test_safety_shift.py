"""Issue 11, items 4, 5 and 9 and the typed token: rerouting by hand with `cutover shift`
against `cutover sandbox --scenario weighted` (web-alb forwards to web-blue-tg 100 and
web-green-tg 0), through the real command line."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from cutover.sandbox.testing import aws_client, control

from tests.e2e import sandbox_process as e2e
from tests.e2e.sandbox_process import (
    CUTOVER,
    ROOT,
    audit,
    create_weighted_group,
    cutover,
    sandbox_process,
)

WHERE = ["--application", "web", "--deployment-group", "web-weighted"]
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("shift")
    with sandbox_process(state, "--scenario", "weighted", "--time-scale", "100") as (environ, _):
        create_weighted_group(aws_client(environ, "codedeploy"))
        yield environ


def status(env: dict[str, str]) -> dict:
    return e2e.status(env, *WHERE)


def until(env: dict[str, str], pred: Callable[[dict], bool], timeout: float = 30) -> dict:
    return e2e.until(env, pred, *WHERE, timeout=timeout)


def listener(env: dict[str, str]) -> dict:
    elbv2 = aws_client(env, "elbv2")
    lb = elbv2.describe_load_balancers(Names=["web-alb"])["LoadBalancers"][0]
    return elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]


def weights(env: dict[str, str]) -> dict[str, int]:
    names = {
        tg["TargetGroupArn"]: tg["TargetGroupName"]
        for tg in aws_client(env, "elbv2").describe_target_groups()["TargetGroups"]
    }
    forward = next(a for a in listener(env)["DefaultActions"] if a["Type"] == "forward")
    return {
        names[g["TargetGroupArn"]]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]
    }


def healthy(doc: dict, role: str) -> bool:
    return all(
        any(h["state"] == "healthy" for h in i["health"].values()) for i in doc[role]["instances"]
    )


def test_safety_05_a_weight_shift_keeps_every_other_action(env: dict[str, str]) -> None:
    until(env, lambda d: healthy(d, "original") and healthy(d, "replacement"))
    elbv2 = aws_client(env, "elbv2")
    ls = listener(env)
    forward = next(a for a in ls["DefaultActions"] if a["Type"] == "forward")
    cognito = {
        "Type": "authenticate-cognito",
        "Order": 1,
        "AuthenticateCognitoConfig": {
            "UserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_EXAMPLE",
            "UserPoolClientId": "abcdefghijklmnopqrstuvwxyz",
            "UserPoolDomain": "web-login",
            "SessionTimeout": 3600,
        },
    }
    sticky = {
        "Type": "forward",
        "Order": 2,
        "ForwardConfig": {
            "TargetGroups": forward["ForwardConfig"]["TargetGroups"],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 300},
        },
    }
    # Authentication actions exist only on HTTPS listeners: the listener becomes one first.
    certificate = {"CertificateArn": CERTIFICATE}
    elbv2.modify_listener(
        ListenerArn=ls["ListenerArn"],
        Protocol="HTTPS",
        Certificates=[certificate],
        SslPolicy=SSL_POLICY,
    )
    elbv2.modify_listener(ListenerArn=ls["ListenerArn"], DefaultActions=[cognito, sticky])

    res = cutover(env, "shift", *WHERE, "--replacement", "10", "--yes")
    assert res.returncode == 0, res.stderr
    # The plan shows the listener's actions before and after.
    assert "actions now: 1. authenticate-cognito" in res.stdout, res.stdout
    assert "stickiness 300 s" in res.stdout and "web-green-tg 10, stickiness 300 s" in res.stdout

    after = listener(env)["DefaultActions"]
    assert [a["Type"] for a in sorted(after, key=lambda a: a["Order"])] == [
        "authenticate-cognito",
        "forward",
    ]
    auth = next(a for a in after if a["Type"] == "authenticate-cognito")
    assert auth["AuthenticateCognitoConfig"] == cognito["AuthenticateCognitoConfig"]
    new_forward = next(a for a in after if a["Type"] == "forward")
    assert new_forward["ForwardConfig"]["TargetGroupStickinessConfig"] == {
        "Enabled": True,
        "DurationSeconds": 300,
    }
    assert weights(env) == {"web-blue-tg": 90, "web-green-tg": 10}
    # Nor did the shift touch the listener's protocol, certificate or policy.
    shown = listener(env)
    assert (shown["Protocol"], shown["Certificates"], shown["SslPolicy"]) == (
        "HTTPS",
        [certificate],
        SSL_POLICY,
    )


def test_safety_04_no_change_that_leaves_a_listener_without_a_healthy_target(
    env: dict[str, str],
) -> None:
    doc = until(env, lambda d: healthy(d, "original") and healthy(d, "replacement"))
    green = [i["id"] for i in doc["replacement"]["instances"]]
    before = weights(env)
    try:
        for iid in green:
            control(env).set_instance_fault(iid, unhealthy=True)
        until(
            env,
            lambda d: all(
                i["health"]["web-green-tg"]["state"] == "unhealthy"
                for i in d["replacement"]["instances"]
            ),
        )
        res = cutover(env, "shift", *WHERE, "--replacement", "100", "--yes")
        assert res.returncode == 1
        assert "web-green-tg has no healthy target" in res.stderr, res.stderr
        assert green[0] in res.stderr and "unhealthy" in res.stderr
        res = cutover(env, "shift", *WHERE, "--move", "original-out", "--yes")
        assert res.returncode == 1 and "would leave no healthy target" in res.stderr, res.stderr
        assert weights(env) == before
        assert healthy(status(env), "original")
    finally:
        control(env).clear_faults()


def test_shift_without_a_deployment_asks_for_the_typed_word(env: dict[str, str]) -> None:
    """On a terminal, with no deployment to take four characters from, the group's name."""
    until(env, lambda d: healthy(d, "original") and healthy(d, "replacement"))
    before = weights(env)
    main, other = pty.openpty()
    proc = subprocess.Popen(
        [*CUTOVER, "shift", *WHERE, "--replacement", "50"],
        stdin=other,
        stdout=other,
        stderr=other,
        env={k: v for k, v in env.items() if k != "CUTOVER_NO_PROMPT"},
        cwd=ROOT,
    )
    os.close(other)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"to confirm:" not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([main], [], [], 1)
            if ready:
                seen += os.read(main, 4096)
        assert b"Type web-weighted (the deployment group's name) to confirm:" in seen, seen
        os.write(main, b"y\n")  # a reflex `y` does not confirm
        assert proc.wait(30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    assert weights(env) == before
    assert audit(env)[-1]["outcome"] == "cancelled"


def test_safety_09_shift_out_in_out_is_three_decisions(env: dict[str, str]) -> None:
    until(env, lambda d: healthy(d, "original") and healthy(d, "replacement"))
    res = cutover(env, "shift", *WHERE, "--replacement", "100", "--yes")
    assert res.returncode == 0, res.stderr
    blue = [i["id"] for i in status(env)["original"]["instances"]]
    for move in ("original-out", "original-in", "original-out"):
        res = cutover(env, "shift", *WHERE, "--move", move, "--yes")
        assert res.returncode == 0, (move, res.stderr)
        assert "already sent" not in res.stderr
        if move.endswith("out"):
            until(
                env,
                lambda d: all(
                    i["health"].get("web-blue-tg", {}).get("state") in (None, "draining", "unused")
                    for i in d["original"]["instances"]
                ),
            )
        else:
            until(env, lambda d: healthy(d, "original"))
    shifts = [r for r in audit(env) if r["action"] == "shift" and r["outcome"] == "intent"]
    assert len({r["plan_id"] for r in shifts}) == len(shifts)
    assert [r["outcome"] for r in audit(env)[-2:]] == ["intent", "done"]
    assert blue
