"""AWS CodeDeploy (EC2/on-premises, computePlatform Server): applications, revisions,
deployment configs, deployment groups, deployments and their targets.

Calls validate their input, raise the modeled errors, and shape the engine's state
(`cutover.sandbox.codedeploy`) exactly as boto3 returns it. Deployments themselves move in the
engine's tick. S3 and GitHub revisions are accepted without fetching anything: instances then
serve the revision's label (the S3 key's file name without extension, or the commit id).
"""

from __future__ import annotations

import re
from datetime import datetime

from cutover.sandbox import codedeploy
from cutover.sandbox.codedeploy import (
    Application,
    CodeDeploy,
    Deployment,
    DeploymentConfig,
    DeploymentGroup,
    DeploymentTarget,
    RevisionRecord,
    revision_key,
)
from cutover.sandbox.services import autoscaling, operation
from cutover.sandbox.services.ec2 import paginate
from cutover.sandbox.world import World, WorldError

SERVICE = "codedeploy"
PAGE = 100  # items per page of the List* calls
BATCH_LIMIT = 100  # names per BatchGetApplications / BatchGetDeploymentGroups
DEPLOYMENT_BATCH_LIMIT = 25  # ids per BatchGetDeployments / ...Targets / ...Instances
MAX_ALARMS = 10
MAX_WAIT_MINUTES = 2880

DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")
# GitHubLocation.commitId is "the SHA1 commit ID" (API reference). The sandbox's agent names
# archives after it, so nothing else may pass: no branch names, no slashes, no `..`.
COMMIT_ID = re.compile(r"[0-9a-fA-F]{40}")
NAME = re.compile(r"^[\w.+=,@-]{1,100}$")
STATUSES = ("Created", "Queued", "InProgress", "Baking", "Succeeded", "Failed", "Stopped", "Ready")
TARGET_STATUSES = ("Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Unknown", "Ready")
LABELS = ("Blue", "Green")
ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
TAG_FILTER_TYPES = ("KEY_ONLY", "VALUE_ONLY", "KEY_AND_VALUE")
BUNDLE_TYPES = ("tar", "tgz", "zip")
FILE_EXISTS = ("DISALLOW", "OVERWRITE", "RETAIN")
ALLOWED_PROCESSES = ("AZRebalance", "AlarmNotification", "ScheduledActions", "ReplaceUnhealthy")


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


# ----- shapes ----------------------------------------------------------------------------------


def _application_info(app: Application) -> dict:
    return {
        "applicationId": app.id,
        "applicationName": app.name,
        "createTime": app.created,
        "linkedToGitHub": False,
        "computePlatform": app.compute_platform,
    }


def _config_info(cfg: DeploymentConfig) -> dict:
    out = {
        "deploymentConfigId": cfg.id,
        "deploymentConfigName": cfg.name,
        "minimumHealthyHosts": {"type": cfg.min_type, "value": cfg.min_value},
        "createTime": cfg.created,
        "computePlatform": cfg.compute_platform,
    }
    if cfg.zonal:
        out["zonalConfig"] = cfg.zonal
    return out


def _last(cd: CodeDeploy, deployment_id: str | None) -> dict | None:
    dep = cd.deployments.get(deployment_id or "")
    if dep is None:
        return None
    out = {"deploymentId": dep.id, "status": dep.status, "createTime": dep.created}
    if dep.completed is not None:
        out["endTime"] = dep.completed
    return out


def _group_info(cd: CodeDeploy, grp: DeploymentGroup) -> dict:
    out = {
        "applicationName": grp.application,
        "deploymentGroupId": grp.id,
        "deploymentGroupName": grp.name,
        **codedeploy.clone(grp.spec),
        "computePlatform": "Server",
    }
    if grp.target_revision is not None:
        out["targetRevision"] = grp.target_revision
    for key, dep_id in (
        ("lastSuccessfulDeployment", grp.last_successful),
        ("lastAttemptedDeployment", grp.last_attempted),
    ):
        last = _last(cd, dep_id)
        if last is not None:
            out[key] = last
    return out


