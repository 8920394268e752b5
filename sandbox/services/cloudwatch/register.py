"""How CloudWatch's operations are registered: each handler gets the world's CloudWatch state,
attached on the first call."""

from __future__ import annotations

import functools
from collections.abc import Callable

from cutover.sandbox.cloudwatch.live import state_of
from cutover.sandbox.cloudwatch.state import State
from cutover.sandbox.services import operation
from cutover.sandbox.world import World

SERVICE = "cloudwatch"


def cloudwatch_operation(name: str) -> Callable[[Callable[[World, State, dict], dict]], Callable]:
    """Register `fn(world, state, params)` as cloudwatch:name, attaching on first use."""

    def register(fn: Callable[[World, State, dict], dict]) -> Callable:
        @functools.wraps(fn)
        def run(world: World, params: dict) -> dict:
            return fn(world, state_of(world), params)

        operation(SERVICE, name)(run)
        return fn

    return register
