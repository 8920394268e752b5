"""CodeDeploy's resources as its API shows them: ApplicationInfo, DeploymentConfigInfo,
DeploymentGroupInfo, DeploymentInfo, deployment targets, instance summaries, revision
info."""

from __future__ import annotations

from cutover.sandbox.world import World

from .model import (
    Application,
    Deployment,
    DeploymentConfig,
    DeploymentGroup,
    DeploymentTarget,
    RevisionRecord,
    clone,
)
from .state import CodeDeploy


def application_info(app: Application) -> dict:
    return {
        "applicationId": app.id,
        "applicationName": app.name,
        "createTime": app.created,
        "linkedToGitHub": False,
        "computePlatform": app.compute_platform,
    }


def config_info(cfg: DeploymentConfig) -> dict:
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


def group_info(cd: CodeDeploy, grp: DeploymentGroup) -> dict:
    out = {
        "applicationName": grp.application,
        "deploymentGroupId": grp.id,
        "deploymentGroupName": grp.name,
        **clone(grp.spec),
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


def target_info(world: World, dep: Deployment, t: DeploymentTarget) -> dict:
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


def instance_summary(world: World, dep: Deployment, t: DeploymentTarget) -> dict:
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


def revision_info(rec: RevisionRecord) -> dict:
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
