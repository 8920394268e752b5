"""Scalar conversions shared by the protocol codecs."""

from __future__ import annotations

import base64
import binascii
import calendar
import math
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime


class BadValue(ValueError):
    """A request value that does not fit its modeled type (answered with a 400)."""


def to_utc(value: object) -> datetime:
    """An aware UTC datetime from a datetime (naive means UTC), epoch seconds or a timestamp
    string (ISO 8601, epoch or RFC 822). Raises TypeError/ValueError for anything else."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return parse_timestamp(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"not a timestamp: {value!r}")


def parse_timestamp(text: str) -> datetime:
    """Parse the timestamp forms AWS clients send: epoch seconds, ISO 8601, RFC 822."""
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"invalid timestamp {text!r}") from exc
    return to_utc(parsed)


def epoch_seconds(value: object) -> int | float:
    """Epoch seconds: an int when the timestamp has no sub-second part, else a float."""
    dt = to_utc(value)
    seconds = calendar.timegm(dt.timetuple())
    if dt.microsecond:
        # One division keeps the float exactly as botocore's own serializer builds it.
        return (seconds * 10**6 + dt.microsecond) / 10**6
    return seconds


def iso8601(value: object) -> str:
    """ISO 8601 in UTC with a Z; milliseconds or microseconds only when present."""
    dt = to_utc(value)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if not dt.microsecond:
        return base + "Z"
    if dt.microsecond % 1000 == 0:
        return f"{base}.{dt.microsecond // 1000:03d}Z"
    return f"{base}.{dt.microsecond:06d}Z"


def b64(value: object) -> str:
    """Base64 text of a blob given as bytes (or str, encoded as UTF-8)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"not a blob: {type(value).__name__}")
    return base64.b64encode(bytes(value)).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadValue(f"invalid base64 {text[:40]!r}") from exc


def float_text(value: float) -> str | float:
    """JSON/XML have no literal for the IEEE specials; AWS spells them as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def parse_float(value: object) -> float:
    if isinstance(value, bool):
        raise BadValue("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    raise BadValue(f"expected a number, got {type(value).__name__}")
