"""Stages: one segment of lifecycle events run over a set of targets, as many at once as the
deployment config's minimum healthy hosts allow."""

from __future__ import annotations

from collections.abc import Iterable

from .endings import failed, finish
from .events import begin_target, drive
from .model import Deployment, DeploymentTarget, minimum_healthy
from .state import CodeDeploy


class Stage:
    """One segment of lifecycle events over a set of targets, as many at once as the minimum
    healthy hosts allow. `step` returns None while running, then "ok" or "failed"."""

    def __init__(
        self,
        targets: list[DeploymentTarget],
        events: tuple[str, ...],
        started: float,
        *,
        fleet: int,
        minimum: int,
        cap: int | None,
        failed_before: int,
        strict: bool,
        done_status: str,
    ) -> None:
        self.pending = list(targets)
        self.running: list[DeploymentTarget] = []
        self.ok: list[DeploymentTarget] = []
        self.failed: list[DeploymentTarget] = []
        self.events = events
        self.started = started
        self.finished_at = started
        self.fleet = fleet
        self.minimum = minimum
        self.cap = cap
        self.failed_before = failed_before
        self.strict = strict
        self.done_status = done_status

    def _can_start(self) -> bool:
        if self.cap is not None and len(self.running) >= self.cap:
            return False
        if self.strict:
            # Every target must succeed; batches still follow the config.
            batch = max(1, self.fleet - self.minimum)
            return len(self.running) < batch
        failed = self.failed_before + len(self.failed)
        return self.fleet - failed - len(self.running) - 1 >= self.minimum

    def step(self, cd: CodeDeploy, dep: Deployment, now: float) -> str | None:
        progress = True
        while progress:
            progress = False
            for t in list(self.running):
                outcome = drive(cd, dep, t, now)
                if outcome is None:
                    continue
                self.running.remove(t)
                self.finished_at = max(self.finished_at, t.clock)
                if outcome == "ok":
                    t.status = self.done_status
                    self.ok.append(t)
                else:
                    self.failed.append(t)
                progress = True
            if self.failed and self.strict:
                return "failed"
            while self.pending and self._can_start():
                t = self.pending.pop(0)
                begin_target(cd, dep, t, self.events, self.finished_at)
                self.running.append(t)
                progress = True
        if self.running:
            return None
        if self.pending:
            return "failed"
        if self.strict:
            return "ok"
        return "ok" if len(self.ok) >= max(self.minimum, 1) else "failed"


def step_stage(cd: CodeDeploy, dep: Deployment, now: float) -> bool:
    """Step the current stage: True once it has finished well. A failed stage fails the
    deployment here, so callers only move on."""
    outcome = dep.stage.step(cd, dep, now)
    if outcome == "failed":
        failed(cd, dep)
    return outcome is not None and outcome != "failed"


def begin_stage(
    cd: CodeDeploy,
    dep: Deployment,
    targets: list[DeploymentTarget],
    events: Iterable[str],
    at: float,
    *,
    strict: bool = False,
    failed_before: int = 0,
    done_status: str = "Succeeded",
) -> None:
    cfg_min, cap = minimum_healthy(dep.min_type, dep.min_value, len(targets) + failed_before)
    dep.stage = Stage(
        targets,
        tuple(events),
        at,
        fleet=len(targets) + failed_before,
        minimum=cfg_min,
        cap=cap,
        failed_before=failed_before,
        strict=strict,
        done_status=done_status,
    )


def check_constraints(cd: CodeDeploy, dep: Deployment, fleet: int) -> bool:
    if dep.min_type == "MOST_CONCURRENCY" or fleet == 0:
        return True
    minimum, _ = minimum_healthy(dep.min_type, dep.min_value, fleet)
    if minimum < fleet:
        return True
    finish(
        cd,
        dep,
        "Failed",
        "HEALTH_CONSTRAINTS_INVALID",
        f"The deployment failed because the minimum number of healthy instances ({minimum})"
        f" is not less than the number of instances in the deployment ({fleet}). Choose a "
        "deployment configuration with a lower minimum number of healthy hosts, or add "
        "instances.",
        rollback=False,
    )
    return False
