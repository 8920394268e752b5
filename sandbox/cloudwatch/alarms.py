"""CloudWatch metric alarms: the alarm object and how one evaluation decides its state.

`MetricAlarm` is what `world.alarms[name]` holds (the CodeDeploy engine reads only its
`state_value`: "OK", "ALARM" or "INSUFFICIENT_DATA"). `evaluate` is pure: given the alarm and
the value of each of its last EvaluationPeriods periods it returns the state CloudWatch would
choose, with the StateReason and StateReasonData in CloudWatch's own words and layout. The
CloudWatch service (cutover.sandbox.services.cloudwatch) fetches the datapoints, schedules
evaluations and keeps the history.

Missing data follows CloudWatch's rules for an M out of N alarm (DatapointsToAlarm M,
EvaluationPeriods N):
- `breaching` / `notBreaching`: a period without data counts as breaching / not breaching.
- `missing` (the default): periods without data are left out; with no data at all the alarm
  goes to INSUFFICIENT_DATA; with fewer datapoints than M, it needs all of them to breach.
- `ignore`: like `missing`, except that with no data at all the alarm keeps its state.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

TREAT_MISSING = ("breaching", "notBreaching", "ignore", "missing")

# Static-threshold comparisons: (test, the words CloudWatch uses in a state reason).
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
# Band comparisons need an anomaly detection model (ThresholdMetricId).
BAND_COMPARISONS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)

INITIAL_REASON = "Unchecked: Initial alarm creation"


@dataclass
class MetricAlarm:
    """One metric alarm as PutMetricAlarm configured it, plus its live state."""

    name: str
    arn: str
    namespace: str
    metric_name: str
    dimensions: list[dict[str, str]]
    period: int
    evaluation_periods: int
    threshold: float
    comparison: str
    created: datetime
    statistic: str | None = None
    extended_statistic: str | None = None
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    unit: str | None = None
    description: str | None = None
    actions_enabled: bool = True
    ok_actions: list[str] = field(default_factory=list)
    alarm_actions: list[str] = field(default_factory=list)
    insufficient_data_actions: list[str] = field(default_factory=list)
    evaluate_low_sample_count_percentile: str | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    state_value: str = INSUFFICIENT_DATA
    state_reason: str = INITIAL_REASON
    state_reason_data: str | None = None
    state_updated: datetime | None = None
    state_transitioned: datetime | None = None
    config_updated: datetime | None = None
    # Sandbox seconds (Clock.elapsed) at which the next evaluation is due.
    next_evaluation: float = 0.0

    def __post_init__(self) -> None:
        self.state_updated = self.state_updated or self.created
        self.state_transitioned = self.state_transitioned or self.created
        self.config_updated = self.config_updated or self.created

    @property
    def stat(self) -> str:
        """The statistic the alarm watches: Statistic, or the ExtendedStatistic (pNN)."""
        return self.statistic or self.extended_statistic or "Average"

    @property
    def required(self) -> int:
        """M: how many breaching datapoints the alarm needs to go to ALARM."""
        return self.datapoints_to_alarm or self.evaluation_periods

    def breaches(self, value: float) -> bool:
        test, _ = COMPARISONS[self.comparison]
        return test(value, self.threshold)

    def describe(self) -> dict[str, Any]:
        """The MetricAlarm structure DescribeAlarms returns (optional members only when set)."""
        out: dict[str, Any] = {
            "AlarmName": self.name,
            "AlarmArn": self.arn,
        }
        if self.description is not None:
            out["AlarmDescription"] = self.description
        out.update(
            {
                "AlarmConfigurationUpdatedTimestamp": self.config_updated,
                "ActionsEnabled": self.actions_enabled,
                "OKActions": list(self.ok_actions),
                "AlarmActions": list(self.alarm_actions),
                "InsufficientDataActions": list(self.insufficient_data_actions),
                "StateValue": self.state_value,
                "StateReason": self.state_reason,
            }
        )
        if self.state_reason_data is not None:
            out["StateReasonData"] = self.state_reason_data
        out.update(
            {
                "StateUpdatedTimestamp": self.state_updated,
                "MetricName": self.metric_name,
                "Namespace": self.namespace,
            }
        )
        if self.statistic:
            out["Statistic"] = self.statistic
        if self.extended_statistic:
            out["ExtendedStatistic"] = self.extended_statistic
        out["Dimensions"] = [dict(d) for d in self.dimensions]
        out["Period"] = self.period
        if self.unit:
            out["Unit"] = self.unit
        out["EvaluationPeriods"] = self.evaluation_periods
        if self.datapoints_to_alarm is not None:
            out["DatapointsToAlarm"] = self.datapoints_to_alarm
        out["Threshold"] = float(self.threshold)
        out["ComparisonOperator"] = self.comparison
        if self.treat_missing_data is not None:
            out["TreatMissingData"] = self.treat_missing_data
        if self.evaluate_low_sample_count_percentile is not None:
            out["EvaluateLowSampleCountPercentile"] = self.evaluate_low_sample_count_percentile
        out["StateTransitionedTimestamp"] = self.state_transitioned
        return out

    def history_config(self) -> dict[str, Any]:
        """The alarm's configuration as ConfigurationUpdate history items spell it."""
        out: dict[str, Any] = {
            "alarmName": self.name,
            "alarmArn": self.arn,
            "namespace": self.namespace,
            "metricName": self.metric_name,
            "dimensions": [{"name": d["Name"], "value": d["Value"]} for d in self.dimensions],
            "period": self.period,
            "evaluationPeriods": self.evaluation_periods,
            "threshold": float(self.threshold),
            "comparisonOperator": self.comparison,
            "actionsEnabled": self.actions_enabled,
            "okactions": list(self.ok_actions),
            "alarmActions": list(self.alarm_actions),
            "insufficientDataActions": list(self.insufficient_data_actions),
            "timestamp": iso_millis(self.config_updated or self.created),
        }
        if self.statistic:
            out["statistic"] = self.statistic.upper()
        if self.extended_statistic:
            out["extendedStatistic"] = self.extended_statistic
        if self.datapoints_to_alarm is not None:
            out["datapointsToAlarm"] = self.datapoints_to_alarm
        if self.treat_missing_data is not None:
            out["treatMissingData"] = self.treat_missing_data
        if self.description is not None:
            out["alarmDescription"] = self.description
        if self.unit:
            out["unit"] = self.unit
        return out


