"""Issue 11, items 1 and 2 and the extras: a flag means the same wherever it is typed.

The matrix is generated from the parser itself: every command the parser has, every
where-and-how flag, before and after the command. Then the breaks the review found, through
the real `cutover` in a subprocess against a sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cutover.cli.flags import APPLIES, BY_FLAG, GLOBAL_FLAGS
from cutover.cli.parser import UsageError, build_parser, parse_args

from tests.e2e import sandbox_process as e2e
from tests.e2e.sandbox_process import ROOT, audit, cutover, sandbox_process

# The least each command needs to parse at all.
REQUIRED: dict[tuple[str, ...], list[str]] = {
    ("shift",): ["--move", "original-out"],
    ("sandbox", "fault", "instance"): ["i-0123456789abcdef0", "--down"],
    ("sandbox", "fault", "hook"): ["AfterInstall"],
    ("sandbox", "fault", "kill"): ["AllowTraffic"],
    ("sandbox", "fault", "alarm"): ["web-tg-5xx"],
}
SAMPLE = {
    "--target": "prod",
    "--application": "web",
    "--deployment-group": "web-prod",
    "--deployment": "d-ABCDEFGHI",
    "--profile": "ops",
    "--region": "eu-west-1",
    "--endpoint-url": "http://127.0.0.1:4599",
    "--config": "/tmp/cutover.yaml",
    "--wait-timeout": "60",
    "--source": "prod",
}
# Values the flag's own check turns into numbers, and the flags kept as every value typed.
PARSED = {"--wait-timeout": 60.0, "--source": ("prod",)}


def command_paths() -> list[tuple[str, ...]]:
    """Every command the parser knows, walked from the parser (not from a list)."""
    found: list[tuple[str, ...]] = [()]

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found.append((*path, name))
                    walk(child, (*path, name))

    walk(build_parser(), ())
    # A parent that cannot run without a subcommand is not a command of its own.
    return [p for p in found if p not in (("hook",), ("sandbox", "fault"))]


def flag_args(flag: str) -> list[str]:
    return [flag] if BY_FLAG[flag].metavar is None else [flag, SAMPLE[flag]]


def outcome(argv: list[str]) -> tuple[str, object]:
    try:
        ns = parse_args(argv)
    except UsageError as exc:
        return "usage error", str(exc)
    return "parsed", sorted(vars(ns).items(), key=lambda kv: kv[0])


def test_every_command_is_in_the_table() -> None:
    assert set(command_paths()) == set(APPLIES)


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "cutover")
@pytest.mark.parametrize("flag", [f.flag for f in GLOBAL_FLAGS])
def test_safety_01_every_flag_means_the_same_before_and_after_every_command(
    path: tuple[str, ...], flag: str
) -> None:
    rest = [*path, *REQUIRED.get(path, [])]
    before = outcome([*flag_args(flag), *rest])
    after = outcome([*rest, *flag_args(flag)])
    assert before == after
    dest = flag.lstrip("-").replace("-", "_")
    if flag in APPLIES[path]:
        assert before[0] == "parsed", before
        value = dict(before[1])[dest]  # type: ignore[arg-type]
        switch = BY_FLAG[flag].metavar is None
        assert value == (True if switch else PARSED.get(flag, SAMPLE[flag]))
    else:
        # Never silently dropped: said, naming the flag and the command.
        assert before[0] == "usage error"
        assert flag in str(before[1]) and "does not apply" in str(before[1])


@pytest.mark.parametrize("flag", ["--region", "--endpoint-url", "--deployment"])
def test_safety_01_a_flag_given_twice_with_two_values_is_refused(flag: str) -> None:
    kind, message = outcome([flag, SAMPLE[flag], "stop", flag, SAMPLE[flag] + "x"])
    assert kind == "usage error" and flag in str(message) and "twice" in str(message)
    assert outcome([flag, SAMPLE[flag], "stop", flag, SAMPLE[flag]])[0] == "parsed"


def test_a_repeatable_flag_keeps_every_value_wherever_typed() -> None:
    kind, parsed = outcome(["--source", "prod", "status", "--source", "stage", "--all"])
    assert kind == "parsed"
    assert dict(parsed)["source"] == ("prod", "stage")  # type: ignore[arg-type]
    assert dict(parsed)["all"] is True  # type: ignore[arg-type]


def test_safety_01_abbreviations_are_not_guessed() -> None:
    kind, message = outcome(["stop", "--deploy", "d-ABCDEFGHI"])
    assert kind == "usage error" and "--deploy" in str(message)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cutover.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
        stdin=subprocess.DEVNULL,
    )


def test_version_and_top_level_help() -> None:
    res = run(dict(os.environ), "--version")
    assert res.returncode == 0 and res.stdout.startswith("cutover ")
    res = run(dict(os.environ), "--help")
    for f in GLOBAL_FLAGS:
        assert f.flag in res.stdout


# ----- against a sandbox ----------------------------------------------------------------------

WHERE = ["--application", "web", "--deployment-group", "web-prod"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("flags")
    with sandbox_process(state, "--time-scale", "100") as (environ, _):
        yield environ


def status(env: dict[str, str]) -> dict:
    return e2e.status(env)


def test_safety_01_read_only_before_the_command_sends_nothing(sandbox: dict[str, str]) -> None:
    before = len(audit(sandbox))
    res = cutover(sandbox, "--read-only", "deploy", *WHERE, "--yes")
    assert res.returncode == 2, res
    assert "read-only" in res.stderr and res.stderr.count("\n") == 1
    assert status(sandbox)["deployment"]["status"] == "Succeeded"  # the past v1, nothing new
    assert len(audit(sandbox)) == before


def test_safety_01_endpoint_before_the_command_is_the_endpoint_used(
    sandbox: dict[str, str],
) -> None:
    # No AWS_ENDPOINT_URL in the environment: only the flag can lead to the sandbox.
    env = {k: v for k, v in sandbox.items() if k != "AWS_ENDPOINT_URL"}
    url = sandbox["AWS_ENDPOINT_URL"]
    res = cutover(env, "--endpoint-url", url, "status", *WHERE, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["endpoint_url"] == url
    res = cutover(env, "--endpoint-url", url, "stop", *WHERE, "--yes")
    # Refused by the sandbox's state (its past deployment has finished), not by a connection
    # error from AWS's own endpoint.
    assert res.returncode == 1 and "Succeeded" in res.stderr, res.stderr


def test_safety_01_config_and_target_before_the_command(
    sandbox: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "cutover.yaml"
    url = sandbox["AWS_ENDPOINT_URL"]
    config.write_text(
        "targets:\n"
        "  sandbox:\n"
        f"    endpoint_url: {url}\n"
        "    region: us-east-1\n"
        "    application: web\n"
        "    deployment_group: web-prod\n"
        "    read_only: true\n"
    )
    env = {k: v for k, v in sandbox.items() if k not in ("AWS_ENDPOINT_URL", "AWS_REGION")}
    res = cutover(env, "--config", str(config), "--target", "sandbox", "status", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["endpoint_url"] == url
    res = cutover(env, "--config", str(config), "--target", "sandbox", "deploy", "--yes")
    assert res.returncode == 2 and "read_only in the config" in res.stderr, res.stderr


def test_safety_01_hook_honours_a_read_only_target(tmp_path: Path) -> None:
    config = tmp_path / "cutover.yaml"
    config.write_text("targets:\n  prod:\n    read_only: true\n")
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))
    for args in (
        ["--config", str(config), "--target", "prod", "hook", "deregister"],
        ["hook", "deregister", "--config", str(config), "--target", "prod"],
        ["--read-only", "hook", "register", "--instance-id", "i-0123456789abcdef0"],
    ):
        res = run(env, *args)
        assert res.returncode == 2, res
        assert "read-only" in res.stderr and "does nothing" in res.stderr


def test_safety_02_aws_region_is_honoured(sandbox: dict[str, str]) -> None:
    env = {k: v for k, v in sandbox.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    res = cutover(env, "status", *WHERE, "--json")
    assert res.returncode == 2 and "no AWS region" in res.stderr, res
    res = cutover({**env, "AWS_REGION": "us-east-1"}, "status", *WHERE, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["region"] == "us-east-1"
    # AWS_REGION wins over AWS_DEFAULT_REGION; --region wins over both.
    both = {**env, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    res = cutover(both, "status", *WHERE, "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["region"] == "us-east-1", res.stderr
    res = cutover(both, "--region", "eu-west-1", "status", *WHERE, "--json")
    assert json.loads(res.stdout)["region"] == "eu-west-1", res.stderr
