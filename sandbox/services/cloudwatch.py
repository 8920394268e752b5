"""CloudWatch over the sandbox: Elastic Load Balancing metrics and metric alarms.

Metrics come from the proxies' real counters (`world.metrics`, a RequestMetrics) under AWS's
namespaces, names and dimensions:

- AWS/ApplicationELB, by `LoadBalancer` (`app/<name>/<id>`): RequestCount,
  HTTPCode_Target_{2,3,4,5}XX_Count, HTTPCode_ELB_{3,4,5}XX_Count, HTTPCode_ELB_{502,503,504}_Count,
  TargetResponseTime, ProcessedBytes; by `TargetGroup` (`targetgroup/<name>/<id>`) +
  `LoadBalancer`: RequestCount, HTTPCode_Target_*, TargetResponseTime, HealthyHostCount,
  UnHealthyHostCount.
- AWS/NetworkELB, by `LoadBalancer` (`net/<name>/<id>`): ActiveFlowCount, NewFlowCount,
  ProcessedBytes; by `TargetGroup` + `LoadBalancer`: HealthyHostCount, UnHealthyHostCount.
- AWS/ELB, by `LoadBalancerName`: RequestCount, HTTPCode_Backend_{2,3,4,5}XX,
  HTTPCode_ELB_{4,5}XX, Latency, HealthyHostCount, UnHealthyHostCount.

As on AWS, a period in which nothing happened has no datapoint (ELB publishes its counters
only when they are non-zero); Healthy/UnHealthyHostCount are sampled every sandbox second by a
tick hook. All times are sandbox time; periods are sandbox seconds.

Alarms (`cutover.sandbox.cloudwatch.alarms.MetricAlarm`) live in `world.alarms` and evaluate
themselves
at every period boundary of their own Period, over their last EvaluationPeriods complete
periods. Every function here runs under `world.lock` (`dispatch` holds it, and so does
`World.tick` for the hook).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import math
import random
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
from cutover.sandbox.cloudwatch import alarms as alarm_rules
from cutover.sandbox.cloudwatch.alarms import MetricAlarm, Period
from cutover.sandbox.dataplane.metrics import RequestMetrics
from cutover.sandbox.services import operation
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import HEALTHY, UNHEALTHY, Clock, World

log = logging.getLogger("cutover.sandbox.cloudwatch")

SERVICE = "cloudwatch"

ALB = "AWS/ApplicationELB"
NLB = "AWS/NetworkELB"
CLB = "AWS/ELB"

_TARGET_CODES = tuple(f"HTTPCode_Target_{c}XX_Count" for c in "2345")
_HOSTS = ("HealthyHostCount", "UnHealthyHostCount")
LB_METRICS = {
    ALB: (
        "RequestCount",
        *_TARGET_CODES,
        "HTTPCode_ELB_3XX_Count",
        "HTTPCode_ELB_4XX_Count",
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_ELB_502_Count",
        "HTTPCode_ELB_503_Count",
        "HTTPCode_ELB_504_Count",
        "TargetResponseTime",
        "ProcessedBytes",
    ),
    NLB: ("ActiveFlowCount", "NewFlowCount", "ProcessedBytes"),
}
TG_METRICS = {
    ALB: ("RequestCount", *_TARGET_CODES, "TargetResponseTime", *_HOSTS),
    NLB: _HOSTS,
}
# Classic names -> the names RequestMetrics records them under.
CLASSIC_METRICS = {
    "RequestCount": "RequestCount",
    **{f"HTTPCode_Backend_{c}XX": f"HTTPCode_Target_{c}XX_Count" for c in "2345"},
    "HTTPCode_ELB_4XX": "HTTPCode_ELB_4XX_Count",
    "HTTPCode_ELB_5XX": "HTTPCode_ELB_5XX_Count",
    "Latency": "TargetResponseTime",
    "HealthyHostCount": "HealthyHostCount",
    "UnHealthyHostCount": "UnHealthyHostCount",
}
UNITS = {"TargetResponseTime": "Seconds", "Latency": "Seconds", "ProcessedBytes": "Bytes"}

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
UNIT_VALUES = tuple(
    botocore.session.get_session().get_service_model(SERVICE).shape_for("StandardUnit").enum
)
_PERCENTILE_RE = re.compile(r"^p(\d{1,2}(\.\d{1,10})?|100(\.0{1,10})?)$")
_QUERY_ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")

MAX_DATAPOINTS_GMS = 1440
DEFAULT_MAX_DATAPOINTS = 100_800
LIST_METRICS_PAGE = 500
HISTORY_LIMIT = 5000
# At most this many sandbox seconds of host-count samples are filled in on one tick: a tick
# covers time_scale/10 sandbox seconds, and a stalled loop must not cost unbounded work.
MAX_BACKFILL = 120


# ----- per-world state ------------------------------------------------------------------------


@dataclass
class _State:
    anchor: int  # epoch seconds of the world clock's elapsed() == 0
    last_sample: int | None = None  # the last sandbox second host counts were sampled for
    # Target group ARN -> load balancer ARNs it was seen behind (kept after a detach, so
    # the TargetGroup+LoadBalancer metrics of the past stay listed and queryable).
    tg_links: dict[str, set[str]] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)  # oldest first


_STATES: weakref.WeakKeyDictionary[World, _State] = weakref.WeakKeyDictionary()


def _anchor(clock: Clock) -> int:
    # The clock starts on a whole second; rounding removes the jitter of two clock reads.
    return round((clock.now() - timedelta(seconds=clock.elapsed())).timestamp())


def attach(world: World) -> None:
    """Start CloudWatch for `world` (idempotent): host-count sampling and alarm evaluation.

    Adds one tick hook, and a RequestMetrics when the world has none. Every CloudWatch
    operation attaches on its own; whoever starts a world should call this at once so
    HealthyHostCount history starts with the world rather than with the first API call.
    """
    _state(world)


def _state(world: World) -> _State:
    with world.lock:
        state = _STATES.get(world)
        if state is None:
            if world.metrics is None:
                world.metrics = RequestMetrics(world.clock)
            state = _STATES[world] = _State(anchor=_anchor(world.clock))
            world.tick_hooks.append(functools.partial(_tick, world))
            _sample_hosts(world, state)
        return state


def _tick(world: World) -> None:
    state = _STATES.get(world)
    if state is None:
        return
    try:
        _sample_hosts(world, state)
        _evaluate_due(world, state)
    except Exception:  # a CloudWatch bug must not stop the world's other hooks
        log.exception("cloudwatch tick failed")


def _cloudwatch(name: str) -> Callable[[Callable[[World, _State, dict], dict]], Callable]:
    """Register `fn(world, state, params)` as cloudwatch:name, attaching on first use."""

    def register(fn: Callable[[World, _State, dict], dict]) -> Callable:
        @functools.wraps(fn)
        def run(world: World, params: dict) -> dict:
            return fn(world, _state(world), params)

        operation(SERVICE, name)(run)
        return fn

    return register


# ----- time -----------------------------------------------------------------------------------


def _epoch(value: Any, name: str) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ApiError("InvalidParameterValue", f"The parameter {name} is not a valid timestamp.")


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _now(world: World, state: _State) -> float:
    return state.anchor + world.clock.elapsed()


def _align(epoch: float, period: int) -> int:
    """Where CloudWatch starts the first period: a whole multiple of a sub-minute period,
    else the whole minute (periods of 60 s and more run from the minute, not from k*Period)."""
    step = period if period < 60 else 60
    return int(math.floor(epoch / step) * step)


def _valid_period(period: Any) -> bool:
    return (
        isinstance(period, int)
        and not isinstance(period, bool)
        and (period in (1, 5, 10, 20, 30) or (period >= 60 and period % 60 == 0))
    )


# ----- metrics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where a CloudWatch metric's data lives in RequestMetrics."""

    kind: str
    key: str
    metric: str
    unit: str


