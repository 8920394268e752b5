"""The awsJson (1.0/1.1) and Smithy RPC v2 CBOR protocols: one document per request/response.

Both carry the same data model; they differ in how blobs (base64 text vs byte strings) and
timestamps (epoch number vs CBOR tag 1) travel, and in the outer encoding.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import cbor2
from botocore.model import Shape

from .values import (
    BadValue,
    b64,
    epoch_seconds,
    float_text,
    iso8601,
    parse_float,
    parse_timestamp,
    to_utc,
    unb64,
)


def loads_json(body: bytes) -> Any:
    """The JSON document of a request body (empty body means {}); raises BadValue."""
    if not body.strip():
        return {}
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadValue(f"the body is not valid JSON: {exc}") from exc


def loads_cbor(body: bytes) -> Any:
    """The single CBOR data item of a request body (empty body means {}); raises BadValue."""
    if not body:
        return {}
    stream = io.BytesIO(body)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise BadValue(f"the body is not valid CBOR: {exc}") from exc
    if stream.tell() != len(body):
        raise BadValue("the body has bytes after its CBOR data item")
    return value


def decode_input(shape: Shape | None, document: Any, cbor: bool) -> dict:
    """Params shaped like the boto3 call's kwargs from a decoded JSON/CBOR document.

    Nulls are dropped and keys that are not modeled are ignored; raises BadValue when a value
    does not fit its modeled type.
    """
    if shape is None:
        return {}
    if document is None:
        return {}
    return _in(shape, document, cbor, "")


def _in(shape: Shape, value: Any, cbor: bool, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, Mapping):
            raise BadValue(f"{path or 'the body'} must be an object")
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            raw = value.get(key) if key in value else value.get(name)
            if raw is not None and raw is not cbor2.undefined:
                out[name] = _in(member, raw, cbor, f"{path}.{name}" if path else name)
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise BadValue(f"{path} must be an array")
        return [
            None if item is None else _in(shape.member, item, cbor, f"{path}[{i}]")
            for i, item in enumerate(value)
        ]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise BadValue(f"{path} must be an object")
        return {
            _in(shape.key, k, cbor, path): _in(shape.value, v, cbor, f"{path}.{k}")
            for k, v in value.items()
            if v is not None
        }
    if kind in ("string", "character"):
        if not isinstance(value, str):
            raise BadValue(f"{path} must be a string")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise BadValue(f"{path} must be a boolean")
        return value
    if kind in ("integer", "long", "short", "byte"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue(f"{path} must be an integer")
        return value
    if kind in ("float", "double"):
        try:
            return parse_float(value)
        except BadValue as exc:
            raise BadValue(f"{path}: {exc}") from exc
    if kind == "timestamp":
        try:
            if isinstance(value, datetime):
                return to_utc(value)
            if isinstance(value, str):
                return parse_timestamp(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return to_utc(value)
        except (ValueError, OverflowError, OSError) as exc:
            raise BadValue(f"{path} is not a valid timestamp") from exc
        raise BadValue(f"{path} must be a timestamp")
    if kind == "blob":
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, str):
            return unb64(value) if not cbor else value.encode("utf-8")
        raise BadValue(f"{path} must be a blob")
    return value


def dumps_json(shape: Shape | None, output: Mapping[str, Any]) -> bytes:
    """The JSON body of a successful response; members not in the shape are ignored."""
    document = {} if shape is None else _out(shape, output, cbor=False)
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def dumps_cbor(shape: Shape | None, output: Mapping[str, Any]) -> bytes:
    """The CBOR body of a successful response; members not in the shape are ignored.

    Always a map (botocore's parser cannot read an empty body for an operation with output).
    """
    document = {} if shape is None else _out(shape, output, cbor=True)
    return cbor2.dumps(document)


def dumps_error(document: Mapping[str, Any], cbor: bool) -> bytes:
    if cbor:
        return cbor2.dumps(dict(document))
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _out(shape: Shape, value: Any, cbor: bool) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"{shape.name} must be a dict, got {type(value).__name__}")
        out = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                # botocore's RPC v2 parser reads members by their model name, JSON by jsonName.
                key = name if cbor else member.serialization.get("name", name)
                out[key] = _out(member, item, cbor)
        return out
    if kind == "list":
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise TypeError(f"{shape.name} must be a list, got {type(value).__name__}")
        return [None if item is None else _out(shape.member, item, cbor) for item in value]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise TypeError(f"{shape.name} must be a dict, got {type(value).__name__}")
        return {str(k): _out(shape.value, v, cbor) for k, v in value.items() if v is not None}
    if kind in ("string", "character"):
        return str(value)
    if kind == "boolean":
        return bool(value)
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind in ("float", "double"):
        return float(value) if cbor else float_text(float(value))
    if kind == "timestamp":
        if cbor:
            return cbor2.CBORTag(1, epoch_seconds(value))
        if shape.serialization.get("timestampFormat", "").lower() == "iso8601":
            return iso8601(value)
        return epoch_seconds(value)
    if kind == "blob":
        if cbor:
            return value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return b64(value)
    return value
