"""Blue/green capacity no deployment of the group owns, from what a snapshot read (no AWS
call):

- replacement-fleet: the Auto Scaling group a blue/green deployment copied, still there after
  the deployment ended without success and without a rollback (StopDeployment without
  rollback runs no further lifecycle event, so nothing removes it; see docs/aws-behaviour.md).
  It costs money, and when it is still registered it serves a revision nobody approved.
- unowned-instance: an instance registered and healthy in the group's target groups or
  classic load balancers that neither the deployment shown nor CodeDeploy's latest automatic
  deployment installed (Auto Scaling launched it outside any deployment, someone registered
  it by hand): it serves traffic with a revision nobody can name. Flagged, never removed
  automatically.
- preview-registration: instances still registered in the target's preview target group after
  the deployment left its wait for approval (approved or stopped in the console, or a plan's
  deregistration that did not go through): the test listener still sends them requests.
  Checked while a deployment runs too, since it is the wait that ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cutover.backend.core.facts import Asg, Ec2
from cutover.backend.model import (
    Deployment,
    DeploymentSummary,
    Environment,
    Leftover,
    Preview,
    TargetHealth,
)

# Statuses in which a blue/green deployment leaves its replacement behind unless a rollback
# removes it (Succeeded makes the replacement the group's own fleet).
_UNSUCCESSFUL = ("Stopped", "Failed")


def find_unowned(
    *,
    deployment: Deployment | None,
    replacement: Environment | None,
    original: Environment | None,
    active: str | None,
    group_asgs: Sequence[str],
    asgs: Mapping[str, Asg],
    ec2: Mapping[str, Ec2],
    seen: Mapping[str, Mapping[str, TargetHealth]],
    sources: Sequence[str],
    tg_arns: Mapping[str, str],
    automatic: DeploymentSummary | None,
    unread: Sequence[str],
) -> tuple[tuple[Leftover, ...] | None, str | None]:
    """(what no deployment owns, None), or (None, why it was not checked)."""
    if active:
        return None, f"deployment {active} is running: checked when the deployment ends"
    if deployment is None:
        return None, "no deployment to compare with"
    missing = [k for k in ("targets", "instances", "auto-scaling") if k in unread]
    missing += [s for s in sources if f"health:{s}" in unread or s not in seen]
    if missing:
        return None, "not checked: " + ", ".join(missing) + " could not be read"
    out: list[Leftover] = []
    fleet = _left_fleet(deployment, replacement, group_asgs, asgs, ec2, seen, sources, tg_arns)
    if fleet is not None:
        out.append(fleet)
    out += _unowned_serving(deployment, replacement, original, seen, sources, automatic)
    return tuple(out), None


def preview_left(preview: Preview | None, deployment: Deployment | None) -> tuple[Leftover, ...]:
    """The preview registrations that outlived the wait for approval (none while it lasts)."""
    if preview is None or preview.arn is None or preview.problem is not None:
        return ()
    if deployment is not None and deployment.waiting_for == "reroute-approval":
        return ()
    ids = preview.registered
    if not ids:
        return ()
    # A rollback never waited for approval: the registrations are its predecessor's.
    owner = deployment.rollback_of or deployment.id if deployment is not None else None
    after = ""
    if deployment is not None:
        how = f"rolled back by {deployment.id}" if deployment.rollback_of else deployment.status
        after = f" after {owner} left its wait for approval ({how})"
    where = f" (test listener {preview.listener})" if preview.listener else ""
    return (
        Leftover(
            kind="preview-registration",
            resource=preview.target_group,
            detail=f"{', '.join(ids)} still registered in the preview target group{where}"
            f"{after}; c deregisters them",
            target_group=preview.target_group,
            target_group_arn=preview.arn,
            # The deployment shown, not `owner`: a plan is held against the deployment on
            # screen (actions.recheck), and after a rollback that is the rollback.
            deployment_id=deployment.id if deployment is not None else None,
            instance_ids=ids,
            registered_in=((preview.target_group, preview.arn, ids),),
        ),
    )


def _left_fleet(
    deployment: Deployment,
    replacement: Environment | None,
    group_asgs: Sequence[str],
    asgs: Mapping[str, Asg],
    ec2: Mapping[str, Ec2],
    seen: Mapping[str, Mapping[str, TargetHealth]],
    sources: Sequence[str],
    tg_arns: Mapping[str, str],
) -> Leftover | None:
    """The replacement Auto Scaling group an unsuccessful deployment left running."""
    if deployment.status not in _UNSUCCESSFUL or deployment.rolled_back_by:
        return None
    name = replacement.asg_name if replacement else None
    if not name or name in group_asgs or name not in asgs or asgs[name].deleting:
        return None  # no copy (manual provisioning), the group's own fleet, or going
    asg = asgs[name]
    alive = sorted(
        iid
        for iid in asg.members
        if (e := ec2.get(iid)) is None or (e.state or "running") in ("pending", "running")
    )
    registered: list[tuple[str, str, tuple[str, ...]]] = []
    serving = 0
    for source in sources:
        rows = seen.get(source) or {}
        ids = tuple(i for i in alive if (h := rows.get(i)) and h.registered and not h.draining)
        if ids:
            registered.append((source, tg_arns.get(source, ""), ids))
            serving += sum(1 for i in ids if rows[i].healthy)
    where = (
        "registered in " + ", ".join(f"{s} ({len(ids)})" for s, _, ids in registered)
        if registered
        else "registered nowhere"
    )
    why = f"{deployment.id} {deployment.status.lower()} without a rollback"
    detail = (
        f"{len(alive)} instance(s) of {deployment.id}'s replacement still running"
        f" ({where}{', ' + str(serving) + ' healthy' if serving else ''}); {why} leaves it"
    )
    return Leftover(
        kind="replacement-fleet",
        resource=name,
        detail=detail,
        asg_name=name,
        asg_desired=asg.desired,
        asg_max=asg.max_size,
        deployment_id=deployment.id,
        instance_ids=tuple(alive),
        registered_in=tuple(registered),
    )


def _unowned_serving(
    deployment: Deployment,
    replacement: Environment | None,
    original: Environment | None,
    seen: Mapping[str, Mapping[str, TargetHealth]],
    sources: Sequence[str],
    automatic: DeploymentSummary | None,
) -> list[Leftover]:
    """Instances healthy in the group's load balancers that no deployment we can see put there."""
    targets = {
        i.id
        for env in (original, replacement)
        if env is not None
        for i in env.instances
        if i.lifecycle_status is not None
    }
    if not targets:
        return []  # a deployment with no targets read (a seeded history) names nobody
    auto = set(automatic.instances) if automatic and automatic.status == "Succeeded" else set()
    envs = [env for env in (original, replacement) if env is not None]
    asg_of = {i.id: i.asg_name for env in envs for i in env.instances}
    found: dict[str, list[str]] = {}
    for source in sources:
        for iid, h in sorted((seen.get(source) or {}).items()):
            if h.healthy and iid not in targets and iid not in auto:
                found.setdefault(iid, []).append(source)
    out = []
    for iid, where in found.items():
        asg = asg_of.get(iid)
        launched = f"launched by Auto Scaling in {asg}" if asg else "in none of the group's fleets"
        out.append(
            Leftover(
                kind="unowned-instance",
                resource=iid,
                detail=(
                    f"serving in {', '.join(where)}, {launched}; no deployment installed it"
                    f" (not a target of {deployment.id}"
                    + (f" nor of CodeDeploy's latest automatic {automatic.id}" if automatic else "")
                    + "): its revision is unknown. Flagged only: Cutover never removes it"
                ),
                instance_id=iid,
                deployment_id=deployment.id,
                instance_ids=(iid,),
                registered_in=tuple((s, "", (iid,)) for s in where),
            )
        )
    return out
