"""CloudWatch's alarm operations besides PutMetricAlarm: describe, delete, set the state,
switch actions, the history and tags."""

from __future__ import annotations

import json
import math
from typing import Any

from cutover.sandbox.cloudwatch import alarms as alarm_rules
from cutover.sandbox.cloudwatch import registry
from cutover.sandbox.cloudwatch.alarms import MetricAlarm
from cutover.sandbox.cloudwatch.evaluation import set_state
from cutover.sandbox.cloudwatch.params import (
    STATISTICS,
    alarm_names,
    check_alarm_types,
    check_unit,
    enum_error,
    max_records,
    paginate,
    require,
    scan_by,
)
from cutover.sandbox.cloudwatch.state import State, epoch
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import World

from .register import cloudwatch_operation


@cloudwatch_operation("DescribeAlarms")
def describe_alarms(world: World, state: State, params: dict) -> dict:
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
        raise enum_error(state_value, "stateValue", alarm_rules.STATES)
    types = params.get("AlarmTypes")
    check_alarm_types(types)
    size = max_records(params, 50)
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
        for alarm in registry.metric_alarms(world):
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
    page, token = paginate(selected, params.get("NextToken"), size, "alarms")
    out: dict[str, Any] = {
        "MetricAlarms": [a.describe() for a in page],
        "CompositeAlarms": [],
    }
    if token:
        out["NextToken"] = token
    return out


@cloudwatch_operation("DescribeAlarmsForMetric")
def describe_alarms_for_metric(world: World, state: State, params: dict) -> dict:
    require(params, "MetricName", "Namespace")
    check_unit(params.get("Unit"), "unit")
    statistic = params.get("Statistic")
    if statistic is not None and statistic not in STATISTICS:
        raise enum_error(statistic, "statistic", STATISTICS)
    dims = {(d["Name"], d["Value"]) for d in params.get("Dimensions") or []}
    out = []
    for alarm in registry.metric_alarms(world):
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


@cloudwatch_operation("DeleteAlarms")
def delete_alarms(world: World, state: State, params: dict) -> dict:
    registry.delete(world, state, alarm_names(params))
    return {}


@cloudwatch_operation("SetAlarmState")
def set_alarm_state(world: World, state: State, params: dict) -> dict:
    require(params, "AlarmName", "StateValue")
    if params.get("StateReason") is None:
        raise ApiError("MissingParameter", "The parameter StateReason is required.")
    alarm = registry.by_name(world, params["AlarmName"])
    value = params["StateValue"]
    if value not in alarm_rules.STATES:
        raise enum_error(value, "stateValue", alarm_rules.STATES)
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
    set_state(world, state, alarm, value, reason, data)
    return {}


@cloudwatch_operation("EnableAlarmActions")
def enable_alarm_actions(world: World, state: State, params: dict) -> dict:
    registry.set_actions_enabled(world, alarm_names(params), True)
    return {}


@cloudwatch_operation("DisableAlarmActions")
def disable_alarm_actions(world: World, state: State, params: dict) -> dict:
    registry.set_actions_enabled(world, alarm_names(params), False)
    return {}


_HISTORY_TYPES = (
    "ConfigurationUpdate",
    "StateUpdate",
    "Action",
    "AlarmContributorStateUpdate",
    "AlarmContributorAction",
)


@cloudwatch_operation("DescribeAlarmHistory")
def describe_alarm_history(world: World, state: State, params: dict) -> dict:
    kind = params.get("HistoryItemType")
    if kind is not None and kind not in _HISTORY_TYPES:
        raise enum_error(kind, "historyItemType", _HISTORY_TYPES)
    types = params.get("AlarmTypes")
    check_alarm_types(types)
    scan = scan_by(params)
    size = max_records(params, 100)
    start = params.get("StartDate")
    end = params.get("EndDate")
    lo = epoch(start, "StartDate") if start is not None else -math.inf
    hi = epoch(end, "EndDate") if end is not None else math.inf
    name = params.get("AlarmName")
    items = [
        dict(item)
        for item in state.history
        if (name is None or item["AlarmName"] == name)
        and (kind is None or item["HistoryItemType"] == kind)
        and (types is None or "MetricAlarm" in types)
        and lo <= item["Timestamp"].timestamp() <= hi
    ]
    if scan == "TimestampDescending":
        items.reverse()
    page, token = paginate(items, params.get("NextToken"), size, "history")
    out: dict[str, Any] = {"AlarmHistoryItems": page}
    if token:
        out["NextToken"] = token
    return out


# ----- tags -------------------------------------------------------------------------------------


@cloudwatch_operation("ListTagsForResource")
def list_tags_for_resource(world: World, state: State, params: dict) -> dict:
    require(params, "ResourceARN")
    alarm = registry.by_arn(world, params["ResourceARN"])
    return {"Tags": [dict(t) for t in alarm.tags]}


@cloudwatch_operation("TagResource")
def tag_resource(world: World, state: State, params: dict) -> dict:
    require(params, "ResourceARN")
    alarm = registry.by_arn(world, params["ResourceARN"])
    tags = {t["Key"]: t["Value"] for t in alarm.tags}
    tags.update({t["Key"]: t["Value"] for t in params.get("Tags") or []})
    alarm.tags = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {}


@cloudwatch_operation("UntagResource")
def untag_resource(world: World, state: State, params: dict) -> dict:
    require(params, "ResourceARN")
    alarm = registry.by_arn(world, params["ResourceARN"])
    drop = set(params.get("TagKeys") or [])
    alarm.tags = [t for t in alarm.tags if t["Key"] not in drop]
    return {}
