"""What a web page open in the engineer's browser can make the sandbox do: nothing.

A page can send "simple" cross-origin requests without asking first: GET, and POST with a
text/plain, form or multipart body and no custom headers. It cannot set an Authorization
header or a JSON content type without a preflight the sandbox never answers. A page that
rebinds its own DNS name to 127.0.0.1 may send anything, but its Host header keeps its own name.
Raw HTTP against a running sandbox, then boto3 to see what changed.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import cbor2
import pytest
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client, control

pytestmark = [pytest.mark.timeout(120), pytest.mark.sandbox("default", time_scale=60)]

ASG = "web-asg"
ALARM = "web-tg-5xx"
# The shape boto3 and the AWS CLI send; the sandbox checks no signature.
SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/{service}/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "0" * 64
)


@pytest.fixture(scope="module")
def sb(shared_sandbox: Sandbox) -> Sandbox:
    return shared_sandbox


@pytest.fixture(autouse=True)
def no_faults(sb: Sandbox) -> Iterator[None]:
    yield
    sb.faults.clear(None)


def raw(
    sb: Sandbox, method: str, path: str, body: bytes = b"", headers: dict | None = None
) -> tuple[int, str]:
    """(status, body text) of one request; http.client sends Host 127.0.0.1:PORT unless
    `headers` has one."""
    connection = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if payload[:1] in (b"\xa0", b"\xa1", b"\xa2", b"\xbf"):
        return response.status, json.dumps(cbor2.loads(payload), default=str)
    return response.status, payload.decode(errors="replace")


def max_size(sb: Sandbox) -> int:
    groups = aws_client(sb, "autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[ASG])
    return groups["AutoScalingGroups"][0]["MaxSize"]


def applications(sb: Sandbox) -> list[str]:
    return aws_client(sb, "codedeploy").list_applications()["applications"]


def faults(sb: Sandbox) -> dict:
    return control(sb).faults()


def alarm_state(sb: Sandbox) -> str:
    alarms = aws_client(sb, "cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    return alarms[0]["StateValue"]


# ----- the AWS API ------------------------------------------------------------------------------


def test_safety_15_presigned_get_cannot_change_an_auto_scaling_group(sb: Sandbox) -> None:
    before = max_size(sb)
    url = aws_client(sb, "autoscaling").generate_presigned_url(
        "update_auto_scaling_group",
        Params={"AutoScalingGroupName": ASG, "MaxSize": before + 3},
    )
    # What an <img src=...> on any web page would send.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in refused.value.read().decode()
    assert max_size(sb) == before


def test_safety_15_signed_get_cannot_change_state(sb: Sandbox) -> None:
    before = max_size(sb)
    status, body = raw(
        sb,
        "GET",
        f"/?Action=UpdateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName={ASG}"
        f"&MaxSize={before + 3}",
        headers={"Authorization": SIGNED.format(service="autoscaling")},
    )
    assert (status, "<Code>MissingAuthenticationToken</Code>" in body) == (403, True)
    assert "POST" in body
    assert max_size(sb) == before


def form(text: str) -> tuple[str, bytes, dict]:
    return "/", text.encode(), {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("protocol", "code"),
    [
        ("query", "MissingAuthenticationToken"),
        ("ec2", "MissingAuthenticationToken"),
        ("cbor", "MissingAuthenticationTokenException"),
        ("json", "MissingAuthenticationTokenException"),
    ],
)
def test_safety_15_unsigned_post_cannot_change_state(sb: Sandbox, protocol: str, code: str) -> None:
    before = (max_size(sb), applications(sb))
    with sb.world.lock:
        instance = next(i.id for i in sb.world.instances.values() if i.state == "running")
    path, body, headers = {
        "query": form(
            "Action=UpdateAutoScalingGroup&Version=2011-01-01"
            f"&AutoScalingGroupName={ASG}&MaxSize={before[0] + 3}"
        ),
        "ec2": form(f"Action=StopInstances&Version=2016-11-15&InstanceId.1={instance}"),
        # A form's body may be any bytes sent as text/plain: CBOR fits.
        "cbor": (
            "/service/CodeDeploy_20141006/operation/CreateApplication",
            cbor2.dumps({"applicationName": "made-by-a-web-page"}),
            {"Content-Type": "text/plain"},
        ),
        "json": (
            "/",
            b'{"applicationName": "made-by-a-web-page"}',
            {
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "CodeDeploy_20141006.CreateApplication",
            },
        ),
    }[protocol]
    status, answer = raw(sb, "POST", path, body, headers)
    assert status == 403, answer
    assert code in answer
    assert (max_size(sb), applications(sb)) == before
    with sb.world.lock:
        assert sb.world.instances[instance].state == "running"


@pytest.mark.parametrize(
    ("authorization", "target", "code"),
    [
        ("Bearer abc", None, "IncompleteSignature"),
        ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE", None, "IncompleteSignature"),
        ("AWS AKIDEXAMPLE:c2lnbmF0dXJl", None, "IncompleteSignature"),
        ("Bearer abc", "CodeDeploy_20141006.CreateApplication", "IncompleteSignatureException"),
    ],
)
def test_safety_15_authorization_that_is_not_sigv4_is_refused(
    sb: Sandbox, authorization: str, target: str | None, code: str
) -> None:
    before = (max_size(sb), applications(sb))
    if target is None:
        path, body, headers = form(
            "Action=UpdateAutoScalingGroup&Version=2011-01-01"
            f"&AutoScalingGroupName={ASG}&MaxSize={before[0] + 3}"
        )
    else:
        path, body = "/", b'{"applicationName": "made-by-a-web-page"}'
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    status, answer = raw(sb, "POST", path, body, {**headers, "Authorization": authorization})
    assert status == 400, answer
    assert code in answer
    assert (max_size(sb), applications(sb)) == before


def test_safety_15_boto3_aws_requests_and_presigned_reads_keep_working(sb: Sandbox) -> None:
    autoscaling = aws_client(sb, "autoscaling")
    before = max_size(sb)
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=ASG, MaxSize=before + 1)
    try:
        assert max_size(sb) == before + 1
        url = autoscaling.generate_presigned_url(
            "describe_auto_scaling_groups", Params={"AutoScalingGroupNames": [ASG]}
        )
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert f"<MaxSize>{before + 1}</MaxSize>" in resp.read().decode()
    finally:
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=ASG, MaxSize=before)
    # Every served protocol, signed as boto3 signs it.
    assert aws_client(sb, "sts").get_caller_identity()["Account"] == sb.world.account_id
    assert aws_client(sb, "ec2").describe_instances()["Reservations"]
    assert "web" in applications(sb)
    # Through localhost too: another loopback name for the same endpoint.
    local = aws_client(f"http://localhost:{sb.port}", "codedeploy")
    assert "web" in local.list_applications()["applications"]


# ----- the control API --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"throttle": 1}', "text/plain"),
        (b'{"throttle": 1}', "application/x-www-form-urlencoded"),
        (b'{"throttle": 1}', None),
        (b"", None),
    ],
)
def test_safety_15_control_api_takes_only_json(
    sb: Sandbox, body: bytes, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    status, answer = raw(sb, "POST", "/_sandbox/faults/api", body, headers)
    assert status == 415, answer
    assert "application/json" in json.loads(answer)["error"]
    assert faults(sb)["api"]["throttle_rate"] == 0
    # A POST without a body sets an alarm to ALARM when it is taken.
    status, _ = raw(sb, "POST", f"/_sandbox/faults/alarm/{ALARM}", body, headers)
    assert status == 415
    assert alarm_state(sb) != "ALARM"


def test_safety_15_control_api_with_json_still_works(sb: Sandbox) -> None:
    status, answer = raw(
        sb,
        "POST",
        "/_sandbox/faults/api",
        b'{"latency_ms": 5}',
        {"Content-Type": "application/json; charset=utf-8"},
    )
    assert status == 200, answer
    assert faults(sb)["api"]["latency_ms"] == 5
    status, answer = raw(
        sb, "DELETE", "/_sandbox/faults", headers={"Content-Type": "application/json"}
    )
    assert status == 200, answer
    assert faults(sb)["api"]["latency_ms"] == 0


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "127.0.0.1.evil.example:{port}",
        "localhost.evil.example:{port}",
        "127.0.0.1:{other}",
        "127.0.0.1",
        "127.0.0.2:{port}",
        "",
    ],
)
def test_safety_15_requests_for_another_host_name_are_refused(sb: Sandbox, host: str) -> None:
    """DNS rebinding: a page whose name now resolves to 127.0.0.1 sends its own name."""
    host = host.format(port=sb.port, other=sb.port + 1)
    before = (max_size(sb), applications(sb))
    status, answer = raw(sb, "GET", "/_sandbox", headers={"Host": host})
    assert status == 421, answer
    assert "error" in json.loads(answer)
    status, _ = raw(
        sb,
        "POST",
        "/_sandbox/faults/api",
        b'{"throttle": 1}',
        {"Host": host, "Content-Type": "application/json"},
    )
    assert status == 421
    assert faults(sb)["api"]["throttle_rate"] == 0
    path, body, headers = form(
        "Action=UpdateAutoScalingGroup&Version=2011-01-01"
        f"&AutoScalingGroupName={ASG}&MaxSize={before[0] + 3}"
    )
    headers.update(Host=host, Authorization=SIGNED.format(service="autoscaling"))
    status, answer = raw(sb, "POST", path, body, headers)
    assert status == 421, answer
    assert (max_size(sb), applications(sb)) == before


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"]
)
def test_safety_15_loopback_host_names_are_served(sb: Sandbox, host: str) -> None:
    status, answer = raw(sb, "GET", "/_sandbox", headers={"Host": host.format(port=sb.port)})
    assert status == 200, answer
    assert json.loads(answer)["endpoint_url"] == sb.endpoint_url
