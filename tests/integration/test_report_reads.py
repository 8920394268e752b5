"""`cutover report` reads only what the read-only IAM policy allows: every call its reader
makes against the sandbox is recorded and checked against docs/iam-policy-readonly.json."""

from __future__ import annotations

import boto3
import pytest
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.observe import Observer
from cutover.backend.observe.history import read_history
from cutover.sandbox.runtime import Sandbox

from tests.integration.test_actions_execute import IAM_PREFIX, NO_PERMISSION, allowed

pytestmark = pytest.mark.sandbox("default", time_scale=100)


def test_the_report_reads_within_the_read_only_policy(sandbox: Sandbox) -> None:
    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        application="api",
        deployment_group="api-prod",
    )
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    calls: list[str] = []
    for service in IAM_PREFIX:

        def record(model: object, service: str = service, **_: object) -> None:
            calls.append(f"{IAM_PREFIX[service]}:{model.name}")  # type: ignore[attr-defined]

        session.client(service).meta.events.register("before-call", record)
    observer = Observer(session, target)
    try:
        # The group's latest deployment, as the scenario's history has it.
        history = read_history(observer, None)
    finally:
        observer.close()
    assert history.snapshot.deployment is not None
    assert {"codedeploy:GetDeployment", "cloudwatch:GetMetricData"} <= set(calls), calls
    reads = set(calls) - NO_PERMISSION
    assert reads <= allowed("iam-policy-readonly.json"), reads - allowed("iam-policy-readonly.json")
