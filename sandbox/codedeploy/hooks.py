"""The strategy that runs lifecycle events on instances (`LifecycleHooks`), and the default
one, which waits a configured duration per event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cutover.sandbox.world import World


@dataclass(frozen=True)
class HookContext:
    """Everything a strategy may need to run one lifecycle event on one instance."""

    world: World
    deployment_id: str
    deployment_group_id: str
    application: str
    deployment_group: str
    instance_id: str
    instance_label: str | None  # Blue, Green, or None for in-place
    event: str
    revision: dict
    revision_label: str
    started: float  # sandbox seconds (World.elapsed) at which the event starts
    duration: float  # the configured duration in sandbox seconds
    # The revision the instance runs as the event starts (Instance.revision): the one whose
    # appspec ApplicationStop and the block-traffic hooks run, as the agent runs them.
    installed_label: str | None = None


@dataclass(frozen=True)
class HookResult:
    """How a lifecycle event ended: `diagnostics` as the API shows them when it failed;
    `at` is when it ended in sandbox seconds (None: when it was noticed)."""

    ok: bool
    diagnostics: dict | None = None
    at: float | None = None


class HookRun(Protocol):
    def poll(self, now: float) -> HookResult | None:
        """None while the event runs; its result once it ended. Must not block."""

    def cancel(self) -> None:
        """The deployment no longer waits for it (stopped or failed elsewhere)."""


class LifecycleHooks(Protocol):
    """Runs the lifecycle events that are scripts on the instance (all but AllowTraffic and
    BlockTraffic). `start` is called under the world lock and must return at once."""

    def start(self, ctx: HookContext) -> HookRun: ...


class TimedRun:
    """A run that ends at sandbox second `ends` with `result` (success when None)."""

    def __init__(self, ends: float, result: HookResult | None = None) -> None:
        self.ends = ends
        self.result = result

    def poll(self, now: float) -> HookResult | None:
        if now < self.ends:
            return None
        if self.result is not None:
            return HookResult(self.result.ok, self.result.diagnostics, self.ends)
        return HookResult(True, None, self.ends)

    def cancel(self) -> None:
        pass


class TimedHooks:
    """The default strategy: every script succeeds after its configured duration."""

    def start(self, ctx: HookContext) -> HookRun:
        return TimedRun(ctx.started + ctx.duration)
