"""The wire codec against botocore's own serializers and parsers, for every served operation."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import HeadersDict, create_request_object, prepare_request_dict
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from cutover.sandbox.wire import (
    CBOR,
    EC2,
    JSON,
    QUERY,
    SERVED_SERVICES,
    ApiError,
    Call,
    Codec,
    DecodeError,
    RawRequest,
    Throttled,
)
from cutover.sandbox.wire import query as query_codec
from cutover.sandbox.wire.query import parse_form

CODEC = Codec()
BASE_TIME = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
# Past this depth only required members are filled, which bounds recursive shapes.
MAX_DEPTH = 5


def _model(service: str) -> ServiceModel:
    return CODEC.services[service].model


def _cases() -> list[tuple[str, str]]:
    return [(svc, p) for svc in SERVED_SERVICES for p in _model(svc).metadata["protocols"]]


# --- example values ------------------------------------------------------------------------------


def _pick(name: str, modulo: int) -> int:
    return zlib.crc32(name.encode()) % modulo


def example(shape: Shape, name: str, depth: int = 0, variant: int = 0) -> Any:
    """A deterministic value for ``shape``: every member filled down to MAX_DEPTH, lists of
    one or two items, enums and min/max lengths and ranges honoured."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if shape.is_document_type:
            return {"doc": [1, "two", True]}
        members = shape.members
        if shape.is_tagged_union:
            first = next(iter(members))
            return {first: example(members[first], first, depth + 1)}
        out = {}
        for member_name, member in members.items():
            deep = member.type_name in ("structure", "list", "map")
            if deep and depth >= MAX_DEPTH and member_name not in shape.required_members:
                continue
            out[member_name] = example(member, member_name, depth + 1, variant)
        return out
    if kind == "list":
        count = max(int(meta.get("min", 0)), 2 if depth <= 1 else 1)
        return [example(shape.member, name, depth + 1, variant + i) for i in range(count)]
    if kind == "map":
        return {example(shape.key, name, depth + 1, variant): example(shape.value, name, depth + 1)}
    if kind == "string":
        if shape.enum:
            return shape.enum[(_pick(name, 7) + variant) % len(shape.enum)]
        # Characters that need escaping in forms, XML and JSON, plus non-ASCII and a CR.
        text = f" {name}-{variant} é&<>+=%/?;\r\n"
        if "max" in meta:
            text = text[: int(meta["max"])]
        return text.ljust(int(meta.get("min", 0)), "x")
    if kind in ("integer", "long"):
        value = max((2**40 if kind == "long" else 42) + variant, int(meta.get("min", 0)))
        return min(value, int(meta.get("max", value)))
    if kind in ("float", "double"):
        # Exactly representable in binary32: CBOR sends "float" members as 4-byte floats.
        value = max(2.5 if kind == "float" else 12345.625 + variant, float(meta.get("min", 0)))
        return min(value, float(meta.get("max", value)))
    if kind == "boolean":
        return (_pick(name, 2) + variant) % 2 == 0
    if kind == "timestamp":
        return BASE_TIME + timedelta(days=variant, seconds=_pick(name, 1000))
    if kind == "blob":
        return b"\x00\xff\r\n" + name.encode()
    raise AssertionError(f"unhandled shape type {kind}")


_GONE = object()


def _prune_empty(value: Any) -> Any:
    """What the query and ec2 forms cannot carry: an empty structure has no fields, so it (and a
    list made only of such structures) is absent after the round trip."""
    if isinstance(value, dict):
        pruned = {k: _prune_empty(v) for k, v in value.items()}
        kept = {k: v for k, v in pruned.items() if v is not _GONE}
        return kept if kept else _GONE
    if isinstance(value, list):
        items = [_prune_empty(v) for v in value]
        kept = [v for v in items if v is not _GONE]
        return kept if kept else _GONE
    return value


# --- botocore as the client ----------------------------------------------------------------------


def botocore_request(protocol: str, operation: OperationModel, params: dict) -> RawRequest:
    """The request botocore sends for ``params`` (serialized, prepared, with a SigV4-shaped
    Authorization header carrying the credential scope)."""
    serializer = create_serializer(protocol, include_validation=True)
    request_dict = serializer.serialize_to_request(params, operation)
    prepare_request_dict(request_dict, endpoint_url="http://127.0.0.1:1")
    prepared = create_request_object(request_dict).prepare()
    url = urlsplit(prepared.url)
    headers = dict(prepared.headers.items())
    signing = operation.service_model.signing_name
    headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential=x/20240506/us-east-1/{signing}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return RawRequest(prepared.method, url.path, url.query, headers, body)


