"""WireServer over real HTTP on 127.0.0.1, driven by boto3 and by raw (often broken) requests."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions
import cbor2
import pytest
from botocore.config import Config
from cutover.sandbox.testing import wait_for
from cutover.sandbox.wire import ApiError, Throttled, WireServer

CLOCK = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})

RESPONSES: dict[tuple[str, str], dict] = {
    ("sts", "GetCallerIdentity"): {"UserId": "AID", "Account": "123456789012", "Arn": "arn:x"},
    ("sts", "AssumeRoleWithWebIdentity"): {
        "Credentials": {
            "AccessKeyId": "AK",
            "SecretAccessKey": "SK",
            "SessionToken": "ST",
            "Expiration": datetime(2030, 1, 2, 4, 4, 5),
        }
    },
    ("ec2", "DescribeInstances"): {
        "Reservations": [
            {
                "ReservationId": "r-1",
                "Instances": [{"InstanceId": "i-1", "State": {"Name": "running"}}],
            }
        ]
    },
    ("autoscaling", "DescribeAutoScalingGroups"): {
        "AutoScalingGroups": [
            {
                "AutoScalingGroupName": "web",
                "MinSize": 1,
                "MaxSize": 3,
                "DesiredCapacity": 2,
                "DefaultCooldown": 300,
                "AvailabilityZones": ["us-east-1a"],
                "HealthCheckType": "ELB",
                "CreatedTime": datetime(2024, 1, 1, tzinfo=UTC),
            }
        ]
    },
    ("elb", "DescribeLoadBalancers"): {"LoadBalancerDescriptions": [{"LoadBalancerName": "v1"}]},
    ("elbv2", "DescribeLoadBalancers"): {"LoadBalancers": [{"LoadBalancerName": "v2"}]},
    ("codedeploy", "GetDeployment"): {
        "deploymentInfo": {"deploymentId": "d-1", "status": "InProgress", "createTime": CLOCK}
    },
    ("cloudwatch", "DescribeAlarms"): {"MetricAlarms": [{"AlarmName": "a", "Threshold": 1.5}]},
}


class Backend:
    """The handler and hooks under test, with per-test behaviour and call records."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.hook_calls: list[tuple[str, str]] = []
        self.raise_in_handler: dict[tuple[str, str], BaseException] = {}
        self.hook_raises: list[BaseException] = []
        self.unserved: set[tuple[str, str]] = {("autoscaling", "DescribePolicies")}

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def handler(self, service: str, operation: str, params: dict) -> Any:
        self.calls.append((service, operation, params))
        error = self.raise_in_handler.get((service, operation))
        if error is not None:
            raise error
        result = RESPONSES.get((service, operation), {"Echo": params})
        if service == "codedeploy":
            # Async handlers are awaited.
            async def later() -> dict:
                await asyncio.sleep(0)
                return result

            return later()
        return result

    async def on_request(self, service: str, operation: str) -> None:
        self.hook_calls.append((service, operation))
        if self.hook_raises:
            raise self.hook_raises.pop(0)

    def served(self, service: str, operation: str) -> bool:
        return (service, operation) not in self.unserved


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def run(loop: asyncio.AbstractEventLoop, coro: Any, timeout: float = 10) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)


@pytest.fixture(scope="module")
def sandbox(loop: asyncio.AbstractEventLoop) -> Iterator[tuple[Backend, WireServer]]:
    backend = Backend()
    server = WireServer(
        backend.handler, clock=lambda: CLOCK, on_request=backend.on_request, served=backend.served
    )
    run(loop, server.start())
    try:
        yield backend, server
    finally:
        run(loop, server.stop())


@pytest.fixture
def backend(sandbox: tuple[Backend, WireServer]) -> Backend:
    sandbox[0].reset()
    return sandbox[0]


@pytest.fixture(scope="module")
def session() -> boto3.session.Session:
    return boto3.session.Session()


@pytest.fixture
def client(
    sandbox: tuple[Backend, WireServer], session: boto3.session.Session
) -> Callable[..., Any]:
    def make(service: str, config: Config = NO_RETRY) -> Any:
        return session.client(
            service,
            endpoint_url=f"http://127.0.0.1:{sandbox[1].port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=config,
        )

    return make


# Signed as boto3 signs (the server checks the shape, not the signature); the scope names no
# served service, so requests route by their Version as unsigned ones did.
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20300102/us-east-1/test/"
    "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
}


