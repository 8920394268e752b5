"""Deployment groups: their settings from Create/UpdateDeploymentGroup (checked, merged over
the current ones, with AWS's defaults), and what creating, updating and deleting one does."""

from __future__ import annotations

import re

from cutover.sandbox.wire import enum_of
from cutover.sandbox.world import World, WorldError

from .groupsettings import (
    alarm_config,
    asg_entries,
    auto_rollback,
    blue_green,
    deployment_style,
    load_balancer_info,
    tag_filters,
)
from .launches import sync_launch_hooks
from .model import DEFAULT_CONFIG, DeploymentGroup, clone
from .state import CodeDeploy

ALLOWED_PROCESSES = ("AZRebalance", "AlarmNotification", "ScheduledActions", "ReplaceUnhealthy")


def group_spec(cd: CodeDeploy, params: dict, group: str, old: dict | None) -> dict:
    """Group settings from Create/UpdateDeploymentGroup params, merged over `old`."""
    spec = clone(old) if old else _defaults()
    _set_basics(cd, spec, params)
    _set_instances(cd.world, spec, params, group)
    _set_options(spec, params)
    _set_traffic(cd.world, spec, params)
    _check(spec)
    return spec


def _defaults() -> dict:
    return {
        "deploymentConfigName": DEFAULT_CONFIG,
        "ec2TagFilters": [],
        "onPremisesInstanceTagFilters": [],
        "autoScalingGroups": [],
        "triggerConfigurations": [],
        "alarmConfiguration": alarm_config(None),
        "autoRollbackConfiguration": auto_rollback(None),
        "outdatedInstancesStrategy": "UPDATE",
        "deploymentStyle": deployment_style(None),
        "terminationHookEnabled": False,
    }


def _given(params: dict, key: str) -> bool:
    return params.get(key) is not None


def _set_basics(cd: CodeDeploy, spec: dict, params: dict) -> None:
    if _given(params, "deploymentConfigName"):
        name = params["deploymentConfigName"]
        if name not in cd.configs:
            raise WorldError(
                "DeploymentConfigDoesNotExistException", f"No deployment config named {name}"
            )
        spec["deploymentConfigName"] = name
    if _given(params, "serviceRoleArn"):
        role = params["serviceRoleArn"]
        if not re.match(r"^arn:aws[\w-]*:iam::\d{12}:role/", role):
            raise WorldError("InvalidRoleException", f"The service role ARN {role} is invalid.")
        spec["serviceRoleArn"] = role


def _set_instances(world: World, spec: dict, params: dict, group: str) -> None:
    if _given(params, "ec2TagFilters"):
        spec["ec2TagFilters"] = tag_filters(params["ec2TagFilters"])
    if _given(params, "onPremisesInstanceTagFilters"):
        spec["onPremisesInstanceTagFilters"] = tag_filters(
            params["onPremisesInstanceTagFilters"], "InvalidTagException"
        )
    if _given(params, "ec2TagSet"):
        sets = params["ec2TagSet"].get("ec2TagSetList") or []
        spec["ec2TagSet"] = {"ec2TagSetList": [tag_filters(s) for s in sets]}
        if spec["ec2TagSet"]["ec2TagSetList"] and spec.get("ec2TagFilters"):
            raise WorldError(
                "InvalidEC2TagCombinationException",
                "ec2TagFilters and ec2TagSet cannot both be specified.",
            )
    if _given(params, "onPremisesTagSet"):
        spec["onPremisesTagSet"] = params["onPremisesTagSet"]
    if _given(params, "autoScalingGroups"):
        spec["autoScalingGroups"] = asg_entries(
            world, params["autoScalingGroups"], spec.get("autoScalingGroups") or [], group
        )


def _set_options(spec: dict, params: dict) -> None:
    if _given(params, "triggerConfigurations"):
        spec["triggerConfigurations"] = params["triggerConfigurations"]
    if _given(params, "alarmConfiguration"):
        spec["alarmConfiguration"] = alarm_config(params["alarmConfiguration"])
    if _given(params, "autoRollbackConfiguration"):
        spec["autoRollbackConfiguration"] = auto_rollback(params["autoRollbackConfiguration"])
    if _given(params, "outdatedInstancesStrategy"):
        strategies = enum_of("codedeploy", "OutdatedInstancesStrategy")
        if params["outdatedInstancesStrategy"] not in strategies:
            raise WorldError(
                "InvalidInputException", "outdatedInstancesStrategy must be UPDATE or IGNORE."
            )
        spec["outdatedInstancesStrategy"] = params["outdatedInstancesStrategy"]
    if _given(params, "deploymentStyle"):
        spec["deploymentStyle"] = deployment_style(params["deploymentStyle"])
    if _given(params, "ec2DeploymentOptions"):
        processes = params["ec2DeploymentOptions"].get("autoScalingGroupProcessesToSuspend") or []
        for name in processes:
            if name not in ALLOWED_PROCESSES:
                raise WorldError(
                    "InvalidAutoScalingGroupProcessToSuspendException",
                    f"The process {name} cannot be suspended by CodeDeploy.",
                )
        spec["ec2DeploymentOptions"] = {"autoScalingGroupProcessesToSuspend": list(processes)}
    if _given(params, "terminationHookEnabled"):
        spec["terminationHookEnabled"] = bool(params["terminationHookEnabled"])


