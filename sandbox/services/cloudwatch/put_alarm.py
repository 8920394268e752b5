"""PutMetricAlarm: its parameters checked in AWS's order, made an alarm's configuration."""

from __future__ import annotations

from typing import Any

from cutover.sandbox.cloudwatch import alarms as alarm_rules
from cutover.sandbox.cloudwatch import registry
from cutover.sandbox.cloudwatch.params import (
    STATISTICS,
    check_dimensions,
    check_unit,
    enum_error,
    is_percentile,
    require,
)
from cutover.sandbox.cloudwatch.state import State
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import World

from .register import cloudwatch_operation


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


def _alarm_name(params: dict) -> str:
    require(params, "AlarmName", "EvaluationPeriods", "ComparisonOperator")
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
    return name


def _comparison(params: dict) -> str:
    comparison = params["ComparisonOperator"]
    if comparison in alarm_rules.BAND_COMPARISONS:
        raise ApiError(
            "ValidationError",
            f"ComparisonOperator {comparison} is only valid with an anomaly detection band "
            "(ThresholdMetricId), which the sandbox does not support.",
        )
    if comparison not in alarm_rules.COMPARISONS:
        raise enum_error(
            comparison,
            "comparisonOperator",
            (*alarm_rules.COMPARISONS, *alarm_rules.BAND_COMPARISONS),
        )
    return comparison


def _statistic(params: dict) -> tuple[str | None, str | None, str | None]:
    """(Statistic, ExtendedStatistic, EvaluateLowSampleCountPercentile), checked."""
    statistic, extended = params.get("Statistic"), params.get("ExtendedStatistic")
    if bool(statistic) == bool(extended):
        raise ApiError(
            "InvalidParameterCombination",
            "Exactly one of Statistic or ExtendedStatistic must be specified.",
        )
    if statistic and statistic not in STATISTICS:
        raise enum_error(statistic, "statistic", STATISTICS)
    if extended and not is_percentile(extended):
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
    return statistic, extended, low_samples


def _periods(params: dict) -> tuple[int, int, int | None]:
    """(Period, EvaluationPeriods, DatapointsToAlarm), checked."""
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
    return period, evaluation_periods, datapoints


def _alarm_config(params: dict) -> dict[str, Any]:
    """PutMetricAlarm's parameters, checked in AWS's order, as MetricAlarm's fields."""
    comparison = _comparison(params)
    require(params, "MetricName", "Namespace", "Period", "Threshold")
    statistic, extended, low_samples = _statistic(params)
    period, evaluation_periods, datapoints = _periods(params)
    treat = params.get("TreatMissingData")
    if treat is not None and treat not in alarm_rules.TREAT_MISSING:
        raise ApiError(
            "ValidationError",
            f"Option {treat} is not supported. Supported options for parameter "
            "TreatMissingData are missing, ignore, breaching and notBreaching.",
        )
    unit = params.get("Unit")
    check_unit(unit, "unit")
    dims = list(params.get("Dimensions") or [])
    check_dimensions(dims, "Dimensions")
    description = params.get("AlarmDescription")
    if description is not None and len(description) > 1024:
        raise ApiError(
            "ValidationError",
            "1 validation error detected: Value at 'alarmDescription' failed to satisfy "
            "constraint: Member must have length less than or equal to 1024",
        )
    return {
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


@cloudwatch_operation("PutMetricAlarm")
def put_metric_alarm(world: World, state: State, params: dict) -> dict:
    name = _alarm_name(params)
    registry.put(world, state, name, _alarm_config(params), params.get("Tags") or [])
    return {}
