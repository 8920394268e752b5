"""What the wire layer passes around: a raw request and response, a decoded call, and the
error codes the wire itself answers with, per protocol, as the real services spell them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .models import CBOR, EC2, JSON, QUERY

UNKNOWN_OPERATION = {
    EC2: "InvalidAction",
    QUERY: "InvalidAction",
    JSON: "UnknownOperationException",
    CBOR: "UnknownOperationException",
}
MALFORMED = {
    EC2: "MalformedQueryString",
    QUERY: "MalformedQueryString",
    JSON: "SerializationException",
    CBOR: "SerializationException",
}
BAD_VALUE = {
    EC2: "InvalidParameterValue",
    QUERY: "ValidationError",
    JSON: "SerializationException",
    CBOR: "SerializationException",
}
MISSING = {
    EC2: "MissingParameter",
    QUERY: "ValidationError",
    JSON: "ValidationException",
    CBOR: "ValidationException",
}
INTERNAL = {
    EC2: "InternalError",
    QUERY: "InternalFailure",
    JSON: "InternalFailure",
    CBOR: "InternalFailure",
}
# Codes botocore's retry handlers classify as throttling, with the status each service uses.
THROTTLED = {
    EC2: ("RequestLimitExceeded", 503),
    QUERY: ("Throttling", 400),
    JSON: ("ThrottlingException", 400),
    CBOR: ("ThrottlingException", 400),
}


@dataclass(frozen=True)
class RawRequest:
    """An HTTP request as received. ``query_string`` is the raw (still percent-encoded) part
    after ``?``; ``headers`` may use any letter case."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Call:
    """A decoded API call: botocore service and operation names, the boto3-style kwargs, and the
    wire protocol it arrived in (``ec2``, ``query``, ``json`` or ``smithy-rpc-v2-cbor``)."""

    service: str
    operation: str
    params: dict[str, Any] = field(repr=False)
    protocol: str


class DecodeError(Exception):
    """A request that cannot be routed or decoded; ``error`` says what to answer, in
    ``protocol`` (and for ``service`` when it is known)."""

    def __init__(self, error: ApiError, protocol: str, service: str | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.protocol = protocol
        self.service = service


def missing_members(shape: Any, params: Mapping[str, Any], protocol: str) -> ApiError | None:
    """The protocol's 400 (ValidationError / ValidationException / MissingParameter) when a
    required member, at any depth, is missing from a call's params; None when none is."""
    missing: list[str] = []
    _find_missing(shape, params, "", missing)
    if not missing:
        return None
    if protocol == EC2:
        message = f"The request must contain the parameter {missing[0]}"
    else:
        count = len(missing)
        message = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(
            f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
            for path in missing[:10]
        )
    return ApiError(MISSING[protocol], message, 400)


def _find_missing(shape: Any, value: Any, path: str, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type or not isinstance(value, Mapping):
            return
        for name in shape.required_members:
            if value.get(name) is None:
                out.append(f"{path}.{name}" if path else name)
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None and member.type_name in ("structure", "list", "map"):
                _find_missing(member, item, f"{path}.{name}" if path else name, out)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            if item is not None:
                _find_missing(shape.member, item, f"{path}[{i}]", out)
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            if item is not None:
                _find_missing(shape.value, item, f"{path}.{key}", out)
