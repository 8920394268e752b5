"""CloudWatch attached to a world: its state, host counts sampled and alarms evaluated on
every tick of the world."""

from __future__ import annotations

import functools
import logging
import weakref

from cutover.sandbox.dataplane.metrics import RequestMetrics
from cutover.sandbox.world import World

from .alarms import MetricAlarm
from .evaluation import evaluate, evaluate_due
from .metrics import sample_hosts
from .state import State, anchor_of

log = logging.getLogger("cutover.sandbox.cloudwatch")

_STATES: weakref.WeakKeyDictionary[World, State] = weakref.WeakKeyDictionary()


def attach(world: World) -> None:
    """Start CloudWatch for `world` (idempotent): host-count sampling and alarm evaluation.

    Adds one tick hook, and a RequestMetrics when the world has none. Every CloudWatch
    operation attaches on its own; whoever starts a world should call this at once so
    HealthyHostCount history starts with the world rather than with the first API call.
    """
    state_of(world)


def state_of(world: World) -> State:
    """The world's CloudWatch state, attaching CloudWatch on first use."""
    with world.lock:
        state = _STATES.get(world)
        if state is None:
            if world.metrics is None:
                world.metrics = RequestMetrics(world.clock)
            state = _STATES[world] = State(anchor=anchor_of(world.clock))
            world.tick_hooks.append(functools.partial(_tick, world))
            sample_hosts(world, state)
        return state


def _tick(world: World) -> None:
    state = _STATES.get(world)
    if state is None:
        return
    try:
        sample_hosts(world, state)
        evaluate_due(world, state)
    except Exception:  # a CloudWatch bug must not stop the world's other hooks
        log.exception("cloudwatch tick failed")


def evaluate_alarm(world: World, alarm: MetricAlarm) -> None:
    """Evaluate one alarm now (see evaluation.evaluate); the caller holds the world's lock."""
    evaluate(world, state_of(world), alarm)
