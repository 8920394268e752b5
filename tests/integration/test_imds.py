"""The sandbox's instance metadata service, asked by botocore's own IMDS clients over HTTP."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.utils import InstanceMetadataFetcher, InstanceMetadataRegionFetcher
from cutover.sandbox.imds import ROLE_NAME
from cutover.sandbox.runtime import ACCESS_KEY, Sandbox
from cutover.sandbox.scenario import ScenarioError, load_scenario
from cutover.sandbox.testing import aws_client, control, wait_for

pytestmark = pytest.mark.timeout(60)

SCENARIO = """\
name: imds-test
region: eu-west-1
account_id: "210987654321"
time_scale: 50
{imds}
instances:
  - {{name: one, availability_zone: eu-west-1b, instance_type: m5.large, tags: {{app: a}}}}
  - {{name: two, availability_zone: eu-west-1a, tags: {{app: a}}}}
"""


def start(factory: Callable[..., Sandbox], tmp_path: Path, imds: str = "") -> Sandbox:
    path = tmp_path / "imds.yaml"
    path.write_text(SCENARIO.format(imds=imds))
    return factory(str(path), time_scale=None, wait_healthy=10, free_listener_ports=False)


@pytest.fixture
def sb(sandbox_factory: Callable[..., Sandbox], tmp_path: Path) -> Sandbox:
    return start(sandbox_factory, tmp_path)


@pytest.fixture
def strict(sandbox_factory: Callable[..., Sandbox], tmp_path: Path) -> Sandbox:
    return start(sandbox_factory, tmp_path, "imds: {tokens: required}")


def ids(sb: Sandbox) -> list[str]:
    with sb.world.lock:
        return sorted(sb.world.instances, key=lambda i: sb.world.instances[i].az, reverse=True)


def request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request(method, parts.path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), dict(resp.headers)
    finally:
        conn.close()


def token(url: str, ttl: str = "60") -> str:
    status, body, headers = request(
        url + "latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
    )
    assert status == 200
    assert headers["X-aws-ec2-metadata-token-ttl-seconds"] == ttl
    return body


def fetchers(url: str) -> tuple[InstanceMetadataFetcher, InstanceMetadataRegionFetcher]:
    config = {"ec2_metadata_service_endpoint": url}
    return (
        InstanceMetadataFetcher(timeout=2, num_attempts=1, config=config),
        InstanceMetadataRegionFetcher(timeout=2, num_attempts=1, config=config),
    )


# ----- botocore's clients ----------------------------------------------------------------------


def test_botocore_gets_credentials_and_region_per_instance(sb: Sandbox) -> None:
    one, two = ids(sb)
    creds, region = fetchers(sb.imds_url(one))
    got = creds.retrieve_iam_role_credentials()
    assert got["role_name"] == ROLE_NAME
    assert got["access_key"] == ACCESS_KEY
    assert got["token"]
    assert region.retrieve_region() == "eu-west-1"
    assert sb.imds_url(one) == f"{sb.imds_base_url}{one}/"
    assert sb.imds_url(one) != sb.imds_url(two)


def test_metadata_paths_answer_like_ec2(sb: Sandbox) -> None:
    one, two = ids(sb)
    url = sb.imds_url(one)
    t = {"X-aws-ec2-metadata-token": token(url)}
    for headers in ({}, t):  # IMDSv1 and IMDSv2 alike while tokens are optional
        assert request(url + "latest/meta-data/instance-id", headers=headers)[:2] == (200, one)
        expected = {
            "placement/availability-zone": "eu-west-1b",
            "placement/availability-zone/": "eu-west-1b",
            "placement/region": "eu-west-1",
            "instance-type": "m5.large",
            "local-ipv4": "127.0.0.1",
            "iam/security-credentials/": ROLE_NAME,
        }
        for path, value in expected.items():
            assert request(url + "latest/meta-data/" + path, headers=headers)[:2] == (200, value)
    status, listing, _ = request(url + "latest/meta-data/")
    assert status == 200
    assert {"instance-id", "placement/", "iam/", "local-ipv4"} <= set(listing.splitlines())
    status, body, _ = request(url + "latest/dynamic/instance-identity/document", headers=t)
    doc = json.loads(body)
    assert doc["instanceId"] == one
    assert doc["region"] == "eu-west-1"
    assert doc["availabilityZone"] == "eu-west-1b"
    assert doc["accountId"] == "210987654321"
    assert doc["instanceType"] == "m5.large"
    assert doc["privateIp"] == "127.0.0.1"
    assert doc["version"] == "2017-09-30"
    assert doc["imageId"].startswith("ami-")
    assert doc["pendingTime"].endswith("Z")
    status, body, _ = request(url + f"latest/meta-data/iam/security-credentials/{ROLE_NAME}")
    creds = json.loads(body)
    assert creds["Code"] == "Success"
    assert creds["Type"] == "AWS-HMAC"
    assert {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated"} <= set(creds)
    # The other instance answers for itself.
    assert request(sb.imds_url(two) + "latest/meta-data/instance-id")[1] == two


def test_token_put_rules(sb: Sandbox) -> None:
    one, two = ids(sb)
    url = sb.imds_url(one)
    put = url + "latest/api/token"
    assert request(put, "PUT")[0] == 400
    for ttl in ("0", "21601", "soon"):
        assert request(put, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})[0] == 400
    forwarded = {"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.1"}
    assert request(put, "PUT", forwarded)[0] == 403
    assert request(put)[0] == 405
    assert token(url, "21600")
    # A token is the instance's own, and an unknown one is refused even when tokens are optional.
    mine = token(url)
    other = sb.imds_url(two) + "latest/meta-data/instance-id"
    assert request(other, headers={"X-aws-ec2-metadata-token": mine})[0] == 401
    bogus = {"X-aws-ec2-metadata-token": "not-a-token"}
    assert request(url + "latest/meta-data/instance-id", headers=bogus)[0] == 401


def test_token_expires_in_real_seconds(sb: Sandbox) -> None:
    url = sb.imds_url(ids(sb)[0])
    short = {"X-aws-ec2-metadata-token": token(url, "1")}
    assert request(url + "latest/meta-data/instance-id", headers=short)[0] == 200
    t0 = time.monotonic()
    expired = lambda: request(url + "latest/meta-data/instance-id", headers=short)[0] == 401  # noqa: E731
    wait_for(expired, timeout=10, what="the token to expire")
    # Real seconds: one sandbox second at time scale 50 would be gone in 20 ms.
    assert time.monotonic() - t0 > 0.5


def test_required_tokens_refuse_imdsv1(strict: Sandbox) -> None:
    one, _ = ids(strict)
    url = strict.imds_url(one)
    assert request(url + "latest/meta-data/instance-id")[0] == 401
    assert request(url + "latest/dynamic/instance-identity/document")[0] == 401
    t = {"X-aws-ec2-metadata-token": token(url)}
    assert request(url + "latest/meta-data/instance-id", headers=t)[:2] == (200, one)
    # botocore asks for a token first, so it works unchanged against an IMDSv2-only instance.
    creds, region = fetchers(url)
    assert creds.retrieve_iam_role_credentials()["access_key"] == ACCESS_KEY
    assert region.retrieve_region() == "eu-west-1"
    assert control(strict).summary()["imds_tokens"] == "required"


def test_unknown_instance_path_and_terminated_instance(sb: Sandbox) -> None:
    one, _ = ids(sb)
    assert request(sb.imds_base_url + "i-0123456789abcdef0/latest/meta-data/instance-id")[0] == 404
    assert request(sb.imds_url(one) + "latest/meta-data/no-such-thing")[0] == 404
    ec2 = aws_client(sb, "ec2", region=sb.world.region)
    ec2.terminate_instances(InstanceIds=[one])
    # Nothing answers on a terminated instance: the connection closes without a response.
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        request(sb.imds_url(one) + "latest/meta-data/instance-id")
    creds, _ = fetchers(sb.imds_url(one))
    assert creds.retrieve_iam_role_credentials() == {}


def test_credentials_chain_on_an_instance_reaches_the_sandbox(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    one, _ = ids(sb)
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_EC2_METADATA_DISABLED",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", sb.imds_url(one))
    session = boto3.Session(region_name="eu-west-1")
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.method == "iam-role"
    ec2 = session.client("ec2", endpoint_url=sb.endpoint_url)
    found = ec2.describe_instances(InstanceIds=[one])["Reservations"][0]["Instances"][0]
    assert found["InstanceId"] == one


def test_control_api_names_the_metadata_urls(sb: Sandbox) -> None:
    summary = control(sb).summary()
    assert summary["imds_base_url"] == sb.imds_base_url
    assert summary["imds_tokens"] == "optional"
    for inst in summary["instances"]:
        assert inst["metadata_url"] == sb.imds_url(inst["id"])


def test_scenario_imds_switch_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(imds="imds: {tokens: sometimes}"))
    with pytest.raises(ScenarioError, match=r"bad\.yaml:5: imds tokens must be one of"):
        load_scenario(str(path))
    path.write_text(SCENARIO.format(imds="imds: {hop_limit: 2}"))
    with pytest.raises(ScenarioError, match=r"bad\.yaml:5: unknown key 'hop_limit' in imds"):
        load_scenario(str(path))
    path.write_text(SCENARIO.format(imds=""))
    assert load_scenario(str(path)).imds_tokens == "optional"
