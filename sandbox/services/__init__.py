"""The sandbox's AWS services: each module registers the operations it serves.

An operation is a plain function `(world, params) -> dict`: params are exactly the boto3
call's keyword arguments and the result is exactly what boto3 returns (without
ResponseMetadata). The wire layer does all encoding and decoding.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import World, WorldError

Operation = Callable[[World, dict], dict]

REGISTRY: dict[str, dict[str, Operation]] = {}

SERVICE_MODULES = ("ec2", "autoscaling", "elbv2", "elb", "sts", "codedeploy", "cloudwatch")


def operation(service: str, name: str) -> Callable[[Operation], Operation]:
    """Register `fn` as the sandbox's implementation of service:name."""

    def register(fn: Operation) -> Operation:
        REGISTRY.setdefault(service, {})[name] = fn
        return fn

    return register


def load_all() -> None:
    for module in SERVICE_MODULES:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{module}":
                raise


def served(service: str, name: str) -> bool:
    return name in REGISTRY.get(service, {})


def dispatch(world: World, service: str, name: str, params: dict) -> dict:
    """Run one operation under the world lock; rule violations become modeled AWS errors."""
    fn = REGISTRY[service][name]
    try:
        with world.lock:
            return fn(world, params)
    except WorldError as exc:
        raise ApiError(exc.code, exc.message) from None
