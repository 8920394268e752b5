"""Faults that make deployments go wrong, for testing the app: failing lifecycle scripts,
instances that die during an event, replacement instances that never become healthy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cutover.common.lifecycle import IN_PLACE_EVENTS, LOAD_BALANCER_EVENTS
from cutover.sandbox.world import Instance, World

from .diagnostics import LIFECYCLE_ERROR_CODES
from .model import Deployment, DeploymentTarget


@dataclass
class HookFault:
    """A lifecycle script that fails: on `instance_id`, or (None) on the next instance of a
    non-rollback deployment that runs `event`."""

    event: str
    instance_id: str | None = None
    exit_code: int = 1
    script: str | None = None
    error_code: str = "ScriptFailed"
    log_tail: str | None = None
    remaining: int = 1

    def describe(self) -> dict:
        return {
            "event": self.event,
            "instance_id": self.instance_id,
            "exit_code": self.exit_code,
            "script": self.script,
            "error_code": self.error_code,
            "remaining": self.remaining,
        }


@dataclass
class KillFault:
    """An instance that dies (is terminated) as `event` starts on it: on `instance_id`, or
    (None) on the next instance of a non-rollback deployment that runs `event`."""

    event: str
    instance_id: str | None = None
    remaining: int = 1

    def describe(self) -> dict:
        return {"event": self.event, "instance_id": self.instance_id, "remaining": self.remaining}


class DeployFaults:
    """Faults that make deployments go wrong, for testing the app. Methods take the lock."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.hooks: list[HookFault] = []
        self.kills: list[KillFault] = []
        self.unhealthy_replacements = False
        self._made_unhealthy: set[str] = set()

    def fail_hook(
        self,
        event: str,
        instance_id: str | None = None,
        *,
        exit_code: int = 1,
        script: str | None = None,
        error_code: str = "ScriptFailed",
        log_tail: str | None = None,
        times: int = 1,
    ) -> HookFault:
        """Make a lifecycle script fail `times` times (its diagnostics carry a log tail).

        `event` is any lifecycle event but AllowTraffic / BlockTraffic (those are not scripts;
        use `make_replacements_unhealthy` or `kill_instance`). Raises ValueError on bad input.
        """
        if event not in IN_PLACE_EVENTS or event in LOAD_BALANCER_EVENTS:
            raise ValueError(
                f"'{event}' is not a lifecycle hook; choose one of "
                + ", ".join(e for e in IN_PLACE_EVENTS if e not in LOAD_BALANCER_EVENTS)
            )
        if error_code not in LIFECYCLE_ERROR_CODES:
            raise ValueError(f"error_code must be one of {', '.join(LIFECYCLE_ERROR_CODES)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = HookFault(event, instance_id, exit_code, script, error_code, log_tail, times)
        with self.world.lock:
            self.hooks.append(fault)
        return fault

    def kill_instance(
        self, event: str, instance_id: str | None = None, *, times: int = 1
    ) -> KillFault:
        """Terminate an instance as `event` starts on it; the event then fails."""
        if event not in IN_PLACE_EVENTS:
            raise ValueError(f"'{event}' is not a lifecycle event")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = KillFault(event, instance_id, times)
        with self.world.lock:
            self.kills.append(fault)
        return fault

    def make_replacements_unhealthy(self, on: bool = True) -> None:
        """While on, every instance that installs a revision in a non-rollback deployment
        answers 503 from then on (`fault.unhealthy`), so AllowTraffic times out. Turning it
        off heals the instances it made unhealthy."""
        with self.world.lock:
            self.unhealthy_replacements = on
            if not on:
                for iid in self._made_unhealthy:
                    inst = self.world.instances.get(iid)
                    if inst is not None:
                        inst.fault.unhealthy = False
                self._made_unhealthy.clear()

    def clear(self) -> None:
        """Remove every deployment fault and heal instances made unhealthy by one."""
        with self.world.lock:
            self.hooks.clear()
            self.kills.clear()
            self.make_replacements_unhealthy(False)

    def describe(self) -> dict:
        """JSON-ready summary of the faults that are set."""
        with self.world.lock:
            return {
                "hook_failures": [f.describe() for f in self.hooks],
                "instance_kills": [f.describe() for f in self.kills],
                "unhealthy_replacements": self.unhealthy_replacements,
            }

    # The engine calls these under the lock.

    def take(self, faults: list, dep: Deployment, target: DeploymentTarget, event: str) -> Any:
        for fault in faults:
            if fault.event != event:
                continue
            if fault.instance_id is None and dep.is_rollback:
                continue
            if fault.instance_id not in (None, target.instance_id):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.remove(fault)
            return fault
        return None

    def note_installed(self, dep: Deployment, inst: Instance) -> None:
        if dep.is_rollback:
            if inst.id in self._made_unhealthy:
                inst.fault.unhealthy = False
                self._made_unhealthy.discard(inst.id)
        elif self.unhealthy_replacements:
            inst.fault.unhealthy = True
            self._made_unhealthy.add(inst.id)
