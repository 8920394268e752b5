"""Who or what started a deployment, in words: CodeDeploy's `creator`, and the local audit log
where the deployment was started (or its rollback asked for) from this machine.

GetDeployment's DeploymentInfo.creator is "The means by which the deployment was created:
user: A user created the deployment. autoscaling: Amazon EC2 Auto Scaling created the
deployment. codeDeployRollback: A rollback process created the deployment.
CodeDeployAutoUpdate: An auto-update process created the deployment when it detected outdated
Amazon EC2 instances." (AWS CodeDeploy API reference); the SDKs' DeploymentCreator enum adds
CodeDeploy, CloudFormation, CloudFormationRollback and autoscalingTermination.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CREATORS = {
    "user": "a user (CreateDeployment)",
    "autoscaling": "Amazon EC2 Auto Scaling (an instance it launched)",
    "autoscalingTermination": "Amazon EC2 Auto Scaling (an instance it is terminating)",
    "codeDeployRollback": "CodeDeploy's rollback",
    "CodeDeployAutoUpdate": "CodeDeploy's auto-update of outdated instances",
    "CodeDeploy": "CodeDeploy",
    "CloudFormation": "CloudFormation",
    "CloudFormationRollback": "CloudFormation's rollback",
}


def started_by(
    dep_id: str,
    creator: str | None,
    rollback_of: str | None,
    records: Iterable[dict[str, Any]],
) -> str:
    """What follows "started by": `this machine (cutover deploy, alice, 14:02:11Z)`,
    `CodeDeploy's rollback of d-1, asked for from here (cutover rollback, ...)` or `a user
    (CreateDeployment)`: the audit's record when it has one, else CodeDeploy's creator."""
    mine = None
    asked = None
    for r in records:
        if r.get("outcome") != "done":
            continue
        if r.get("deployment_id") == dep_id and r.get("action") in ("deploy", "rollback"):
            mine = r
        elif (
            rollback_of
            and r.get("deployment_id") == rollback_of
            and r.get("action")
            in (
                "rollback",
                "stop",
            )
        ):
            asked = r
    if mine is not None:
        return f"this machine ({_who(mine)})"
    what = CREATORS.get(creator or "", creator or "an unknown creator")
    if rollback_of:
        what = f"{what} of {rollback_of}"
        if asked is not None:
            what += f", asked for from here ({_who(asked)})"
    return what


def _who(record: dict[str, Any]) -> str:
    caller = str(record.get("caller") or "").rsplit("/", 1)[-1] or "unknown caller"
    when = str(record.get("server_time") or "")[11:19]
    return f"cutover {record.get('action')}, {caller}" + (f", {when}Z" if when else "")