def deployment_info(dep: Deployment) -> dict:
    """One deployment shaped as the model's DeploymentInfo."""
    out: dict = {
        "applicationName": dep.application,
        "deploymentGroupName": dep.group,
        "deploymentConfigName": dep.config,
        "deploymentId": dep.id,
        "revision": dep.revision,
        "status": dep.status,
        "createTime": dep.created,
        "deploymentOverview": dep.overview(),
        "creator": dep.creator,
        "ignoreApplicationStopFailures": dep.ignore_stop_failures,
        "autoRollbackConfiguration": dep.auto_rollback,
        "updateOutdatedInstancesOnly": dep.update_outdated_only,
        "deploymentStyle": dep.style,
        "instanceTerminationWaitTimeStarted": dep.termination_wait_started,
        "fileExistsBehavior": dep.file_exists or "DISALLOW",
        "deploymentStatusMessages": list(dep.status_messages),
        "computePlatform": "Server",
    }
    optional = {
        "previousRevision": dep.previous_revision,
        "errorInformation": dep.error,
        "startTime": dep.started,
        "completeTime": dep.completed,
        "description": dep.description,
        "rollbackInfo": dep.rollback_info,
        "targetInstances": dep.target_instances,
        "blueGreenDeploymentConfiguration": dep.blue_green,
        "loadBalancerInfo": dep.lb_info,
        "overrideAlarmConfiguration": dep.override_alarms,
        "ec2DeploymentOptions": dep.ec2_options,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _events(t: DeploymentTarget) -> list[dict]:
    out = []
    for ev in t.events:
        item: dict = {"lifecycleEventName": ev.name, "status": ev.status}
        if ev.start is not None:
            item["startTime"] = ev.start
        if ev.end is not None:
            item["endTime"] = ev.end
        if ev.diagnostics is not None:
            item["diagnostics"] = ev.diagnostics
        out.append(item)
    return out


def _instance_arn(world: World, instance_id: str) -> str:
    return world.arn("ec2", f"instance/{instance_id}")


def _target_dict(world: World, dep: Deployment, t: DeploymentTarget) -> dict:
    target = {
        "deploymentId": dep.id,
        "targetId": t.instance_id,
        "targetArn": _instance_arn(world, t.instance_id),
        "status": t.status,
        "lastUpdatedAt": t.updated,
        "lifecycleEvents": _events(t),
    }
    if t.label:
        target["instanceLabel"] = t.label
    return {"deploymentTargetType": "InstanceTarget", "instanceTarget": target}


def _instance_summary(world: World, dep: Deployment, t: DeploymentTarget) -> dict:
    out = {
        "deploymentId": dep.id,
        "instanceId": _instance_arn(world, t.instance_id),
        "status": t.status,
        "lastUpdatedAt": t.updated,
        "lifecycleEvents": _events(t),
    }
    if t.label:
        out["instanceType"] = t.label
    return out


# ----- validation of settings ------------------------------------------------------------------


def _tag_filters(filters: list[dict] | None, code: str = "InvalidEC2TagException") -> list[dict]:
    out = []
    for f in filters or []:
        kind = f.get("Type")
        if kind is not None and kind not in TAG_FILTER_TYPES:
            raise _err(code, f"The tag filter type {kind} is invalid.")
        if kind in (None, "KEY_AND_VALUE", "KEY_ONLY") and not f.get("Key"):
            raise _err(code, "The tag filter key was not specified.")
        out.append({k: v for k, v in f.items() if k in ("Key", "Value", "Type")})
    return out


def _auto_rollback(value: dict | None) -> dict:
    value = value or {}
    events = list(value.get("events") or [])
    for event in events:
        if event not in ROLLBACK_EVENTS:
            raise _err(
                "InvalidAutoRollbackConfigException",
                f"The automatic rollback event {event} is invalid. Valid events are: "
                + ", ".join(ROLLBACK_EVENTS),
            )
    enabled = bool(value.get("enabled"))
    if enabled and not events:
        raise _err(
            "InvalidAutoRollbackConfigException",
            "At least one event must be specified when automatic rollback is enabled.",
        )
    return {"enabled": enabled, "events": list(dict.fromkeys(events))}


def _alarm_config(value: dict | None) -> dict:
    value = value or {}
    alarms = [{"name": a["name"]} for a in value.get("alarms") or [] if a.get("name")]
    if len(alarms) > MAX_ALARMS:
        raise _err(
            "AlarmsLimitExceededException",
            f"The maximum number of alarms for a deployment group ({MAX_ALARMS}) was exceeded.",
        )
    enabled = bool(value.get("enabled"))
    if enabled and not alarms:
        raise _err(
            "InvalidAlarmConfigException",
            "At least one alarm must be specified when the alarm configuration is enabled.",
        )
    return {
        "enabled": enabled,
        "ignorePollAlarmFailure": bool(value.get("ignorePollAlarmFailure")),
        "alarms": alarms,
    }


def _style(value: dict | None) -> dict:
    value = value or {}
    kind = value.get("deploymentType") or "IN_PLACE"
    option = value.get("deploymentOption") or "WITHOUT_TRAFFIC_CONTROL"
    if kind not in ("IN_PLACE", "BLUE_GREEN"):
        raise _err("InvalidDeploymentStyleException", f"The deployment type {kind} is invalid.")
    if option not in ("WITH_TRAFFIC_CONTROL", "WITHOUT_TRAFFIC_CONTROL"):
        raise _err("InvalidDeploymentStyleException", f"The deployment option {option} is invalid.")
    if kind == "BLUE_GREEN" and option != "WITH_TRAFFIC_CONTROL":
        raise _err(
            "InvalidDeploymentStyleException",
            "A blue/green deployment on the Server compute platform must use WITH_TRAFFIC_CONTROL.",
        )
    return {"deploymentType": kind, "deploymentOption": option}


def _minutes(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_WAIT_MINUTES:
        raise _err(
            "InvalidBlueGreenDeploymentConfigurationException",
            f"{what} must be a number of minutes from 0 to {MAX_WAIT_MINUTES}.",
        )
    return value


def _blue_green(value: dict | None) -> dict:
    """The blue/green settings with AWS's defaults filled in."""
    value = value or {}
    bad = "InvalidBlueGreenDeploymentConfigurationException"
    term = value.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    ready = value.get("deploymentReadyOption") or {}
    green = value.get("greenFleetProvisioningOption") or {}
    action = term.get("action") or "TERMINATE"
    if action not in ("TERMINATE", "KEEP_ALIVE"):
        raise _err(bad, f"The action {action} for original instances is invalid.")
    on_timeout = ready.get("actionOnTimeout") or "CONTINUE_DEPLOYMENT"
    if on_timeout not in ("CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"):
        raise _err(bad, f"The action on timeout {on_timeout} is invalid.")
    provisioning = green.get("action") or "DISCOVER_EXISTING"
    if provisioning not in ("DISCOVER_EXISTING", "COPY_AUTO_SCALING_GROUP"):
        raise _err(bad, f"The green fleet provisioning action {provisioning} is invalid.")
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


def _load_balancer_info(world: World, value: dict | None) -> dict | None:
    if value is None:
        return None
    bad = "InvalidLoadBalancerInfoException"
    if value.get("targetGroupPairInfoList"):
        raise _err(bad, "Target group pairs are only supported for Amazon ECS deployments.")
    tgs = [{"name": e.get("name", "")} for e in value.get("targetGroupInfoList") or []]
    elbs = [{"name": e.get("name", "")} for e in value.get("elbInfoList") or []]
    for entry in tgs:
        if world.target_group_by_name(entry["name"]) is None:
            raise _err(bad, f"The target group {entry['name']} was not found.")
    for entry in elbs:
        if entry["name"] not in world.classic_lbs:
            raise _err(bad, f"The load balancer {entry['name']} was not found.")
    out: dict = {}
    if elbs:
        out["elbInfoList"] = elbs
    if tgs:
        out["targetGroupInfoList"] = tgs
    return out


def _asg_entries(world: World, names: list[str], existing: list[dict], group: str) -> list[dict]:
    missing = [n for n in names if n not in world.asgs]
    if missing:
        raise _err(
            "InvalidAutoScalingGroupException",
            f"Auto Scaling groups not found: {', '.join(missing)}",
        )
    hooks = {e["name"]: e for e in existing}
    return [
        hooks.get(n) or {"name": n, "hook": codedeploy.launch_hook_name(world, group)}
        for n in dict.fromkeys(names)
    ]


def _spec(world: World, params: dict, group: str, old: dict | None) -> dict:
    """Group settings from Create/UpdateDeploymentGroup params, merged over `old`."""
    cd = _cd(world)
    spec = (
        codedeploy.clone(old)
        if old
        else {
            "deploymentConfigName": codedeploy.DEFAULT_CONFIG,
            "ec2TagFilters": [],
            "onPremisesInstanceTagFilters": [],
            "autoScalingGroups": [],
            "triggerConfigurations": [],
            "alarmConfiguration": _alarm_config(None),
            "autoRollbackConfiguration": _auto_rollback(None),
            "outdatedInstancesStrategy": "UPDATE",
            "deploymentStyle": _style(None),
            "terminationHookEnabled": False,
        }
    )

    def given(key: str) -> bool:
        return params.get(key) is not None

    if given("deploymentConfigName"):
        name = params["deploymentConfigName"]
        if name not in cd.configs:
            raise _err(
                "DeploymentConfigDoesNotExistException", f"No deployment config named {name}"
            )
        spec["deploymentConfigName"] = name
    if given("serviceRoleArn"):
        role = params["serviceRoleArn"]
        if not re.match(r"^arn:aws[\w-]*:iam::\d{12}:role/", role):
            raise _err("InvalidRoleException", f"The service role ARN {role} is invalid.")
        spec["serviceRoleArn"] = role
    if given("ec2TagFilters"):
        spec["ec2TagFilters"] = _tag_filters(params["ec2TagFilters"])
    if given("onPremisesInstanceTagFilters"):
        spec["onPremisesInstanceTagFilters"] = _tag_filters(
            params["onPremisesInstanceTagFilters"], "InvalidTagException"
        )
    if given("ec2TagSet"):
        sets = params["ec2TagSet"].get("ec2TagSetList") or []
        spec["ec2TagSet"] = {"ec2TagSetList": [_tag_filters(s) for s in sets]}
        if spec["ec2TagSet"]["ec2TagSetList"] and spec.get("ec2TagFilters"):
            raise _err(
                "InvalidEC2TagCombinationException",
                "ec2TagFilters and ec2TagSet cannot both be specified.",
            )
    if given("onPremisesTagSet"):
        spec["onPremisesTagSet"] = params["onPremisesTagSet"]
    if given("autoScalingGroups"):
        spec["autoScalingGroups"] = _asg_entries(
            world, params["autoScalingGroups"], spec.get("autoScalingGroups") or [], group
        )
    if given("triggerConfigurations"):
        spec["triggerConfigurations"] = params["triggerConfigurations"]
    if given("alarmConfiguration"):
        spec["alarmConfiguration"] = _alarm_config(params["alarmConfiguration"])
    if given("autoRollbackConfiguration"):
        spec["autoRollbackConfiguration"] = _auto_rollback(params["autoRollbackConfiguration"])
    if given("outdatedInstancesStrategy"):
        if params["outdatedInstancesStrategy"] not in ("UPDATE", "IGNORE"):
            raise _err(
                "InvalidInputException", "outdatedInstancesStrategy must be UPDATE or IGNORE."
            )
        spec["outdatedInstancesStrategy"] = params["outdatedInstancesStrategy"]
    if given("deploymentStyle"):
        spec["deploymentStyle"] = _style(params["deploymentStyle"])
    if given("ec2DeploymentOptions"):
        processes = params["ec2DeploymentOptions"].get("autoScalingGroupProcessesToSuspend") or []
        for name in processes:
            if name not in ALLOWED_PROCESSES:
                raise _err(
                    "InvalidAutoScalingGroupProcessToSuspendException",
                    f"The process {name} cannot be suspended by CodeDeploy.",
                )
        spec["ec2DeploymentOptions"] = {"autoScalingGroupProcessesToSuspend": list(processes)}
    if given("terminationHookEnabled"):
        spec["terminationHookEnabled"] = bool(params["terminationHookEnabled"])
    if given("loadBalancerInfo"):
        spec["loadBalancerInfo"] = _load_balancer_info(world, params["loadBalancerInfo"])
    blue_green = spec["deploymentStyle"]["deploymentType"] == "BLUE_GREEN"
    if given("blueGreenDeploymentConfiguration") or (
        blue_green and "blueGreenDeploymentConfiguration" not in spec
    ):
        spec["blueGreenDeploymentConfiguration"] = _blue_green(
            params.get("blueGreenDeploymentConfiguration")
        )
    if spec["deploymentStyle"]["deploymentOption"] == "WITH_TRAFFIC_CONTROL":
        lb = spec.get("loadBalancerInfo") or {}
        if not lb.get("targetGroupInfoList") and not lb.get("elbInfoList"):
            raise _err(
                "InvalidLoadBalancerInfoException",
                "A deployment group with traffic control needs a load balancer: specify at least "
                "one target group or Classic Load Balancer in loadBalancerInfo.",
            )
    if blue_green:
        action = spec["blueGreenDeploymentConfiguration"]["greenFleetProvisioningOption"]["action"]
        if action == "COPY_AUTO_SCALING_GROUP" and len(spec["autoScalingGroups"]) != 1:
            raise _err(
                "InvalidBlueGreenDeploymentConfigurationException",
                "COPY_AUTO_SCALING_GROUP requires exactly one Auto Scaling group in the "
                "deployment group.",
            )
    for entry in spec["autoScalingGroups"]:
        entry.pop("terminationHook", None)
        if spec["terminationHookEnabled"]:
            entry["terminationHook"] = entry["hook"].replace("launch", "termination")
    if "serviceRoleArn" not in spec:
        raise _err("RoleRequiredException", "The service role ARN was not specified.")
    return spec


def _revision(value: dict | None) -> dict:
    bad = "InvalidRevisionException"
    if not value:
        raise _err("RevisionRequiredException", "The revision ID was not specified.")
    kind = value.get("revisionType")
    if kind == "S3":
        s3 = value.get("s3Location") or {}
        if not s3.get("bucket") or not s3.get("key"):
            raise _err(bad, "The S3 location of the revision must name a bucket and a key.")
        if s3.get("bundleType") is not None and s3["bundleType"] not in BUNDLE_TYPES:
            raise _err(
                bad,
                f"The bundle type {s3['bundleType']} is invalid for the Server compute platform. "
                "Valid bundle types are: tar, tgz, zip.",
            )
        keep = ("bucket", "key", "bundleType", "version", "eTag")
        return {"revisionType": "S3", "s3Location": {k: s3[k] for k in keep if k in s3}}
    if kind == "GitHub":
        gh = value.get("gitHubLocation") or {}
        if not gh.get("repository") or not gh.get("commitId"):
            raise _err(
                bad, "The GitHub location of the revision must name a repository and a commit ID."
            )
        if not COMMIT_ID.fullmatch(str(gh["commitId"])):
            raise _err(
                bad,
                f"The commit ID {gh['commitId']!r} is not a SHA-1 commit ID (40 hexadecimal "
                "characters).",
            )
        return {
            "revisionType": "GitHub",
            "gitHubLocation": {"repository": gh["repository"], "commitId": gh["commitId"]},
        }
    if kind in ("String", "AppSpecContent"):
        raise _err(
            bad, f"The revision type {kind} is not supported for the Server compute platform."
        )
    raise _err(bad, f"The revision type {kind} is invalid.")


# ----- applications ----------------------------------------------------------------------------


@operation(SERVICE, "CreateApplication")
def create_application(world: World, params: dict) -> dict:
    cd = _cd(world)
    name = _app_name(params)
    platform = params.get("computePlatform") or "Server"
    if platform not in ("Server", "Lambda", "ECS"):
        raise _err(
            "InvalidComputePlatformException", f"The compute platform {platform} is invalid."
        )
    if name in cd.applications:
        raise _err("ApplicationAlreadyExistsException", f"{name} already exists in your account")
    app = Application(
        name=name,
        id=world.new_uuid(),
        created=world.now(),
        compute_platform=platform,
        tags=list(params.get("tags") or []),
    )
    cd.applications[name] = app
    return {"applicationId": app.id}


@operation(SERVICE, "GetApplication")
def get_application(world: World, params: dict) -> dict:
    app = _cd(world).application(_app_name(params))
    return {"application": _application_info(app)}


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
    return {"applicationsInfo": [_application_info(cd.application(n)) for n in names]}


@operation(SERVICE, "DeleteApplication")
def delete_application(world: World, params: dict) -> dict:
    cd = _cd(world)
    name = _app_name(params)
    cd.applications.pop(name, None)
    for key in [k for k in cd.groups if k[0] == name]:
        grp = cd.groups.pop(key)
        codedeploy.sync_launch_hooks(world, grp.id, grp.spec["autoScalingGroups"], [])
    return {}


# ----- revisions -------------------------------------------------------------------------------


@operation(SERVICE, "RegisterApplicationRevision")
def register_application_revision(world: World, params: dict) -> dict:
    app = _cd(world).application(_app_name(params))
    location = _revision(params.get("revision"))
    rec = app.revisions.setdefault(revision_key(location), RevisionRecord(location))
    rec.registered = rec.registered or world.now()
    if params.get("description") is not None:
        rec.description = params["description"]
    return {}


def _revision_info(rec: RevisionRecord) -> dict:
    info: dict = {"deploymentGroups": list(rec.groups)}
    for key, value in (
        ("description", rec.description),
        ("firstUsedTime", rec.first_used),
        ("lastUsedTime", rec.last_used),
        ("registerTime", rec.registered or rec.first_used),
    ):
        if value is not None:
            info[key] = value
    return info


@operation(SERVICE, "GetApplicationRevision")
def get_application_revision(world: World, params: dict) -> dict:
    app = _cd(world).application(_app_name(params))
    location = _revision(params.get("revision"))
    rec = app.revisions.get(revision_key(location))
    if rec is None:
        raise _err("RevisionDoesNotExistException", "No application revision found for revision.")
    return {
        "applicationName": app.name,
        "revision": rec.location,
        "revisionInfo": _revision_info(rec),
    }


@operation(SERVICE, "ListApplicationRevisions")
def list_application_revisions(world: World, params: dict) -> dict:
    app = _cd(world).application(_app_name(params))
    sort_by = params.get("sortBy")
    if sort_by is not None and sort_by not in ("registerTime", "firstUsedTime", "lastUsedTime"):
        raise _err("InvalidSortByException", f"The column name to sort by is invalid: {sort_by}")
    order = params.get("sortOrder") or "ascending"
    if order not in ("ascending", "descending"):
        raise _err("InvalidSortOrderException", f"The sort order is invalid: {order}")
    deployed = params.get("deployed") or "ignore"
    if deployed not in ("include", "exclude", "ignore"):
        raise _err(
            "InvalidDeployedStateFilterException",
            f"The deployed state filter is invalid: {deployed}",
        )
    if params.get("s3KeyPrefix") and not params.get("s3Bucket"):
        raise _err(
            "BucketNameFilterRequiredException",
            "A bucket name is required when a key prefix is specified.",
        )
    records = list(app.revisions.values())
    if params.get("s3Bucket"):
        records = [
            r
            for r in records
            if (r.location.get("s3Location") or {}).get("bucket") == params["s3Bucket"]
            and str((r.location.get("s3Location") or {}).get("key", "")).startswith(
                params.get("s3KeyPrefix") or ""
            )
        ]
    if deployed == "include":
        records = [r for r in records if r.first_used is not None]
    elif deployed == "exclude":
        records = [r for r in records if r.first_used is None]
    if sort_by:
        attr = {
            "registerTime": "registered",
            "firstUsedTime": "first_used",
            "lastUsedTime": "last_used",
        }[sort_by]
        floor = datetime.min.replace(tzinfo=world.now().tzinfo)
        records.sort(key=lambda r: getattr(r, attr) or floor, reverse=order == "descending")
    elif order == "descending":
        records.reverse()
    page, more = _page(
        [r.location for r in records], params, f"ListApplicationRevisions:{app.name}"
    )
    return {"revisions": page, **more}


# ----- deployment configs ----------------------------------------------------------------------


@operation(SERVICE, "CreateDeploymentConfig")
def create_deployment_config(world: World, params: dict) -> dict:
    cd = _cd(world)
    name = params.get("deploymentConfigName")
    if not name:
        raise _err(
            "DeploymentConfigNameRequiredException",
            "The deployment configuration name was not specified.",
        )
    if not NAME.match(name) or name.startswith("CodeDeployDefault."):
        raise _err(
            "InvalidDeploymentConfigNameException",
            f"The deployment configuration name {name} is invalid.",
        )
    if name in cd.configs:
        raise _err(
            "DeploymentConfigAlreadyExistsException",
            f"A deployment configuration with the name {name} already exists.",
        )
    platform = params.get("computePlatform") or "Server"
    if platform != "Server":
        raise _err(
            "InvalidComputePlatformException",
            "The sandbox supports only the Server compute platform.",
        )
    if params.get("trafficRoutingConfig"):
        raise _err(
            "InvalidTrafficRoutingConfigurationException",
            "Traffic routing configurations are only for Lambda and Amazon ECS deployments.",
        )
    mhh = params.get("minimumHealthyHosts") or {}
    kind, value = mhh.get("type"), mhh.get("value")
    valid = (kind == "HOST_COUNT" and isinstance(value, int) and value >= 0) or (
        kind == "FLEET_PERCENT" and isinstance(value, int) and 0 <= value <= 99
    )
    if not valid:
        raise _err(
            "InvalidMinimumHealthyHostValueException",
            "The minimum healthy instance value was specified in an invalid format: use "
            "HOST_COUNT with a value of 0 or more, or FLEET_PERCENT with a value from 0 to 99.",
        )
    cfg = DeploymentConfig(
        name=name,
        id=world.new_uuid(),
        created=world.now(),
        min_type=kind,
        min_value=value,
        zonal=params.get("zonalConfig"),
    )
    cd.configs[name] = cfg
    return {"deploymentConfigId": cfg.id}


@operation(SERVICE, "GetDeploymentConfig")
def get_deployment_config(world: World, params: dict) -> dict:
    name = params.get("deploymentConfigName")
    if not name:
        raise _err(
            "DeploymentConfigNameRequiredException",
            "The deployment configuration name was not specified.",
        )
    cfg = _cd(world).configs.get(name)
    if cfg is None:
        raise _err("DeploymentConfigDoesNotExistException", f"No deployment config named {name}")
    return {"deploymentConfigInfo": _config_info(cfg)}


@operation(SERVICE, "ListDeploymentConfigs")
def list_deployment_configs(world: World, params: dict) -> dict:
    page, more = _page(sorted(_cd(world).configs), params, "ListDeploymentConfigs")
    return {"deploymentConfigsList": page, **more}


@operation(SERVICE, "DeleteDeploymentConfig")
def delete_deployment_config(world: World, params: dict) -> dict:
    cd = _cd(world)
    name = params.get("deploymentConfigName")
    cfg = cd.configs.get(name or "")
    if cfg is None:
        return {}
    if cfg.builtin:
        raise _err(
            "InvalidOperationException", "A predefined deployment configuration cannot be deleted."
        )
    in_use = any(g.spec["deploymentConfigName"] == name for g in cd.groups.values()) or any(
        d.config == name and d.active for d in cd.deployments.values()
    )
    if in_use:
        raise _err(
            "DeploymentConfigInUseException",
            f"The deployment configuration {name} is still in use.",
        )
    del cd.configs[cfg.name]
    return {}


# ----- deployment groups -----------------------------------------------------------------------


@operation(SERVICE, "CreateDeploymentGroup")
def create_deployment_group(world: World, params: dict) -> dict:
    cd = _cd(world)
    app = cd.application(_app_name(params))
    name = _group_name(params)
    if (app.name, name) in cd.groups:
        raise _err(
            "DeploymentGroupAlreadyExistsException",
            f"A deployment group named {name} already exists for application {app.name}.",
        )
    if not params.get("serviceRoleArn"):
        raise _err("RoleRequiredException", "The service role ARN was not specified.")
    spec = _spec(world, params, name, None)
    grp = DeploymentGroup(
        app.name, name, world.new_uuid(), spec, tags=list(params.get("tags") or [])
    )
    cd.groups[(app.name, name)] = grp
    codedeploy.sync_launch_hooks(world, grp.id, [], spec["autoScalingGroups"])
    return {"deploymentGroupId": grp.id}


@operation(SERVICE, "GetDeploymentGroup")
def get_deployment_group(world: World, params: dict) -> dict:
    cd = _cd(world)
    grp = cd.group(_app_name(params), _group_name(params))
    return {"deploymentGroupInfo": _group_info(cd, grp)}


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
            found.append(_group_info(cd, grp))
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
        if (app.name, new_name) in cd.groups:
            raise _err(
                "DeploymentGroupAlreadyExistsException",
                f"A deployment group named {new_name} already exists for application {app.name}.",
            )
    before = grp.spec["autoScalingGroups"]
    grp.spec = _spec(world, params, new_name or current, grp.spec)
    codedeploy.sync_launch_hooks(world, grp.id, before, grp.spec["autoScalingGroups"])
    if new_name and new_name != current:
        del cd.groups[(app.name, current)]
        grp.name = new_name
        cd.groups[(app.name, new_name)] = grp
        for dep in cd.deployments.values():
            if dep.application == app.name and dep.group == current:
                dep.group = new_name
    return {"hooksNotCleanedUp": []}


@operation(SERVICE, "DeleteDeploymentGroup")
def delete_deployment_group(world: World, params: dict) -> dict:
    """Delete a group; deleting one that does not exist succeeds, as in AWS."""
    cd = _cd(world)
    app_name = _app_name(params)
    grp = cd.groups.pop((app_name, _group_name(params)), None)
    if grp is not None:
        codedeploy.sync_launch_hooks(world, grp.id, grp.spec["autoScalingGroups"], [])
    return {"hooksNotCleanedUp": []}


# ----- deployments -----------------------------------------------------------------------------


@operation(SERVICE, "CreateDeployment")
def create_deployment(world: World, params: dict) -> dict:
    """Start a deployment of `revision` (or the group's target revision) to the group.

    One deployment at a time per group (DeploymentLimitExceededException names the active
    one). Blue/green with DISCOVER_EXISTING needs `targetInstances`.
    """
    cd = _cd(world)
    app = cd.application(_app_name(params))
    grp = cd.group(app.name, _group_name(params))
    raw = params.get("revision")
    if raw is None and grp.target_revision is None:
        raise _err("RevisionRequiredException", "The revision ID was not specified.")
    revision = _revision(raw) if raw is not None else grp.target_revision
    assert revision is not None
    config = params.get("deploymentConfigName") or grp.spec["deploymentConfigName"]
    if config not in cd.configs:
        raise _err("DeploymentConfigDoesNotExistException", f"No deployment config named {config}")
    file_exists = params.get("fileExistsBehavior")
    if file_exists is not None and file_exists not in FILE_EXISTS:
        raise _err(
            "InvalidFileExistsBehaviorException",
            f"The fileExistsBehavior {file_exists} is invalid.",
        )
    auto_rollback = None
    if params.get("autoRollbackConfiguration") is not None:
        auto_rollback = _auto_rollback(params["autoRollbackConfiguration"])
    alarms = None
    if params.get("overrideAlarmConfiguration") is not None:
        alarms = _alarm_config(params["overrideAlarmConfiguration"])
    missing = [e["name"] for e in grp.spec["autoScalingGroups"] if e["name"] not in world.asgs]
    if missing:
        raise _err(
            "InvalidAutoScalingGroupException",
            f"Auto Scaling groups not found: {', '.join(missing)}",
        )
    spec = grp.spec
    blue_green = spec["deploymentStyle"]["deploymentType"] == "BLUE_GREEN"
    targets = params.get("targetInstances")
    if targets is not None and not blue_green:
        raise _err(
            "InvalidTargetInstancesException",
            "targetInstances can only be specified for a blue/green deployment.",
        )
    if blue_green:
        action = spec["blueGreenDeploymentConfiguration"]["greenFleetProvisioningOption"]["action"]
        if action == "DISCOVER_EXISTING":
            names = (targets or {}).get("autoScalingGroups") or []
            filters = (targets or {}).get("tagFilters") or []
            tag_set = ((targets or {}).get("ec2TagSet") or {}).get("ec2TagSetList") or []
            if not names and not filters and not tag_set:
                raise _err(
                    "InvalidTargetInstancesException",
                    "The target instances for the replacement environment were not specified.",
                )
            unknown = [n for n in names if n not in world.asgs]
            if unknown:
                raise _err(
                    "InvalidAutoScalingGroupException",
                    f"Auto Scaling groups not found: {', '.join(unknown)}",
                )
            targets = {k: v for k, v in (targets or {}).items() if v}
            if filters:
                targets["tagFilters"] = _tag_filters(filters)
        else:
            targets = None
    active = cd.active_deployment(app.name, grp.name)
    if active is not None:
        raise _err(
            "DeploymentLimitExceededException",
            f"The Deployment Group '{grp.name}' already has an active Deployment '{active.id}'",
        )
    dep = cd.new_deployment(
        grp,
        revision=revision,
        config=config,
        description=params.get("description"),
        auto_rollback=auto_rollback,
        alarms=alarms,
        target_instances=targets,
        ignore_stop_failures=bool(params.get("ignoreApplicationStopFailures")),
        update_outdated_only=bool(params.get("updateOutdatedInstancesOnly")),
        file_exists=file_exists,
        ec2_options=params.get("ec2DeploymentOptions"),
    )
    cd.start_deployment(dep)
    return {"deploymentId": dep.id}


@operation(SERVICE, "GetDeployment")
def get_deployment(world: World, params: dict) -> dict:
    return {"deploymentInfo": deployment_info(_deployment(world, params.get("deploymentId")))}


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
            out.append(deployment_info(dep))
    return {"deploymentsInfo": out}


@operation(SERVICE, "ListDeployments")
def list_deployments(world: World, params: dict) -> dict:
    """Deployment ids, newest first, optionally of one group, by status and creation time."""
    cd = _cd(world)
    deps = list(cd.deployments.values())
    app_name, group_name = params.get("applicationName"), params.get("deploymentGroupName")
    if group_name and not app_name:
        raise _err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    if app_name:
        app = cd.application(_app_name(params))
        if not group_name:
            raise _err(
                "DeploymentGroupNameRequiredException",
                "The deployment group name was not specified.",
            )
        grp = cd.group(app.name, _group_name(params))
        deps = [d for d in deps if d.application == app.name and d.group == grp.name]
    statuses = params.get("includeOnlyStatuses") or []
    for status in statuses:
        if status not in STATUSES:
            raise _err(
                "InvalidDeploymentStatusException", f"The deployment status {status} is invalid."
            )
    if statuses:
        deps = [d for d in deps if d.status in statuses]
    window = params.get("createTimeRange") or {}
    start, end = window.get("start"), window.get("end")
    if start is not None and end is not None and start > end:
        raise _err(
            "InvalidTimeRangeException", "The start time of the time range is after its end."
        )
    if start is not None:
        deps = [d for d in deps if d.created >= start]
    if end is not None:
        deps = [d for d in deps if d.created <= end]
    deps.sort(key=lambda d: d.created, reverse=True)
    page, more = _page([d.id for d in deps], params, "ListDeployments")
    return {"deployments": page, **more}


@operation(SERVICE, "ContinueDeployment")
def continue_deployment(world: World, params: dict) -> dict:
    """READY_WAIT (the default) starts rerouting traffic of a Ready blue/green deployment;
    TERMINATION_WAIT terminates the original instances now instead of after the wait."""
    dep = _deployment(world, params.get("deploymentId"))
    wait_type = params.get("deploymentWaitType") or "READY_WAIT"
    if wait_type not in ("READY_WAIT", "TERMINATION_WAIT"):
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


def _target(dep: Deployment, target_id: str | None) -> DeploymentTarget:
    if not target_id:
        raise _err(
            "DeploymentTargetIdRequiredException", "A deployment target ID was not provided."
        )
    t = dep.targets.get(target_id)
    if t is None:
        raise _err(
            "DeploymentTargetDoesNotExistException",
            f"The provided target ID {target_id} does not belong to the deployment {dep.id}.",
        )
    return t


@operation(SERVICE, "ListDeploymentTargets")
def list_deployment_targets(world: World, params: dict) -> dict:
    """Target ids of a deployment (originals first), filtered by TargetStatus and
    ServerInstanceLabel."""
    dep = _deployment(world, params.get("deploymentId"))
    targets = list(dep.targets.values())
    for name, values in (params.get("targetFilters") or {}).items():
        if name == "TargetStatus":
            bad = [v for v in values if v not in TARGET_STATUSES]
            if bad:
                raise _err(
                    "InvalidInstanceStatusException",
                    f"The specified instance status does not exist: {bad[0]}",
                )
            targets = [t for t in targets if t.status in values]
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
    return {"deploymentTargets": [_target_dict(world, dep, _target(dep, i)) for i in ids]}


@operation(SERVICE, "GetDeploymentTarget")
def get_deployment_target(world: World, params: dict) -> dict:
    dep = _deployment(world, params.get("deploymentId"))
    return {"deploymentTarget": _target_dict(world, dep, _target(dep, params.get("targetId")))}


@operation(SERVICE, "ListDeploymentInstances")
def list_deployment_instances(world: World, params: dict) -> dict:
    dep = _deployment(world, params.get("deploymentId"))
    targets = list(dep.targets.values())
    statuses = params.get("instanceStatusFilter") or []
    for status in statuses:
        if status not in TARGET_STATUSES:
            raise _err(
                "InvalidInstanceStatusException",
                f"The specified instance status does not exist: {status}",
            )
    if statuses:
        targets = [t for t in targets if t.status in statuses]
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
    found = [_instance_summary(world, dep, dep.targets[i]) for i in ids if i in dep.targets]
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
    return {"instanceSummary": _instance_summary(world, dep, t)}
