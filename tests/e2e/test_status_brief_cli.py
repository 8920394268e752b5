"""`cutover status --brief` in a subprocess against `cutover sandbox`: five lines to paste,
absolute UTC times with relative ones in brackets, the verdict with its numbers (DEGRADED
under a fault), the last action from the audit log; and terminated originals say so in the
full text status."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from cutover.sandbox.testing import control, wait_for

from tests.e2e.sandbox_process import WEB, cutover, phase, sandbox_process, until

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \((?:in )?[0-9hms ]+(?: ago)?\)"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("brief")
    with sandbox_process(state, "--time-scale", "60", "--load", "30") as (environ, _):
        yield environ


def brief(env: dict[str, str]) -> list[str]:
    res = cutover(env, "status", *WEB, "--brief")
    assert res.returncode == 0, res.stderr
    print(res.stdout)
    return res.stdout.splitlines()


def test_brief_through_a_cutover_with_a_fault(env: dict[str, str]) -> None:
    lines = brief(env)
    assert len(lines) <= 5
    assert re.fullmatch(
        r"web/web-prod \(account 123456789012, us-east-1\) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ",
        lines[0],
    ), lines[0]
    assert lines[-1] == "last action: none recorded on this machine"

    res = cutover(env, "deploy", *WEB, "--revision", "s3://web-revisions/web/v2.zip", "--yes")
    assert res.returncode == 0, res.stderr
    until(env, lambda d: phase(d) == "ready", timeout=90)
    res = cutover(env, "approve", *WEB, "--yes")
    assert res.returncode == 0, res.stderr
    doc = until(env, lambda d: phase(d) == "termination-wait", timeout=90)
    dep = doc["deployment"]["id"]
    lines = brief(env)
    assert len(lines) == 5
    assert re.fullmatch(rf"deployment {dep} by user, created {WHEN}, v1 -> v2", lines[1]), lines
    assert re.fullmatch(
        rf"phase termination-wait \(InProgress\), deadline {WHEN}: then the originals are"
        r" terminated",
        lines[2],
    ), lines[2]
    assert re.fullmatch(rf"last action: approve {dep} by \S+ at {WHEN}: done", lines[4]), lines

    # Two replacements fail their health checks in the termination wait.
    reps = [i["id"] for i in doc["replacement"]["instances"]]
    for iid in reps[:2]:
        control(env).set_instance_fault(iid, unhealthy=True)

    def degraded() -> list[str] | None:
        got = brief(env)
        return got if got[3].startswith("DEGRADED: 2 of 4 replacements unhealthy") else None

    lines = wait_for(degraded, timeout=40, every=0.3, what="DEGRADED in --brief")
    assert lines[3].endswith("· b / cutover rollback: roll back"), lines[3]
    json_verdict = until(env, lambda d: d["verdict"]["level"] == "DEGRADED")["verdict"]
    assert json_verdict["unhealthy_instances"] == 2 and json_verdict["key"] == "b"
    for iid in reps[:2]:
        control(env).clear_faults(iid)

    # The originals terminated: the text status says so, not `unused ... 0 healthy`.
    wait_for(
        lambda: until(env, lambda d: d["verdict"]["level"] == "SAFE", timeout=40),
        timeout=60,
        what="SAFE again",
    )
    res = cutover(env, "terminate-original", *WEB, "--yes")
    assert res.returncode == 0, res.stderr
    until(env, lambda d: phase(d) == "succeeded", timeout=90)

    def terminated() -> str | None:
        res = cutover(env, "status", *WEB)
        assert res.returncode == 0, res.stderr
        return (
            res.stdout
            if re.search(r"Original \(web-asg\): 4 instance\(s\), terminated", res.stdout)
            else None
        )

    text = wait_for(terminated, timeout=60, every=0.5, what="originals terminated in the text")
    print(text)
    assert "unused" not in text.split("Replacement")[0]
