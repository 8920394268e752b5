"""The parameters CloudWatch's API handlers share, checked as AWS checks them: statistics,
units, periods, dimensions, AlarmNames, MaxRecords and NextToken paging, each with the error
AWS answers when it is wrong."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import botocore.session
from cutover.sandbox.wire import ApiError

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
UNIT_VALUES = tuple(
    botocore.session.get_session().get_service_model("cloudwatch").shape_for("StandardUnit").enum
)
SCAN_BY = ("TimestampDescending", "TimestampAscending")
ALARM_TYPES = ("CompositeAlarm", "MetricAlarm")
_PERCENTILE_RE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100(\.0{1,10})?)$")


def require(params: dict, *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise ApiError("MissingParameter", f"The parameter {name} is required.")


def enum_error(value: Any, member: str, allowed: tuple[str, ...] | list[str]) -> ApiError:
    return ApiError(
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]",
    )


def check_unit(unit: Any, member: str) -> None:
    if unit is not None and unit not in UNIT_VALUES:
        raise enum_error(unit, member, UNIT_VALUES)


def check_dimensions(dims: list[dict], member: str, code: str = "InvalidParameterValue") -> None:
    if len(dims) > 30:
        raise ApiError(code, f"The collection {member} must not have more than 30 members.")
    seen: set[str] = set()
    for d in dims:
        name, value = d.get("Name"), d.get("Value")
        if not name or value in (None, ""):
            raise ApiError(code, f"The dimensions in {member} must each have a Name and a Value.")
        if name in seen:
            raise ApiError(
                code, f"The collection {member} must not contain duplicate dimension names."
            )
        seen.add(name)


def is_percentile(stat: Any) -> bool:
    return isinstance(stat, str) and bool(_PERCENTILE_RE.match(stat))


def valid_period(period: Any) -> bool:
    return (
        isinstance(period, int)
        and not isinstance(period, bool)
        and (period in (1, 5, 10, 20, 30) or (period >= 60 and period % 60 == 0))
    )


def scan_by(params: dict) -> str:
    value = params.get("ScanBy") or "TimestampDescending"
    if value not in SCAN_BY:
        raise enum_error(value, "scanBy", SCAN_BY)
    return value


def check_alarm_types(types: list[str] | None) -> None:
    for kind in types or []:
        if kind not in ALARM_TYPES:
            raise enum_error(kind, "alarmTypes", ALARM_TYPES)


def alarm_names(params: dict) -> list[str]:
    names = list(params.get("AlarmNames") or [])
    if len(names) > 100:
        raise ApiError(
            "ValidationError", "The collection AlarmNames must not have more than 100 members."
        )
    return names


def max_records(params: dict, default: int) -> int:
    size = params.get("MaxRecords") or default
    if not 1 <= size <= 100:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{size}' at 'maxRecords' failed to satisfy "
            "constraint: Member must have value less than or equal to 100",
        )
    return size


def make_token(scope: str, offset: int) -> str:
    """A NextToken: where the next page starts, valid only for the same `scope`."""
    return base64.b64encode(json.dumps({"s": scope, "o": offset}).encode()).decode()


def token_offset(next_token: str | None, scope: str) -> int:
    if not next_token:
        return 0
    try:
        data = json.loads(base64.b64decode(next_token, validate=True))
        start = int(data["o"])
        if data["s"] != scope or start < 0:
            raise ValueError(next_token)
    except (ValueError, KeyError, TypeError):
        raise ApiError("InvalidNextToken", "The service cannot complete the request.") from None
    return start


def paginate(items: list, next_token: str | None, size: int, scope: str) -> tuple[list, str | None]:
    start = token_offset(next_token, scope)
    end = start + size
    return items[start:end], (make_token(scope, end) if end < len(items) else None)
