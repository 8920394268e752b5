"""CodeDeploy's API handlers for deployments, their targets and (the older calls) their
instances."""

from __future__ import annotations

from cutover.sandbox import codedeploy
from cutover.sandbox.codedeploy import DeploymentTarget, deployments, views
from cutover.sandbox.services import operation
from cutover.sandbox.wire import enum_of
from cutover.sandbox.world import World

from .common import (
    BAD_TOKEN,
    DEPLOYMENT_BATCH_LIMIT,
    LABELS,
    PAGE,
    SERVICE,
    STATUSES,
    TARGET_STATUSES,
    application_name,
    cursor_of,
    cursor_token,
    deployment,
    deployment_group_name,
    deployment_id,
    err,
    paged,
    state,
)

# ----- deployments -----------------------------------------------------------------------------


@operation(SERVICE, "CreateDeployment")
def create_deployment(world: World, params: dict) -> dict:
    cd = state(world)
    app = cd.application(application_name(params))
    grp = cd.group(app.name, deployment_group_name(params))
    return {"deploymentId": deployments.create_deployment(cd, grp, params).id}


@operation(SERVICE, "GetDeployment")
def get_deployment(world: World, params: dict) -> dict:
    dep = deployment(world, params.get("deploymentId"))
    return {"deploymentInfo": views.deployment_info(dep)}


