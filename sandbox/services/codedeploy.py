"""AWS CodeDeploy (EC2/on-premises, computePlatform Server): the API handlers for
applications, revisions, deployment configs, deployment groups, deployments and their
targets.

Each handler decodes its request (names, ids, filters), calls CodeDeploy's domain
(`cutover.sandbox.codedeploy`), which holds the rules and raises the modeled errors, and
shapes the answer exactly as boto3 returns it. Deployments themselves move in the engine's
tick. S3 and GitHub revisions are accepted without fetching anything: instances then serve the
revision's label (the S3 key's file name without extension, or the commit id).
"""

from __future__ import annotations

import re

from cutover.sandbox import codedeploy
from cutover.sandbox.codedeploy import (
    CodeDeploy,
    Deployment,
    DeploymentTarget,
    configs,
    deployments,
    groups,
    views,
)
from cutover.sandbox.codedeploy import applications as apps
from cutover.sandbox.codedeploy.revisions import revision_location
from cutover.sandbox.services import autoscaling, operation
from cutover.sandbox.services.ec2 import paginate
from cutover.sandbox.wire import enum_of
from cutover.sandbox.world import World, WorldError

SERVICE = "codedeploy"
PAGE = 100  # items per page of the List* calls
BATCH_LIMIT = 100  # names per BatchGetApplications / BatchGetDeploymentGroups
DEPLOYMENT_BATCH_LIMIT = 25  # ids per BatchGetDeployments / ...Targets / ...Instances

DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")
NAME = re.compile(r"^[\w.+=,@-]{1,100}$")
STATUSES = enum_of(SERVICE, "DeploymentStatus")
TARGET_STATUSES = enum_of(SERVICE, "TargetStatus")
LABELS = enum_of(SERVICE, "TargetLabel")


def _err(code: str, message: str) -> WorldError:
    return WorldError(code, message)


def _cd(world: World) -> CodeDeploy:
    cd = codedeploy.state(world)
    # Blue/green deployments copy, attach, detach and delete Auto Scaling groups through
    # Auto Scaling's API, as CodeDeploy does in AWS.
    cd.autoscaling = autoscaling
    return cd


def _page(items: list, params: dict, scope: str) -> tuple[list, dict]:
    token = params.get("nextToken")
    bad = _err("InvalidNextTokenException", "The next token was specified in an invalid format.")
    page, next_token = paginate(items, PAGE, token, scope, bad)
    return page, ({"nextToken": next_token} if next_token else {})


# ----- names -----------------------------------------------------------------------------------


def _app_name(params: dict, key: str = "applicationName") -> str:
    name = params.get(key)
    if not name:
        raise _err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    if not NAME.match(name):
        raise _err("InvalidApplicationNameException", f"The application name {name} is invalid.")
    return name


def _group_name(params: dict, key: str = "deploymentGroupName") -> str:
    name = params.get(key)
    if not name:
        raise _err(
            "DeploymentGroupNameRequiredException", "The deployment group name was not specified."
        )
    if not NAME.match(name):
        raise _err(
            "InvalidDeploymentGroupNameException", f"The deployment group name {name} is invalid."
        )
    return name


