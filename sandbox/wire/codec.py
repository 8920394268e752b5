"""Protocol detection, routing, decoding of requests and encoding of responses and errors.

Pure functions of bytes and headers, with no HTTP server: the server and the tests share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from . import document, query
from .errors import ApiError, Throttled
from .models import CBOR, EC2, JSON, QUERY, SERVED_SERVICES, ServiceInfo, load_service
from .values import BadValue

_SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
# What the AWS SDKs and the AWS CLI send; the sandbox checks the shape, not the signature.
_SIGV4_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[^/,\s]+/[^/,\s]+/aws4_request,\s*"
    r"SignedHeaders=[^,\s]+,\s*Signature=[0-9a-f]{64}"
)
_PRESIGNED_CREDENTIAL = re.compile(r"[^/\s]+/\d{8}/[^/\s]+/[^/\s]+/aws4_request")
# Operations by these names read and change nothing (AWS's naming convention).
_READ_PREFIXES = ("Describe", "List", "Get", "BatchGet")
_CBOR_PATH_RE = re.compile(r"^/service/([^/]+)/operation/([^/]+)/?$")

# Error codes the wire layer itself answers with, per protocol, as the real services spell them.
_UNKNOWN_OPERATION = {
    EC2: "InvalidAction",
    QUERY: "InvalidAction",
    JSON: "UnknownOperationException",
    CBOR: "UnknownOperationException",
}
_MALFORMED = {
    EC2: "MalformedQueryString",
    QUERY: "MalformedQueryString",
    JSON: "SerializationException",
    CBOR: "SerializationException",
}
_BAD_VALUE = {
    EC2: "InvalidParameterValue",
    QUERY: "ValidationError",
    JSON: "SerializationException",
    CBOR: "SerializationException",
}
_MISSING = {
    EC2: "MissingParameter",
    QUERY: "ValidationError",
    JSON: "ValidationException",
    CBOR: "ValidationException",
}
_INTERNAL = {
    EC2: "InternalError",
    QUERY: "InternalFailure",
    JSON: "InternalFailure",
    CBOR: "InternalFailure",
}
# The common errors for a request without credentials and for a malformed signature.
_MISSING_AUTHENTICATION = {
    EC2: "MissingAuthenticationToken",
    QUERY: "MissingAuthenticationToken",
    JSON: "MissingAuthenticationTokenException",
    CBOR: "MissingAuthenticationTokenException",
}
_INCOMPLETE_SIGNATURE = {
    EC2: "IncompleteSignature",
    QUERY: "IncompleteSignature",
    JSON: "IncompleteSignatureException",
    CBOR: "IncompleteSignatureException",
}
_NO_CREDENTIALS = (
    "The request must contain either a valid (registered) AWS access key ID or X.509 certificate."
)
_POST_ONLY = (
    " Calls that change something are taken only as POST requests signed in the "
    "Authorization header, as the AWS SDKs and the AWS CLI send them."
)
_BAD_SIGNATURE = (
    "The request signature does not conform to AWS standards: the Authorization header must "
    "read AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, "
    "SignedHeaders=..., Signature=..."
)
_BAD_PRESIGNED = (
    "The request signature does not conform to AWS standards: a presigned URL needs "
    "X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential and X-Amz-Signature"
)
# Codes botocore's retry handlers classify as throttling, with the status each service uses.
_THROTTLED = {
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


class Codec:
    """Routing tables and codecs for a set of botocore services (the served ones by default).

    Build once: it loads every model and precomputes the lookups, so a request costs a few dict
    lookups plus the walk of its own shapes.
    """

    def __init__(self, services: Iterable[str] = SERVED_SERVICES) -> None:
        self.services: dict[str, ServiceInfo] = {name: load_service(name) for name in services}
        self._query_by_scope: dict[tuple[str, str], ServiceInfo] = {}
        self._query_by_version: dict[str, ServiceInfo] = {}
        self._query_by_action: dict[str, list[ServiceInfo]] = {}
        self._by_target: dict[str, dict[str, ServiceInfo]] = {JSON: {}, CBOR: {}}
        self._ec2_scopes: set[str] = set()
        for info in self.services.values():
            if QUERY in info.protocols or EC2 in info.protocols:
                self._query_by_scope[(info.signing_name, info.api_version)] = info
                self._query_by_version.setdefault(info.api_version, info)
                for op in info.operations:
                    self._query_by_action.setdefault(op, []).append(info)
                if EC2 in info.protocols:
                    self._ec2_scopes.add(info.signing_name)
            for protocol in (JSON, CBOR):
                if protocol in info.protocols and info.target_prefix:
                    self._by_target[protocol][info.target_prefix] = info

    # --- requests ------------------------------------------------------------------------------

    def protocol_of(self, request: RawRequest) -> str:
        """The protocol a request speaks, judged from its path and headers alone."""
        headers = _lower(request.headers)
        if _CBOR_PATH_RE.match(request.path):
            return CBOR
        if "x-amz-target" in headers:
            return JSON
        return EC2 if _signing_name(headers, request.query_string) in self._ec2_scopes else QUERY

    def decode(self, request: RawRequest) -> Call:
        """Route and decode a request into a Call; raises DecodeError with the 400 to answer
        (unknown service or operation, malformed body, value of the wrong type)."""
        headers = _lower(request.headers)
        match = _CBOR_PATH_RE.match(request.path)
        if match:
            return self._decode_document(CBOR, match.group(1), match.group(2), request, headers)
        if "x-amz-target" in headers:
            prefix, _, op = headers["x-amz-target"].strip().rpartition(".")
            return self._decode_document(JSON, prefix, op, request, headers)
        return self._decode_query(request, headers)

    def _decode_document(
        self, protocol: str, prefix: str, op: str, request: RawRequest, headers: dict[str, str]
    ) -> Call:
        info = self._by_target[protocol].get(prefix)
        if info is None:
            raise DecodeError(
                ApiError(
                    _UNKNOWN_OPERATION[protocol],
                    f"No served service speaks {protocol} as {prefix!r} "
                    f"(served: {', '.join(sorted(self._by_target[protocol]))})",
                    400,
                ),
                protocol,
            )
        if op not in info.operations:
            raise DecodeError(
                ApiError(
                    _UNKNOWN_OPERATION[protocol],
                    f"{info.name} has no operation named {op!r}",
                    400,
                ),
                protocol,
                info.name,
            )
        smithy = headers.get("smithy-protocol")
        if protocol == CBOR and smithy is not None and smithy.strip() != "rpc-v2-cbor":
            raise DecodeError(
                ApiError(_MALFORMED[protocol], f"unsupported smithy-protocol {smithy!r}", 400),
                protocol,
                info.name,
            )
        operation = info.operation(op)
        try:
            if protocol == CBOR:
                doc = document.loads_cbor(request.body)
            else:
                doc = document.loads_json(request.body)
            params = document.decode_input(operation.input_shape, doc, cbor=protocol == CBOR)
        except BadValue as exc:
            raise DecodeError(
                ApiError(_MALFORMED[protocol], str(exc), 400), protocol, info.name
            ) from exc
        return Call(info.name, op, params, protocol)

    def _decode_query(self, request: RawRequest, headers: dict[str, str]) -> Call:
        scope = _signing_name(headers, request.query_string)
        guess = EC2 if scope in self._ec2_scopes else QUERY
        try:
            pairs = parse_form(request.query_string)
            if request.body:
                pairs += parse_form(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise DecodeError(
                ApiError(_MALFORMED[guess], f"The request body is not a valid form: {exc}", 400),
                guess,
            ) from exc
        fields = dict(pairs)
        action, version = fields.get("Action"), fields.get("Version")
        info = self._route_query(scope, action, version)
        if not action:
            raise DecodeError(
                ApiError("MissingAction", "The request must contain the parameter Action", 400),
                guess if info is None else _query_protocol(info),
                None if info is None else info.name,
            )
        if info is None:
            raise DecodeError(
                ApiError(
                    _UNKNOWN_OPERATION[guess],
                    f"No served service answers Action={action} Version={version}"
                    + (f" for {scope}" if scope else ""),
                    400,
                ),
                guess,
            )
        protocol = _query_protocol(info)
        if action not in info.operations:
            raise DecodeError(
                ApiError(
                    _UNKNOWN_OPERATION[protocol],
                    f"The action {action} is not valid for this web service "
                    f"({info.name}, version {info.api_version}).",
                    400,
                ),
                protocol,
                info.name,
            )
        operation = info.operation(action)
        try:
            params = query.decode_input(operation.input_shape, pairs, ec2=protocol == EC2)
        except BadValue as exc:
            raise DecodeError(
                ApiError(_BAD_VALUE[protocol], str(exc), 400), protocol, info.name
            ) from exc
        return Call(info.name, action, params, protocol)

    def _route_query(
        self, scope: str | None, action: str | None, version: str | None
    ) -> ServiceInfo | None:
        if version:
            if scope:
                found = self._query_by_scope.get((scope, version))
                if found is not None:
                    return found
            return self._query_by_version.get(version)
        # No Version: only unambiguous with the signing scope, else the first service with the
        # action (AWS itself would refuse; being lenient costs nothing here).
        candidates = self._query_by_action.get(action or "", [])
        for info in candidates:
            if info.signing_name == scope:
                return info
        return candidates[0] if candidates else None

    def check_authentication(self, request: RawRequest, call: Call) -> None:
        """Raise the protocol's 403 MissingAuthenticationToken(Exception) or 400
        IncompleteSignature(Exception) unless the call arrives as AWS would take it, narrowed
        so that no web page can change anything:

        - operations the model marks unsigned (sts:AssumeRoleWithWebIdentity) need nothing;
        - an Authorization header must have the SigV4 shape; with one, reads pass by any
          method and calls that change something only by POST;
        - without one, only reads pass, and only with a presigned URL's query parameters.

        A browser sends neither an Authorization header nor a GET that changes anything
        without the page asking first, and the sandbox never says yes."""
        operation = self.services[call.service].operation(call.operation)
        if operation.auth_type == "none" or "smithy.api#noAuth" in (
            getattr(operation, "auth", None) or ()
        ):
            return
        reads = call.operation.startswith(_READ_PREFIXES)
        missing = ApiError(
            _MISSING_AUTHENTICATION[call.protocol], _NO_CREDENTIALS + _POST_ONLY, 403
        )
        authorization = _lower(request.headers).get("authorization")
        if authorization is not None:
            if not _SIGV4_AUTHORIZATION.fullmatch(authorization.strip()):
                raise ApiError(_INCOMPLETE_SIGNATURE[call.protocol], _BAD_SIGNATURE, 400)
            if not reads and request.method != "POST":
                raise missing
            return
        presigned = _presigned(request.query_string)
        if presigned is False:
            raise ApiError(_INCOMPLETE_SIGNATURE[call.protocol], _BAD_PRESIGNED, 400)
        if presigned is None or not reads:
            raise missing

    def check_required(self, call: Call) -> None:
        """Raise the protocol's 400 (ValidationError / ValidationException / MissingParameter)
        when a required member, at any depth, is missing from the call's params."""
        shape = self.services[call.service].operation(call.operation).input_shape
        if shape is None:
            return
        missing: list[str] = []
        _find_missing(shape, call.params, "", missing)
        if not missing:
            return
        if call.protocol == EC2:
            message = f"The request must contain the parameter {missing[0]}"
        else:
            count = len(missing)
            message = f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(
                f"Value null at '{path}' failed to satisfy constraint: Member must not be null"
                for path in missing[:10]
            )
        raise ApiError(_MISSING[call.protocol], message, 400)

    def unserved(self, call: Call) -> ApiError:
        """The 400 for an operation the model has but no handler serves (never retried)."""
        return ApiError(
            _UNKNOWN_OPERATION[call.protocol],
            f"The Cutover sandbox does not serve {call.service}:{call.operation}",
            400,
        )

    # --- responses -----------------------------------------------------------------------------

    def encode_result(
        self, call: Call, output: Mapping[str, Any] | None, request_id: str
    ) -> RawResponse:
        """The 200 response carrying ``output`` (a dict shaped like boto3's return value,
        without ResponseMetadata; unknown keys and None values are ignored). Raises TypeError or
        ValueError when a value cannot take its modeled type."""
        info = self.services[call.service]
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
        self, protocol: str, service: str | None, error: BaseException, request_id: str
    ) -> RawResponse:
        """The error response for an ApiError, a Throttled, or any other exception (a 500
        InternalFailure / InternalError carrying the exception's message)."""
        info = self.services.get(service) if service else None
        if isinstance(error, Throttled):
            code, status = _THROTTLED[protocol]
            message, sender = error.message, True
        elif isinstance(error, ApiError):
            message = error.message
            if info is not None:
                code, status, sender = info.resolve_error(error.code, error.status)
            else:
                code, status = error.code, error.status or 400
                sender = status < 500
        else:
            code, status, sender = _INTERNAL[protocol], 500, False
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


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _signing_name(headers: Mapping[str, str], query_string: str) -> str | None:
    """The service of the SigV4 credential scope, from the header or a presigned URL."""
    match = _SCOPE_RE.search(headers.get("authorization", ""))
    if match:
        return match.group(1)
    if "X-Amz-Credential=" in query_string:
        for key, value in parse_form(query_string, strict=False):
            if key == "X-Amz-Credential":
                parts = value.split("/")
                if len(parts) == 5:
                    return parts[3]
    return None