def _unit(name: str) -> str:
    return UNITS.get(name, "Count")


def _links(world: World, state: _State, tg_arn: str) -> set[str]:
    links = set(state.tg_links.get(tg_arn, ()))
    tg = world.target_groups.get(tg_arn)
    if tg is not None:
        links.update(lb.arn for lb in world.load_balancers_of(tg))
    return links


def _resolve(
    world: World, state: _State, namespace: str, metric: str, dimensions: list[dict]
) -> _Source | None:
    """The data behind a metric, or None when the sandbox publishes no such metric."""
    dims = {d.get("Name"): d.get("Value") for d in dimensions}
    if len(dims) != len(dimensions):
        return None
    names = set(dims)
    if namespace in (ALB, NLB):
        lb_value = dims.get("LoadBalancer") or ""
        if not lb_value.startswith("app/" if namespace == ALB else "net/"):
            return None
        lb_arn = world.arn("elasticloadbalancing", f"loadbalancer/{lb_value}")
        if names == {"LoadBalancer"} and metric in LB_METRICS[namespace]:
            return _Source("lb", lb_arn, metric, _unit(metric))
        if names == {"LoadBalancer", "TargetGroup"} and metric in TG_METRICS[namespace]:
            tg_value = dims["TargetGroup"] or ""
            if not tg_value.startswith("targetgroup/"):
                return None
            tg_arn = world.arn("elasticloadbalancing", tg_value)
            if lb_arn in _links(world, state, tg_arn):
                return _Source("tg", tg_arn, metric, _unit(metric))
        return None
    if namespace == CLB and names == {"LoadBalancerName"} and metric in CLASSIC_METRICS:
        return _Source("lb", dims["LoadBalancerName"] or "", CLASSIC_METRICS[metric], _unit(metric))
    return None


def _series(
    world: World,
    state: _State,
    source: _Source | None,
    start: int,
    end: float,
    period: int,
    stat: str,
) -> list[tuple[int, float]]:
    """(period start in epoch seconds, value) for the periods with data, oldest first."""
    if source is None or world.metrics is None:
        return []
    points = world.metrics.query(
        source.kind,
        source.key,
        source.metric,
        start - state.anchor,
        end - state.anchor,
        period,
        stat,
    )
    return [(round(state.anchor + ts), value) for ts, value in points]


def _resource(arn: str) -> str:
    return arn.split(":", 5)[-1]


def _catalogue(world: World, state: _State) -> list[dict]:
    """Every metric with data in its retention, as ListMetrics returns them."""
    out: list[dict] = []
    if world.metrics is None:
        return out
    for kind, key, recorded in world.metrics.dimensions():
        have = set(recorded)
        if kind == "lb" and key.startswith("arn:"):
            resource = _resource(key).removeprefix("loadbalancer/")
            namespace = ALB if resource.startswith("app/") else NLB
            dims = [{"Name": "LoadBalancer", "Value": resource}]
            out += [_metric(namespace, m, dims) for m in LB_METRICS[namespace] if m in have]
        elif kind == "lb":
            dims = [{"Name": "LoadBalancerName", "Value": key}]
            out += [_metric(CLB, m, dims) for m, src in CLASSIC_METRICS.items() if src in have]
        elif kind == "tg":
            for lb_arn in sorted(_links(world, state, key)):
                resource = _resource(lb_arn).removeprefix("loadbalancer/")
                namespace = ALB if resource.startswith("app/") else NLB
                dims = [
                    {"Name": "TargetGroup", "Value": _resource(key)},
                    {"Name": "LoadBalancer", "Value": resource},
                ]
                out += [_metric(namespace, m, dims) for m in TG_METRICS[namespace] if m in have]
    out.sort(key=lambda m: (m["Namespace"], m["MetricName"], json.dumps(m["Dimensions"])))
    return out


def _metric(namespace: str, name: str, dims: list[dict]) -> dict:
    return {"Namespace": namespace, "MetricName": name, "Dimensions": [dict(d) for d in dims]}


