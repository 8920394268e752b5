"""Encoding a call's result or an error in the protocol the call arrived in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import document, query
from .calls import INTERNAL, THROTTLED, Call, RawResponse
from .errors import ApiError, Throttled
from .models import CBOR, EC2, JSON, QUERY, ServiceInfo


def encode_result(
    info: ServiceInfo, call: Call, output: Mapping[str, Any] | None, request_id: str
) -> RawResponse:
    """The 200 response carrying ``output`` (a dict shaped like boto3's return value,
    without ResponseMetadata; unknown keys and None values are ignored). Raises TypeError or
    ValueError when a value cannot take its modeled type."""
    operation = info.operation(call.operation)
    shape = operation.output_shape
    if output is None:
        output = {}
    if not isinstance(output, Mapping):
        raise TypeError(f"handler output must be a dict, got {type(output).__name__}")
    headers = {"x-amzn-RequestId": request_id}
    if call.protocol in (EC2, QUERY):
        body = query.encode_result(
            call.operation,
            shape,
            output,
            request_id,
            info.xml_namespace,
            ec2=call.protocol == EC2,
        )
        headers["Content-Type"] = "text/xml;charset=UTF-8"
        if call.protocol == EC2:
            headers["x-amz-request-id"] = request_id
    elif call.protocol == JSON:
        body = document.dumps_json(shape, output)
        headers["Content-Type"] = f"application/x-amz-json-{info.json_version}"
    else:
        body = document.dumps_cbor(shape, output)
        headers["Content-Type"] = "application/cbor"
        headers["smithy-protocol"] = "rpc-v2-cbor"
    return RawResponse(200, headers, body)


def encode_error(
    info: ServiceInfo | None,
    protocol: str,
    service: str | None,
    error: BaseException,
    request_id: str,
) -> RawResponse:
    """The error response for an ApiError, a Throttled, or any other exception (a 500
    InternalFailure / InternalError carrying the exception's message)."""
    if isinstance(error, Throttled):
        code, status = THROTTLED[protocol]
        message, sender = error.message, True
    elif isinstance(error, ApiError):
        message = error.message
        if info is not None:
            code, status, sender = info.resolve_error(error.code, error.status)
        else:
            code, status = error.code, error.status or 400
            sender = status < 500
    else:
        code, status, sender = INTERNAL[protocol], 500, False
        message = str(error) or type(error).__name__
    headers = {"x-amzn-RequestId": request_id}
    if protocol in (EC2, QUERY):
        body = query.encode_error(
            code,
            message,
            sender,
            request_id,
            info.xml_namespace if info else "",
            ec2=protocol == EC2,
        )
        headers["Content-Type"] = "text/xml;charset=UTF-8"
        if protocol == EC2:
            headers["x-amz-request-id"] = request_id
    else:
        namespace = f"com.amazonaws.{service}" if service else "com.amazonaws"
        body = document.dumps_error(
            {"__type": f"{namespace}#{code}", "message": message}, cbor=protocol == CBOR
        )
        headers["x-amzn-ErrorType"] = code
        if info is not None and info.query_compatible:
            # Lets botocore map the error to the service's former awsQuery code.
            headers["x-amzn-query-error"] = f"{code};{'Sender' if sender else 'Receiver'}"
        if protocol == CBOR:
            headers["Content-Type"] = "application/cbor"
            headers["smithy-protocol"] = "rpc-v2-cbor"
        else:
            version = info.json_version if info else "1.0"
            headers["Content-Type"] = f"application/x-amz-json-{version}"
    return RawResponse(status, headers, body)
