"""What the safety tests share: one `cutover sandbox` per test file (default scenario, clock
x100: each 60-minute wait lasts 36 s), reached only through the real `cutover` in a subprocess,
and the steps they take on it. The tests are split over three files so the suite's workers
share them (docs/reliability.md's safety table lists them by item)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from cutover.sandbox.testing import aws_client, control

from tests.e2e import sandbox_process as e2e
from tests.e2e.sandbox_process import cutover, phase

WHERE = ["--application", "web", "--deployment-group", "web-prod"]
V2 = "s3://web-revisions/web/v2.zip"
V3 = "s3://web-revisions/web/v3.zip"


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
