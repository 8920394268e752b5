"""Never mistake a sandbox for production: any endpoint that is a sandbox says so (its
x-cutover-sandbox header), ages and countdowns are in real time on its fast clock, and the
sandbox plain `cutover` runs is found from another terminal without export lines."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cutover.cli import dashboard, sandbox_record
from cutover.cli.main import main
from cutover.tui.widgets.common import ServerNow, ago, at_rate, countdown

from tests.e2e.conftest import Live, text_of, wait_until

ROOT = Path(__file__).resolve().parents[2]
CUTOVER = [sys.executable, "-m", "cutover.cli"]


def test_ages_and_countdowns_are_said_in_real_time() -> None:
    then = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    now = at_rate(then + timedelta(seconds=40), 20)
    assert isinstance(now, ServerNow) and now.rate == 20
    assert ago(then, now) == "2 seconds ago"  # 40 sandbox seconds at x20
    assert countdown(then + timedelta(minutes=60, seconds=40), now) == "3m 00s left"
    assert at_rate(then, None) is then and at_rate(then, 1.0) is then


def test_a_sandbox_reached_by_endpoint_shows_the_badge_and_real_countdowns(live: Live) -> None:
    # As when the dashboard is pointed at a sandbox it did not start (--endpoint-url).
    live.app.sandbox = False
    asyncio.run(_badge(live))


async def _badge(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        header = text_of(app.dashboard.query_one("#header"))
        assert "SANDBOX x150" in header, header
        assert app.snapshot is not None and app.snapshot.sandbox_rate == 150
        live.client("codedeploy").create_deployment(
            applicationName="web",
            deploymentGroupName="web-prod",
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
            },
        )
        await wait_until(
            pilot,
            lambda: "Ready" in text_of(app.dashboard.query_one("#header")),
            what="Ready on screen",
        )
        snap = app.snapshot
        assert snap is not None and snap.deployment is not None
        assert snap.deployment.deadline is not None
        # The 60-minute wait on the sandbox's clock ends in under 24 real seconds: the
        # countdown says that, not the sandbox's minutes.
        assert snap.deployment.deadline - snap.server_time > timedelta(minutes=30)
        lifecycle = text_of(app.dashboard.query_one("#lifecycle"))
        assert re.search(r"\b\d+s left", lifecycle), lifecycle
        assert not re.search(r"\d+m \d+s left", lifecycle), lifecycle


def _cli(state: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(XDG_STATE_HOME=str(state), XDG_CONFIG_HOME=str(state / "config"), **extra)
    return subprocess.run(
        [*CUTOVER, *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


def test_plain_cutover_records_its_sandbox_for_another_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain `cutover` as a person runs it; while its overview is open (here: instead of
    the screen, another terminal's commands), `cutover status` and `cutover sandbox info` /
    `fault` find its sandbox with no export lines, and the record goes when it stops."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    seen: dict[str, Any] = {}

    def another_terminal(sources: Any, args: Any, log_path: Any, **kw: Any) -> int:
        seen["record"] = sandbox_record.find()
        seen["status"] = _cli(tmp_path, "status")
        seen["info"] = _cli(tmp_path, "sandbox", "info")
        seen["fault"] = _cli(tmp_path, "sandbox", "fault", "api", "--latency-ms", "5")
        # Nothing waits for approval: refused, but the plan shown says SANDBOX first.
        seen["plan"] = _cli(tmp_path, "approve", "--yes")
        # Explicit wins: an endpoint given is used, and nothing is said about the record.
        seen["explicit"] = _cli(tmp_path, "sandbox", "info", AWS_ENDPOINT_URL="http://127.0.0.1:9")
        return 0

    # Plain `cutover` opens the overview of its sandbox's groups.
    monkeypatch.setattr(dashboard, "_overview_loop", another_terminal)
    assert main([]) == 0

    record = seen["record"]
    assert record is not None and record.pid == os.getpid()
    for name in ("status", "info", "fault"):
        done = seen[name]
        assert done.returncode == 0, (name, done.stderr)
        assert f"using the sandbox `cutover` started (pid {os.getpid()}" in done.stderr
        assert record.endpoint_url in done.stderr
    assert seen["status"].stdout.startswith("SANDBOX (clock x20;"), seen["status"].stdout
    assert "web/web-prod" in seen["status"].stdout
    assert "+5 ms per call" in seen["fault"].stdout
    assert seen["plan"].stdout.startswith("SANDBOX (clock x20;"), seen["plan"].stdout
    assert "Approve" in seen["plan"].stdout and "refused" in seen["plan"].stderr
    assert seen["explicit"].returncode != 0
    assert "using the sandbox" not in seen["explicit"].stderr
    # The sandbox stopped with the dashboard: its record is gone, and nothing finds it.
    assert not sandbox_record.record_path().exists()
    gone = _cli(tmp_path, "sandbox", "info")
    assert gone.returncode != 0 and "plain `cutover`" in gone.stderr


def test_a_record_left_by_a_process_that_is_gone_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    assert sandbox_record.record(env, "default", "web", "web-prod") is not None
    path = sandbox_record.record_path()
    path.write_text(path.read_text().replace(str(os.getpid()), dead.stdout.strip()))
    assert sandbox_record.find() is None
    assert not path.exists()


def test_closing_a_second_dashboard_puts_the_first_ones_record_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    first = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert sandbox_record.record({"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "d", "a", "g")
        path = sandbox_record.record_path()
        path.write_text(path.read_text().replace(str(os.getpid()), str(first.pid)))
        sandbox_record.record({"AWS_ENDPOINT_URL": "http://127.0.0.1:2"}, "d", "a", "g")
        found = sandbox_record.find()
        assert found is not None and found.pid == os.getpid()
        sandbox_record.forget()
        found = sandbox_record.find()
        assert found is not None and found.pid == first.pid
        assert found.endpoint_url == "http://127.0.0.1:1"
    finally:
        first.kill()
        first.wait()