def botocore_parse(protocol: str, operation: OperationModel, status: int, headers, body) -> dict:
    parser = create_parser(protocol)
    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    return parser.parse(response, operation.output_shape)


# --- every operation, both directions ------------------------------------------------------------


@pytest.mark.parametrize(("service", "protocol"), _cases())
def test_every_operation_round_trips(service: str, protocol: str) -> None:
    model = _model(service)
    lossy_form = protocol in (QUERY, EC2)
    for name in model.operation_names:
        operation = model.operation_model(name)
        params = example(operation.input_shape, name) if operation.input_shape else {}
        call = CODEC.decode(botocore_request(protocol, operation, params))
        assert (call.service, call.operation, call.protocol) == (service, name, protocol)
        expected = _prune_empty(params) if lossy_form else params
        assert call.params == ({} if expected is _GONE else expected), name
        CODEC.check_required(call)

        output = example(operation.output_shape, name, variant=1) if operation.output_shape else {}
        response = CODEC.encode_result(call, {**output, "NotInTheModel": object()}, "rid-1")
        assert response.status == 200
        parsed = botocore_parse(protocol, operation, 200, response.headers, response.body)
        metadata = parsed.pop("ResponseMetadata")
        if operation.output_shape is not None:
            # botocore's RPC v2 parser skips metadata when there is no output shape.
            assert metadata.get("RequestId") == "rid-1", name
        assert parsed == output, name


def test_examples_exercise_every_type() -> None:
    kinds: set[str] = set()
    for service in SERVED_SERVICES:
        model = _model(service)
        for name in model.operation_names:
            operation = model.operation_model(name)
            for shape in (operation.input_shape, operation.output_shape):
                if shape is not None:
                    _collect_kinds(shape, example(shape, name), kinds)
    scalars = {"string", "integer", "long", "boolean", "double", "float", "timestamp", "blob"}
    assert scalars | {"structure", "list", "map"} <= kinds


def _collect_kinds(shape: Shape, value: Any, kinds: set[str]) -> None:
    kinds.add(shape.type_name)
    if shape.type_name == "structure" and not shape.is_document_type:
        for key, item in value.items():
            _collect_kinds(shape.members[key], item, kinds)
    elif shape.type_name == "list":
        for item in value:
            _collect_kinds(shape.member, item, kinds)
    elif shape.type_name == "map":
        for item in value.values():
            _collect_kinds(shape.value, item, kinds)


def test_naive_and_epoch_timestamps_encode_as_utc() -> None:
    operation = _model("codedeploy").operation_model("GetDeployment")
    naive = datetime(2024, 1, 2, 3, 4, 5)
    for protocol in (CBOR, JSON):
        for given in (naive, naive.replace(tzinfo=UTC).timestamp()):
            call = Call("codedeploy", "GetDeployment", {}, protocol)
            output = {"deploymentInfo": {"createTime": given, "deploymentId": "d-1"}}
            response = CODEC.encode_result(call, output, "rid")
            parsed = botocore_parse(protocol, operation, 200, response.headers, response.body)
            assert parsed["deploymentInfo"]["createTime"] == naive.replace(tzinfo=UTC)


# --- errors --------------------------------------------------------------------------------------


def _error(service: str, protocol: str, error: BaseException) -> tuple[int, dict, dict]:
    operation = _model(service).operation_model(_model(service).operation_names[0])
    response = CODEC.encode_error(protocol, service, error, "rid-err")
    parsed = botocore_parse(protocol, operation, response.status, response.headers, response.body)
    return response.status, parsed, response.headers


