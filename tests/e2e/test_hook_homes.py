"""Hook-managed in-place groups before any hook has run: the `hooks:` config says where their
instances serve, so the dashboard and `cutover status` read their health there instead of
`serving: 0 of 3` (homes are otherwise learned from the tags the hooks write)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import boto3
from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.tui.app import CutoverApp

from tests.e2e.conftest import text_of, wait_until
from tests.e2e.sandbox_process import cutover, sandbox_process

WHERE = ["--application", "shop", "--deployment-group", "api-hooks"]
HOOKS = """\
hooks:
  deployment_groups:
    api-hooks:
      target_groups: [api-tg]
"""


def test_status_reads_health_where_the_hooks_config_says(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(HOOKS)
    with sandbox_process(tmp_path, "--scenario", "hooks", "--time-scale", "100") as (env, _):
        before = cutover(env, "status", *WHERE)
        assert before.returncode == 0, before.stderr
        assert "Fleet: 3 instance(s), 0 healthy" in before.stdout, before.stdout
        res = cutover(env, "status", *WHERE, "--config", str(config))
        assert res.returncode == 0, res.stderr
        assert "Fleet: 3 instance(s), 3 healthy" in res.stdout, res.stdout
        assert res.stdout.count("api-tg: healthy") == 3, res.stdout


def test_the_dashboard_says_where_hook_managed_instances_serve(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    sb = sandbox_factory("hooks", time_scale=100)
    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sb.endpoint_url,
        application="shop",
        deployment_group="api-hooks",
        poll_interval=0.3,
        hook_target_groups=("api-tg",),
    )
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    observer = Observer(session, target)
    app = CutoverApp(
        target,
        observer=observer,
        controller=Controller(session, target, AuditLog(tmp_path / "audit.jsonl")),
        sandbox=True,
    )

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            serving = app.dashboard.query_one("#traffic")
            await wait_until(
                pilot,
                lambda: "serving: 3 of 3 instances" in text_of(serving),
                what="all three serving",
            )
            assert "healthy in api-tg" in text_of(serving)

    try:
        asyncio.run(run())
    finally:
        observer.close()
