"""The awsQuery and ec2Query protocols: form-encoded requests, XML responses."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from botocore.model import Shape

from .values import BadValue, b64, float_text, iso8601, parse_timestamp, unb64

EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"


class _Node:
    """One dotted segment of the form keys: ``A.member.1.B=x`` is A -> member -> 1 -> B."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _tree(pairs: Iterable[tuple[str, str]]) -> _Node:
    root = _Node()
    for key, value in pairs:
        node = root
        for part in key.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        node.value = value
    return root


def decode_input(shape: Shape | None, pairs: Iterable[tuple[str, str]], ec2: bool) -> dict:
    """Params shaped like the boto3 call's kwargs from the form fields of a query/ec2 request.

    Fields that are not modeled (Action, Version, X-Amz-*) are ignored. Raises BadValue for
    values that do not fit their modeled type or a malformed list index.
    """
    if shape is None:
        return {}
    return _structure(shape, _tree(pairs), ec2, "")


def _member_key(member: Shape, name: str, ec2: bool) -> str:
    ser = member.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return name
    if (
        member.type_name == "list"
        and ser.get("flattened")
        and member.member.serialization.get("name")
    ):
        # botocore replaces the last prefix segment by the member's name for such lists.
        return member.member.serialization["name"]
    return ser.get("name", name)


def _structure(shape: Shape, node: _Node, ec2: bool, path: str) -> dict:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        child = node.children.get(_member_key(member, name, ec2))
        if child is not None:
            out[name] = _value(member, child, ec2, f"{path}.{name}" if path else name)
    return out


def _indexed(node: _Node, path: str) -> list[_Node]:
    try:
        items = sorted((int(k), v) for k, v in node.children.items())
    except ValueError as exc:
        raise BadValue(f"malformed list index under {path}") from exc
    return [v for _, v in items]


def _value(shape: Shape, node: _Node, ec2: bool, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, node, ec2, path)
    if kind == "list":
        if ec2 or shape.serialization.get("flattened"):
            container: _Node | None = node
        else:
            container = node.children.get(shape.member.serialization.get("name", "member"))
        if container is None or not container.children:
            # botocore sends an empty query list as a bare "Name=".
            return []
        return [
            _value(shape.member, item, ec2, f"{path}[{i}]")
            for i, item in enumerate(_indexed(container, path))
        ]
    if kind == "map":
        entries = node if shape.serialization.get("flattened") else node.children.get("entry")
        if entries is None:
            return {}
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for entry in _indexed(entries, path):
            k, v = entry.children.get(key_name), entry.children.get(value_name)
            if k is None:
                raise BadValue(f"map entry without {key_name} at {path}")
            key = _value(shape.key, k, ec2, path)
            if v is not None:
                out[key] = _value(shape.value, v, ec2, f"{path}.{key}")
            elif shape.value.type_name == "structure":
                # An empty structure value serializes to no fields at all.
                out[key] = {}
        return out
    text = node.value
    if text is None:
        raise BadValue(f"{path} must be a single value")
    return _scalar(shape, text, path)


