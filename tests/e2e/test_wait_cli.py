"""Done means done from the command line: `cutover ACTION --wait` returns when the action's
effect is seen (0), when it failed (3) or when --wait-timeout passed (4), against
`cutover sandbox` in a subprocess."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from cutover.cli.parser import UsageError, parse_args

from tests.e2e.sandbox_process import cutover, sandbox_process, until

WHERE = ["--application", "web", "--deployment-group", "web-prod"]
V2 = "s3://web-revisions/web/v2.zip"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("wait")
    with sandbox_process(state, "--time-scale", "100") as (environ, _):
        yield environ


def test_wait_flags_are_checked_wherever_typed() -> None:
    assert parse_args(["--wait", "approve", *WHERE]).wait
    ns = parse_args(["approve", "--wait-timeout", "90"])
    assert (ns.wait, ns.wait_timeout) == (True, 90.0)
    for argv, words in (
        (["approve", "--wait-timeout", "soon"], "not a number of seconds"),
        (["--wait-timeout", "0", "stop"], "more than 0"),
        (["shift", "--move", "original-out", "--wait"], "does not apply to `cutover shift`"),
        (["status", "--wait"], "does not apply"),
    ):
        with pytest.raises(UsageError, match=words):
            parse_args(argv)


def test_deploy_approve_and_rollback_wait_for_what_they_do(env: dict[str, str]) -> None:
    res = cutover(env, "deploy", *WHERE, "--revision", V2, "--yes", "--wait", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    done = lines[-1]
    assert "done: d-" in done and "Ready: replacement installed, 4 instances" in done, lines
    # One line per change: no line repeats the one before it.
    progress = [line.split("  ", 1)[1] for line in lines if line[:2].isdigit()]
    assert all(a != b for a, b in itertools.pairwise(progress)), progress

    res = cutover(env, "approve", *WHERE, "--yes", "--wait", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[-1].endswith(
        "done: traffic on the replacement: 4/4 healthy in web-tg"
    )

    res = cutover(env, "rollback", *WHERE, "--yes", "--wait", timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    last = res.stdout.splitlines()[-1]
    assert "done: rollback d-" in last and "Succeeded: traffic back on the originals" in last
    assert "4/4 healthy in web-tg" in last and "replacement removed" in last, last


def test_a_failed_deployment_and_a_timeout_have_their_own_exit_codes(
    env: dict[str, str],
) -> None:
    until(env, lambda d: d["deployment"]["status"] not in ("InProgress", "Ready", "Created"))
    res = cutover(env, "deploy", *WHERE, "--revision", V2, "--yes", "--wait-timeout", "0.01")
    assert res.returncode == 4, res.stdout + res.stderr
    assert "not seen within 0.01 s" in res.stdout.splitlines()[-1]
    res = cutover(env, "stop", *WHERE, "--yes", "--wait")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Stopped" in res.stdout.splitlines()[-1]

    res = cutover(env, "sandbox", "fault", "hook", "AfterInstall", "--times", "4")
    assert res.returncode == 0, res.stderr
    try:
        res = cutover(env, "deploy", *WHERE, "--revision", V2, "--yes", "--wait", timeout=300)
        assert res.returncode == 3, res.stdout + res.stderr
        print(res.stdout)
        last = res.stdout.splitlines()[-1]
        assert "FAILED: d-" in last and "failed at AfterInstall" in last
        assert "HEALTH_CONSTRAINTS" in last and "CodeDeploy rolls back with d-" in last
    finally:
        cutover(env, "sandbox", "fault", "clear")
