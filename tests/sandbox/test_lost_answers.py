"""The sandbox's lost-answer fault: a call is performed, then the connection closes with no
response, as when the network drops between AWS and the client (`drop_response` on
`POST /_sandbox/faults/api`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox(load_scenario("hooks"), free_listener_ports=True, time_scale=50)
    try:
        sandbox.start(wait_healthy=30)
        yield sandbox
    finally:
        sandbox.stop()


def control(sb: Sandbox, path: str, body: dict | None = None, method: str = "POST") -> Any:
    req = urllib.request.Request(
        sb.endpoint_url + path,
        method=method if body is not None else "GET",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def ec2(sb: Sandbox, attempts: int) -> Any:
    return boto3.client(
        "ec2",
        endpoint_url=sb.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def test_a_lost_answer_is_a_closed_connection_after_the_call_took_effect(sb: Sandbox) -> None:
    iid = next(iter(sb.world.instances))
    got = control(
        sb, "/_sandbox/faults/api", {"drop_response": 1, "drop_operations": ["CreateTags"]}
    )
    assert (got["api"]["drop_response"], got["api"]["drop_operations"]) == (1, ["CreateTags"])
    client = ec2(sb, attempts=1)
    client.describe_tags()  # other operations are answered
    with pytest.raises(ConnectionClosedError):
        client.create_tags(Resources=[iid], Tags=[{"Key": "k", "Value": "v"}])
    tags = client.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert {"Key": "k", "Value": "v"} in [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    # Only the next one: the one after is answered.
    client.create_tags(Resources=[iid], Tags=[{"Key": "k", "Value": "w"}])
    faults = control(sb, "/_sandbox/faults")
    assert (faults["api"]["drop_response"], faults["api"]["dropped"]) == (0, 1)
    assert faults["requests"]["CreateTags"] == 2


def test_botocore_resends_after_a_lost_answer(sb: Sandbox) -> None:
    """What a client with retries sees: its resend reaches AWS after the first call worked."""
    iid = next(iter(sb.world.instances))
    control(sb, "/_sandbox/faults/api", {"drop_response": 2})
    client = ec2(sb, attempts=3)
    client.create_tags(Resources=[iid], Tags=[{"Key": "k", "Value": "v"}])
    assert control(sb, "/_sandbox/faults")["requests"]["CreateTags"] == 3


@pytest.mark.parametrize(
    "body",
    [{"drop_response": -1}, {"drop_response": "many"}, {"drop_response": 1, "drop": ["X"]}],
)
def test_bad_lost_answer_faults_are_refused(sb: Sandbox, body: dict) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        control(sb, "/_sandbox/faults/api", body)
    assert exc.value.code == 400
