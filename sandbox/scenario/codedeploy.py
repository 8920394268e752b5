"""The codedeploy section of a scenario file: lifecycle durations, deployment configs,
applications and their deployment groups (as CreateDeploymentGroup parameters) with their
past deployments."""

from __future__ import annotations

from typing import Any

import yaml
from cutover.common.lifecycle import IN_PLACE_EVENTS
from cutover.common.yamlcheck import NULL, YamlReader

from .bundles import parse_bundles
from .fields import Names
from .spec import ApplicationSpec, DeploymentGroupSpec, HistorySpec, Scenario

_GROUP_KEYS = (
    "style",
    "traffic_control",
    "auto_scaling_groups",
    "ec2_tags",
    "target_groups",
    "classic_load_balancers",
    "deployment_config",
    "replacement",
    "ready_wait",
    "original",
    "auto_rollback",
    "alarms",
    "history",
)
_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
_BLUE_GREEN_ONLY = ("replacement", "ready_wait", "original")

Pairs = list[tuple[str, yaml.Node]]


def parse_codedeploy(r: YamlReader, node: yaml.Node, sc: Scenario, names: Names) -> None:
    m = r.mapping(
        node,
        "codedeploy",
        optional=("lifecycle_durations", "deployment_configs", "applications", "bundles"),
    )
    spec = sc.codedeploy
    if "bundles" in m:
        spec.bundles = parse_bundles(r, m["bundles"])
    if "lifecycle_durations" in m:
        # Every lifecycle event is named once in an in-place deployment.
        dm = r.mapping(m["lifecycle_durations"], "lifecycle_durations", optional=IN_PLACE_EVENTS)
        spec.durations = {
            k: r.number(v, f"lifecycle_durations {k}", 0, 86400) for k, v in dm.items()
        }
    config_names = _deployment_configs(r, m, sc)
    apps: set[str] = set()
    for an in r.sequence(m.get("applications", NULL), "applications"):
        am = r.mapping(an, "an application", required=("name",), optional=("deployment_groups",))
        app = r.string(am["name"], "application name")
        if app in apps:
            raise r.fail(am["name"], f"application '{app}' is defined twice")
        apps.add(app)
        groups: list[DeploymentGroupSpec] = []
        for gn in r.sequence(am.get("deployment_groups", NULL), "deployment_groups"):
            groups.append(_deployment_group(r, gn, sc, names, config_names))
            if [g.name for g in groups].count(groups[-1].name) > 1:
                raise r.fail(gn, f"deployment group '{groups[-1].name}' is defined twice")
        spec.applications.append(ApplicationSpec(name=app, groups=groups))


def _deployment_configs(r: YamlReader, m: dict[str, yaml.Node], sc: Scenario) -> set[str]:
    """The custom deployment configs into `sc`; returns every config name a group may use."""
    config_names = {
        "CodeDeployDefault.OneAtATime",
        "CodeDeployDefault.HalfAtATime",
        "CodeDeployDefault.AllAtOnce",
    }
    for cn in r.sequence(m.get("deployment_configs", NULL), "deployment_configs"):
        cm = r.mapping(cn, "a deployment config", required=("name", "minimum_healthy_hosts"))
        name = r.string(cm["name"], "deployment config name")
        if name in config_names or name.startswith("CodeDeployDefault."):
            raise r.fail(cm["name"], f"deployment config '{name}' already exists")
        hm = r.mapping(
            cm["minimum_healthy_hosts"], "minimum_healthy_hosts", required=("type", "value")
        )
        kind = r.choice(hm["type"], "minimum_healthy_hosts type", ("HOST_COUNT", "FLEET_PERCENT"))
        hi = 100 if kind == "FLEET_PERCENT" else 10000
        value = r.integer(hm["value"], "minimum_healthy_hosts value", 0, hi)
        config_names.add(name)
        sc.codedeploy.configs.append(
            {
                "deploymentConfigName": name,
                "minimumHealthyHosts": {"type": kind, "value": value},
                "computePlatform": "Server",
            }
        )
    return config_names