def raw(
    port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request, signed unless `headers` says otherwise (an Authorization of None: none)."""
    sent = {k: v for k, v in {**SIGNED, **(headers or {})}.items() if v is not None}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


# --- the happy path, per service -----------------------------------------------------------------


def test_each_service_answers_through_boto3(backend: Backend, client: Callable[..., Any]) -> None:
    sts = client("sts")
    assert sts.get_caller_identity()["Account"] == "123456789012"

    reservations = client("ec2").describe_instances(InstanceIds=["i-1"])["Reservations"]
    assert reservations[0]["Instances"][0]["State"]["Name"] == "running"

    groups = client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["web"])
    assert groups["AutoScalingGroups"][0]["CreatedTime"] == datetime(2024, 1, 1, tzinfo=UTC)

    v1 = client("elb").describe_load_balancers()["LoadBalancerDescriptions"]
    v2 = client("elbv2").describe_load_balancers(Names=["v2"])["LoadBalancers"]
    assert (v1[0]["LoadBalancerName"], v2[0]["LoadBalancerName"]) == ("v1", "v2")

    deployment = client("codedeploy").get_deployment(deploymentId="d-1")["deploymentInfo"]
    assert deployment["createTime"] == CLOCK

    alarms = client("cloudwatch").describe_alarms(AlarmNames=["a"], MaxRecords=5)
    assert alarms["MetricAlarms"][0]["Threshold"] == 1.5

    assert [(s, o, p) for s, o, p in backend.calls] == [
        ("sts", "GetCallerIdentity", {}),
        ("ec2", "DescribeInstances", {"InstanceIds": ["i-1"]}),
        ("autoscaling", "DescribeAutoScalingGroups", {"AutoScalingGroupNames": ["web"]}),
        ("elb", "DescribeLoadBalancers", {}),
        ("elbv2", "DescribeLoadBalancers", {"Names": ["v2"]}),
        ("codedeploy", "GetDeployment", {"deploymentId": "d-1"}),
        ("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a"], "MaxRecords": 5}),
    ]
    assert backend.hook_calls == [(s, o) for s, o, _ in backend.calls]


def test_params_arrive_typed_as_the_caller_passed_them(
    backend: Backend, client: Callable[..., Any]
) -> None:
    when = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    client("cloudwatch").put_metric_data(
        Namespace="App",
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": [{"Name": "Host", "Value": "a"}],
                "Timestamp": when,
                "Value": 12.25,
                "Unit": "Milliseconds",
                "StorageResolution": 1,
            }
        ],
    )
    client("autoscaling").set_desired_capacity(
        AutoScalingGroupName="web", DesiredCapacity=3, HonorCooldown=False
    )
    assert backend.calls[0][2]["MetricData"][0]["Timestamp"] == when
    assert backend.calls[0][2]["MetricData"][0]["Value"] == 12.25
    assert backend.calls[1][2] == {
        "AutoScalingGroupName": "web",
        "DesiredCapacity": 3,
        "HonorCooldown": False,
    }


def test_unsigned_sts_call_routes_by_version(backend: Backend, client: Callable[..., Any]) -> None:
    credentials = client("sts").assume_role_with_web_identity(
        RoleArn="arn:aws:iam::123456789012:role/r",
        RoleSessionName="session",
        WebIdentityToken="token",
    )["Credentials"]
    assert credentials["Expiration"] == datetime(2030, 1, 2, 4, 4, 5, tzinfo=UTC)


def test_elb_and_elbv2_route_by_version_over_http(sandbox: tuple[Backend, WireServer]) -> None:
    backend, server = sandbox
    backend.reset()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for version, service in (("2012-06-01", "elb"), ("2015-12-01", "elbv2")):
        body = f"Action=DescribeLoadBalancers&Version={version}".encode()
        status, _, _ = raw(server.port, "POST", "/", body, form)
        assert status == 200
        assert backend.calls[-1][:2] == (service, "DescribeLoadBalancers")


def test_date_and_request_id_headers(sandbox: tuple[Backend, WireServer]) -> None:
    _, server = sandbox
    for body in (b"Action=GetCallerIdentity&Version=2011-06-15", b"garbage"):
        _, headers, payload = raw(server.port, "POST", "/", body)
        assert headers["Date"] == "Wed, 02 Jan 2030 03:04:05 GMT"
        request_id = headers["x-amzn-RequestId"]
        assert len(request_id) == 36
        assert request_id.encode() in payload


def test_keep_alive(sandbox: tuple[Backend, WireServer]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox[1].port, timeout=5)
    try:
        for _ in range(3):
            connection.request(
                "POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-15", headers=SIGNED
            )
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert response.headers.get("Connection", "").lower() != "close"
    finally:
        connection.close()


# --- errors --------------------------------------------------------------------------------------


def test_unserved_operation_is_a_clear_400_that_is_not_retried(
    backend: Backend, client: Callable[..., Any]
) -> None:
    retrying = Config(retries={"max_attempts": 3, "mode": "standard"})
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client("autoscaling", retrying).describe_policies()
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidAction"
    assert "autoscaling:DescribePolicies" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["RetryAttempts"] == 0
    assert backend.calls == []

    backend.unserved.add(("codedeploy", "ListApplications"))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client("codedeploy", retrying).list_applications()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_modeled_errors_surface_as_modeled_exceptions(
    backend: Backend, client: Callable[..., Any]
) -> None:
    codedeploy = client("codedeploy")
    backend.raise_in_handler[("codedeploy", "GetDeployment")] = ApiError(
        "DeploymentDoesNotExistException", "The deployment d-404 could not be found."
    )
    with pytest.raises(codedeploy.exceptions.DeploymentDoesNotExistException) as caught:
        codedeploy.get_deployment(deploymentId="d-404")
    assert caught.value.response["Error"]["Message"] == "The deployment d-404 could not be found."

    elbv2 = client("elbv2")
    backend.raise_in_handler[("elbv2", "DescribeTargetHealth")] = ApiError(
        "TargetGroupNotFound", "One or more target groups not found"
    )
    with pytest.raises(elbv2.exceptions.TargetGroupNotFoundException):
        elbv2.describe_target_health(TargetGroupArn="arn:tg")

    cloudwatch = client("cloudwatch")
    backend.raise_in_handler[("cloudwatch", "GetDashboard")] = ApiError("ResourceNotFound", "nope")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        cloudwatch.get_dashboard(DashboardName="d")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    ec2 = client("ec2")
    backend.raise_in_handler[("ec2", "TerminateInstances")] = ApiError(
        "InvalidInstanceID.NotFound", "The instance ID 'i-9' does not exist"
    )
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ec2.terminate_instances(InstanceIds=["i-9"])
    assert caught.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("autoscaling", lambda c: c.describe_auto_scaling_groups(), "Throttling"),
        ("ec2", lambda c: c.describe_instances(), "RequestLimitExceeded"),
        ("codedeploy", lambda c: c.get_deployment(deploymentId="d-1"), "ThrottlingException"),
    ],
)
def test_throttling_is_retried_by_botocore(
    backend: Backend, client: Callable[..., Any], service: str, call: Callable, code: str
) -> None:
    backend.hook_raises = [Throttled()]
    response = call(client(service, Config(retries={"max_attempts": 3, "mode": "standard"})))
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(backend.hook_calls) == 2
    assert len(backend.calls) == 1

    backend.reset()
    backend.hook_raises = [Throttled()]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(client(service))
    assert caught.value.response["Error"]["Code"] == code


def test_handler_crash_is_a_logged_500(
    backend: Backend, client: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    backend.raise_in_handler[("sts", "GetCallerIdentity")] = KeyError("lost")
    backend.raise_in_handler[("codedeploy", "GetDeployment")] = RuntimeError("engine broke")
    with caplog.at_level(logging.ERROR, logger="cutover.sandbox"):
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            client("sts").get_caller_identity()
        assert caught.value.response["Error"]["Code"] == "InternalFailure"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            client("codedeploy").get_deployment(deploymentId="d")
        assert caught.value.response["Error"]["Message"] == "engine broke"
    assert any(record.exc_info for record in caplog.records)


def test_api_error_from_the_hook(backend: Backend, client: Callable[..., Any]) -> None:
    backend.hook_raises = [ApiError("AccessDenied", "not today", 403)]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client("elbv2").describe_load_balancers()
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert backend.calls == []


# --- broken requests -----------------------------------------------------------------------------

CBOR_PATH = "/service/CodeDeploy_20141006/operation/GetDeployment"
CBOR_HEADERS = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "code"),
    [
        ("POST", "/", b"\x00\xffgarbage", {}, "MalformedQueryString"),
        ("POST", "/", b"Action=Bogus&Version=2011-01-01", {}, "InvalidAction"),
        ("POST", "/", b"Action=Bogus&Version=2016-11-15", {}, "InvalidAction"),
        ("GET", "/", b"", {}, "MissingAction"),
        ("GET", "/?Action=DescribeThings&Version=2001-01-01", b"", {}, "InvalidAction"),
        ("POST", "/", b"Action=TerminateInstances&Version=2016-11-15", {}, "MissingParameter"),
        ("POST", "/", b"Action=SetDesiredCapacity&Version=2011-01-01", {}, "ValidationError"),
        ("POST", CBOR_PATH, cbor2.dumps({"deploymentId": "d"})[:-2], CBOR_HEADERS, "Serial"),
        ("POST", CBOR_PATH, b'{"deploymentId": "d"}', CBOR_HEADERS, "SerializationException"),
        ("POST", CBOR_PATH, cbor2.dumps({}), CBOR_HEADERS, "ValidationException"),
        ("POST", "/service/Nope/operation/GetThing", b"\xa0", CBOR_HEADERS, "UnknownOperation"),
        (
            "POST",
            "/",
            b"{not json",
            {"X-Amz-Target": "CodeDeploy_20141006.GetDeployment"},
            "SerializationException",
        ),
        (
            "POST",
            "/",
            b"{}",
            {"X-Amz-Target": "CodeDeploy_20141006.NoSuchThing"},
            "UnknownOperationException",
        ),
        (
            "POST",
            "/",
            b"Action=GetCallerIdentity&Version=2011-06-15",
            {"X-Amz-Target": "GraniteServiceVersion20100801.DescribeAlarms"},
            "SerializationException",
        ),
    ],
)
def test_malformed_requests_get_400_and_the_server_keeps_serving(
    sandbox: tuple[Backend, WireServer],
    method: str,
    path: str,
    body: bytes,
    headers: dict,
    code: str,
) -> None:
    backend, server = sandbox
    backend.reset()
    status, response_headers, payload = raw(server.port, method, path, body, headers)
    assert status == 400
    content_type = response_headers["Content-Type"]
    if "cbor" in content_type:
        error_code = cbor2.loads(payload)["__type"]
    elif "json" in content_type:
        error_code = json.loads(payload)["__type"]
    else:
        error_code = payload.decode()
    assert code in error_code
    assert backend.calls == []
    ok, _, _ = raw(server.port, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15")
    assert ok == 200


def test_json_protocol_over_http(sandbox: tuple[Backend, WireServer]) -> None:
    backend, server = sandbox
    backend.reset()
    status, headers, payload = raw(
        server.port,
        "POST",
        "/",
        b'{"deploymentId": "d-1"}',
        {
            "X-Amz-Target": "CodeDeploy_20141006.GetDeployment",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert status == 200
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(payload)["deploymentInfo"]["createTime"] == CLOCK.timestamp()
    assert backend.calls == [("codedeploy", "GetDeployment", {"deploymentId": "d-1"})]


# --- lifecycle -----------------------------------------------------------------------------------


def test_start_reports_a_busy_port_and_pause_refuses_then_recovers(
    loop: asyncio.AbstractEventLoop, session: boto3.session.Session
) -> None:
    server = WireServer(lambda s, o, p: {"Account": "1"})
    port = run(loop, server.start())
    other = WireServer(lambda s, o, p: {})
    try:
        with pytest.raises(OSError):
            run(loop, other.start(port=port))

        sts = session.client(
            "sts",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=NO_RETRY,
        )
        assert sts.get_caller_identity()["Account"] == "1"  # leaves a kept-alive connection

        run(loop, server.pause(0.6))
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            sts.get_caller_identity()

        def answers() -> bool:
            try:
                return sts.get_caller_identity()["Account"] == "1"
            except botocore.exceptions.EndpointConnectionError:
                return False

        wait_for(answers, 5, "the server to come back")
        assert server.port == port
    finally:
        run(loop, server.stop())
        run(loop, other.stop())


def test_stop_while_paused(loop: asyncio.AbstractEventLoop) -> None:
    server = WireServer(lambda s, o, p: {})
    port = run(loop, server.start())
    run(loop, server.pause(30))
    run(loop, server.stop())
    run(loop, server.stop())
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_pause_lets_an_in_flight_request_finish(
    loop: asyncio.AbstractEventLoop, session: boto3.session.Session
) -> None:
    started = threading.Event()

    async def slow(service: str, operation: str, params: dict) -> dict:
        started.set()
        await asyncio.sleep(0.3)  # the request in flight while the server pauses
        return {"Account": "slow"}

    server = WireServer(slow)
    port = run(loop, server.start())
    try:
        sts = session.client(
            "sts",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=NO_RETRY,
        )
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.append(sts.get_caller_identity()))
        worker.start()
        assert started.wait(5)
        run(loop, server.pause(0.2))
        worker.join(5)
        assert results[0]["Account"] == "slow"
    finally:
        run(loop, server.stop())


def test_unsigned_calls_are_refused_in_their_protocol(sandbox: tuple[Backend, WireServer]) -> None:
    backend, server = sandbox
    backend.reset()
    unsigned = {"Authorization": None}
    status, _, payload = raw(
        server.port, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15", unsigned
    )
    assert (status, b"<Code>MissingAuthenticationToken</Code>" in payload) == (403, True)
    status, headers, _ = raw(
        server.port,
        "POST",
        "/",
        b'{"deploymentId": "d-1"}',
        {**unsigned, "X-Amz-Target": "CodeDeploy_20141006.GetDeployment"},
    )
    assert (status, headers["x-amzn-ErrorType"]) == (403, "MissingAuthenticationTokenException")
    assert backend.calls == [] and backend.hook_calls == []
