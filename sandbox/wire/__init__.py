"""A generic AWS wire-protocol server driven by botocore's service models.

It knows no service semantics: a request becomes (botocore service name, operation name, params
shaped like the boto3 call's kwargs); the handler's dict, shaped like boto3's return value, goes
back in the request's own protocol (ec2, query, json or Smithy RPC v2 CBOR).
"""

from __future__ import annotations

from .calls import Call, DecodeError, RawRequest, RawResponse
from .codec import Codec
from .errors import ApiError, Throttled
from .models import (
    CBOR,
    EC2,
    JSON,
    QUERY,
    SERVED_SERVICES,
    ServiceInfo,
    enum_of,
    limit_of,
    load_service,
)
from .server import Handler, RequestHook, WireServer, http_date, utcnow

__all__ = [
    "CBOR",
    "EC2",
    "JSON",
    "QUERY",
    "SERVED_SERVICES",
    "ApiError",
    "Call",
    "Codec",
    "DecodeError",
    "Handler",
    "RawRequest",
    "RawResponse",
    "RequestHook",
    "ServiceInfo",
    "Throttled",
    "WireServer",
    "enum_of",
    "http_date",
    "limit_of",
    "load_service",
    "utcnow",
]
