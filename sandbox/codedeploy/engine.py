"""The engine attached to a world: `state(world)` (CodeDeploy at `world.deploy`, moved by a
tick hook), `configure` (its settings), `tick` (time passes) and `record_past_deployment`
(history seeded by scenarios and tests)."""

from __future__ import annotations

import functools
import logging
from typing import Any

from cutover.common.lifecycle import (
    FINISHED_STATUSES,
    IN_PLACE_EVENTS,
    LOAD_BALANCER_EVENTS,
)
from cutover.sandbox.world import World, WorldError

from .alarms import alarms_stop
from .endings import finish
from .history import default_revision, point_group, record_outcome
from .hooks import LifecycleHooks
from .launches import heartbeat, start_follow_on, start_launch_deployments
from .phases import advance
from .state import CodeDeploy

log = logging.getLogger("cutover.sandbox")


def state(world: World) -> CodeDeploy:
    """The world's CodeDeploy state, created and attached (with its tick hook) on first use."""
    with world.lock:
        if not isinstance(world.deploy, CodeDeploy):
            world.deploy = CodeDeploy(world)
            world.tick_hooks.append(functools.partial(tick, world.deploy))
        return world.deploy


_UNSET: Any = object()


def configure(
    world: World,
    *,
    durations: dict[str, float] | None = None,
    hooks: LifecycleHooks | None = None,
    allow_traffic_timeout: float | None = _UNSET,
    block_traffic_margin: float | None = None,
    provision_timeout: float | None = None,
    min_real_timeout: float | None = None,
) -> CodeDeploy:
    """Change how the engine runs; returns the state. Only the arguments given change.

    `durations` maps lifecycle event names to sandbox seconds (AllowTraffic and BlockTraffic
    take as long as the load balancers need and cannot be set); `hooks` replaces the strategy
    that runs lifecycle scripts; `allow_traffic_timeout` (sandbox seconds, None: derived from
    the health checks) bounds AllowTraffic. Raises ValueError on an unknown event name or a
    negative number.
    """
    cd = state(world)
    with world.lock:
        if durations:
            for name, seconds in durations.items():
                if name not in IN_PLACE_EVENTS or name in LOAD_BALANCER_EVENTS:
                    raise ValueError(f"no duration can be set for '{name}'")
                if seconds < 0:
                    raise ValueError(f"the duration of {name} must not be negative")
            cd.settings.durations.update({k: float(v) for k, v in durations.items()})
        if hooks is not None:
            cd.hooks = hooks
        if allow_traffic_timeout is not _UNSET:
            if allow_traffic_timeout is not None and allow_traffic_timeout <= 0:
                raise ValueError("allow_traffic_timeout must be positive")
            cd.settings.allow_traffic_timeout = allow_traffic_timeout
        for name, value in (
            ("block_traffic_margin", block_traffic_margin),
            ("provision_timeout", provision_timeout),
            ("min_real_timeout", min_real_timeout),
        ):
            if value is not None:
                if value < 0:
                    raise ValueError(f"{name} must not be negative")
                setattr(cd.settings, name, float(value))
    return cd


def tick(cd: CodeDeploy) -> None:
    """Start deployments for launching instances, advance every active deployment to now,
    then start follow-on deployments (the world calls this under its lock)."""
    now = cd.world.elapsed()
    start_launch_deployments(cd)
    for dep in [d for d in cd.deployments.values() if d.active]:
        try:
            if dep.launch is not None:
                heartbeat(cd, dep, now)
            if dep.stop_rollback is None and not dep.is_rollback and alarms_stop(cd, dep):
                continue
            advance(cd, dep, now)
        except Exception as exc:
            # A world rule refused something the engine did (a group vanished under it),
            # or a bug: that deployment fails; the world's tick and its other hooks go on.
            if not isinstance(exc, WorldError):
                log.exception("deployment %s failed in the engine", dep.id)
            if dep.active:
                message = exc.message if isinstance(exc, WorldError) else repr(exc)
                finish(cd, dep, "Failed", "INTERNAL_ERROR", message, rollback=False)
    for grp in list(cd.groups.values()):
        if grp.follow_on is not None:
            start_follow_on(cd, grp)


def record_past_deployment(
    world: World,
    application: str,
    group: str,
    revision_label: str,
    status: str = "Succeeded",
    *,
    ago: float = 3600.0,
    duration: float = 600.0,
    revision: dict | None = None,
    description: str | None = None,
    creator: str = "user",
    config: str | None = None,
) -> str:
    """Seed history: a finished deployment of `revision_label` that was created `ago` sandbox
    seconds before now and took `duration`. Returns its id.

    The application and deployment group must exist (DeploymentGroupDoesNotExistException
    otherwise). The revision defaults to `s3://<application>-revisions/<application>/
    <label>.zip`. Its targets are the group's current instances with every event finished.
    The group's lastAttemptedDeployment (and, when Succeeded, lastSuccessfulDeployment and
    targetRevision) point at it unless a newer deployment already does; ListDeployments shows
    it in creation order.
    """
    if status not in FINISHED_STATUSES:
        raise ValueError(f"status must be one of {', '.join(FINISHED_STATUSES)}")
    cd = state(world)
    with world.lock:
        grp = cd.group(application, group)
        config = config or grp.spec["deploymentConfigName"]
        if config not in cd.configs:
            raise WorldError(
                "DeploymentConfigDoesNotExistException", f"No deployment config named {config}"
            )
        location = revision or default_revision(application, revision_label)
        now = world.elapsed()
        created = cd.at(now - ago)
        finished = cd.at(now - ago + duration)
        dep = cd.new_deployment(
            grp,
            revision=location,
            config=config,
            creator=creator,
            description=description,
            created=created,
        )
        dep.label = revision_label
        record_outcome(cd, dep, grp, status, finished)
        cd.deployments[dep.id] = dep
        cd.note_revision_use(grp, location, created)
        point_group(cd, grp, dep)
        return dep.id


def link_rollback(world: World, failed_id: str, rollback_id: str) -> None:
    """Seeded history: `rollback_id` (created by `codeDeployRollback`) is the rollback of
    `failed_id`, as CodeDeploy links the two in their rollbackInfo."""
    cd = state(world)
    with world.lock:
        dep, rb = cd.deployments[failed_id], cd.deployments[rollback_id]
        rb.rollback_of = dep.id
        rb.rollback_info = {
            "rollbackTriggeringDeploymentId": dep.id,
            "rollbackMessage": f"Rollback of deployment {dep.id}",
        }
        dep.rollback_info = {
            "rollbackDeploymentId": rb.id,
            "rollbackMessage": f"Deployment {dep.id} is being rolled back by {rb.id}",
        }
