"""`cutover report` against `cutover sandbox` in a subprocess: a finished cutover and a
rolled-back deployment each get their Markdown record and SVG chart, with the phases, the
audit log's actions and the lifecycle failures; a report is never overwritten silently."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.sandbox_process import WEB, cutover, sandbox_process

V2 = "s3://web-revisions/web/v2.zip"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("report")
    with sandbox_process(state, "--time-scale", "100") as (environ, _):
        yield environ


def report(env: dict[str, str], out: Path, *flags: str) -> tuple[str, str]:
    res = cutover(env, "report", *WEB, "--output", str(out), *flags, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    md_path, svg_path = res.stdout.splitlines()[:2]
    svg = Path(svg_path).read_text()
    root = ET.fromstring(svg)  # a whole SVG document
    assert root.tag.endswith("svg")
    return Path(md_path).read_text(), svg


def test_a_finished_cutover_and_a_rolled_back_one(env: dict[str, str], tmp_path: Path) -> None:
    for action, flags in (
        ("deploy", ["--revision", V2]),
        ("approve", []),
        ("terminate-original", []),
    ):
        res = cutover(env, action, *WEB, *flags, "--yes", "--wait", timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
    md, svg = report(env, tmp_path)
    dep = re.match(r"# Deployment (d-\w+): web/web-prod, Succeeded", md)
    assert dep, md[:200]
    assert (tmp_path / f"report-{dep[1]}.svg").exists()
    assert f"]({f'report-{dep[1]}.svg'})" in md
    for phase in (
        "provisioning",
        "installing on the replacement",
        "ready, waiting for the reroute",
        "rerouting",
        "termination wait and termination",
    ):
        assert re.search(rf"^\| {re.escape(phase)} \| 20\d\d-", md, re.M), phase
    for action in ("deploy: done", "approve: done", "terminate-original: done"):
        assert action in md, action
    assert "- gate alarms: pass" in md
    # The bake verdict, judged as the dashboard judges it (a short termination wait here may
    # give too few minutes for one: then it says so).
    bake = md.split("## Bake verdict", 1)[1]
    assert re.search(r"^\*\*(OK|WATCH|BAD|not enough data)\*\*: ", bake, re.M), bake[:300]
    assert "requests vs before" in bake
    assert "Traffic split between the environments" in svg

    # Again: refused (exit 2) without --force, nothing touched; with it, written again.
    before = (tmp_path / f"report-{dep[1]}.md").stat().st_mtime_ns
    res = cutover(env, "report", *WEB, "--output", str(tmp_path))
    assert res.returncode == 2 and "exists; pass --force" in res.stderr, res.stderr
    assert (tmp_path / f"report-{dep[1]}.md").stat().st_mtime_ns == before
    report(env, tmp_path, "--force")

    # A deployment whose ValidateService fails: CodeDeploy rolls it back.
    assert (
        cutover(env, "sandbox", "fault", "hook", "ValidateService", "--times", "4").returncode == 0
    )
    try:
        res = cutover(env, "deploy", *WEB, "--revision", V2, "--yes", "--wait", timeout=300)
        assert res.returncode == 3, res.stdout + res.stderr
    finally:
        cutover(env, "sandbox", "fault", "clear")
    failed = re.search(r"FAILED: (d-\w+)", res.stdout)
    assert failed, res.stdout
    md, _ = report(env, tmp_path, "--deployment", failed[1])
    assert md.startswith(f"# Deployment {failed[1]}: web/web-prod, Failed")
    assert "**Failed** at" in md and "HEALTH_CONSTRAINTS" in md
    assert re.search(r"\*\*Rolled back\*\* by d-\w+ \(Succeeded", md), md
    assert re.search(r"^\| rollback d-\w+ \| ", md, re.M)
    assert re.search(r"### i-\w+ \(replacement\): ValidateService Failed", md)
    assert "- errorCode: `ScriptFailed`" in md and "validate_service.sh" in md
    assert "deploy: done" in md

    # Without --deployment: the group's latest, CodeDeploy's rollback, which says what it undid.
    md, _ = report(env, tmp_path)
    assert f"| Rollback of | {failed[1]} (`cutover report --deployment {failed[1]}`) |" in md
    assert "traffic back on the originals" in md and "HEALTH_CONSTRAINTS" in md

    res = cutover(env, "report", *WEB, "--deployment", "d-NOSUCH123", "--output", str(tmp_path))
    assert res.returncode == 2, res.stderr
    assert "(DeploymentDoesNotExistException)" in res.stderr or "(Invalid" in res.stderr