@dataclass
class Period:
    """One evaluated period: its start, the statistic's value (None: no data), sample count."""

    start: datetime
    value: float | None
    samples: float | None = None


@dataclass
class Outcome:
    """What one evaluation decided: the state, and the reason in CloudWatch's words."""

    state: str
    reason: str
    reason_data: str


def evaluate(alarm: MetricAlarm, periods: list[Period], query_date: datetime) -> Outcome | None:
    """Decide the alarm's state from its last EvaluationPeriods periods, oldest first.

    Returns None when the alarm keeps its state whatever it is (TreatMissingData `ignore`
    with no data at all). The Outcome's state may equal the current one; the caller decides
    whether that is a transition.
    """
    treat = alarm.treat_missing_data or "missing"
    present = [p for p in periods if p.value is not None]
    missing = len(periods) - len(present)
    m = alarm.required
    n = alarm.evaluation_periods
    start = periods[0].start if periods else query_date
    data = _reason_data(alarm, present, start, query_date)

    if not present:
        if treat == "ignore":
            return None
        if treat == "missing":
            return Outcome(
                INSUFFICIENT_DATA,
                f"Insufficient Data: {_count(missing, 'datapoint')} "
                f"{'was' if missing == 1 else 'were'} unknown.",
                data,
            )
        breaching = treat == "breaching"
        state = ALARM if breaching and missing >= m else OK
        return Outcome(
            state,
            f"Threshold Crossed: no datapoints were received for {_count(missing, 'period')} "
            f"and {_count(missing, 'missing datapoint')} "
            f"{'was' if missing == 1 else 'were'} treated as "
            f"[{'Breaching' if breaching else 'NonBreaching'}].",
            data,
        )

    hits = [p for p in present if alarm.breaches(p.value or 0.0)]
    calm = [p for p in present if not alarm.breaches(p.value or 0.0)]
    if treat in ("breaching", "notBreaching"):
        filled_breaching = missing if treat == "breaching" else 0
        filled_calm = missing - filled_breaching
        evaluated = n
        needed = m
    else:
        filled_breaching = filled_calm = 0
        evaluated = len(present)
        # With fewer datapoints than M, CloudWatch decides on the ones it has.
        needed = min(m, len(present))
    breaching_count = len(hits) + filled_breaching
    _, words = COMPARISONS[alarm.comparison]
    threshold = java_double(alarm.threshold)
    if breaching_count >= needed:
        listed, count = hits, breaching_count
        verb = "was" if count == 1 else "were"
        reason = (
            f"Threshold Crossed: {count} out of the last {evaluated} datapoints "
            f"[{_points(listed)}] {verb} {words} the threshold ({threshold}) "
            f"(minimum {_count(m, 'datapoint')} for OK -> ALARM transition)."
        )
        return Outcome(ALARM, reason, data)
    count = len(calm) + filled_calm
    verb = "was" if count == 1 else "were"
    reason = (
        f"Threshold Crossed: {count} out of the last {evaluated} datapoints "
        f"[{_points(calm)}] {verb} not {words} the threshold ({threshold}) "
        f"(minimum {_count(n - m + 1, 'datapoint')} for ALARM -> OK transition)."
    )
    return Outcome(OK, reason, data)


