"""The sandbox's lost-answer fault: a call is performed, then the connection closes with no
response, as when the network drops between AWS and the client (`drop_response` on
`POST /_sandbox/faults/api`)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError
from cutover.sandbox.control.client import ControlError
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client, control

pytestmark = pytest.mark.sandbox("hooks", time_scale=50)


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    return sandbox


def ec2(sb: Sandbox, attempts: int) -> Any:
    retries = Config(retries={"mode": "standard", "total_max_attempts": attempts})
    return aws_client(sb, "ec2", config=retries)


def test_a_lost_answer_is_a_closed_connection_after_the_call_took_effect(sb: Sandbox) -> None:
    iid = next(iter(sb.world.instances))
    got = control(sb).set_api_fault(drop_response=1, drop_operations=["CreateTags"])
    assert (got["api"]["drop_response"], got["api"]["drop_operations"]) == (1, ["CreateTags"])
    client = ec2(sb, attempts=1)
    client.describe_tags()  # other operations are answered
    with pytest.raises(ConnectionClosedError):
        client.create_tags(Resources=[iid], Tags=[{"Key": "k", "Value": "v"}])
    tags = client.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert {"Key": "k", "Value": "v"} in [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    # Only the next one: the one after is answered.
    client.create_tags(Resources=[iid], Tags=[{"Key": "k", "Value": "w"}])
    faults = control(sb).faults()
    assert (faults["api"]["drop_response"], faults["api"]["dropped"]) == (0, 1)
    assert faults["requests"]["CreateTags"] == 2


def test_botocore_resends_after_a_lost_answer(sb: Sandbox) -> None:
    """What a client with retries sees: its resend reaches AWS after the first call worked."""
    iid = next(iter(sb.world.instances))
    control(sb).set_api_fault(drop_response=2)
    client = ec2(sb, attempts=3)
    client.create_tags(Resources=[iid], Tags=[{"Key": "k", "Value": "v"}])
    assert control(sb).faults()["requests"]["CreateTags"] == 3


@pytest.mark.parametrize(
    "body",
    [{"drop_response": -1}, {"drop_response": "many"}, {"drop_response": 1, "drop": ["X"]}],
)
def test_bad_lost_answer_faults_are_refused(sb: Sandbox, body: dict) -> None:
    with pytest.raises(ControlError) as exc:
        control(sb).set_api_fault(**body)
    assert exc.value.status == 400
