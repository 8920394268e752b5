"""When and how alarms evaluate: at every boundary of their own Period, over their last
EvaluationPeriods complete periods, and what a state change writes to the history."""

from __future__ import annotations

import math

from cutover.sandbox.world import World

from . import alarms as alarm_rules
from .alarms import MetricAlarm, Period
from .metrics import resolve, series
from .state import State, dt, now


def evaluate_due(world: World, state: State) -> None:
    """Evaluate every alarm whose next evaluation is due (the tick hook's part)."""
    elapsed = world.clock.elapsed()
    for alarm in list(world.alarms.values()):
        if isinstance(alarm, MetricAlarm) and elapsed >= alarm.next_evaluation:
            evaluate(world, state, alarm)


def evaluate(world: World, state: State, alarm: MetricAlarm) -> None:
    """Evaluate one alarm now, over its last EvaluationPeriods complete periods.

    Changes the state (with history) when the evaluation says so, and schedules the next
    evaluation at the next boundary of the alarm's Period.
    """
    current = now(world, state)
    period = alarm.period
    end = int(math.floor(current / period) * period)
    start = end - alarm.evaluation_periods * period
    alarm.next_evaluation = end + period - state.anchor
    source = resolve(world, state, alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.unit)
    values = dict(series(world, state, source, start, end, period, alarm.stat))
    samples = dict(series(world, state, source, start, end, period, "SampleCount"))
    periods = [Period(dt(ts), values.get(ts), samples.get(ts)) for ts in range(start, end, period)]
    if _too_few_samples(alarm, periods):
        return
    outcome = alarm_rules.evaluate(alarm, periods, dt(current))
    if outcome is not None and outcome.state != alarm.state_value:
        set_state(world, state, alarm, outcome.state, outcome.reason, outcome.reason_data)


def _too_few_samples(alarm: MetricAlarm, periods: list[Period]) -> bool:
    # EvaluateLowSampleCountPercentile=ignore: a percentile over too few samples to mean
    # anything leaves the state alone (CloudWatch's rule of thumb: 10 / (1 - p) samples).
    if alarm.evaluate_low_sample_count_percentile != "ignore" or not alarm.extended_statistic:
        return False
    p = float(alarm.extended_statistic[1:]) / 100.0
    needed = 10.0 / (1.0 - p) if p < 1.0 else math.inf
    return any(x.value is not None and (x.samples or 0) < needed for x in periods)


def set_state(
    world: World,
    state: State,
    alarm: MetricAlarm,
    value: str,
    reason: str,
    data: str | None,
) -> None:
    """Give the alarm a state; a change of value is a transition, recorded in the history."""
    when = world.now()
    old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data)
    alarm.state_value, alarm.state_reason, alarm.state_reason_data = value, reason, data
    alarm.state_updated = when
    if old[0] == value:
        return
    alarm.state_transitioned = when
    state.record(
        alarm.name,
        when,
        "StateUpdate",
        f"Alarm updated from {old[0]} to {value}",
        alarm_rules.history_data(*old, value, reason, data),
    )