def history_data(
    old_state: str,
    old_reason: str,
    old_data: str | None,
    new_state: str,
    new_reason: str,
    new_data: str | None,
) -> str:
    """HistoryData of a StateUpdate history item: the old and the new state, as JSON."""

    def state(value: str, reason: str, data: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"stateValue": value, "stateReason": reason}
        if data:
            try:
                out["stateReasonData"] = json.loads(data)
            except ValueError:
                out["stateReasonData"] = data
        return out

    return json.dumps(
        {
            "version": "1.0",
            "oldState": state(old_state, old_reason, old_data),
            "newState": state(new_state, new_reason, new_data),
        },
        separators=(",", ":"),
    )


# ----- formatting ---------------------------------------------------------------------------


def iso_millis(moment: datetime | None) -> str:
    """`2026-11-26T14:03:00.000+0000`, the timestamp layout of CloudWatch's JSON documents."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def java_double(value: float) -> str:
    """A number as Java prints a double (CloudWatch's state reasons do): 12.0, 0.5, 1.0E7."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)
    # Shortest digits that read back as the same double (repr's), in Java's d.dddE<n> form.
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) - 1 + int(exponent)
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _points(periods: list[Period]) -> str:
    # Newest first, as CloudWatch lists them.
    return ", ".join(
        f"{java_double(p.value or 0.0)} ({p.start.astimezone(UTC):%d/%m/%y %H:%M:%S})"
        for p in sorted(periods, key=lambda p: p.start, reverse=True)
    )


def _reason_data(
    alarm: MetricAlarm, present: list[Period], start: datetime, query_date: datetime
) -> str:
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": iso_millis(query_date),
        "startDate": iso_millis(start),
    }
    if alarm.statistic:
        data["statistic"] = alarm.statistic
    else:
        data["extendedStatistic"] = alarm.extended_statistic
    if alarm.unit:
        data["unit"] = alarm.unit
    data["period"] = alarm.period
    data["recentDatapoints"] = [float(p.value or 0.0) for p in present]
    data["threshold"] = float(alarm.threshold)
    evaluated = []
    for p in sorted(present, key=lambda p: p.start, reverse=True):
        point: dict[str, Any] = {"timestamp": iso_millis(p.start)}
        if p.samples is not None:
            point["sampleCount"] = float(p.samples)
        point["value"] = float(p.value or 0.0)
        evaluated.append(point)
    data["evaluatedDatapoints"] = evaluated
    return json.dumps(data, separators=(",", ":"))