def _sample_hosts(world: World, state: _State) -> None:
    """Record Healthy/UnHealthyHostCount for every sandbox second since the last sample."""
    metrics = world.metrics
    if metrics is None:
        return
    second = math.floor(world.clock.elapsed())
    first = second if state.last_sample is None else state.last_sample + 1
    first = max(first, second - MAX_BACKFILL + 1)
    if first > second:
        return
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for tg in world.target_groups.values():
        lbs = world.load_balancers_of(tg)
        if not lbs:
            continue  # AWS publishes host counts only for groups a load balancer uses
        state.tg_links.setdefault(tg.arn, set()).update(lb.arn for lb in lbs)
        healthy = unhealthy = 0
        for target in tg.targets.values():
            status = world.effective_state(tg, target)[0]
            healthy += status == HEALTHY
            unhealthy += status == UNHEALTHY
        counts[("tg", tg.arn)] = (healthy, unhealthy)
    for clb in world.classic_lbs.values():
        healthy = unhealthy = 0
        for target in clb.instances.values():
            if target.draining:
                continue
            in_service = world.classic_state(clb, target)[0] == "InService"
            healthy += in_service
            unhealthy += not in_service
        counts[("lb", clb.name)] = (healthy, unhealthy)
    for ts in range(first, second + 1):
        for (kind, key), (healthy, unhealthy) in counts.items():
            metrics.sample_gauge(kind, key, "HealthyHostCount", healthy, ts=ts)
            metrics.sample_gauge(kind, key, "UnHealthyHostCount", unhealthy, ts=ts)
    state.last_sample = second


# ----- validation helpers ---------------------------------------------------------------------


def _require(params: dict, *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise ApiError("MissingParameter", f"The parameter {name} is required.")


def _enum_error(value: Any, member: str, allowed: tuple[str, ...] | list[str]) -> ApiError:
    return ApiError(
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]",
    )


def _check_unit(unit: Any, member: str) -> None:
    if unit is not None and unit not in UNIT_VALUES:
        raise _enum_error(unit, member, UNIT_VALUES)


def _check_dimensions(dims: list[dict], member: str, code: str = "InvalidParameterValue") -> None:
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


def _is_percentile(stat: Any) -> bool:
    return isinstance(stat, str) and bool(_PERCENTILE_RE.match(stat))


def _token(scope: str, offset: int) -> str:
    return base64.b64encode(json.dumps({"s": scope, "o": offset}).encode()).decode()


def _offset(token: str | None, scope: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.b64decode(token, validate=True))
        offset = int(data["o"])
        if data["s"] != scope or offset < 0:
            raise ValueError(token)
    except (ValueError, KeyError, TypeError):
        raise ApiError("InvalidNextToken", "The service cannot complete the request.") from None
    return offset


def _page(items: list, token: str | None, size: int, scope: str) -> tuple[list, str | None]:
    start = _offset(token, scope)
    end = start + size
    return items[start:end], (_token(scope, end) if end < len(items) else None)


# ----- GetMetricStatistics / GetMetricData / ListMetrics ---------------------------------------


@_cloudwatch("GetMetricStatistics")
def get_metric_statistics(world: World, state: _State, params: dict) -> dict:
    _require(params, "Namespace", "MetricName", "StartTime", "EndTime", "Period")
    stats = list(params.get("Statistics") or [])
    extended = list(params.get("ExtendedStatistics") or [])
    if not stats and not extended:
        raise ApiError("MissingParameter", "Must specify either Statistics or ExtendedStatistics.")
    if stats and extended:
        raise ApiError(
            "InvalidParameterCombination",
            "The parameters Statistics and ExtendedStatistics are mutually exclusive.",
        )
    if len(stats) > 5 or len(extended) > 10:
        raise ApiError(
            "InvalidParameterValue",
            "At most 5 Statistics and 10 ExtendedStatistics may be requested.",
        )
    for n, stat in enumerate(stats, 1):
        if stat not in STATISTICS:
            raise _enum_error(stat, f"statistics.{n}.member", STATISTICS)
    for stat in extended:
        if not _is_percentile(stat):
            raise ApiError(
                "InvalidParameterValue",
                f"The value {stat} for parameter ExtendedStatistics is not supported.",
            )
    period = params["Period"]
    if not _valid_period(period):
        raise ApiError(
            "InvalidParameterValue",
            "The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60.",
        )
    unit = params.get("Unit")
    _check_unit(unit, "unit")
    dims = list(params.get("Dimensions") or [])
    _check_dimensions(dims, "Dimensions")
    start = _align(_epoch(params["StartTime"], "StartTime"), period)
    end = _epoch(params["EndTime"], "EndTime")
    if start >= end:
        raise ApiError(
            "InvalidParameterValue",
            "The parameter StartTime must be less than the parameter EndTime.",
        )
    requested = math.ceil((end - start) / period)
    if requested > MAX_DATAPOINTS_GMS:
        raise ApiError(
            "InvalidParameterCombination",
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
            f"{MAX_DATAPOINTS_GMS:,}. You may reduce the datapoints requested by increasing "
            "Period, or decreasing the time range.",
        )
    source = _resolve(world, state, params["Namespace"], params["MetricName"], dims)
    if source is not None and unit is not None and unit != source.unit:
        source = None
    points: dict[int, dict] = {}
    for stat in stats + extended:
        for ts, value in _series(world, state, source, start, end, period, stat):
            point = points.setdefault(ts, {"Timestamp": _dt(ts)})
            if stat in STATISTICS:
                point[stat] = value
            else:
                point.setdefault("ExtendedStatistics", {})[stat] = value
    datapoints = list(points.values())
    for point in datapoints:
        point["Unit"] = source.unit if source else "None"
    # CloudWatch returns datapoints in no particular order; so does the sandbox, so that a
    # client which forgets to sort is caught here rather than against AWS.
    random.Random(start).shuffle(datapoints)
    return {"Label": params["MetricName"], "Datapoints": datapoints}


