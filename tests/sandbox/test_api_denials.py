"""Denial faults: credentials rejected, or one action not allowed, in each service's own codes."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox(load_scenario("default"), free_listener_ports=True, time_scale=60)
    try:
        sandbox.start(wait_healthy=30)
        yield sandbox
    finally:
        sandbox.stop()


def client(sb: Sandbox, service: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=sb.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"mode": "standard", "max_attempts": 2}),
    )


def fault(sb: Sandbox, body: dict | None) -> dict:
    req = urllib.request.Request(
        sb.endpoint_url + "/_sandbox/faults" + ("/api" if body is not None else ""),
        method="POST" if body is not None else "DELETE",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def code_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def test_access_denied_on_one_operation_only(sb: Sandbox) -> None:
    fault(sb, {"deny": "access", "deny_operations": ["ContinueDeployment", "EnterStandby"]})
    try:
        cd = client(sb, "codedeploy")
        assert (
            code_of(lambda: cd.continue_deployment(deploymentId="d-AAAAAAAAA"))
            == "AccessDeniedException"
        )
        asg = client(sb, "autoscaling")
        assert (
            code_of(
                lambda: asg.enter_standby(
                    AutoScalingGroupName="web-asg", ShouldDecrementDesiredCapacity=True
                )
            )
            == "AccessDenied"
        )
        # Everything else still works.
        assert cd.list_applications()["applications"] == ["web"]
        assert asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    finally:
        fault(sb, None)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client(sb, "codedeploy").continue_deployment(deploymentId="d-AAAAAAAAA")
    assert err.value.response["Error"]["Code"] != "AccessDeniedException"


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("codedeploy", lambda c: c.list_applications(), "UnrecognizedClientException"),
        ("ec2", lambda c: c.describe_instances(), "AuthFailure"),
        ("autoscaling", lambda c: c.describe_auto_scaling_groups(), "InvalidClientTokenId"),
        ("elbv2", lambda c: c.describe_target_groups(), "InvalidClientTokenId"),
        ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
    ],
)
def test_rejected_credentials_refuse_every_call(sb: Sandbox, service, call, code) -> None:  # type: ignore[no-untyped-def]
    fault(sb, {"deny": "credentials"})
    try:
        assert code_of(lambda: call(client(sb, service))) == code
        assert fault_state(sb)["api"]["denied"] >= 1
    finally:
        fault(sb, None)
    call(client(sb, service))


def fault_state(sb: Sandbox) -> dict:
    with urllib.request.urlopen(sb.endpoint_url + "/_sandbox/faults", timeout=5) as resp:
        return json.loads(resp.read())


def test_bad_deny_values_are_refused(sb: Sandbox) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        fault(sb, {"deny": "everything"})
    assert err.value.code == 400
    assert "deny must be access, credentials or none" in json.loads(err.value.read())["error"]
