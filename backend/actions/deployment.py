"""The planners of the deployment family: deploy, approve, terminate-original, stop, rollback.

Each takes the base Plan (where it acts, the state it was made from), the Snapshot on screen
and what the person asked for (`Request`), and fills in the exact calls and what they change,
or `refused` with the reason. Only rollback of a finished deployment reads AWS: the group's
history, to find the revision to go back to.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError
from cutover.backend.actions.plan import ApiCall, Plan, Request
from cutover.backend.actions.preview import with_preview_cleanup
from cutover.backend.aws.errors import describe_aws_error
from cutover.backend.aws.session import AwsSession
from cutover.backend.model import Deployment, Snapshot


def parse_revision(text: str) -> dict[str, Any]:
    """A CodeDeploy revision from `s3://bucket/key.zip` or `github:owner/repo@commit`."""
    if text.startswith("s3://"):
        url = urlparse(text)
        key = url.path.lstrip("/")
        if not url.netloc or not key:
            raise ValueError(f"--revision: '{text}' needs a bucket and a key (s3://bucket/key.zip)")
        ext = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
        bundle = {"zip": "zip", "tar": "tar", "tgz": "tgz", "gz": "tgz", "yaml": "YAML"}.get(ext)
        if bundle is None:
            raise ValueError(f"--revision: '{text}' must end in .zip, .tar or .tgz")
        return {
            "revisionType": "S3",
            "s3Location": {"bucket": url.netloc, "key": key, "bundleType": bundle},
        }
    if text.startswith("github:") and "@" in text:
        repo, commit = text[len("github:") :].rsplit("@", 1)
        if "/" not in repo or not commit:
            raise ValueError(f"--revision: '{text}' must look like github:owner/repo@commit")
        return {
            "revisionType": "GitHub",
            "gitHubLocation": {"repository": repo, "commitId": commit},
        }
    raise ValueError(
        f"--revision: '{text}' is not a revision (s3://bucket/key.zip or github:owner/repo@commit)"
    )


def _about(base: Plan, snap: Snapshot, summary: str) -> Plan:
    """`base` for the deployment on screen (`{id}` in the summary names it), remembering
    its status for the re-check before sending."""
    d = snap.deployment
    dep_id, status = (d.id, d.status) if d else (None, None)
    return replace(
        base, summary=summary.format(id=dep_id), deployment_id=dep_id, expect_status=status
    )


def _is_blue_green(snap: Snapshot) -> bool:
    return (snap.deployment is not None and snap.deployment.style == "BLUE_GREEN") or (
        snap.original is not None
    )


def _not_waiting(snap: Snapshot, wanted: str) -> str:
    d = snap.deployment
    if d is None:
        return f"no deployment of {snap.application}/{snap.deployment_group} is {wanted}"
    return f"deployment {d.id} is not {wanted} (it is {d.status}, {d.phase})"


def plan_deploy(base: Plan, snap: Snapshot, request: Request, _session: AwsSession) -> Plan:
    """CreateDeployment of `request.revision`, else of the group's last revision."""
    where = f"{snap.application}/{snap.deployment_group}"
    if snap.deployment is not None and snap.deployment.active:
        return replace(
            base,
            summary=f"Start a deployment of {where}",
            refused=f"deployment {snap.deployment.id} is still {snap.deployment.status}; "
            "CodeDeploy allows one active deployment per group",
        )
    params: dict[str, Any] = {
        "applicationName": snap.application,
        "deploymentGroupName": snap.deployment_group,
        "description": "Started with Cutover",
    }
    revision = request.revision
    if revision:
        try:
            params["revision"] = parse_revision(revision)
        except ValueError as exc:
            return replace(base, summary="Start a deployment", refused=str(exc))
        label = revision
    else:
        label = "the group's last revision"
    return replace(
        base,
        summary=f"Start a deployment of {label} to {where}",
        calls=(ApiCall("codedeploy", "create_deployment", params),),
        changes=(
            "a replacement fleet is provisioned and the revision installed on it"
            if _is_blue_green(snap)
            else "instances are updated in place, batch by batch",
        ),
        parameters={"revision": revision},
        expect={"kind": "deploy"},
        warnings=_unhealthy_warnings(snap),
    )