class _ExpressionError(Exception):
    pass


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[-+*/()]))"
)

_Series = dict[int, float]
_Value = float | _Series


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise _ExpressionError(f"unexpected character at position {pos + 1}")
        kind = match.lastgroup or "op"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _arith(op: str, a: _Value, b: _Value) -> _Value:
    def one(x: float, y: float) -> float | None:
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        return x / y if y else None  # no datapoint where the divisor is 0

    if isinstance(a, dict) and isinstance(b, dict):
        pairs = {ts: (a[ts], b[ts]) for ts in a.keys() & b.keys()}
    elif isinstance(a, dict):
        assert not isinstance(b, dict)
        pairs = {ts: (v, b) for ts, v in a.items()}
    elif isinstance(b, dict):
        pairs = {ts: (a, v) for ts, v in b.items()}
    else:
        result = one(a, b)
        if result is None:
            raise _ExpressionError("division by zero")
        return result
    out: _Series = {}
    for ts, (x, y) in pairs.items():
        value = one(x, y)
        if value is not None:
            out[ts] = value
    return out


def _evaluate_expression(text: str, lookup: Callable[[str], _Value]) -> _Value:
    """Arithmetic (+ - * / and parentheses) over query ids and numbers."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise _ExpressionError("unexpected end of expression")
        pos += 1
        return tokens[pos - 1]

    def expr() -> _Value:
        value = term()
        while (tok := peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            take()
            value = _arith(tok[1], value, term())
        return value

    def term() -> _Value:
        value = factor()
        while (tok := peek()) is not None and tok[1] in "*/" and tok[0] == "op":
            take()
            value = _arith(tok[1], value, factor())
        return value

    def factor() -> _Value:
        kind, text_ = take()
        if kind == "num":
            return float(text_)
        if kind == "name":
            nxt = peek()
            if nxt == ("op", "("):
                raise _ExpressionError(
                    f"the function {text_} is not supported (the sandbox evaluates + - * / "
                    "over query ids and numbers)"
                )
            return lookup(text_)
        if text_ == "(":
            value = expr()
            if take() != ("op", ")"):
                raise _ExpressionError("missing closing parenthesis")
            return value
        if text_ == "-":
            return _arith("*", -1.0, factor())
        raise _ExpressionError(f"unexpected '{text_}'")

    value = expr()
    if pos != len(tokens):
        raise _ExpressionError(f"unexpected '{tokens[pos][1]}'")
    return value


@_cloudwatch("GetMetricData")
def get_metric_data(world: World, state: _State, params: dict) -> dict:
    queries = list(params.get("MetricDataQueries") or [])
    if not queries:
        raise ApiError("ValidationError", "The parameter MetricDataQueries is required.")
    if len(queries) > 500:
        raise ApiError(
            "ValidationError",
            "The collection MetricDataQueries must not have more than 500 members.",
        )
    start_raw = _epoch(params.get("StartTime"), "StartTime")
    end = _epoch(params.get("EndTime"), "EndTime")
    if start_raw >= end:
        raise ApiError(
            "ValidationError", "The parameter StartTime must be less than the parameter EndTime."
        )
    scan_by = params.get("ScanBy") or "TimestampDescending"
    if scan_by not in ("TimestampDescending", "TimestampAscending"):
        raise _enum_error(scan_by, "scanBy", ("TimestampDescending", "TimestampAscending"))
    max_points = params.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS
    if max_points < 1:
        raise ApiError("ValidationError", "The parameter MaxDatapoints must be at least 1.")

    by_id: dict[str, dict] = {}
    for n, query in enumerate(queries, 1):
        member = f"MetricDataQueries.member.{n}"
        qid = query.get("Id") or ""
        if not _QUERY_ID_RE.match(qid):
            raise ApiError(
                "ValidationError",
                f"The value {qid} for parameter {member}.Id is not valid: an Id must start with "
                "a lowercase letter and contain only letters, numbers and underscores.",
            )
        if qid in by_id:
            raise ApiError(
                "ValidationError",
                f"The values for parameter Id in MetricDataQueries are not "
                f"unique: {qid} is used more than once.",
            )
        by_id[qid] = query
        has_stat, has_expr = "MetricStat" in query, "Expression" in query
        if has_stat == has_expr:
            raise ApiError(
                "ValidationError",
                f"Exactly one of {member}.MetricStat and {member}.Expression must be specified.",
            )
        if has_stat:
            stat = query["MetricStat"]
            metric = stat.get("Metric") or {}
            if not metric.get("Namespace") or not metric.get("MetricName"):
                raise ApiError(
                    "ValidationError",
                    f"{member}.MetricStat.Metric must have a Namespace and a MetricName.",
                )
            _check_dimensions(
                list(metric.get("Dimensions") or []),
                f"{member}.MetricStat.Metric.Dimensions",
                "ValidationError",
            )
            if not _valid_period(stat.get("Period")):
                raise ApiError(
                    "ValidationError",
                    f"The parameter {member}.MetricStat.Period must be 1, 5, 10, 20, 30, or a "
                    "multiple of 60.",
                )
            if stat.get("Stat") not in STATISTICS and not _is_percentile(stat.get("Stat")):
                raise ApiError(
                    "ValidationError",
                    f"The value {stat.get('Stat')} for parameter {member}.MetricStat.Stat is not "
                    "supported (the sandbox serves SampleCount, Average, Sum, Minimum, Maximum "
                    "and percentiles pNN).",
                )
            _check_unit(stat.get("Unit"), f"{member}.MetricStat.Unit")

    values: dict[str, _Series] = {}
    resolving: set[str] = set()

    def lookup(qid: str) -> _Series:
        if qid in values:
            return values[qid]
        query = by_id.get(qid)
        if query is None:
            raise _ExpressionError(f"unknown query id {qid}")
        if qid in resolving:
            raise _ExpressionError(f"the expression of {qid} refers to itself")
        resolving.add(qid)
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            period = stat["Period"]
            source = _resolve(
                world,
                state,
                metric["Namespace"],
                metric["MetricName"],
                list(metric.get("Dimensions") or []),
            )
            if source is not None and stat.get("Unit") not in (None, source.unit):
                source = None
            start = _align(start_raw, period)
            series = dict(_series(world, state, source, start, end, period, stat["Stat"]))
        else:
            try:
                result = _evaluate_expression(query["Expression"], lookup)
            except RecursionError:
                raise _ExpressionError("the expression is nested too deeply") from None
            if not isinstance(result, dict):
                raise _ExpressionError("the expression does not refer to any metric")
            series = result
        resolving.discard(qid)
        values[qid] = series
        return series

    for qid in by_id:
        try:
            lookup(qid)
        except _ExpressionError as exc:
            raise ApiError("ValidationError", f"Error in expression '{qid}': {exc}.") from None

    descending = scan_by == "TimestampDescending"
    results = []
    for qid, query in by_id.items():
        if query.get("ReturnData", True) is False:
            continue
        label = query.get("Label")
        if label is None:
            label = query["MetricStat"]["Metric"]["MetricName"] if "MetricStat" in query else qid
        ordered = sorted(values[qid].items(), reverse=descending)
        results.append((qid, label, ordered))

    scope = "gmd:" + json.dumps([[q, len(pts)] for q, _, pts in results], separators=(",", ":"))
    skip = _offset(params.get("NextToken"), scope)
    budget = max_points
    out = []
    seen = 0
    more = False
    for qid, label, ordered in results:
        lo = min(max(skip - seen, 0), len(ordered))
        hi = min(lo + budget, len(ordered))
        budget -= hi - lo
        seen += len(ordered)
        truncated = hi < len(ordered)
        more = more or truncated
        out.append(
            {
                "Id": qid,
                "Label": label,
                "Timestamps": [_dt(ts) for ts, _ in ordered[lo:hi]],
                "Values": [float(v) for _, v in ordered[lo:hi]],
                "StatusCode": "PartialData" if truncated else "Complete",
            }
        )
    response: dict[str, Any] = {"MetricDataResults": out, "Messages": []}
    if more:
        response["NextToken"] = _token(scope, skip + max_points)
    return response


@_cloudwatch("ListMetrics")
def list_metrics(world: World, state: _State, params: dict) -> dict:
    recently = params.get("RecentlyActive")
    if recently is not None and recently != "PT3H":
        raise _enum_error(recently, "recentlyActive", ("PT3H",))
    filters = list(params.get("Dimensions") or [])
    if len(filters) > 10:
        raise ApiError(
            "InvalidParameterValue", "The collection Dimensions must not have more than 10 members."
        )
    namespace, name = params.get("Namespace"), params.get("MetricName")

    def wanted(metric: dict) -> bool:
        if namespace and metric["Namespace"] != namespace:
            return False
        if name and metric["MetricName"] != name:
            return False
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        for f in filters:
            if f.get("Name") not in dims:
                return False
            if f.get("Value") is not None and dims[f["Name"]] != f["Value"]:
                return False
        return True

    metrics = [m for m in _catalogue(world, state) if wanted(m)]
    page, token = _page(metrics, params.get("NextToken"), LIST_METRICS_PAGE, "metrics")
    out: dict[str, Any] = {"Metrics": page}
    if token:
        out["NextToken"] = token
    return out


# ----- alarms: evaluation ------------------------------------------------------------------------


def _evaluate_due(world: World, state: _State) -> None:
    now = world.clock.elapsed()
    for alarm in list(world.alarms.values()):
        if isinstance(alarm, MetricAlarm) and now >= alarm.next_evaluation:
            evaluate_alarm(world, alarm)


def evaluate_alarm(world: World, alarm: MetricAlarm) -> None:
    """Evaluate one alarm now, over its last EvaluationPeriods complete periods.

    Changes the state (with history) when the evaluation says so, and schedules the next
    evaluation at the next boundary of the alarm's Period.
    """
    state = _state(world)
    now = _now(world, state)
    period = alarm.period
    end = int(math.floor(now / period) * period)
    start = end - alarm.evaluation_periods * period
    alarm.next_evaluation = end + period - state.anchor
    source = _resolve(world, state, alarm.namespace, alarm.metric_name, alarm.dimensions)
    if source is not None and alarm.unit is not None and alarm.unit != source.unit:
        source = None
    values = dict(_series(world, state, source, start, end, period, alarm.stat))
    samples = dict(_series(world, state, source, start, end, period, "SampleCount"))
    periods = [Period(_dt(ts), values.get(ts), samples.get(ts)) for ts in range(start, end, period)]
    if _too_few_samples(alarm, periods):
        return
    outcome = alarm_rules.evaluate(alarm, periods, _dt(now))
    if outcome is not None and outcome.state != alarm.state_value:
        _set_state(world, state, alarm, outcome.state, outcome.reason, outcome.reason_data)


def _too_few_samples(alarm: MetricAlarm, periods: list[Period]) -> bool:
    # EvaluateLowSampleCountPercentile=ignore: a percentile over too few samples to mean
    # anything leaves the state alone (CloudWatch's rule of thumb: 10 / (1 - p) samples).
    if alarm.evaluate_low_sample_count_percentile != "ignore" or not alarm.extended_statistic:
        return False
    p = float(alarm.extended_statistic[1:]) / 100.0
    needed = 10.0 / (1.0 - p) if p < 1.0 else math.inf
    return any(x.value is not None and (x.samples or 0) < needed for x in periods)


def _set_state(
    world: World,
    state: _State,
    alarm: MetricAlarm,
    value: str,
    reason: str,
    data: str | None,
) -> None:
    now = world.now()
    old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
    alarm.state_value, alarm.state_reason, alarm.state_reason_data = value, reason, data
    alarm.state_updated = now
    if old[0] == value:
        return
    alarm.state_transitioned = now
    _history(
        state,
        alarm.name,
        now,
        "StateUpdate",
        f"Alarm updated from {old[0]} to {value}",
        alarm_rules.history_data(*old, value, reason, data),
    )


def _history(state: _State, name: str, when: datetime, kind: str, summary: str, data: str) -> None:
    state.history.append(
        {
            "AlarmName": name,
            "AlarmType": "MetricAlarm",
            "Timestamp": when,
            "HistoryItemType": kind,
            "HistorySummary": summary,
            "HistoryData": data,
        }
    )
    del state.history[:-HISTORY_LIMIT]


# ----- alarms: operations -----------------------------------------------------------------------


def _alarm(world: World, name: str) -> MetricAlarm:
    alarm = world.alarms.get(name)
    if not isinstance(alarm, MetricAlarm):
        raise ApiError("ResourceNotFound", f"Alarm {name} not found")
    return alarm


def _actions(params: dict, member: str) -> list[str]:
    actions = list(params.get(member) or [])
    if len(actions) > 5:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{actions}' at '{member[0].lower()}"
            f"{member[1:]}' failed to satisfy constraint: Member must have length less than or "
            "equal to 5",
        )
    for action in actions:
        if not isinstance(action, str) or not action.startswith("arn:"):
            raise ApiError("ValidationError", f"Invalid arn syntax: {action}")
    return actions


_UNSUPPORTED_ALARM_PARAMS = (
    "Metrics",
    "ThresholdMetricId",
    "EvaluationCriteria",
    "EvaluationInterval",
    "EvaluationWindow",
    "WarmUpConfiguration",
    "ActionConfiguration",
)


@_cloudwatch("PutMetricAlarm")
def put_metric_alarm(world: World, state: _State, params: dict) -> dict:
    _require(params, "AlarmName", "EvaluationPeriods", "ComparisonOperator")
    name = params["AlarmName"]
    if len(name) > 255:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{name}' at 'alarmName' failed to satisfy "
            "constraint: Member must have length less than or equal to 255",
        )
    for key in _UNSUPPORTED_ALARM_PARAMS:
        if params.get(key):
            raise ApiError(
                "ValidationError",
                f"The sandbox supports alarms on a single metric only; {key} is not supported.",
            )
    comparison = params["ComparisonOperator"]
    if comparison in alarm_rules.BAND_COMPARISONS:
        raise ApiError(
            "ValidationError",
            f"ComparisonOperator {comparison} is only valid with an anomaly detection band "
            "(ThresholdMetricId), which the sandbox does not support.",
        )
    if comparison not in alarm_rules.COMPARISONS:
        raise _enum_error(
            comparison,
            "comparisonOperator",
            (*alarm_rules.COMPARISONS, *alarm_rules.BAND_COMPARISONS),
        )
    _require(params, "MetricName", "Namespace", "Period", "Threshold")
    statistic, extended = params.get("Statistic"), params.get("ExtendedStatistic")
    if bool(statistic) == bool(extended):
        raise ApiError(
            "InvalidParameterCombination",
            "Exactly one of Statistic or ExtendedStatistic must be specified.",
        )
    if statistic and statistic not in STATISTICS:
        raise _enum_error(statistic, "statistic", STATISTICS)
    if extended and not _is_percentile(extended):
        raise ApiError(
            "InvalidParameterValue",
            f"The value {extended} for parameter ExtendedStatistic is not supported.",
        )
    low_samples = params.get("EvaluateLowSampleCountPercentile")
    if low_samples is not None:
        if not extended:
            raise ApiError(
                "InvalidParameterCombination",
                "EvaluateLowSampleCountPercentile may only be set with an ExtendedStatistic.",
            )
        if low_samples not in ("evaluate", "ignore"):
            raise ApiError(
                "ValidationError",
                f"Option {low_samples} is not supported. Supported options for parameter "
                "EvaluateLowSampleCountPercentile are evaluate and ignore.",
            )
    period = params["Period"]
    if not (isinstance(period, int) and (period in (10, 20, 30) or period % 60 == 0)):
        raise ApiError(
            "InvalidParameterValue",
            "The parameter Period must be 10, 20, 30, or a multiple of 60.",
        )
    evaluation_periods = params["EvaluationPeriods"]
    if evaluation_periods < 1:
        raise ApiError("ValidationError", "EvaluationPeriods must be at least 1.")
    limit = 604_800 if period >= 3600 else 86_400
    if period * evaluation_periods > limit:
        what = "7 days" if limit > 86_400 else "a day"
        raise ApiError(
            "ValidationError",
            f"Metrics cannot be checked across more than {what} "
            f"(EvaluationPeriods * Period must be <= {limit})",
        )
    datapoints = params.get("DatapointsToAlarm")
    if datapoints is not None and not 1 <= datapoints <= evaluation_periods:
        raise ApiError(
            "ValidationError",
            "DatapointsToAlarm must be between 1 and EvaluationPeriods "
            f"({evaluation_periods}), not {datapoints}.",
        )
    treat = params.get("TreatMissingData")
    if treat is not None and treat not in alarm_rules.TREAT_MISSING:
        raise ApiError(
            "ValidationError",
            f"Option {treat} is not supported. Supported options for parameter "
            "TreatMissingData are missing, ignore, breaching and notBreaching.",
        )
    unit = params.get("Unit")
    _check_unit(unit, "unit")
    dims = list(params.get("Dimensions") or [])
    _check_dimensions(dims, "Dimensions")
    description = params.get("AlarmDescription")
    if description is not None and len(description) > 1024:
        raise ApiError(
            "ValidationError",
            "1 validation error detected: Value at 'alarmDescription' failed to satisfy "
            "constraint: Member must have length less than or equal to 1024",
        )
    config = {
        "namespace": params["Namespace"],
        "metric_name": params["MetricName"],
        "dimensions": [{"Name": d["Name"], "Value": d["Value"]} for d in dims],
        "period": period,
        "evaluation_periods": evaluation_periods,
        "threshold": float(params["Threshold"]),
        "comparison": comparison,
        "statistic": statistic or None,
        "extended_statistic": extended or None,
        "datapoints_to_alarm": datapoints,
        "treat_missing_data": treat,
        "unit": unit,
        "description": description,
        "actions_enabled": params.get("ActionsEnabled", True) is not False,
        "ok_actions": _actions(params, "OKActions"),
        "alarm_actions": _actions(params, "AlarmActions"),
        "insufficient_data_actions": _actions(params, "InsufficientDataActions"),
        "evaluate_low_sample_count_percentile": low_samples,
    }
    now = world.now()
    existing = world.alarms.get(name)
    if isinstance(existing, MetricAlarm):
        # An update overwrites the whole configuration and keeps the state (tags stay too).
        before = existing.history_config()
        for key, value in config.items():
            setattr(existing, key, value)
        existing.config_updated = now
        existing.next_evaluation = world.clock.elapsed()
        _history(
            state,
            name,
            now,
            "ConfigurationUpdate",
            f'Alarm "{name}" updated',
            json.dumps(
                {
                    "version": "1.0",
                    "type": "Update",
                    "originalUpdatedAlarm": before,
                    "updatedAlarm": existing.history_config(),
                },
                separators=(",", ":"),
            ),
        )
        return {}
    alarm = MetricAlarm(
        name=name,
        arn=world.arn("cloudwatch", f"alarm:{name}"),
        created=now,
        tags=[{"Key": t["Key"], "Value": t["Value"]} for t in params.get("Tags") or []],
        next_evaluation=world.clock.elapsed(),
        **config,
    )
    world.alarms[name] = alarm
    _history(
        state,
        name,
        now,
        "ConfigurationUpdate",
        f'Alarm "{name}" created',
        json.dumps(
            {"version": "1.0", "type": "Create", "createdAlarm": alarm.history_config()},
            separators=(",", ":"),
        ),
    )
    return {}


def _max_records(params: dict, default: int) -> int:
    size = params.get("MaxRecords") or default
    if not 1 <= size <= 100:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{size}' at 'maxRecords' failed to satisfy "
            "constraint: Member must have value less than or equal to 100",
        )
    return size


_ALARM_TYPES = ("CompositeAlarm", "MetricAlarm")


@_cloudwatch("DescribeAlarms")
def describe_alarms(world: World, state: _State, params: dict) -> dict:
    names = params.get("AlarmNames")
    prefix = params.get("AlarmNamePrefix")
    if names and prefix:
        raise ApiError(
            "InvalidParameterCombination",
            "AlarmNamePrefix and AlarmNames cannot be specified together.",
        )
    if names is not None and len(names) > 100:
        raise ApiError(
            "ValidationError", "The collection AlarmNames must not have more than 100 members."
        )
    state_value = params.get("StateValue")
    if state_value is not None and state_value not in alarm_rules.STATES:
        raise _enum_error(state_value, "stateValue", alarm_rules.STATES)
    types = params.get("AlarmTypes")
    for kind in types or []:
        if kind not in _ALARM_TYPES:
            raise _enum_error(kind, "alarmTypes", _ALARM_TYPES)
    size = _max_records(params, 50)
    family = params.get("ChildrenOfAlarmName") or params.get("ParentsOfAlarmName")
    if family and (names or prefix or state_value or params.get("ActionPrefix")):
        raise ApiError(
            "InvalidParameterCombination",
            "ChildrenOfAlarmName and ParentsOfAlarmName cannot be combined with other filters.",
        )
    action_prefix = params.get("ActionPrefix")
    selected: list[MetricAlarm] = []
    # Without AlarmTypes only metric alarms are returned; composite alarms do not exist here,
    # and a metric alarm has neither children nor parents.
    if (types is None or "MetricAlarm" in types) and not family:
        for alarm in sorted(
            (a for a in world.alarms.values() if isinstance(a, MetricAlarm)),
            key=lambda a: a.name,
        ):
            if names is not None and alarm.name not in names:
                continue
            if prefix and not alarm.name.startswith(prefix):
                continue
            if state_value and alarm.state_value != state_value:
                continue
            if action_prefix and not any(
                a.startswith(action_prefix)
                for a in (*alarm.ok_actions, *alarm.alarm_actions, *alarm.insufficient_data_actions)
            ):
                continue
            selected.append(alarm)
    page, token = _page(selected, params.get("NextToken"), size, "alarms")
    out: dict[str, Any] = {
        "MetricAlarms": [a.describe() for a in page],
        "CompositeAlarms": [],
    }
    if token:
        out["NextToken"] = token
    return out


@_cloudwatch("DescribeAlarmsForMetric")
def describe_alarms_for_metric(world: World, state: _State, params: dict) -> dict:
    _require(params, "MetricName", "Namespace")
    _check_unit(params.get("Unit"), "unit")
    statistic = params.get("Statistic")
    if statistic is not None and statistic not in STATISTICS:
        raise _enum_error(statistic, "statistic", STATISTICS)
    dims = {(d["Name"], d["Value"]) for d in params.get("Dimensions") or []}
    out = []
    for alarm in sorted(
        (a for a in world.alarms.values() if isinstance(a, MetricAlarm)), key=lambda a: a.name
    ):
        if alarm.namespace != params["Namespace"] or alarm.metric_name != params["MetricName"]:
            continue
        if {(d["Name"], d["Value"]) for d in alarm.dimensions} != dims:
            continue
        checks = (
            ("Statistic", alarm.statistic),
            ("ExtendedStatistic", alarm.extended_statistic),
            ("Period", alarm.period),
            ("Unit", alarm.unit),
        )
        if any(params.get(k) is not None and params[k] != v for k, v in checks):
            continue
        out.append(alarm.describe())
    return {"MetricAlarms": out}


@_cloudwatch("DeleteAlarms")
def delete_alarms(world: World, state: _State, params: dict) -> dict:
    names = list(params.get("AlarmNames") or [])
    if len(names) > 100:
        raise ApiError(
            "ValidationError", "The collection AlarmNames must not have more than 100 members."
        )
    unknown = [n for n in names if not isinstance(world.alarms.get(n), MetricAlarm)]
    if unknown:
        # All or nothing, as AWS documents: one unknown name and no alarm is deleted.
        raise ApiError(
            "ResourceNotFound",
            f"{len(unknown)} of the alarms you specified were not found: [{', '.join(unknown)}]",
        )
    now = world.now()
    for name in dict.fromkeys(names):
        alarm = world.alarms.pop(name)
        _history(
            state,
            name,
            now,
            "ConfigurationUpdate",
            f'Alarm "{name}" deleted',
            json.dumps(
                {"version": "1.0", "type": "Delete", "deletedAlarm": alarm.history_config()},
                separators=(",", ":"),
            ),
        )
    return {}


@_cloudwatch("SetAlarmState")
def set_alarm_state(world: World, state: _State, params: dict) -> dict:
    _require(params, "AlarmName", "StateValue")
    if params.get("StateReason") is None:
        raise ApiError("MissingParameter", "The parameter StateReason is required.")
    alarm = _alarm(world, params["AlarmName"])
    value = params["StateValue"]
    if value not in alarm_rules.STATES:
        raise _enum_error(value, "stateValue", alarm_rules.STATES)
    reason = params["StateReason"]
    if len(reason) > 1023:
        raise ApiError(
            "ValidationError",
            "1 validation error detected: Value at 'stateReason' failed to satisfy constraint: "
            "Member must have length less than or equal to 1023",
        )
    data = params.get("StateReasonData")
    if data is not None:
        try:
            json.loads(data)
        except ValueError:
            raise ApiError("InvalidFormat", "Data was not syntactically valid JSON") from None
    # The state holds until the alarm's next scheduled evaluation, as on AWS.
    _set_state(world, state, alarm, value, reason, data)
    return {}


def _set_actions(world: World, params: dict, enabled: bool) -> dict:
    names = list(params.get("AlarmNames") or [])
    if len(names) > 100:
        raise ApiError(
            "ValidationError", "The collection AlarmNames must not have more than 100 members."
        )
    for name in names:
        alarm = world.alarms.get(name)
        if isinstance(alarm, MetricAlarm):
            alarm.actions_enabled = enabled
    return {}


@_cloudwatch("EnableAlarmActions")
def enable_alarm_actions(world: World, state: _State, params: dict) -> dict:
    return _set_actions(world, params, True)


@_cloudwatch("DisableAlarmActions")
def disable_alarm_actions(world: World, state: _State, params: dict) -> dict:
    return _set_actions(world, params, False)


_HISTORY_TYPES = (
    "ConfigurationUpdate",
    "StateUpdate",
    "Action",
    "AlarmContributorStateUpdate",
    "AlarmContributorAction",
)


@_cloudwatch("DescribeAlarmHistory")
def describe_alarm_history(world: World, state: _State, params: dict) -> dict:
    kind = params.get("HistoryItemType")
    if kind is not None and kind not in _HISTORY_TYPES:
        raise _enum_error(kind, "historyItemType", _HISTORY_TYPES)
    types = params.get("AlarmTypes")
    for t in types or []:
        if t not in _ALARM_TYPES:
            raise _enum_error(t, "alarmTypes", _ALARM_TYPES)
    scan_by = params.get("ScanBy") or "TimestampDescending"
    if scan_by not in ("TimestampDescending", "TimestampAscending"):
        raise _enum_error(scan_by, "scanBy", ("TimestampDescending", "TimestampAscending"))
    size = _max_records(params, 100)
    start = params.get("StartDate")
    end = params.get("EndDate")
    lo = _epoch(start, "StartDate") if start is not None else -math.inf
    hi = _epoch(end, "EndDate") if end is not None else math.inf
    name = params.get("AlarmName")
    items = [
        dict(item)
        for item in state.history
        if (name is None or item["AlarmName"] == name)
        and (kind is None or item["HistoryItemType"] == kind)
        and (types is None or "MetricAlarm" in types)
        and lo <= item["Timestamp"].timestamp() <= hi
    ]
    if scan_by == "TimestampDescending":
        items.reverse()
    page, token = _page(items, params.get("NextToken"), size, "history")
    out: dict[str, Any] = {"AlarmHistoryItems": page}
    if token:
        out["NextToken"] = token
    return out


# ----- tags -------------------------------------------------------------------------------------


def _alarm_by_arn(world: World, arn: str) -> MetricAlarm:
    for alarm in world.alarms.values():
        if isinstance(alarm, MetricAlarm) and alarm.arn == arn:
            return alarm
    raise ApiError("ResourceNotFoundException", f"Alarm {arn} not found")


@_cloudwatch("ListTagsForResource")
def list_tags_for_resource(world: World, state: _State, params: dict) -> dict:
    _require(params, "ResourceARN")
    alarm = _alarm_by_arn(world, params["ResourceARN"])
    return {"Tags": [dict(t) for t in alarm.tags]}


@_cloudwatch("TagResource")
def tag_resource(world: World, state: _State, params: dict) -> dict:
    _require(params, "ResourceARN")
    alarm = _alarm_by_arn(world, params["ResourceARN"])
    tags = {t["Key"]: t["Value"] for t in alarm.tags}
    tags.update({t["Key"]: t["Value"] for t in params.get("Tags") or []})
    alarm.tags = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {}


@_cloudwatch("UntagResource")
def untag_resource(world: World, state: _State, params: dict) -> dict:
    _require(params, "ResourceARN")
    alarm = _alarm_by_arn(world, params["ResourceARN"])
    drop = set(params.get("TagKeys") or [])
    alarm.tags = [t for t in alarm.tags if t["Key"] not in drop]
    return {}
