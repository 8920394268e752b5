"""The settings of a deployment group, checked and with AWS's defaults filled in, one part
at a time: tag filters, automatic rollback, alarms, deployment style, blue/green options,
load balancers, Auto Scaling groups."""

from __future__ import annotations

from cutover.sandbox.wire import enum_of
from cutover.sandbox.world import World, WorldError

from .launches import launch_hook_name

MAX_ALARMS = 10
MAX_WAIT_MINUTES = 2880
ROLLBACK_EVENTS = enum_of("codedeploy", "AutoRollbackEvent")
TAG_FILTER_TYPES = enum_of("codedeploy", "EC2TagFilterType")


def tag_filters(filters: list[dict] | None, code: str = "InvalidEC2TagException") -> list[dict]:
    out = []
    for f in filters or []:
        kind = f.get("Type")
        if kind is not None and kind not in TAG_FILTER_TYPES:
            raise WorldError(code, f"The tag filter type {kind} is invalid.")
        if kind in (None, "KEY_AND_VALUE", "KEY_ONLY") and not f.get("Key"):
            raise WorldError(code, "The tag filter key was not specified.")
        out.append({k: v for k, v in f.items() if k in ("Key", "Value", "Type")})
    return out


def auto_rollback(value: dict | None) -> dict:
    value = value or {}
    events = list(value.get("events") or [])
    for event in events:
        if event not in ROLLBACK_EVENTS:
            raise WorldError(
                "InvalidAutoRollbackConfigException",
                f"The automatic rollback event {event} is invalid. Valid events are: "
                + ", ".join(ROLLBACK_EVENTS),
            )
    enabled = bool(value.get("enabled"))
    if enabled and not events:
        raise WorldError(
            "InvalidAutoRollbackConfigException",
            "At least one event must be specified when automatic rollback is enabled.",
        )
    return {"enabled": enabled, "events": list(dict.fromkeys(events))}


def alarm_config(value: dict | None) -> dict:
    value = value or {}
    alarms = [{"name": a["name"]} for a in value.get("alarms") or [] if a.get("name")]
    if len(alarms) > MAX_ALARMS:
        raise WorldError(
            "AlarmsLimitExceededException",
            f"The maximum number of alarms for a deployment group ({MAX_ALARMS}) was exceeded.",
        )
    enabled = bool(value.get("enabled"))
    if enabled and not alarms:
        raise WorldError(
            "InvalidAlarmConfigException",
            "At least one alarm must be specified when the alarm configuration is enabled.",
        )
    return {
        "enabled": enabled,
        "ignorePollAlarmFailure": bool(value.get("ignorePollAlarmFailure")),
        "alarms": alarms,
    }


def deployment_style(value: dict | None) -> dict:
    value = value or {}
    kind = value.get("deploymentType") or "IN_PLACE"
    option = value.get("deploymentOption") or "WITHOUT_TRAFFIC_CONTROL"
    if kind not in enum_of("codedeploy", "DeploymentType"):
        raise WorldError(
            "InvalidDeploymentStyleException", f"The deployment type {kind} is invalid."
        )
    if option not in enum_of("codedeploy", "DeploymentOption"):
        raise WorldError(
            "InvalidDeploymentStyleException", f"The deployment option {option} is invalid."
        )
    if kind == "BLUE_GREEN" and option != "WITH_TRAFFIC_CONTROL":
        raise WorldError(
            "InvalidDeploymentStyleException",
            "A blue/green deployment on the Server compute platform must use WITH_TRAFFIC_CONTROL.",
        )
    return {"deploymentType": kind, "deploymentOption": option}


def _minutes(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_WAIT_MINUTES:
        raise WorldError(
            "InvalidBlueGreenDeploymentConfigurationException",
            f"{what} must be a number of minutes from 0 to {MAX_WAIT_MINUTES}.",
        )
    return value


def blue_green(value: dict | None) -> dict:
    """The blue/green settings with AWS's defaults filled in."""
    value = value or {}
    bad = "InvalidBlueGreenDeploymentConfigurationException"
    term = value.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    ready = value.get("deploymentReadyOption") or {}
    green = value.get("greenFleetProvisioningOption") or {}
    action = term.get("action") or "TERMINATE"
    if action not in enum_of("codedeploy", "InstanceAction"):
        raise WorldError(bad, f"The action {action} for original instances is invalid.")
    on_timeout = ready.get("actionOnTimeout") or "CONTINUE_DEPLOYMENT"
    if on_timeout not in enum_of("codedeploy", "DeploymentReadyAction"):
        raise WorldError(bad, f"The action on timeout {on_timeout} is invalid.")
    provisioning = green.get("action") or "DISCOVER_EXISTING"
    if provisioning not in enum_of("codedeploy", "GreenFleetProvisioningAction"):
        raise WorldError(bad, f"The green fleet provisioning action {provisioning} is invalid.")
    return {
        "terminateBlueInstancesOnDeploymentSuccess": {
            "action": action,
            "terminationWaitTimeInMinutes": _minutes(
                term.get("terminationWaitTimeInMinutes", 60), "terminationWaitTimeInMinutes"
            ),
        },
        "deploymentReadyOption": {
            "actionOnTimeout": on_timeout,
            "waitTimeInMinutes": _minutes(ready.get("waitTimeInMinutes", 0), "waitTimeInMinutes"),
        },
        "greenFleetProvisioningOption": {"action": provisioning},
    }


def load_balancer_info(world: World, value: dict | None) -> dict | None:
    if value is None:
        return None
    bad = "InvalidLoadBalancerInfoException"
    if value.get("targetGroupPairInfoList"):
        raise WorldError(bad, "Target group pairs are only supported for Amazon ECS deployments.")
    tgs = [{"name": e.get("name", "")} for e in value.get("targetGroupInfoList") or []]
    elbs = [{"name": e.get("name", "")} for e in value.get("elbInfoList") or []]
    for entry in tgs:
        if world.target_group_by_name(entry["name"]) is None:
            raise WorldError(bad, f"The target group {entry['name']} was not found.")
    for entry in elbs:
        if entry["name"] not in world.classic_lbs:
            raise WorldError(bad, f"The load balancer {entry['name']} was not found.")
    out: dict = {}
    if elbs:
        out["elbInfoList"] = elbs
    if tgs:
        out["targetGroupInfoList"] = tgs
    return out


def check_groups_exist(world: World, names: list[str]) -> None:
    """InvalidAutoScalingGroupException naming the Auto Scaling groups that do not exist."""
    missing = [n for n in names if n not in world.asgs]
    if missing:
        raise WorldError(
            "InvalidAutoScalingGroupException",
            f"Auto Scaling groups not found: {', '.join(missing)}",
        )


def asg_entries(world: World, names: list[str], existing: list[dict], group: str) -> list[dict]:
    """The group's Auto Scaling groups, each with its launch hook (kept, or a new one)."""
    check_groups_exist(world, names)
    hooks = {e["name"]: e for e in existing}
    return [
        hooks.get(n) or {"name": n, "hook": launch_hook_name(world, group)}
        for n in dict.fromkeys(names)
    ]