@pytest.mark.parametrize(("service", "protocol"), _cases())
def test_errors_parse_in_every_protocol(service: str, protocol: str) -> None:
    status, parsed, _ = _error(service, protocol, ApiError("NoSuchThing", "it is gone & <away>"))
    assert status == 400
    assert parsed["Error"]["Code"] == "NoSuchThing"
    assert parsed["Error"]["Message"] == "it is gone & <away>"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-err"

    status, parsed, _ = _error(service, protocol, ApiError("Gone", "teapot", 418))
    assert (status, parsed["Error"]["Code"]) == (418, "Gone")

    status, parsed, _ = _error(service, protocol, Throttled())
    expected = {
        EC2: ("RequestLimitExceeded", 503),
        QUERY: ("Throttling", 400),
        JSON: ("ThrottlingException", 400),
        CBOR: ("ThrottlingException", 400),
    }[protocol]
    assert (parsed["Error"]["Code"], status) == expected
    assert parsed["Error"]["Message"] == "Rate exceeded"

    status, parsed, _ = _error(service, protocol, RuntimeError("boom"))
    assert status == 500
    assert parsed["Error"]["Code"] == ("InternalError" if protocol == EC2 else "InternalFailure")
    assert parsed["Error"]["Message"] == "boom"


def test_modeled_error_status_and_code_come_from_the_model() -> None:
    # cloudwatch: ResourceNotFound is modeled with HTTP 404; over CBOR/JSON the query code rides
    # in x-amzn-query-error as well.
    for protocol in (CBOR, JSON, QUERY):
        status, parsed, headers = _error("cloudwatch", protocol, ApiError("ResourceNotFound", "x"))
        assert (status, parsed["Error"]["Code"]) == (404, "ResourceNotFound")
        if protocol != QUERY:
            assert headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    # elbv2: the shape name is translated to the wire code botocore maps to the exception class.
    status, parsed, _ = _error("elbv2", QUERY, ApiError("TargetGroupNotFoundException", "tg"))
    assert (status, parsed["Error"]["Code"]) == (400, "TargetGroupNotFound")
    status, parsed, _ = _error(
        "codedeploy", CBOR, ApiError("DeploymentDoesNotExistException", "d-1")
    )
    assert (status, parsed["Error"]["Code"]) == (400, "DeploymentDoesNotExistException")


# --- routing and malformed requests --------------------------------------------------------------


def _query_request(fields: str, signing: str | None = None) -> RawRequest:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if signing:
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=x/20240506/us-east-1/{signing}/aws4_request"
        )
    return RawRequest("POST", "/", "", headers, fields.encode())


def test_elb_and_elbv2_route_by_version() -> None:
    for version, service in (("2012-06-01", "elb"), ("2015-12-01", "elbv2")):
        for signing in ("elasticloadbalancing", None):
            request = _query_request(f"Action=DescribeLoadBalancers&Version={version}", signing)
            call = CODEC.decode(request)
            assert (call.service, call.operation, call.protocol) == (
                service,
                "DescribeLoadBalancers",
                QUERY,
            )


def test_query_get_with_query_string_and_unsigned_sts() -> None:
    request = RawRequest(
        "GET",
        "/",
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole"
        "%2Fr&RoleSessionName=s&WebIdentityToken=t%2Bk&DurationSeconds=900",
        {},
        b"",
    )
    call = CODEC.decode(request)
    assert call.service == "sts"
    assert call.params == {
        "RoleArn": "arn:aws:iam::1:role/r",
        "RoleSessionName": "s",
        "WebIdentityToken": "t+k",
        "DurationSeconds": 900,
    }


