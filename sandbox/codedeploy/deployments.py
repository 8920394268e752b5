"""Starting a deployment as CreateDeployment asks (what may be deployed where: one active
deployment per group, a known config, the replacement instances of a blue/green group), and
finding deployments and targets as the List calls filter them."""

from __future__ import annotations

from datetime import datetime

from cutover.sandbox.wire import enum_of
from cutover.sandbox.world import World, WorldError

from .groupsettings import alarm_config, auto_rollback, check_groups_exist, tag_filters
from .model import Deployment, DeploymentGroup, DeploymentTarget
from .revisions import revision_location
from .state import CodeDeploy

FILE_EXISTS = enum_of("codedeploy", "FileExistsBehavior")


def create_deployment(
    cd: CodeDeploy,
    grp: DeploymentGroup,
    params: dict,
) -> Deployment:
    """Start a deployment of CreateDeployment's `revision` (or the group's target revision)
    to the group.

    One deployment at a time per group (DeploymentLimitExceededException names the active
    one). Blue/green with DISCOVER_EXISTING needs `targetInstances`.
    """
    raw = params.get("revision")
    if raw is None and grp.target_revision is None:
        raise WorldError("RevisionRequiredException", "The revision ID was not specified.")
    revision = revision_location(raw) if raw is not None else grp.target_revision
    assert revision is not None
    config = params.get("deploymentConfigName") or grp.spec["deploymentConfigName"]
    if config not in cd.configs:
        raise WorldError(
            "DeploymentConfigDoesNotExistException", f"No deployment config named {config}"
        )
    file_exists = params.get("fileExistsBehavior")
    if file_exists is not None and file_exists not in FILE_EXISTS:
        raise WorldError(
            "InvalidFileExistsBehaviorException",
            f"The fileExistsBehavior {file_exists} is invalid.",
        )
    rollback = None
    if params.get("autoRollbackConfiguration") is not None:
        rollback = auto_rollback(params["autoRollbackConfiguration"])
    alarms = None
    if params.get("overrideAlarmConfiguration") is not None:
        alarms = alarm_config(params["overrideAlarmConfiguration"])
    world = cd.world
    check_groups_exist(world, [e["name"] for e in grp.spec["autoScalingGroups"]])
    targets = _replacement_targets(world, grp.spec, params.get("targetInstances"))
    active = cd.active_deployment(grp.application, grp.name)
    if active is not None:
        raise WorldError(
            "DeploymentLimitExceededException",
            f"The Deployment Group '{grp.name}' already has an active Deployment '{active.id}'",
        )
    dep = cd.new_deployment(
        grp,
        revision=revision,
        config=config,
        description=params.get("description"),
        auto_rollback=rollback,
        alarms=alarms,
        target_instances=targets,
        ignore_stop_failures=bool(params.get("ignoreApplicationStopFailures")),
        update_outdated_only=bool(params.get("updateOutdatedInstancesOnly")),
        file_exists=file_exists,
        ec2_options=params.get("ec2DeploymentOptions"),
    )
    cd.start_deployment(dep)
    return dep


def _replacement_targets(world: World, spec: dict, targets: dict | None) -> dict | None:
    """The targetInstances of a blue/green deployment that discovers its replacement
    instances (None otherwise), checked."""
    blue_green = spec["deploymentStyle"]["deploymentType"] == "BLUE_GREEN"
    if targets is not None and not blue_green:
        raise WorldError(
            "InvalidTargetInstancesException",
            "targetInstances can only be specified for a blue/green deployment.",
        )
    if not blue_green:
        return targets
    action = spec["blueGreenDeploymentConfiguration"]["greenFleetProvisioningOption"]["action"]
    if action != "DISCOVER_EXISTING":
        return None
    names = (targets or {}).get("autoScalingGroups") or []
    filters = (targets or {}).get("tagFilters") or []
    tag_set = ((targets or {}).get("ec2TagSet") or {}).get("ec2TagSetList") or []
    if not names and not filters and not tag_set:
        raise WorldError(
            "InvalidTargetInstancesException",
            "The target instances for the replacement environment were not specified.",
        )
    check_groups_exist(world, names)
    targets = {k: v for k, v in (targets or {}).items() if v}
    if filters:
        targets["tagFilters"] = tag_filters(filters)
    return targets


def find_deployments(
    cd: CodeDeploy,
    group: DeploymentGroup | None,
    statuses: list[str],
    start: datetime | None,
    end: datetime | None,
) -> list[Deployment]:
    """Deployments (of one group, when given) with one of the statuses (any when none) created
    between start and end, newest first."""
    deps = list(cd.deployments.values())
    if group is not None:
        deps = [d for d in deps if d.application == group.application and d.group == group.name]
    if statuses:
        deps = [d for d in deps if d.status in statuses]
    if start is not None and end is not None and start > end:
        raise WorldError(
            "InvalidTimeRangeException", "The start time of the time range is after its end."
        )
    if start is not None:
        deps = [d for d in deps if d.created >= start]
    if end is not None:
        deps = [d for d in deps if d.created <= end]
    # Ties broken by id, so the order is total and a page token can name where it stopped.
    deps.sort(key=lambda d: (d.created, d.id), reverse=True)
    return deps


def target(dep: Deployment, target_id: str | None) -> DeploymentTarget:
    if not target_id:
        raise WorldError(
            "DeploymentTargetIdRequiredException", "A deployment target ID was not provided."
        )
    t = dep.targets.get(target_id)
    if t is None:
        raise WorldError(
            "DeploymentTargetDoesNotExistException",
            f"The provided target ID {target_id} does not belong to the deployment {dep.id}.",
        )
    return t
