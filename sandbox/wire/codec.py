"""Protocol detection, routing and decoding of requests; the entry to checking them
(auth.py, calls.py) and to encoding responses and errors (responses.py).

Pure functions of bytes and headers, with no HTTP server: the server and the tests share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from . import auth, document, query, responses
from .auth import lower, signing_name
from .calls import (
    BAD_VALUE,
    MALFORMED,
    UNKNOWN_OPERATION,
    Call,
    DecodeError,
    RawRequest,
    RawResponse,
    missing_members,
)
from .errors import ApiError
from .models import CBOR, EC2, JSON, QUERY, SERVED_SERVICES, ServiceInfo, load_service
from .query import parse_form
from .values import BadValue

_CBOR_PATH_RE = re.compile(r"^/service/([^/]+)/operation/([^/]+)/?$")


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
        headers = lower(request.headers)
        if _CBOR_PATH_RE.match(request.path):
            return CBOR
        if "x-amz-target" in headers:
            return JSON
        return EC2 if signing_name(headers, request.query_string) in self._ec2_scopes else QUERY

    def decode(self, request: RawRequest) -> Call:
        """Route and decode a request into a Call; raises DecodeError with the 400 to answer
        (unknown service or operation, malformed body, value of the wrong type)."""
        headers = lower(request.headers)
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
                    UNKNOWN_OPERATION[protocol],
                    f"No served service speaks {protocol} as {prefix!r} "
                    f"(served: {', '.join(sorted(self._by_target[protocol]))})",
                    400,
                ),
                protocol,
            )
        if op not in info.operations:
            raise DecodeError(
                ApiError(
                    UNKNOWN_OPERATION[protocol],
                    f"{info.name} has no operation named {op!r}",
                    400,
                ),
                protocol,
                info.name,
            )
        smithy = headers.get("smithy-protocol")
        if protocol == CBOR and smithy is not None and smithy.strip() != "rpc-v2-cbor":
            raise DecodeError(
                ApiError(MALFORMED[protocol], f"unsupported smithy-protocol {smithy!r}", 400),
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
                ApiError(MALFORMED[protocol], str(exc), 400), protocol, info.name
            ) from exc
        return Call(info.name, op, params, protocol)

    def _decode_query(self, request: RawRequest, headers: dict[str, str]) -> Call:
        scope = signing_name(headers, request.query_string)
        guess = EC2 if scope in self._ec2_scopes else QUERY
        try:
            pairs = parse_form(request.query_string)
            if request.body:
                pairs += parse_form(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise DecodeError(
                ApiError(MALFORMED[guess], f"The request body is not a valid form: {exc}", 400),
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
                    UNKNOWN_OPERATION[guess],
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
                    UNKNOWN_OPERATION[protocol],
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
                ApiError(BAD_VALUE[protocol], str(exc), 400), protocol, info.name
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
        """See `auth.check_authentication`."""
        operation = self.services[call.service].operation(call.operation)
        auth.check_authentication(operation, request, call)

    def check_required(self, call: Call) -> None:
        """Raise the protocol's 400 (ValidationError / ValidationException / MissingParameter)
        when a required member, at any depth, is missing from the call's params."""
        shape = self.services[call.service].operation(call.operation).input_shape
        if shape is None:
            return
        error = missing_members(shape, call.params, call.protocol)
        if error is not None:
            raise error

    def unserved(self, call: Call) -> ApiError:
        """The 400 for an operation the model has but no handler serves (never retried)."""
        return ApiError(
            UNKNOWN_OPERATION[call.protocol],
            f"The Cutover sandbox does not serve {call.service}:{call.operation}",
            400,
        )

    # --- responses -----------------------------------------------------------------------------

    def encode_result(
        self, call: Call, output: Mapping[str, Any] | None, request_id: str
    ) -> RawResponse:
        """See `responses.encode_result`."""
        return responses.encode_result(self.services[call.service], call, output, request_id)

    def encode_error(
        self, protocol: str, service: str | None, error: BaseException, request_id: str
    ) -> RawResponse:
        """See `responses.encode_error`."""
        info = self.services.get(service) if service else None
        return responses.encode_error(info, protocol, service, error, request_id)


def _query_protocol(info: ServiceInfo) -> str:
    return EC2 if EC2 in info.protocols else QUERY
