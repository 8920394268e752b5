"""The metric alarms of a world as the API changes them: found by name or ARN, created or
updated, deleted all or nothing, each change recorded in the alarm history."""

from __future__ import annotations

import json
from typing import Any

from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import World

from .alarms import MetricAlarm
from .state import State


def metric_alarms(world: World) -> list[MetricAlarm]:
    """Every metric alarm, by name."""
    return sorted(
        (a for a in world.alarms.values() if isinstance(a, MetricAlarm)), key=lambda a: a.name
    )


def by_name(world: World, name: str) -> MetricAlarm:
    alarm = world.alarms.get(name)
    if not isinstance(alarm, MetricAlarm):
        raise ApiError("ResourceNotFound", f"Alarm {name} not found")
    return alarm


def by_arn(world: World, arn: str) -> MetricAlarm:
    for alarm in world.alarms.values():
        if isinstance(alarm, MetricAlarm) and alarm.arn == arn:
            return alarm
    raise ApiError("ResourceNotFoundException", f"Alarm {arn} not found")


def _data(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))


def put(world: World, state: State, name: str, config: dict[str, Any], tags: list[dict]) -> None:
    """Create the alarm `name` with `config` (MetricAlarm's fields), or update it.

    An update overwrites the whole configuration and keeps the state and the tags (`tags`
    count only for a new alarm). Either way the alarm evaluates at the next tick.
    """
    now = world.now()
    existing = world.alarms.get(name)
    if isinstance(existing, MetricAlarm):
        before = existing.history_config()
        for key, value in config.items():
            setattr(existing, key, value)
        existing.config_updated = now
        existing.next_evaluation = world.clock.elapsed()
        update = {
            "version": "1.0",
            "type": "Update",
            "originalUpdatedAlarm": before,
            "updatedAlarm": existing.history_config(),
        }
        state.record(name, now, "ConfigurationUpdate", f'Alarm "{name}" updated', _data(update))
        return
    alarm = MetricAlarm(
        name=name,
        arn=world.arn("cloudwatch", f"alarm:{name}"),
        created=now,
        tags=[{"Key": t["Key"], "Value": t["Value"]} for t in tags],
        next_evaluation=world.clock.elapsed(),
        **config,
    )
    world.alarms[name] = alarm
    create = {"version": "1.0", "type": "Create", "createdAlarm": alarm.history_config()}
    state.record(name, now, "ConfigurationUpdate", f'Alarm "{name}" created', _data(create))


def delete(world: World, state: State, names: list[str]) -> None:
    """Delete the alarms `names`; one unknown name and none is deleted, as AWS documents."""
    unknown = [n for n in names if not isinstance(world.alarms.get(n), MetricAlarm)]
    if unknown:
        raise ApiError(
            "ResourceNotFound",
            f"{len(unknown)} of the alarms you specified were not found: [{', '.join(unknown)}]",
        )
    now = world.now()
    for name in dict.fromkeys(names):
        alarm = world.alarms.pop(name)
        delete = {"version": "1.0", "type": "Delete", "deletedAlarm": alarm.history_config()}
        state.record(name, now, "ConfigurationUpdate", f'Alarm "{name}" deleted', _data(delete))


def set_actions_enabled(world: World, names: list[str], enabled: bool) -> None:
    """Switch the actions of the named alarms on or off; unknown names are ignored."""
    for name in names:
        alarm = world.alarms.get(name)
        if isinstance(alarm, MetricAlarm):
            alarm.actions_enabled = enabled