def _unhealthy_warnings(snap: Snapshot) -> tuple[str, ...]:
    """In place, instances already unhealthy where they serve: the deployment counts them
    against its minimum healthy hosts, and taking healthy ones out in batches leaves less."""
    if snap.fleet is None or _is_blue_green(snap):
        return ()
    out = []
    for inst in snap.fleet.instances:
        bad = [h for h in inst.health if h.registered and not h.healthy and not h.draining]
        if bad:
            where = ", ".join(
                f"{h.name} ({h.state}{': ' + h.reason if h.reason else ''})" for h in bad
            )
            out.append(
                f"{inst.id} is already unhealthy in {where}: it counts against the minimum"
                " healthy hosts, and each batch taken out leaves less healthy capacity"
            )
    return tuple(out)


def _continue(
    base: Plan, snap: Snapshot, request: Request, wait: str, changes: tuple[str, ...]
) -> Plan:
    """ContinueDeployment past `wait`, unless a gate fails and no override was asked for."""
    gates = snap.gates
    failed = [g for g in gates if not g.passed]
    if failed and not request.override_gates:
        return replace(base, gates=gates, refused="; ".join(g.reason for g in failed))
    call = ApiCall(
        "codedeploy",
        "continue_deployment",
        {"deploymentId": base.deployment_id, "deploymentWaitType": wait},
    )
    return replace(
        base,
        calls=(call,),
        changes=changes,
        gates=gates,
        override=bool(failed),
        parameters={"override_gates": request.override_gates},
        expect={"kind": base.action},
    )


def plan_approve(base: Plan, snap: Snapshot, request: Request, _session: AwsSession) -> Plan:
    """ContinueDeployment READY_WAIT: the reroute, gated."""
    base = _about(base, snap, "Approve the traffic reroute of {id}")
    if snap.deployment is None or snap.deployment.waiting_for != "reroute-approval":
        return replace(base, refused=_not_waiting(snap, "waiting for reroute approval"))
    plan = _continue(
        base,
        snap,
        request,
        "READY_WAIT",
        (
            "replacement instances are registered with the load balancers",
            "original instances are deregistered and drain once replacements are healthy",
        ),
    )
    return with_preview_cleanup(plan, snap)


def plan_terminate_original(
    base: Plan, snap: Snapshot, request: Request, _session: AwsSession
) -> Plan:
    """ContinueDeployment TERMINATION_WAIT: the originals go now, gated."""
    base = _about(base, snap, "Terminate the original instances of {id} now")
    if snap.deployment is None or snap.deployment.waiting_for != "termination":
        return replace(base, refused=_not_waiting(snap, "in its termination wait"))
    originals = [i.id for i in snap.original.instances] if snap.original else []
    return _continue(
        base,
        snap,
        request,
        "TERMINATION_WAIT",
        (
            f"{len(originals)} original instance(s) terminated: {', '.join(originals)}",
            "after this, the only way back is a new deployment of the previous revision",
        ),
    )


def plan_stop(base: Plan, snap: Snapshot, _request: Request, _session: AwsSession) -> Plan:
    """StopDeployment without rollback."""
    base = _about(base, snap, "Stop {id} without rolling back")
    if snap.deployment is None or not snap.deployment.active:
        return replace(base, refused=_not_waiting(snap, "in progress"))
    plan = replace(
        base,
        calls=(
            ApiCall(
                "codedeploy",
                "stop_deployment",
                {"deploymentId": base.deployment_id, "autoRollbackEnabled": False},
            ),
        ),
        changes=("the deployment stops where it is; traffic stays as it is now",),
        expect={"kind": "stop", "rollback": False},
    )
    return with_preview_cleanup(plan, snap)