def _known(r: YamlReader, gm: dict[str, yaml.Node], key: str, known: Any, kind: str) -> Pairs:
    """The names listed under `key`, each one that the file defines."""
    listed = r.strings(gm[key], key) if key in gm else []
    for value, node in listed:
        if value not in known:
            raise r.fail(node, f"unknown {kind} '{value}'")
    return listed


def _deployment_group(
    r: YamlReader, node: yaml.Node, sc: Scenario, names: Names, config_names: set[str]
) -> DeploymentGroupSpec:
    gm = r.mapping(node, "a deployment group", required=("name",), optional=_GROUP_KEYS)
    name = r.string(gm["name"], "deployment group name")
    style = (
        r.choice(gm["style"], "style", ("blue_green", "in_place"))
        if "style" in gm
        else "blue_green"
    )
    traffic = (
        r.boolean(gm["traffic_control"], "traffic_control") if "traffic_control" in gm else True
    )
    if style == "blue_green" and not traffic:
        raise r.fail(gm["traffic_control"], "blue/green deployments always use traffic control")
    asgs = _known(r, gm, "auto_scaling_groups", names.auto_scaling_groups, "Auto Scaling group")
    tgs = _known(r, gm, "target_groups", names.target_groups, "target group")
    clbs = _known(
        r, gm, "classic_load_balancers", names.classic_load_balancers, "classic load balancer"
    )
    if traffic and not tgs and not clbs:
        raise r.fail(node, f"deployment group {name} has traffic control but no load balancer")
    tags = r.tags(gm["ec2_tags"], "ec2_tags") if "ec2_tags" in gm else {}
    if not asgs and not tags:
        raise r.fail(node, f"deployment group {name} needs auto_scaling_groups or ec2_tags")
    config = "CodeDeployDefault.OneAtATime"
    if "deployment_config" in gm:
        config = r.string(gm["deployment_config"], "deployment_config")
        if config not in config_names:
            raise r.fail(gm["deployment_config"], f"unknown deployment config '{config}'")
    params: dict[str, Any] = {
        "applicationName": "",  # filled by the caller
        "deploymentGroupName": name,
        "deploymentConfigName": config,
        "serviceRoleArn": f"arn:aws:iam::{sc.account_id}:role/CodeDeployServiceRole",
        "deploymentStyle": {
            "deploymentType": "BLUE_GREEN" if style == "blue_green" else "IN_PLACE",
            "deploymentOption": "WITH_TRAFFIC_CONTROL" if traffic else "WITHOUT_TRAFFIC_CONTROL",
        },
        **_alarms_and_rollback(r, gm, sc),
        **_targets(asgs, tags, tgs, clbs),
    }
    if style == "blue_green":
        params["blueGreenDeploymentConfiguration"] = _blue_green(r, gm, bool(asgs))
    elif any(k in gm for k in _BLUE_GREEN_ONLY):
        key = next(k for k in _BLUE_GREEN_ONLY if k in gm)
        raise r.fail(gm[key], f"'{key}' applies only to blue_green deployment groups")
    return DeploymentGroupSpec(name=name, params=params, history=_history(r, gm))


def _alarms_and_rollback(r: YamlReader, gm: dict[str, yaml.Node], sc: Scenario) -> dict:
    alarm_names = {a.name for a in sc.alarms}
    alarms = r.strings(gm["alarms"], "alarms") if "alarms" in gm else []
    for alarm, node_ in alarms:
        if alarm not in alarm_names:
            raise r.fail(node_, f"unknown alarm '{alarm}' (define it under cloudwatch: alarms)")
    events = _ROLLBACK_EVENTS
    rollback = []
    if "auto_rollback" in gm:
        for event, en in r.strings(gm["auto_rollback"], "auto_rollback"):
            if event not in events:
                raise r.fail(en, f"auto_rollback must list of {', '.join(events)}, not '{event}'")
            rollback.append(event)
    return {
        "autoRollbackConfiguration": {"enabled": bool(rollback), "events": rollback},
        "alarmConfiguration": {
            "enabled": bool(alarms),
            "ignorePollAlarmFailure": False,
            "alarms": [{"name": a} for a, _ in alarms],
        },
    }


