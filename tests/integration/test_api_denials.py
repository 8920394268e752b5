"""Denial faults: credentials rejected, or one action not allowed, in each service's own codes."""

from __future__ import annotations

import botocore.exceptions
import pytest
from botocore.config import Config
from cutover.sandbox.control.client import ControlError
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client, control

pytestmark = pytest.mark.sandbox("default", time_scale=60)
RETRIES = Config(retries={"mode": "standard", "max_attempts": 2})


@pytest.fixture(scope="module")
def sb(shared_sandbox: Sandbox) -> Sandbox:
    return shared_sandbox


def code_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def test_access_denied_on_one_operation_only(sb: Sandbox) -> None:
    control(sb).set_api_fault(deny="access", deny_operations=["ContinueDeployment", "EnterStandby"])
    try:
        cd = aws_client(sb, "codedeploy", config=RETRIES)
        assert (
            code_of(lambda: cd.continue_deployment(deploymentId="d-AAAAAAAAA"))
            == "AccessDeniedException"
        )
        asg = aws_client(sb, "autoscaling", config=RETRIES)
        assert (
            code_of(
                lambda: asg.enter_standby(
                    AutoScalingGroupName="web-asg", ShouldDecrementDesiredCapacity=True
                )
            )
            == "AccessDenied"
        )
        # Everything else still works.
        assert "web" in cd.list_applications()["applications"]
        assert asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    finally:
        control(sb).clear_faults()
    with pytest.raises(botocore.exceptions.ClientError) as err:
        aws_client(sb, "codedeploy", config=RETRIES).continue_deployment(deploymentId="d-AAAAAAAAA")
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
    control(sb).set_api_fault(deny="credentials")
    try:
        assert code_of(lambda: call(aws_client(sb, service, config=RETRIES))) == code
        assert control(sb).faults()["api"]["denied"] >= 1
    finally:
        control(sb).clear_faults()
    call(aws_client(sb, service, config=RETRIES))


def test_bad_deny_values_are_refused(sb: Sandbox) -> None:
    with pytest.raises(ControlError) as err:
        control(sb).set_api_fault(deny="everything")
    assert err.value.status == 400
    assert "deny must be access, credentials or none" in str(err.value)
