"""Whether a call arrives as AWS would take it: the SigV4 shape of its Authorization header
or presigned URL, and the service its credential scope names. The sandbox checks the shape,
not the signature."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .calls import Call, RawRequest
from .errors import ApiError
from .models import CBOR, EC2, JSON, QUERY
from .query import parse_form

_SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
# What the AWS SDKs and the AWS CLI send; the sandbox checks the shape, not the signature.
_SIGV4_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[^/,\s]+/[^/,\s]+/aws4_request,\s*"
    r"SignedHeaders=[^,\s]+,\s*Signature=[0-9a-f]{64}"
)
_PRESIGNED_CREDENTIAL = re.compile(r"[^/\s]+/\d{8}/[^/\s]+/[^/\s]+/aws4_request")
# Operations by these names read and change nothing (AWS's naming convention).
_READ_PREFIXES = ("Describe", "List", "Get", "BatchGet")
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


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def signing_name(headers: Mapping[str, str], query_string: str) -> str | None:
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


def check_authentication(operation: Any, request: RawRequest, call: Call) -> None:
    """Raise the protocol's 403 MissingAuthenticationToken(Exception) or 400
    IncompleteSignature(Exception) unless the call arrives as AWS would take it, narrowed
    so that no web page can change anything:

    - operations the model marks unsigned (sts:AssumeRoleWithWebIdentity) need nothing;
    - an Authorization header must have the SigV4 shape; with one, reads pass by any
      method and calls that change something only by POST;
    - without one, only reads pass, and only with a presigned URL's query parameters.

    A browser sends neither an Authorization header nor a GET that changes anything
    without the page asking first, and the sandbox never says yes."""
    if operation.auth_type == "none" or "smithy.api#noAuth" in (
        getattr(operation, "auth", None) or ()
    ):
        return
    reads = call.operation.startswith(_READ_PREFIXES)
    missing = ApiError(_MISSING_AUTHENTICATION[call.protocol], _NO_CREDENTIALS + _POST_ONLY, 403)
    authorization = lower(request.headers).get("authorization")
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