def _deployment_id(value: str | None) -> str:
    if not value:
        raise _err("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if not DEPLOYMENT_ID.match(value):
        raise _err(
            "InvalidDeploymentIdException",
            f"Specified DeploymentId is not in the valid format: {value}",
        )
    return value


def _deployment(world: World, value: str | None) -> Deployment:
    return _cd(world).deployment(_deployment_id(value))


# ----- applications and revisions --------------------------------------------------------------


@operation(SERVICE, "CreateApplication")
def create_application(world: World, params: dict) -> dict:
    cd = _cd(world)
    name = _app_name(params)
    platform = params.get("computePlatform") or "Server"
    if platform not in enum_of(SERVICE, "ComputePlatform"):
        raise _err(
            "InvalidComputePlatformException", f"The compute platform {platform} is invalid."
        )
    app = apps.create_application(cd, name, platform, list(params.get("tags") or []))
    return {"applicationId": app.id}


@operation(SERVICE, "GetApplication")
def get_application(world: World, params: dict) -> dict:
    app = _cd(world).application(_app_name(params))
    return {"application": views.application_info(app)}


@operation(SERVICE, "ListApplications")
def list_applications(world: World, params: dict) -> dict:
    names = sorted(_cd(world).applications)
    page, more = _page(names, params, "ListApplications")
    return {"applications": page, **more}


@operation(SERVICE, "BatchGetApplications")
def batch_get_applications(world: World, params: dict) -> dict:
    """Every named application; one unknown name fails the call, as in AWS."""
    cd = _cd(world)
    names = params.get("applicationNames") or []
    if len(names) > BATCH_LIMIT:
        raise _err(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (100) was exceeded.",
        )
    return {"applicationsInfo": [views.application_info(cd.application(n)) for n in names]}


@operation(SERVICE, "DeleteApplication")
def delete_application(world: World, params: dict) -> dict:
    apps.delete_application(_cd(world), _app_name(params))
    return {}


@operation(SERVICE, "RegisterApplicationRevision")
def register_application_revision(world: World, params: dict) -> dict:
    cd = _cd(world)
    app = cd.application(_app_name(params))
    location = revision_location(params.get("revision"))
    apps.register_revision(cd, app, location, params.get("description"))
    return {}


@operation(SERVICE, "GetApplicationRevision")
def get_application_revision(world: World, params: dict) -> dict:
    app = _cd(world).application(_app_name(params))
    rec = apps.known_revision(app, revision_location(params.get("revision")))
    return {
        "applicationName": app.name,
        "revision": rec.location,
        "revisionInfo": views.revision_info(rec),
    }


@operation(SERVICE, "ListApplicationRevisions")
def list_application_revisions(world: World, params: dict) -> dict:
    cd = _cd(world)
    app = cd.application(_app_name(params))
    sort_by = params.get("sortBy")
    if sort_by is not None and sort_by not in enum_of(SERVICE, "ApplicationRevisionSortBy"):
        raise _err("InvalidSortByException", f"The column name to sort by is invalid: {sort_by}")
    order = params.get("sortOrder") or "ascending"
    if order not in enum_of(SERVICE, "SortOrder"):
        raise _err("InvalidSortOrderException", f"The sort order is invalid: {order}")
    deployed = params.get("deployed") or "ignore"
    if deployed not in enum_of(SERVICE, "ListStateFilterAction"):
        raise _err(
            "InvalidDeployedStateFilterException",
            f"The deployed state filter is invalid: {deployed}",
        )
    if params.get("s3KeyPrefix") and not params.get("s3Bucket"):
        raise _err(
            "BucketNameFilterRequiredException",
            "A bucket name is required when a key prefix is specified.",
        )
    records = apps.find_revisions(
        cd,
        app,
        bucket=params.get("s3Bucket"),
        key_prefix=params.get("s3KeyPrefix"),
        deployed=deployed,
        sort_by=sort_by,
        order=order,
    )
    page, more = _page(
        [r.location for r in records], params, f"ListApplicationRevisions:{app.name}"
    )
    return {"revisions": page, **more}


# ----- deployment configs ----------------------------------------------------------------------


def _config_name(params: dict) -> str:
    name = params.get("deploymentConfigName")
    if not name:
        raise _err(
            "DeploymentConfigNameRequiredException",
            "The deployment configuration name was not specified.",
        )
    return name


@operation(SERVICE, "CreateDeploymentConfig")
def create_deployment_config(world: World, params: dict) -> dict:
    name = _config_name(params)
    if not NAME.match(name) or name.startswith("CodeDeployDefault."):
        raise _err(
            "InvalidDeploymentConfigNameException",
            f"The deployment configuration name {name} is invalid.",
        )
    cfg = configs.create_config(
        _cd(world),
        name,
        platform=params.get("computePlatform") or "Server",
        traffic_routing=params.get("trafficRoutingConfig"),
        minimum_healthy_hosts=params.get("minimumHealthyHosts"),
        zonal=params.get("zonalConfig"),
    )
    return {"deploymentConfigId": cfg.id}


@operation(SERVICE, "GetDeploymentConfig")
def get_deployment_config(world: World, params: dict) -> dict:
    name = _config_name(params)
    cfg = _cd(world).configs.get(name)
    if cfg is None:
        raise _err("DeploymentConfigDoesNotExistException", f"No deployment config named {name}")
    return {"deploymentConfigInfo": views.config_info(cfg)}


@operation(SERVICE, "ListDeploymentConfigs")
def list_deployment_configs(world: World, params: dict) -> dict:
    page, more = _page(sorted(_cd(world).configs), params, "ListDeploymentConfigs")
    return {"deploymentConfigsList": page, **more}


@operation(SERVICE, "DeleteDeploymentConfig")
def delete_deployment_config(world: World, params: dict) -> dict:
    configs.delete_config(_cd(world), params.get("deploymentConfigName"))
    return {}


# ----- deployment groups -----------------------------------------------------------------------


@operation(SERVICE, "CreateDeploymentGroup")
def create_deployment_group(world: World, params: dict) -> dict:
    cd = _cd(world)
    app = cd.application(_app_name(params))
    grp = groups.create_group(cd, app.name, _group_name(params), params)
    return {"deploymentGroupId": grp.id}


@operation(SERVICE, "GetDeploymentGroup")
def get_deployment_group(world: World, params: dict) -> dict:
    cd = _cd(world)
    grp = cd.group(_app_name(params), _group_name(params))
    return {"deploymentGroupInfo": views.group_info(cd, grp)}


@operation(SERVICE, "BatchGetDeploymentGroups")
def batch_get_deployment_groups(world: World, params: dict) -> dict:
    cd = _cd(world)
    app = cd.application(_app_name(params))
    names = params.get("deploymentGroupNames") or []
    if not names:
        raise _err(
            "DeploymentGroupNameRequiredException", "The deployment group name was not specified."
        )
    if len(names) > BATCH_LIMIT:
        raise _err(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (100) was exceeded.",
        )
    found, missing = [], []
    for name in names:
        grp = cd.groups.get((app.name, name))
        if grp is None:
            missing.append(name)
        else:
            found.append(views.group_info(cd, grp))
    out: dict = {"deploymentGroupsInfo": found}
    if missing:
        out["errorMessage"] = f"Deployment groups not found: {', '.join(missing)}"
    return out


@operation(SERVICE, "ListDeploymentGroups")
def list_deployment_groups(world: World, params: dict) -> dict:
    cd = _cd(world)
    app = cd.application(_app_name(params))
    names = sorted(n for a, n in cd.groups if a == app.name)
    page, more = _page(names, params, f"ListDeploymentGroups:{app.name}")
    return {"applicationName": app.name, "deploymentGroups": page, **more}


@operation(SERVICE, "UpdateDeploymentGroup")
def update_deployment_group(world: World, params: dict) -> dict:
    """Change a group's settings (running deployments keep the settings they started with)."""
    cd = _cd(world)
    app = cd.application(_app_name(params))
    current = _group_name(params, "currentDeploymentGroupName")
    grp = cd.group(app.name, current)
    new_name = params.get("newDeploymentGroupName")
    if new_name and new_name != current:
        _group_name(params, "newDeploymentGroupName")
    groups.update_group(cd, grp, params, new_name)
    return {"hooksNotCleanedUp": []}


@operation(SERVICE, "DeleteDeploymentGroup")
def delete_deployment_group(world: World, params: dict) -> dict:
    """Delete a group; deleting one that does not exist succeeds, as in AWS."""
    app_name = _app_name(params)
    groups.delete_group(_cd(world), app_name, _group_name(params))
    return {"hooksNotCleanedUp": []}


# ----- deployments -----------------------------------------------------------------------------


@operation(SERVICE, "CreateDeployment")
def create_deployment(world: World, params: dict) -> dict:
    cd = _cd(world)
    app = cd.application(_app_name(params))
    grp = cd.group(app.name, _group_name(params))
    return {"deploymentId": deployments.create_deployment(cd, grp, params).id}


@operation(SERVICE, "GetDeployment")
def get_deployment(world: World, params: dict) -> dict:
    dep = _deployment(world, params.get("deploymentId"))
    return {"deploymentInfo": views.deployment_info(dep)}


@operation(SERVICE, "BatchGetDeployments")
def batch_get_deployments(world: World, params: dict) -> dict:
    """Known deployments among the ids, in the order asked; unknown ids are left out."""
    cd = _cd(world)
    ids = params.get("deploymentIds") or []
    if not ids:
        raise _err("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if len(ids) > DEPLOYMENT_BATCH_LIMIT:
        raise _err(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (25) was exceeded.",
        )
    out = []
    for did in ids:
        dep = cd.deployments.get(_deployment_id(did))
        if dep is not None:
            out.append(views.deployment_info(dep))
    return {"deploymentsInfo": out}


@operation(SERVICE, "ListDeployments")
def list_deployments(world: World, params: dict) -> dict:
    """Deployment ids, newest first, optionally of one group, by status and creation time."""
    cd = _cd(world)
    app_name, group_name = params.get("applicationName"), params.get("deploymentGroupName")
    if group_name and not app_name:
        raise _err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    grp = None
    if app_name:
        app = cd.application(_app_name(params))
        if not group_name:
            raise _err(
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            )
        grp = cd.group(app.name, _group_name(params))
    statuses = params.get("includeOnlyStatuses") or []
    for status in statuses:
        if status not in STATUSES:
            raise _err(
                "InvalidDeploymentStatusException", f"The deployment status {status} is invalid."
            )
    window = params.get("createTimeRange") or {}
    deps = deployments.find_deployments(cd, grp, statuses, window.get("start"), window.get("end"))
    page, more = _page([d.id for d in deps], params, "ListDeployments")
    return {"deployments": page, **more}


@operation(SERVICE, "ContinueDeployment")
def continue_deployment(world: World, params: dict) -> dict:
    """READY_WAIT (the default) starts rerouting traffic of a Ready blue/green deployment;
    TERMINATION_WAIT terminates the original instances now instead of after the wait."""
    dep = _deployment(world, params.get("deploymentId"))
    wait_type = params.get("deploymentWaitType") or "READY_WAIT"
    if wait_type not in enum_of(SERVICE, "DeploymentWaitType"):
        raise _err(
            "InvalidDeploymentWaitTypeException",
            f"The wait type {wait_type} is invalid. Valid wait types are READY_WAIT and "
            "TERMINATION_WAIT.",
        )
    codedeploy.continue_deployment(_cd(world), dep, wait_type)
    return {}


@operation(SERVICE, "StopDeployment")
def stop_deployment(world: World, params: dict) -> dict:
    """Stop a deployment now; with autoRollbackEnabled (or the deployment's
    DEPLOYMENT_STOP_ON_REQUEST when it is not given) a rollback deployment starts."""
    dep = _deployment(world, params.get("deploymentId"))
    rollback = params.get("autoRollbackEnabled")
    return codedeploy.stop_deployment(_cd(world), dep, None if rollback is None else bool(rollback))


# ----- targets and instances -------------------------------------------------------------------


def _by_status(targets: list[DeploymentTarget], values: list[str]) -> list[DeploymentTarget]:
    bad = [v for v in values if v not in TARGET_STATUSES]
    if bad:
        raise _err(
            "InvalidInstanceStatusException",
            f"The specified instance status does not exist: {bad[0]}",
        )
    return [t for t in targets if t.status in values]


@operation(SERVICE, "ListDeploymentTargets")
def list_deployment_targets(world: World, params: dict) -> dict:
    """Target ids of a deployment (originals first), filtered by TargetStatus and
    ServerInstanceLabel."""
    dep = _deployment(world, params.get("deploymentId"))
    targets = list(dep.targets.values())
    for name, values in (params.get("targetFilters") or {}).items():
        if name == "TargetStatus":
            targets = _by_status(targets, values)
        elif name == "ServerInstanceLabel":
            bad = [v for v in values if v not in LABELS]
            if bad:
                raise _err(
                    "InvalidInstanceTypeException",
                    "An invalid instance type was specified for instances in a blue/green "
                    'deployment. Valid values are "Blue" for an original environment and '
                    '"Green" for a replacement environment.',
                )
            targets = [t for t in targets if t.label in values]
        else:
            raise _err(
                "InvalidTargetFilterNameException", f"The target filter name {name} is invalid."
            )
    page, more = _page([t.instance_id for t in targets], params, f"ListDeploymentTargets:{dep.id}")
    return {"targetIds": page, **more}


@operation(SERVICE, "BatchGetDeploymentTargets")
def batch_get_deployment_targets(world: World, params: dict) -> dict:
    dep = _deployment(world, params.get("deploymentId"))
    ids = params.get("targetIds") or []
    if not ids:
        raise _err(
            "DeploymentTargetIdRequiredException", "A deployment target ID was not provided."
        )
    if len(ids) > DEPLOYMENT_BATCH_LIMIT:
        raise _err(
            "DeploymentTargetListSizeExceededException",
            "The maximum number of targets that can be associated with a deployment "
            f"({DEPLOYMENT_BATCH_LIMIT}) was exceeded.",
        )
    found = [views.target_info(world, dep, deployments.target(dep, i)) for i in ids]
    return {"deploymentTargets": found}


@operation(SERVICE, "GetDeploymentTarget")
def get_deployment_target(world: World, params: dict) -> dict:
    dep = _deployment(world, params.get("deploymentId"))
    t = deployments.target(dep, params.get("targetId"))
    return {"deploymentTarget": views.target_info(world, dep, t)}


@operation(SERVICE, "ListDeploymentInstances")
def list_deployment_instances(world: World, params: dict) -> dict:
    dep = _deployment(world, params.get("deploymentId"))
    targets = list(dep.targets.values())
    statuses = params.get("instanceStatusFilter") or []
    if statuses:
        targets = _by_status(targets, statuses)
    labels = params.get("instanceTypeFilter") or []
    for label in labels:
        if label not in LABELS:
            raise _err(
                "InvalidInstanceTypeException", 'Valid instance types are "Blue" and "Green".'
            )
    if labels:
        targets = [t for t in targets if t.label in labels]
    page, more = _page(
        [t.instance_id for t in targets], params, f"ListDeploymentInstances:{dep.id}"
    )
    return {"instancesList": page, **more}


@operation(SERVICE, "BatchGetDeploymentInstances")
def batch_get_deployment_instances(world: World, params: dict) -> dict:
    dep = _deployment(world, params.get("deploymentId"))
    ids = params.get("instanceIds") or []
    if not ids:
        raise _err("InstanceIdRequiredException", "The instance ID was not specified.")
    if len(ids) > DEPLOYMENT_BATCH_LIMIT:
        raise _err(
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
    dep = _deployment(world, params.get("deploymentId"))
    iid = params.get("instanceId")
    if not iid:
        raise _err("InstanceIdRequiredException", "The instance ID was not specified.")
    t = dep.targets.get(iid)
    if t is None:
        raise _err(
            "InstanceDoesNotExistException",
            f"The instance {iid} is not part of the deployment {dep.id}.",
        )
    return {"instanceSummary": views.instance_summary(world, dep, t)}