def _targets(asgs: Pairs, tags: dict[str, str], tgs: Pairs, clbs: Pairs) -> dict:
    """The group's instances and load balancers, as CreateDeploymentGroup names them."""
    params: dict[str, Any] = {}
    if asgs:
        params["autoScalingGroups"] = [a for a, _ in asgs]
    if tags:
        params["ec2TagFilters"] = [
            {"Key": k, "Value": v, "Type": "KEY_AND_VALUE"} for k, v in tags.items()
        ]
    if tgs or clbs:
        params["loadBalancerInfo"] = {
            "targetGroupInfoList": [{"name": t} for t, _ in tgs],
            "elbInfoList": [{"name": c} for c, _ in clbs],
        }
    return params


def _history(r: YamlReader, gm: dict[str, yaml.Node]) -> list[HistorySpec]:
    history: list[HistorySpec] = []
    for hn in r.sequence(gm.get("history", NULL), "history"):
        hm = r.mapping(
            hn,
            "a past deployment",
            required=("revision",),
            optional=("status", "minutes_ago", "rolled_back"),
        )
        past = HistorySpec(
            revision=r.string(hm["revision"], "revision"),
            status=r.choice(hm["status"], "status", ("Succeeded", "Failed", "Stopped"))
            if "status" in hm
            else "Succeeded",
            minutes_ago=r.integer(hm["minutes_ago"], "minutes_ago", 1, 60 * 24 * 365)
            if "minutes_ago" in hm
            else None,
            rolled_back=r.boolean(hm["rolled_back"], "rolled_back")
            if "rolled_back" in hm
            else False,
        )
        if past.rolled_back and past.status == "Succeeded":
            raise r.fail(hm["rolled_back"], "only a Failed or Stopped deployment is rolled back")
        if past.rolled_back and not any(h.status == "Succeeded" for h in history):
            raise r.fail(hm["rolled_back"], "a rollback needs an earlier Succeeded deployment")
        if history and past.minutes_ago is not None:
            before = history[-1].minutes_ago
            if before is not None and before <= past.minutes_ago:
                raise r.fail(hm["minutes_ago"], "history runs oldest first: minutes_ago must fall")
        history.append(past)
    return history


def _blue_green(r: YamlReader, gm: dict[str, yaml.Node], has_asg: bool) -> dict:
    replacement = "copy_auto_scaling_group" if has_asg else "discover_existing"
    if "replacement" in gm:
        replacement = r.choice(
            gm["replacement"], "replacement", ("copy_auto_scaling_group", "discover_existing")
        )
        if replacement == "copy_auto_scaling_group" and not has_asg:
            raise r.fail(gm["replacement"], "copy_auto_scaling_group needs auto_scaling_groups")
    ready = {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
    if "ready_wait" in gm:
        rm = r.mapping(gm["ready_wait"], "ready_wait", required=("action",), optional=("minutes",))
        action = r.choice(rm["action"], "ready_wait action", ("stop_deployment", "continue"))
        ready = {
            "actionOnTimeout": "STOP_DEPLOYMENT"
            if action == "stop_deployment"
            else "CONTINUE_DEPLOYMENT",
            "waitTimeInMinutes": r.integer(rm["minutes"], "ready_wait minutes", 0, 2880)
            if "minutes" in rm
            else 0,
        }
    original = {"action": "TERMINATE", "terminationWaitTimeInMinutes": 60}
    if "original" in gm:
        om = r.mapping(gm["original"], "original", required=("action",), optional=("minutes",))
        action = r.choice(om["action"], "original action", ("terminate", "keep_alive"))
        original = {
            "action": action.upper(),
            "terminationWaitTimeInMinutes": r.integer(om["minutes"], "original minutes", 0, 2880)
            if "minutes" in om
            else 60,
        }
    return {
        "terminateBlueInstancesOnDeploymentSuccess": original,
        "deploymentReadyOption": ready,
        "greenFleetProvisioningOption": {"action": replacement.upper()},
    }