@operation(SERVICE, "BatchGetDeployments")
def batch_get_deployments(world: World, params: dict) -> dict:
    """Known deployments among the ids, in the order asked; unknown ids are left out."""
    cd = state(world)
    ids = params.get("deploymentIds") or []
    if not ids:
        raise err("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if len(ids) > DEPLOYMENT_BATCH_LIMIT:
        raise err(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (25) was exceeded.",
        )
    out = []
    for did in ids:
        dep = cd.deployments.get(deployment_id(did))
        if dep is not None:
            out.append(views.deployment_info(dep))
    return {"deploymentsInfo": out}


@operation(SERVICE, "ListDeployments")
def list_deployments(world: World, params: dict) -> dict:
    """Deployment ids, newest first, optionally of one group, by status and creation time."""
    cd = state(world)
    app_name, group_name = params.get("applicationName"), params.get("deploymentGroupName")
    if group_name and not app_name:
        raise err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    grp = None
    if app_name:
        app = cd.application(application_name(params))
        if not group_name:
            raise err(
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            )
        grp = cd.group(app.name, deployment_group_name(params))
    statuses = params.get("includeOnlyStatuses") or []
    for status in statuses:
        if status not in STATUSES:
            raise err(
                "InvalidDeploymentStatusException", f"The deployment status {status} is invalid."
            )
    window = params.get("createTimeRange") or {}
    deps = deployments.find_deployments(cd, grp, statuses, window.get("start"), window.get("end"))
    page, more = deployments_page(cd, deps, params)
    return {"deployments": page, **more}


def deployments_page(cd: codedeploy.CodeDeploy, deps: list, params: dict) -> tuple[list, dict]:
    """One page of the ids, newest first. The token names the last id of the page rather than
    an offset: a deployment created, or one that leaves the status filter, between two pages
    must not shift the list under a client that pages through it (the active deployments of
    an account are read page by page while they change status)."""
    start = 0
    if params.get("nextToken"):
        last = cd.deployments.get(cursor_of(params["nextToken"]))
        if last is None:
            raise BAD_TOKEN
        key = (last.created, last.id)
        start = next((i for i, d in enumerate(deps) if (d.created, d.id) < key), len(deps))
    page = [d.id for d in deps[start : start + PAGE]]
    if start + PAGE >= len(deps):
        return page, {}
    return page, {"nextToken": cursor_token(page[-1])}


@operation(SERVICE, "ContinueDeployment")
def continue_deployment(world: World, params: dict) -> dict:
    """READY_WAIT (the default) starts rerouting traffic of a Ready blue/green deployment;
    TERMINATION_WAIT terminates the original instances now instead of after the wait."""
    dep = deployment(world, params.get("deploymentId"))
    wait_type = params.get("deploymentWaitType") or "READY_WAIT"
    if wait_type not in enum_of(SERVICE, "DeploymentWaitType"):
        raise err(
            "InvalidDeploymentWaitTypeException",
            f"The wait type {wait_type} is invalid. Valid wait types are READY_WAIT and "
            "TERMINATION_WAIT.",
        )
    codedeploy.continue_deployment(state(world), dep, wait_type)
    return {}


@operation(SERVICE, "StopDeployment")
def stop_deployment(world: World, params: dict) -> dict:
    """Stop a deployment now; with autoRollbackEnabled (or the deployment's
    DEPLOYMENT_STOP_ON_REQUEST when it is not given) a rollback deployment starts."""
    dep = deployment(world, params.get("deploymentId"))
    rollback = params.get("autoRollbackEnabled")
    return codedeploy.stop_deployment(
        state(world), dep, None if rollback is None else bool(rollback)
    )


# ----- targets and instances -------------------------------------------------------------------


def _by_status(targets: list[DeploymentTarget], values: list[str]) -> list[DeploymentTarget]:
    bad = [v for v in values if v not in TARGET_STATUSES]
    if bad:
        raise err(
            "InvalidInstanceStatusException",
            f"The specified instance status does not exist: {bad[0]}",
        )
    return [t for t in targets if t.status in values]


@operation(SERVICE, "ListDeploymentTargets")
def list_deployment_targets(world: World, params: dict) -> dict:
    """Target ids of a deployment (originals first), filtered by TargetStatus and
    ServerInstanceLabel."""
    dep = deployment(world, params.get("deploymentId"))
    targets = list(dep.targets.values())
    for name, values in (params.get("targetFilters") or {}).items():
        if name == "TargetStatus":
            targets = _by_status(targets, values)
        elif name == "ServerInstanceLabel":
            bad = [v for v in values if v not in LABELS]
            if bad:
                raise err(
                    "InvalidInstanceTypeException",
                    "An invalid instance type was specified for instances in a blue/green "
                    'deployment. Valid values are "Blue" for an original environment and '
                    '"Green" for a replacement environment.',
                )
            targets = [t for t in targets if t.label in values]
        else:
            raise err(
                "InvalidTargetFilterNameException", f"The target filter name {name} is invalid."
            )
    page, more = paged([t.instance_id for t in targets], params, f"ListDeploymentTargets:{dep.id}")
    return {"targetIds": page, **more}


@operation(SERVICE, "BatchGetDeploymentTargets")
def batch_get_deployment_targets(world: World, params: dict) -> dict:
    dep = deployment(world, params.get("deploymentId"))
    ids = params.get("targetIds") or []
    if not ids:
        raise err("DeploymentTargetIdRequiredException", "A deployment target ID was not provided.")
    if len(ids) > DEPLOYMENT_BATCH_LIMIT:
        raise err(
            "DeploymentTargetListSizeExceededException",
            "The maximum number of targets that can be associated with a deployment "
            f"({DEPLOYMENT_BATCH_LIMIT}) was exceeded.",
        )
    found = [views.target_info(world, dep, deployments.target(dep, i)) for i in ids]
    return {"deploymentTargets": found}


@operation(SERVICE, "GetDeploymentTarget")
def get_deployment_target(world: World, params: dict) -> dict:
    dep = deployment(world, params.get("deploymentId"))
    t = deployments.target(dep, params.get("targetId"))
    return {"deploymentTarget": views.target_info(world, dep, t)}


@operation(SERVICE, "ListDeploymentInstances")
def list_deployment_instances(world: World, params: dict) -> dict:
    dep = deployment(world, params.get("deploymentId"))
    targets = list(dep.targets.values())
    statuses = params.get("instanceStatusFilter") or []
    if statuses:
        targets = _by_status(targets, statuses)
    labels = params.get("instanceTypeFilter") or []
    for label in labels:
        if label not in LABELS:
            raise err(
                "InvalidInstanceTypeException", 'Valid instance types are "Blue" and "Green".'
            )
    if labels:
        targets = [t for t in targets if t.label in labels]
    page, more = paged(
        [t.instance_id for t in targets], params, f"ListDeploymentInstances:{dep.id}"
    )
    return {"instancesList": page, **more}


@operation(SERVICE, "BatchGetDeploymentInstances")
def batch_get_deployment_instances(world: World, params: dict) -> dict:
    dep = deployment(world, params.get("deploymentId"))
    ids = params.get("instanceIds") or []
    if not ids:
        raise err("InstanceIdRequiredException", "The instance ID was not specified.")
    if len(ids) > DEPLOYMENT_BATCH_LIMIT:
        raise err(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (25) was exceeded.",
        )
    found = [views.instance_summary(world, dep, dep.targets[i]) for i in ids if i in dep.targets]
    out: dict = {"instancesSummary": found}
    missing = [i for i in ids if i not in dep.targets]
    if missing:
        out["errorMessage"] = f"Instances not found in deployment {dep.id}: {', '.join(missing)}"
    return out


@operation(SERVICE, "GetDeploymentInstance")
def get_deployment_instance(world: World, params: dict) -> dict:
    dep = deployment(world, params.get("deploymentId"))
    iid = params.get("instanceId")
    if not iid:
        raise err("InstanceIdRequiredException", "The instance ID was not specified.")
    t = dep.targets.get(iid)
    if t is None:
        raise err(
            "InstanceDoesNotExistException",
            f"The instance {iid} is not part of the deployment {dep.id}.",
        )
    return {"instanceSummary": views.instance_summary(world, dep, t)}