def _scalar(shape: Shape, text: str, path: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("string", "character"):
            return text
        if kind in ("integer", "long", "short", "byte"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise ValueError(text)
            return lowered == "true"
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return unb64(text)
    except BadValue:
        raise
    except (ValueError, OverflowError) as exc:
        raise BadValue(f"invalid {kind} value {text[:40]!r} for {path}") from exc
    return text


# --- responses ---------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _text(value: str) -> str:
    # A bare CR would come back as LF after XML end-of-line normalisation.
    return value.translate(_ESCAPES)


def encode_result(
    op_name: str,
    shape: Shape | None,
    output: Mapping[str, Any],
    request_id: str,
    xml_namespace: str,
    ec2: bool,
) -> bytes:
    """The XML body of a successful response; members not in the output shape are ignored."""
    parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    if ec2:
        parts.append(f'<{op_name}Response xmlns="{EC2_XMLNS}">')
        parts.append(f"<requestId>{request_id}</requestId>")
        if shape is None:
            # What EC2 answers for actions without modeled output.
            parts.append("<return>true</return>")
        else:
            _members(parts, shape, output, ec2)
        parts.append(f"</{op_name}Response>")
    else:
        parts.append(f'<{op_name}Response xmlns="{_text(xml_namespace)}">')
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper")
            if wrapper:
                parts.append(f"<{wrapper}>")
            _members(parts, shape, output, ec2)
            if wrapper:
                parts.append(f"</{wrapper}>")
        parts.append(
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</{op_name}Response>"
        )
    return "".join(parts).encode("utf-8")


def encode_error(
    code: str, message: str, sender: bool, request_id: str, xml_namespace: str, ec2: bool
) -> bytes:
    """The XML body of an error response in the query or ec2 error format."""
    if ec2:
        body = (
            f"<Response><Errors><Error><Code>{_text(code)}</Code>"
            f"<Message>{_text(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    else:
        xmlns = f' xmlns="{_text(xml_namespace)}"' if xml_namespace else ""
        body = (
            f"<ErrorResponse{xmlns}><Error><Type>{'Sender' if sender else 'Receiver'}</Type>"
            f"<Code>{_text(code)}</Code><Message>{_text(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def _members(parts: list[str], shape: Shape, value: Any, ec2: bool) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{shape.name} must be a dict, got {type(value).__name__}")
    for name, member in shape.members.items():
        item = value.get(name)
        if item is None or member.serialization.get("location"):
            continue
        ser = member.serialization
        tag = ser.get("name", name)
        if member.type_name == "list" and ser.get("flattened"):
            tag = member.member.serialization.get("name", tag)
            for element in _as_list(member, item):
                _element(parts, tag, member.member, element, ec2)
        elif member.type_name == "map" and ser.get("flattened"):
            for k, v in _as_map(member, item).items():
                parts.append(f"<{tag}>")
                _map_entry(parts, member, k, v, ec2)
                parts.append(f"</{tag}>")
        else:
            _element(parts, tag, member, item, ec2)


def _as_list(shape: Shape, value: Any) -> list:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"{shape.name} must be a list, got {type(value).__name__}")
    return list(value)


def _as_map(shape: Shape, value: Any) -> Mapping:
    if not isinstance(value, Mapping):
        raise TypeError(f"{shape.name} must be a dict, got {type(value).__name__}")
    return value


def _map_entry(parts: list[str], shape: Shape, key: Any, value: Any, ec2: bool) -> None:
    _element(parts, shape.key.serialization.get("name", "key"), shape.key, key, ec2)
    if value is not None:
        _element(parts, shape.value.serialization.get("name", "value"), shape.value, value, ec2)


def _element(parts: list[str], tag: str, shape: Shape, value: Any, ec2: bool) -> None:
    parts.append(f"<{tag}>")
    kind = shape.type_name
    if kind == "structure":
        _members(parts, shape, value, ec2)
    elif kind == "list":
        item_tag = shape.member.serialization.get("name", "item" if ec2 else "member")
        for element in _as_list(shape, value):
            if element is not None:
                _element(parts, item_tag, shape.member, element, ec2)
    elif kind == "map":
        for k, v in _as_map(shape, value).items():
            parts.append("<entry>")
            _map_entry(parts, shape, k, v, ec2)
            parts.append("</entry>")
    else:
        parts.append(_text(_scalar_text(shape, value)))
    parts.append(f"</{tag}>")


def _scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long", "short", "byte"):
        return str(int(value))
    if kind in ("float", "double"):
        number = float(value)
        return repr(number) if math.isfinite(number) else str(float_text(number))
    if kind == "timestamp":
        return iso8601(value)
    if kind == "blob":
        return b64(value)
    return str(value)


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