def _presigned(query_string: str) -> bool | None:
    """None when the query carries no SigV4 query authentication, True when it has the shape
    of a presigned URL's, False when it tries and is malformed."""
    try:
        fields = dict(parse_form(query_string, strict=False)) if "X-Amz-" in query_string else {}
    except ValueError:  # not UTF-8 once percent-decoded
        return False
    if not any(k in fields for k in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")):
        return None
    return (
        fields.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256"
        and bool(_PRESIGNED_CREDENTIAL.fullmatch(fields.get("X-Amz-Credential", "")))
        and bool(re.fullmatch(r"[0-9a-f]{64}", fields.get("X-Amz-Signature", "")))
    )


def parse_form(text: str, strict: bool = True) -> list[tuple[str, str]]:
    """Decode application/x-www-form-urlencoded text; raises ValueError on a field without
    ``=`` or bytes that are not UTF-8 (empty fields, as from a trailing ``&``, are skipped)."""
    pairs = []
    for field_text in text.split("&"):
        if not field_text:
            continue
        key, sep, value = field_text.partition("=")
        if not sep:
            if strict:
                raise ValueError(f"bad form field {field_text[:40]!r}")
            continue
        pairs.append((unquote_plus(key, errors="strict"), unquote_plus(value, errors="strict")))
    return pairs


def _query_protocol(info: ServiceInfo) -> str:
    return EC2 if EC2 in info.protocols else QUERY


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