@pytest.mark.parametrize(
    ("request_", "protocol", "code"),
    [
        (RawRequest("POST", "/", "", {}, b"\xff\xfe"), QUERY, "MalformedQueryString"),
        (RawRequest("POST", "/", "", {}, b"garbage"), QUERY, "MalformedQueryString"),
        (RawRequest("POST", "/", "", {}, b"Version=2011-01-01"), QUERY, "MissingAction"),
        (
            RawRequest("POST", "/", "", {}, b"Action=Nope&Version=2011-01-01"),
            QUERY,
            "InvalidAction",
        ),
        (
            RawRequest("POST", "/", "", {}, b"Action=Nope&Version=2016-11-15"),
            EC2,
            "InvalidAction",
        ),
        (
            RawRequest("POST", "/", "", {}, b"Action=DescribeThings&Version=1999-01-01"),
            QUERY,
            "InvalidAction",
        ),
        (
            RawRequest(
                "POST",
                "/",
                "",
                {},
                b"Action=SetDesiredCapacity&Version=2011-01-01&DesiredCapacity=many",
            ),
            QUERY,
            "ValidationError",
        ),
        (
            RawRequest("POST", "/", "", {"X-Amz-Target": "CodeDeploy_20141006.Nope"}, b"{}"),
            JSON,
            "UnknownOperationException",
        ),
        (
            RawRequest("POST", "/", "", {"X-Amz-Target": "Nobody.GetThing"}, b"{}"),
            JSON,
            "UnknownOperationException",
        ),
        (
            RawRequest(
                "POST", "/", "", {"X-Amz-Target": "CodeDeploy_20141006.GetDeployment"}, b"{"
            ),
            JSON,
            "SerializationException",
        ),
        (
            RawRequest(
                "POST",
                "/",
                "",
                {"X-Amz-Target": "CodeDeploy_20141006.GetDeployment"},
                b'{"deploymentId": 5}',
            ),
            JSON,
            "SerializationException",
        ),
        (
            RawRequest(
                "POST", "/service/CodeDeploy_20141006/operation/GetDeployment", "", {}, b"\xa1\x61"
            ),
            CBOR,
            "SerializationException",
        ),
        (
            RawRequest(
                "POST", "/service/CodeDeploy_20141006/operation/GetDeployment", "", {}, b"\xa0\x00"
            ),
            CBOR,
            "SerializationException",
        ),
        (
            RawRequest("POST", "/service/Nobody/operation/GetDeployment", "", {}, b"\xa0"),
            CBOR,
            "UnknownOperationException",
        ),
    ],
)
def test_malformed_requests_are_decode_errors(
    request_: RawRequest, protocol: str, code: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(request_)
    assert caught.value.protocol == protocol
    assert caught.value.error.code == code
    assert caught.value.error.status == 400
    response = CODEC.encode_error(
        caught.value.protocol, caught.value.service, caught.value.error, "r"
    )
    assert response.status == 400


def test_missing_required_members_are_reported_per_protocol() -> None:
    cases = [
        (_query_request("Action=SetDesiredCapacity&Version=2011-01-01"), "ValidationError"),
        (_query_request("Action=TerminateInstances&Version=2016-11-15"), "MissingParameter"),
        (
            RawRequest(
                "POST", "/service/CodeDeploy_20141006/operation/GetDeployment", "", {}, b"\xa0"
            ),
            "ValidationException",
        ),
        (
            RawRequest(
                "POST",
                "/",
                "",
                {"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"},
                b'{"Namespace": "n", "MetricData": [{"Value": 1}]}',
            ),
            "ValidationException",
        ),
    ]
    for request, code in cases:
        call = CODEC.decode(request)
        with pytest.raises(ApiError) as caught:
            CODEC.check_required(call)
        assert (caught.value.code, caught.value.status) == (code, 400)
    assert "MetricData[0].MetricName" in caught.value.message


# --- query shapes the served models do not use (flattened lists, maps) ---------------------------

_SYNTHETIC = ServiceModel(
    {
        "metadata": {
            "apiVersion": "2020-01-01",
            "protocol": "query",
            "endpointPrefix": "synthetic",
            "xmlNamespace": "http://synthetic.example/doc/2020-01-01/",
        },
        "operations": {
            "Op": {
                "name": "Op",
                "http": {"method": "POST", "requestUri": "/"},
                "input": {"shape": "Shapes"},
                "output": {"shape": "Shapes", "resultWrapper": "OpResult"},
            }
        },
        "shapes": {
            "Shapes": {
                "type": "structure",
                "members": {
                    "Flat": {"shape": "FlatList"},
                    "FlatNamed": {"shape": "FlatNamedList"},
                    "Named": {"shape": "NamedList"},
                    "Plain": {"shape": "PlainMap"},
                    "Custom": {"shape": "CustomMap"},
                    "FlatMap": {"shape": "FlatMap"},
                    "Renamed": {"shape": "String", "locationName": "OtherName"},
                },
            },
            "String": {"type": "string"},
            "Int": {"type": "integer"},
            "FlatList": {"type": "list", "member": {"shape": "String"}, "flattened": True},
            "FlatNamedList": {
                "type": "list",
                "member": {"shape": "String", "locationName": "Item"},
                "flattened": True,
            },
            "NamedList": {"type": "list", "member": {"shape": "Int", "locationName": "Number"}},
            "PlainMap": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "Int"}},
            "CustomMap": {
                "type": "map",
                "key": {"shape": "String", "locationName": "Name"},
                "value": {"shape": "String", "locationName": "Val"},
            },
            "FlatMap": {
                "type": "map",
                "key": {"shape": "String"},
                "value": {"shape": "String"},
                "flattened": True,
            },
        },
    },
    "synthetic",
)


