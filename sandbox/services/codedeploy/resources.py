"""CodeDeploy's API handlers for applications, revisions, deployment configs and deployment
groups."""

from __future__ import annotations

from cutover.sandbox.codedeploy import applications as apps
from cutover.sandbox.codedeploy import configs, groups, views
from cutover.sandbox.codedeploy.revisions import revision_location
from cutover.sandbox.services import operation
from cutover.sandbox.wire import enum_of
from cutover.sandbox.world import World

from .common import (
    BATCH_LIMIT,
    NAME,
    SERVICE,
    application_name,
    deployment_group_name,
    err,
    paged,
    state,
)

# ----- applications and revisions --------------------------------------------------------------


@operation(SERVICE, "CreateApplication")
def create_application(world: World, params: dict) -> dict:
    cd = state(world)
    name = application_name(params)
    platform = params.get("computePlatform") or "Server"
    if platform not in enum_of(SERVICE, "ComputePlatform"):
        raise err("InvalidComputePlatformException", f"The compute platform {platform} is invalid.")
    app = apps.create_application(cd, name, platform, list(params.get("tags") or []))
    return {"applicationId": app.id}


@operation(SERVICE, "GetApplication")
def get_application(world: World, params: dict) -> dict:
    app = state(world).application(application_name(params))
    return {"application": views.application_info(app)}


@operation(SERVICE, "ListApplications")
def list_applications(world: World, params: dict) -> dict:
    names = sorted(state(world).applications)
    page, more = paged(names, params, "ListApplications")
    return {"applications": page, **more}


@operation(SERVICE, "BatchGetApplications")
def batch_get_applications(world: World, params: dict) -> dict:
    """Every named application; one unknown name fails the call, as in AWS."""
    cd = state(world)
    names = params.get("applicationNames") or []
    if len(names) > BATCH_LIMIT:
        raise err(
            "BatchLimitExceededException",
            "The maximum number of names or IDs allowed for this request (100) was exceeded.",
        )
    return {"applicationsInfo": [views.application_info(cd.application(n)) for n in names]}


@operation(SERVICE, "DeleteApplication")
def delete_application(world: World, params: dict) -> dict:
    apps.delete_application(state(world), application_name(params))
    return {}


@operation(SERVICE, "RegisterApplicationRevision")
def register_application_revision(world: World, params: dict) -> dict:
    cd = state(world)
    app = cd.application(application_name(params))
    location = revision_location(params.get("revision"))
    apps.register_revision(cd, app, location, params.get("description"))
    return {}


@operation(SERVICE, "GetApplicationRevision")
def get_application_revision(world: World, params: dict) -> dict:
    app = state(world).application(application_name(params))
    rec = apps.known_revision(app, revision_location(params.get("revision")))
    return {
        "applicationName": app.name,
        "revision": rec.location,
        "revisionInfo": views.revision_info(rec),
    }


@operation(SERVICE, "ListApplicationRevisions")
def list_application_revisions(world: World, params: dict) -> dict:
    cd = state(world)
    app = cd.application(application_name(params))
    sort_by = params.get("sortBy")
    if sort_by is not None and sort_by not in enum_of(SERVICE, "ApplicationRevisionSortBy"):
        raise err("InvalidSortByException", f"The column name to sort by is invalid: {sort_by}")
    order = params.get("sortOrder") or "ascending"
    if order not in enum_of(SERVICE, "SortOrder"):
        raise err("InvalidSortOrderException", f"The sort order is invalid: {order}")
    deployed = params.get("deployed") or "ignore"
    if deployed not in enum_of(SERVICE, "ListStateFilterAction"):
        raise err(
            "InvalidDeployedStateFilterException",
            f"The deployed state filter is invalid: {deployed}",
        )
    if params.get("s3KeyPrefix") and not params.get("s3Bucket"):
        raise err(
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
    page, more = paged(
        [r.location for r in records], params, f"ListApplicationRevisions:{app.name}"
    )
    return {"revisions": page, **more}


# ----- deployment configs ----------------------------------------------------------------------


def _config_name(params: dict) -> str:
    name = params.get("deploymentConfigName")
    if not name:
        raise err(
            "DeploymentConfigNameRequiredException",
            "The deployment configuration name was not specified.",
        )
    return name


@operation(SERVICE, "CreateDeploymentConfig")
def create_deployment_config(world: World, params: dict) -> dict:
    name = _config_name(params)
    if not NAME.match(name) or name.startswith("CodeDeployDefault."):
        raise err(
            "InvalidDeploymentConfigNameException",
            f"The deployment configuration name {name} is invalid.",
        )
    cfg = configs.create_config(
        state(world),
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
    cfg = state(world).configs.get(name)
    if cfg is None:
        raise err("DeploymentConfigDoesNotExistException", f"No deployment config named {name}")
    return {"deploymentConfigInfo": views.config_info(cfg)}


@operation(SERVICE, "ListDeploymentConfigs")
def list_deployment_configs(world: World, params: dict) -> dict:
    page, more = paged(sorted(state(world).configs), params, "ListDeploymentConfigs")
    return {"deploymentConfigsList": page, **more}


@operation(SERVICE, "DeleteDeploymentConfig")
def delete_deployment_config(world: World, params: dict) -> dict:
    configs.delete_config(state(world), params.get("deploymentConfigName"))
    return {}


# ----- deployment groups -----------------------------------------------------------------------


@operation(SERVICE, "CreateDeploymentGroup")
def create_deployment_group(world: World, params: dict) -> dict:
    cd = state(world)
    app = cd.application(application_name(params))
    grp = groups.create_group(cd, app.name, deployment_group_name(params), params)
    return {"deploymentGroupId": grp.id}


@operation(SERVICE, "GetDeploymentGroup")
def get_deployment_group(world: World, params: dict) -> dict:
    cd = state(world)
    grp = cd.group(application_name(params), deployment_group_name(params))
    return {"deploymentGroupInfo": views.group_info(cd, grp)}


@operation(SERVICE, "BatchGetDeploymentGroups")
def batch_get_deployment_groups(world: World, params: dict) -> dict:
    cd = state(world)
    app = cd.application(application_name(params))
    names = params.get("deploymentGroupNames") or []
    if not names:
        raise err(
            "DeploymentGroupNameRequiredException", "The deployment group name was not specified."
        )
    if len(names) > BATCH_LIMIT:
        raise err(
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
    cd = state(world)
    app = cd.application(application_name(params))
    names = sorted(n for a, n in cd.groups if a == app.name)
    page, more = paged(names, params, f"ListDeploymentGroups:{app.name}")
    return {"applicationName": app.name, "deploymentGroups": page, **more}


@operation(SERVICE, "UpdateDeploymentGroup")
def update_deployment_group(world: World, params: dict) -> dict:
    """Change a group's settings (running deployments keep the settings they started with)."""
    cd = state(world)
    app = cd.application(application_name(params))
    current = deployment_group_name(params, "currentDeploymentGroupName")
    grp = cd.group(app.name, current)
    new_name = params.get("newDeploymentGroupName")
    if new_name and new_name != current:
        deployment_group_name(params, "newDeploymentGroupName")
    groups.update_group(cd, grp, params, new_name)
    return {"hooksNotCleanedUp": []}


@operation(SERVICE, "DeleteDeploymentGroup")
def delete_deployment_group(world: World, params: dict) -> dict:
    """Delete a group; deleting one that does not exist succeeds, as in AWS."""
    app_name = application_name(params)
    groups.delete_group(state(world), app_name, deployment_group_name(params))
    return {"hooksNotCleanedUp": []}
