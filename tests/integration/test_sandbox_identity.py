"""A sandbox says what it is, over the API the client already calls: the x-cutover-sandbox
header on every answer, with its clock's rate; an endpoint that does not send it (AWS) is
not taken for one (the session stays without a rate until an answer carries it)."""

from __future__ import annotations

import boto3
import pytest
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.sandbox.runtime import Sandbox


def _session(endpoint: str) -> AwsSession:
    target = TargetConfig(
        name="t",
        region="us-east-1",
        endpoint_url=endpoint,
        application="web",
        deployment_group="web-prod",
    )
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    return session


@pytest.mark.sandbox("default", time_scale=40)
def test_the_first_answer_says_sandbox_and_the_clock_rate(sandbox: Sandbox) -> None:
    session = _session(sandbox.endpoint_url)
    assert session.sandbox_rate is None
    session.client("sts").get_caller_identity()
    assert session.sandbox_rate == 40
    # The server's clock runs at the declared rate from the first answer, not after five
    # seconds of estimates.
    assert session.clock.rate == 40


def test_a_rate_that_does_not_parse_counts_as_real_time() -> None:
    session = _session("http://127.0.0.1:9")
    session._sandbox_said("sandbox; clock-rate=nonsense")
    assert session.sandbox_rate == 1.0  # still a sandbox, its rate unknown: real time
    session._sandbox_said("sandbox; clock-rate=20")
    assert session.sandbox_rate == 20 and session.clock.rate == 20
