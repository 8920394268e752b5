"""CloudWatch's metric operations: GetMetricStatistics, GetMetricData and ListMetrics."""

from __future__ import annotations

import json
import math
import random
import re
from typing import Any

from cutover.sandbox.cloudwatch.expressions import ExpressionError
from cutover.sandbox.cloudwatch.metrics import catalogue, resolve, series
from cutover.sandbox.cloudwatch.params import (
    STATISTICS,
    check_dimensions,
    check_unit,
    enum_error,
    is_percentile,
    make_token,
    paginate,
    require,
    scan_by,
    token_offset,
    valid_period,
)
from cutover.sandbox.cloudwatch.query import Queries
from cutover.sandbox.cloudwatch.state import State, align, dt, epoch
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import World

from .register import cloudwatch_operation

_QUERY_ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")

MAX_DATAPOINTS_GMS = 1440
DEFAULT_MAX_DATAPOINTS = 100_800
LIST_METRICS_PAGE = 500


@cloudwatch_operation("GetMetricStatistics")
def get_metric_statistics(world: World, state: State, params: dict) -> dict:
    require(params, "Namespace", "MetricName", "StartTime", "EndTime", "Period")
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
            raise enum_error(stat, f"statistics.{n}.member", STATISTICS)
    for stat in extended:
        if not is_percentile(stat):
            raise ApiError(
                "InvalidParameterValue",
                f"The value {stat} for parameter ExtendedStatistics is not supported.",
            )
    period = params["Period"]
    if not valid_period(period):
        raise ApiError(
            "InvalidParameterValue",
            "The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60.",
        )
    unit = params.get("Unit")
    check_unit(unit, "unit")
    dims = list(params.get("Dimensions") or [])
    check_dimensions(dims, "Dimensions")
    start = align(epoch(params["StartTime"], "StartTime"), period)
    end = epoch(params["EndTime"], "EndTime")
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
    source = resolve(world, state, params["Namespace"], params["MetricName"], dims, unit)
    points: dict[int, dict] = {}
    for stat in stats + extended:
        for ts, value in series(world, state, source, start, end, period, stat):
            point = points.setdefault(ts, {"Timestamp": dt(ts)})
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


def _check_query(query: dict, member: str) -> None:
    has_stat, has_expr = "MetricStat" in query, "Expression" in query
    if has_stat == has_expr:
        raise ApiError(
            "ValidationError",
            f"Exactly one of {member}.MetricStat and {member}.Expression must be specified.",
        )
    if not has_stat:
        return
    stat = query["MetricStat"]
    metric = stat.get("Metric") or {}
    if not metric.get("Namespace") or not metric.get("MetricName"):
        raise ApiError(
            "ValidationError",
            f"{member}.MetricStat.Metric must have a Namespace and a MetricName.",
        )
    check_dimensions(
        list(metric.get("Dimensions") or []),
        f"{member}.MetricStat.Metric.Dimensions",
        "ValidationError",
    )
    if not valid_period(stat.get("Period")):
        raise ApiError(
            "ValidationError",
            f"The parameter {member}.MetricStat.Period must be 1, 5, 10, 20, 30, or a "
            "multiple of 60.",
        )
    if stat.get("Stat") not in STATISTICS and not is_percentile(stat.get("Stat")):
        raise ApiError(
            "ValidationError",
            f"The value {stat.get('Stat')} for parameter {member}.MetricStat.Stat is not "
            "supported (the sandbox serves SampleCount, Average, Sum, Minimum, Maximum "
            "and percentiles pNN).",
        )
    check_unit(stat.get("Unit"), f"{member}.MetricStat.Unit")


def _queries_by_id(queries: list[dict]) -> dict[str, dict]:
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
        _check_query(query, member)
    return by_id


def _results(
    by_id: dict[str, dict], queries: Queries, descending: bool
) -> list[tuple[str, str, list[tuple[int, float]]]]:
    """(id, label, datapoints in scan order) of each query whose data is returned."""
    results = []
    for qid, query in by_id.items():
        if query.get("ReturnData", True) is False:
            continue
        label = query.get("Label")
        if label is None:
            label = query["MetricStat"]["Metric"]["MetricName"] if "MetricStat" in query else qid
        ordered = sorted(queries.values[qid].items(), reverse=descending)
        results.append((qid, label, ordered))
    return results


def _paged_results(
    results: list[tuple[str, str, list[tuple[int, float]]]],
    next_token: str | None,
    max_points: int,
) -> dict:
    """One page of at most `max_points` datapoints over all results, in order."""
    scope = "gmd:" + json.dumps([[q, len(pts)] for q, _, pts in results], separators=(",", ":"))
    skip = token_offset(next_token, scope)
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
                "Timestamps": [dt(ts) for ts, _ in ordered[lo:hi]],
                "Values": [float(v) for _, v in ordered[lo:hi]],
                "StatusCode": "PartialData" if truncated else "Complete",
            }
        )
    response: dict[str, Any] = {"MetricDataResults": out, "Messages": []}
    if more:
        response["NextToken"] = make_token(scope, skip + max_points)
    return response


@cloudwatch_operation("GetMetricData")
def get_metric_data(world: World, state: State, params: dict) -> dict:
    queries = list(params.get("MetricDataQueries") or [])
    if not queries:
        raise ApiError("ValidationError", "The parameter MetricDataQueries is required.")
    if len(queries) > 500:
        raise ApiError(
            "ValidationError",
            "The collection MetricDataQueries must not have more than 500 members.",
        )
    start = epoch(params.get("StartTime"), "StartTime")
    end = epoch(params.get("EndTime"), "EndTime")
    if start >= end:
        raise ApiError(
            "ValidationError", "The parameter StartTime must be less than the parameter EndTime."
        )
    scan = scan_by(params)
    max_points = params.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS
    if max_points < 1:
        raise ApiError("ValidationError", "The parameter MaxDatapoints must be at least 1.")
    by_id = _queries_by_id(queries)
    evaluated = Queries(world, state, by_id, start, end)
    for qid in by_id:
        try:
            evaluated.series(qid)
        except ExpressionError as exc:
            raise ApiError("ValidationError", f"Error in expression '{qid}': {exc}.") from None
    results = _results(by_id, evaluated, scan == "TimestampDescending")
    return _paged_results(results, params.get("NextToken"), max_points)


@cloudwatch_operation("ListMetrics")
def list_metrics(world: World, state: State, params: dict) -> dict:
    recently = params.get("RecentlyActive")
    if recently is not None and recently != "PT3H":
        raise enum_error(recently, "recentlyActive", ("PT3H",))
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

    metrics = [m for m in catalogue(world, state) if wanted(m)]
    page, token = paginate(metrics, params.get("NextToken"), LIST_METRICS_PAGE, "metrics")
    out: dict[str, Any] = {"Metrics": page}
    if token:
        out["NextToken"] = token
    return out
