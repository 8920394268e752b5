"""Fixtures for the dashboard tests: a sandbox on free ports with a fast clock, and the app."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client
from cutover.tui.app import CutoverApp
from textual.pilot import Pilot
from textual.widget import Widget

TIME_SCALE = 150


@dataclass
class Live:
    """A running sandbox, the app wired to it, and a boto3 factory for checking its state."""

    sandbox: Sandbox
    app: CutoverApp
    audit: AuditLog

    def client(self, service: str) -> Any:
        return aws_client(self.sandbox, service)

    def deploy(self, key: str = "web/v2.zip") -> str:
        """Start a deployment of web/web-prod from behind the app's back (a teammate, the
        console); its id."""
        return self.client("codedeploy").create_deployment(
            applicationName="web",
            deploymentGroupName="web-prod",
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": "web-revisions", "key": key, "bundleType": "zip"},
            },
        )["deploymentId"]


@pytest.fixture
def live(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> Iterator[Live]:
    """A sandbox at TIME_SCALE (or `@pytest.mark.time_scale(x)`) and the app wired to it, on
    web/web-prod of the default scenario (or `@pytest.mark.scenario(name, application, group)`)."""
    marker = request.node.get_closest_marker("time_scale")
    scale = marker.args[0] if marker else TIME_SCALE
    where = request.node.get_closest_marker("scenario")
    scenario, application, group = where.args if where else ("default", "web", "web-prod")
    load = request.node.get_closest_marker("load_rps")
    sb = sandbox_factory(scenario, time_scale=scale, load_rps=load.args[0] if load else 0.0)
    preview = request.node.get_closest_marker("preview")
    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sb.endpoint_url,
        application=application,
        deployment_group=group,
        poll_interval=0.3,
        preview_target_group=preview.args[0] if preview else None,
    )
    attempts = request.node.get_closest_marker("max_attempts")
    session = AwsSession(target, max_attempts=attempts.args[0] if attempts else 4)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    audit = AuditLog(tmp_path / "audit.jsonl")
    observer = Observer(session, target)
    app = CutoverApp(
        target,
        observer=observer,
        controller=Controller(session, target, audit),
        sandbox=True,
    )
    yield Live(sb, app, audit)
    observer.close()


def text_of(widget: Widget) -> str:
    """What a widget shows, as plain text."""
    return str(widget.render())


async def wait_until(
    pilot: Pilot[Any], pred: Callable[[], bool], timeout: float = 30.0, what: str = ""
) -> None:
    """Let the app run until `pred()` holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.1)


Waiter = Callable[..., Awaitable[None]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "time_scale(x): run the sandbox clock x times real time")
    config.addinivalue_line("markers", "max_attempts(n): botocore attempts per call")
    config.addinivalue_line("markers", "load_rps(x): the sandbox's load generator, x requests/s")
    config.addinivalue_line(
        "markers", "scenario(name, application, group): the sandbox scenario and group shown"
    )
    config.addinivalue_line("markers", "preview(target_group): the target's preview target group")