def _set_traffic(world: World, spec: dict, params: dict) -> None:
    if _given(params, "loadBalancerInfo"):
        spec["loadBalancerInfo"] = load_balancer_info(world, params["loadBalancerInfo"])
    is_blue_green = spec["deploymentStyle"]["deploymentType"] == "BLUE_GREEN"
    if _given(params, "blueGreenDeploymentConfiguration") or (
        is_blue_green and "blueGreenDeploymentConfiguration" not in spec
    ):
        spec["blueGreenDeploymentConfiguration"] = blue_green(
            params.get("blueGreenDeploymentConfiguration")
        )


def _check(spec: dict) -> None:
    """What the settings must say together; the termination hooks follow the launch hooks."""
    if spec["deploymentStyle"]["deploymentOption"] == "WITH_TRAFFIC_CONTROL":
        lb = spec.get("loadBalancerInfo") or {}
        if not lb.get("targetGroupInfoList") and not lb.get("elbInfoList"):
            raise WorldError(
                "InvalidLoadBalancerInfoException",
                "A deployment group with traffic control needs a load balancer: specify at least "
                "one target group or Classic Load Balancer in loadBalancerInfo.",
            )
    if spec["deploymentStyle"]["deploymentType"] == "BLUE_GREEN":
        action = spec["blueGreenDeploymentConfiguration"]["greenFleetProvisioningOption"]["action"]
        if action == "COPY_AUTO_SCALING_GROUP" and len(spec["autoScalingGroups"]) != 1:
            raise WorldError(
                "InvalidBlueGreenDeploymentConfigurationException",
                "COPY_AUTO_SCALING_GROUP requires exactly one Auto Scaling group in the "
                "deployment group.",
            )
    for entry in spec["autoScalingGroups"]:
        entry.pop("terminationHook", None)
        if spec["terminationHookEnabled"]:
            entry["terminationHook"] = entry["hook"].replace("launch", "termination")
    if "serviceRoleArn" not in spec:
        raise WorldError("RoleRequiredException", "The service role ARN was not specified.")


# ----- creating, updating, deleting ------------------------------------------------------------


def create_group(cd: CodeDeploy, application: str, name: str, params: dict) -> DeploymentGroup:
    """A new deployment group of the application, with the launch hooks its settings call
    for."""
    if (application, name) in cd.groups:
        raise WorldError(
            "DeploymentGroupAlreadyExistsException",
            f"A deployment group named {name} already exists for application {application}.",
        )
    if not params.get("serviceRoleArn"):
        raise WorldError("RoleRequiredException", "The service role ARN was not specified.")
    spec = group_spec(cd, params, name, None)
    world = cd.world
    grp = DeploymentGroup(
        application, name, world.new_uuid(), spec, tags=list(params.get("tags") or [])
    )
    cd.groups[(application, name)] = grp
    sync_launch_hooks(world, grp.id, [], spec["autoScalingGroups"])
    return grp


def update_group(cd: CodeDeploy, grp: DeploymentGroup, params: dict, new_name: str | None) -> None:
    """Change a group's settings and maybe its name (running deployments keep the settings
    they started with)."""
    current, app_name = grp.name, grp.application
    if new_name and new_name != current and (app_name, new_name) in cd.groups:
        raise WorldError(
            "DeploymentGroupAlreadyExistsException",
            f"A deployment group named {new_name} already exists for application {app_name}.",
        )
    before = grp.spec["autoScalingGroups"]
    grp.spec = group_spec(cd, params, new_name or current, grp.spec)
    sync_launch_hooks(cd.world, grp.id, before, grp.spec["autoScalingGroups"])
    if new_name and new_name != current:
        del cd.groups[(app_name, current)]
        grp.name = new_name
        cd.groups[(app_name, new_name)] = grp
        for dep in cd.deployments.values():
            if dep.application == app_name and dep.group == current:
                dep.group = new_name


def delete_group(cd: CodeDeploy, application: str, name: str) -> None:
    """Delete a group and its launch hooks; a group that does not exist is no error."""
    grp = cd.groups.pop((application, name), None)
    if grp is not None:
        sync_launch_hooks(cd.world, grp.id, grp.spec["autoScalingGroups"], [])