def test_flattened_lists_and_maps_round_trip_through_botocore() -> None:
    operation = _SYNTHETIC.operation_model("Op")
    value = {
        "Flat": ["a", "b"],
        "FlatNamed": ["c", "d"],
        "Named": [1, 2, 3],
        "Plain": {"k1": 1, "k2": 2},
        "Custom": {"n": "v & w"},
        "FlatMap": {"x": "y", "z": "w"},
        "Renamed": "r",
    }
    request = botocore_request(QUERY, operation, value)
    pairs = parse_form(request.body.decode())
    assert query_codec.decode_input(operation.input_shape, pairs, ec2=False) == value
    body = query_codec.encode_result(
        "Op", operation.output_shape, value, "rid", "http://synthetic.example/", ec2=False
    )
    parsed = botocore_parse(QUERY, operation, 200, {}, body)
    parsed.pop("ResponseMetadata")
    assert parsed == value


_SYNTHETIC_DOCUMENT = ServiceModel(
    {
        "metadata": {
            "apiVersion": "2020-01-01",
            "protocol": "json",
            "protocols": ["smithy-rpc-v2-cbor", "json"],
            "jsonVersion": "1.1",
            "targetPrefix": "Synthetic_20200101",
            "endpointPrefix": "synthetic",
        },
        "operations": {
            "Op": {
                "name": "Op",
                "http": {"method": "POST", "requestUri": "/"},
                "input": {"shape": "Shapes"},
                "output": {"shape": "Shapes"},
            }
        },
        "shapes": {
            "Shapes": {
                "type": "structure",
                "members": {
                    "Blob": {"shape": "Blob"},
                    "Float": {"shape": "Float"},
                    "Double": {"shape": "Double"},
                    "Negative": {"shape": "Long"},
                    "When": {"shape": "Time"},
                    "Doc": {"shape": "Doc"},
                    "Items": {"shape": "Items"},
                    "Lookup": {"shape": "Lookup"},
                },
            },
            "Blob": {"type": "blob"},
            "Float": {"type": "float"},
            "Double": {"type": "double"},
            "Long": {"type": "long"},
            "Time": {"type": "timestamp"},
            "String": {"type": "string"},
            "Doc": {"type": "structure", "members": {}, "document": True},
            "Inner": {"type": "structure", "members": {"Name": {"shape": "String"}}},
            "Items": {"type": "list", "member": {"shape": "Inner"}},
            "Lookup": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "Inner"}},
        },
    },
    "synthetic",
)


@pytest.mark.parametrize("protocol", [JSON, CBOR])
def test_blobs_floats_documents_round_trip_in_json_and_cbor(protocol: str) -> None:
    from cutover.sandbox.wire import document

    operation = _SYNTHETIC_DOCUMENT.operation_model("Op")
    value = {
        "Blob": b"\x00\x01\xfe\xff",
        "Float": -0.75,
        "Double": 1e-300,
        "Negative": -(2**40),
        "When": BASE_TIME,
        "Items": [{"Name": "a"}, {}],
        "Lookup": {"k": {"Name": "v"}},
    }
    if protocol == JSON:
        # botocore's CBOR serializer has no document support (no served model uses one).
        value["Doc"] = {"free": ["form", 1, None, {"nested": True}]}
    request = botocore_request(protocol, operation, value)
    cbor = protocol == CBOR
    loaded = document.loads_cbor(request.body) if cbor else document.loads_json(request.body)
    assert document.decode_input(operation.input_shape, loaded, cbor=cbor) == value

    body = (
        document.dumps_cbor(operation.output_shape, value)
        if cbor
        else (document.dumps_json(operation.output_shape, value))
    )
    parsed = botocore_parse(protocol, operation, 200, {}, body)
    parsed.pop("ResponseMetadata")
    assert parsed == value