def plan_rollback(base: Plan, snap: Snapshot, _request: Request, session: AwsSession) -> Plan:
    """A running deployment: StopDeployment with rollback. A finished one: CreateDeployment of
    the last revision that succeeded before it, found in the group's history (an AWS read)."""
    dep = snap.deployment
    base = _about(base, snap, "Roll back {id}")
    if dep is None:
        return replace(base, refused="there is no deployment to roll back")
    if dep.active:
        plan = replace(
            base,
            summary=f"Stop {dep.id} and roll back",
            calls=(
                ApiCall(
                    "codedeploy",
                    "stop_deployment",
                    {"deploymentId": dep.id, "autoRollbackEnabled": True},
                ),
            ),
            changes=(
                "CodeDeploy starts a rollback deployment",
                "traffic goes back to the original instances; the replacement fleet is removed"
                if dep.style == "BLUE_GREEN"
                else "the previous revision is deployed again",
            ),
            expect={"kind": "rollback", "rollback": True},
        )
        return with_preview_cleanup(plan, snap)
    if dep.rollback_of or dep.rolled_back_by:
        return replace(base, refused=snap.action("rollback").reason)
    return _redeploy(base, snap, dep, session)


def reads_history(snap: Snapshot) -> bool:
    """Whether planning a rollback reads AWS: the way back from a finished deployment is
    found in the group's history."""
    return snap.deployment is not None and not snap.deployment.active


def _redeploy(base: Plan, snap: Snapshot, dep: Deployment, session: AwsSession) -> Plan:
    try:
        found = last_good(session, snap, dep)
    except (ClientError, BotoCoreError) as exc:
        return replace(
            base,
            refused="could not read the group's earlier deployments to find the revision"
            f" to go back to: {describe_aws_error(exc)}",
        )
    if found is None:
        return replace(
            base,
            refused=f"no deployment of {snap.application}/{snap.deployment_group} succeeded"
            f" before {dep.id} with another revision: there is nothing to go back to",
        )
    good_id, location, label = found
    params = {
        "applicationName": snap.application,
        "deploymentGroupName": snap.deployment_group,
        "revision": location,
        "description": f"Redeploy of {label} (from {good_id}), the revision before {dep.id};"
        " started with Cutover",
    }
    return replace(
        base,
        summary=f"Redeploy {label}, the last revision that succeeded before {dep.id}",
        calls=(ApiCall("codedeploy", "create_deployment", params),),
        changes=(
            f"{dep.id} has finished ({dep.status}), so the way back is a new deployment",
            f"the revision deployed is {label}: deployment {good_id} succeeded with it, the"
            f" last before {dep.id} ({dep.revision or 'unknown revision'})",
        ),
        parameters={"revision": label, "from_deployment": good_id},
        expect={"kind": "redeploy"},
    )


def last_good(session: AwsSession, snap: Snapshot, dep: Deployment) -> tuple[str, dict, str] | None:
    """(deployment id, revision, label) of the group's last deployment that succeeded
    before `dep` with another revision, from CodeDeploy's own history."""
    from cutover.backend.core.revisions import revision_label

    created, bad_revision = dep.create_time, dep.revision_location
    cd = session.client("codedeploy")
    kwargs: dict[str, Any] = {
        "applicationName": snap.application,
        "deploymentGroupName": snap.deployment_group,
        "includeOnlyStatuses": ["Succeeded"],
    }
    if created is not None:
        kwargs["createTimeRange"] = {"end": created}
    ids: list[str] = []
    for page in cd.get_paginator("list_deployments").paginate(**kwargs):
        ids += [i for i in page.get("deployments", []) if i != dep.id]
    infos: list[dict] = []
    for start in range(0, len(ids), 25):
        got = cd.batch_get_deployments(deploymentIds=ids[start : start + 25])
        infos += got.get("deploymentsInfo", [])
    infos = [
        d
        for d in infos
        if d.get("status") == "Succeeded"
        and d.get("revision")
        and d.get("revision") != bad_revision
        and (created is None or d.get("createTime") is None or d["createTime"] < created)
    ]
    if not infos:
        return None
    best = max(infos, key=lambda d: d.get("createTime") or datetime.min.replace(tzinfo=UTC))
    revision = best["revision"]
    return best["deploymentId"], revision, revision_label(revision) or "the revision"
