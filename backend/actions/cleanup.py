"""The cleanup planner: remove the replacement fleet an unsuccessful blue/green deployment left.

The fleet comes from the Snapshot (`Snapshot.unowned`, found when no deployment of the group
runs). The calls go in an order that is safe to stop anywhere: the fleet's instances out of
the group's load balancers first (DeregisterTargets per target group,
DeregisterInstancesFromLoadBalancer per classic load balancer), refused when that would leave
a load balancer without a healthy target; then DeleteAutoScalingGroup with ForceDelete, which
terminates its instances. Instances serving that no deployment installed are named in the
plan and never touched: a person decides about them.

Preview registrations left after the wait for approval ended (`preview-registration`) are
deregistered from the preview target group first; they are the only thing cleanup does while
a deployment runs (the preview target group carries no production traffic).
"""

from __future__ import annotations

from dataclasses import replace

from cutover.backend.actions.plan import ApiCall, Plan, Request
from cutover.backend.aws.session import AwsSession
from cutover.backend.model import Leftover, Snapshot


def _running(snap: Snapshot) -> str | None:
    d = snap.deployment
    return snap.active_deployment or (d.id if d is not None and d.active else None)


def plan_cleanup(base: Plan, snap: Snapshot, _request: Request, _session: AwsSession) -> Plan:
    """Deregister the left replacement fleet where it is registered, then delete its Auto
    Scaling group (ForceDelete: its instances are terminated). Refused while a deployment of
    the group runs, when nothing is left, or when deregistering would leave a load balancer
    with no healthy target."""
    where = f"{snap.application}/{snap.deployment_group}"
    base = replace(
        base,
        summary=f"Remove the replacement fleet a stopped deployment left in {where}",
        seen_at=snap.server_time.isoformat(),
        expect={"kind": "cleanup", "unowned": []},
    )
    running = _running(snap)
    previews = [lo for lo in snap.unowned or () if lo.kind == "preview-registration"]
    if running and not previews:
        return replace(
            base,
            refused=f"deployment {running} is running: a left fleet is removed only when no"
            " deployment of the group runs",
        )
    if snap.unowned is None:
        return replace(base, refused=snap.unowned_note or "unowned capacity was not checked")
    fleets = [lo for lo in snap.unowned if lo.kind == "replacement-fleet"]
    flagged = [lo for lo in snap.unowned if lo.kind == "unowned-instance"]
    if previews and not fleets:
        base = replace(base, summary=f"Deregister the preview registrations left in {where}")
    if not fleets and not previews:
        why = "no replacement fleet left behind: nothing to remove"
        if flagged:
            why += (
                f" ({len(flagged)} unowned serving instance(s) are flagged only: Cutover"
                " never removes an instance that serves traffic)"
            )
        return replace(base, refused=why)
    calls: list[ApiCall] = []
    changes: list[str] = []
    for lo in previews:
        calls.append(
            ApiCall(
                "elbv2",
                "deregister_targets",
                {
                    "TargetGroupArn": lo.target_group_arn,
                    "Targets": [{"Id": i} for i in lo.instance_ids],
                },
            )
        )
        changes.append(
            f"{', '.join(lo.instance_ids)} deregistered from preview {lo.resource} (no"
            " production traffic goes there)"
        )
    for lo in fleets:
        refused = _deregister(lo, snap, calls, changes)
        if refused:
            return replace(base, refused=refused)
        calls.append(
            ApiCall(
                "autoscaling",
                "delete_auto_scaling_group",
                {"AutoScalingGroupName": lo.resource, "ForceDelete": True},
            )
        )
        changes.append(
            f"Auto Scaling group {lo.resource} deleted with its {len(lo.instance_ids)}"
            f" instance(s) terminated ({', '.join(lo.instance_ids) or 'none'}); cannot be undone"
        )
    for lo in flagged:
        changes.append(f"{lo.resource} not touched: {lo.detail}")
    texts = [lo.text() for lo in (*previews, *fleets)]
    return replace(
        base,
        deployment_id=(fleets or previews)[0].deployment_id,
        calls=tuple(calls),
        changes=tuple(changes),
        leftovers=(*previews, *fleets),
        parameters={
            "fleets": [lo.resource for lo in fleets],
            "previews": [lo.resource for lo in previews],
        },
        expect={
            "kind": "cleanup",
            "unowned": texts,
            "groups": [lo.resource for lo in fleets],
            "previews": [lo.resource for lo in previews],
        },
    )


def _deregister(lo: Leftover, snap: Snapshot, calls: list[ApiCall], changes: list[str]) -> str:
    """The deregistration calls for one fleet, or why they must not be sent."""
    healthy = _healthy_by_source(snap)
    for name, arn, ids in lo.registered_in:
        left = healthy.get(name, set()) - set(ids)
        if healthy.get(name, set()) & set(ids) and not left:
            return (
                f"{lo.resource} is the only healthy fleet in {name}: deregistering it would"
                " leave no healthy target (an outage); move traffic back to the originals"
                " first (m), then clean up"
            )
        if arn:
            calls.append(
                ApiCall(
                    "elbv2",
                    "deregister_targets",
                    {"TargetGroupArn": arn, "Targets": [{"Id": i} for i in ids]},
                )
            )
            changes.append(
                f"{', '.join(ids)} deregistered from target group {name} ({len(left)} healthy"
                " target(s) stay)"
            )
        else:
            calls.append(
                ApiCall(
                    "elb",
                    "deregister_instances_from_load_balancer",
                    {"LoadBalancerName": name, "Instances": [{"InstanceId": i} for i in ids]},
                )
            )
            changes.append(
                f"{', '.join(ids)} deregistered from classic load balancer {name}"
                f" ({len(left)} healthy instance(s) stay)"
            )
    return ""


def _healthy_by_source(snap: Snapshot) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for inst in snap.instances():
        for h in inst.health:
            if h.healthy:
                out.setdefault(h.name, set()).add(inst.id)
    return out


def unowned_changed(plan: Plan, current: Snapshot) -> str | None:
    """Why a cleanup plan no longer fits: a deployment started, or the left fleet differs."""
    running = _running(current)
    fleets = any(lo.kind == "replacement-fleet" for lo in plan.leftovers)
    if running and fleets:
        return f"deployment {running} started since the plan was made; look again before acting"
    if current.unowned is None:
        return f"unowned capacity could not be checked again: {current.unowned_note}"
    planned = {lo.key for lo in plan.leftovers}
    kinds = ("replacement-fleet", "preview-registration")
    now = {lo.key for lo in current.unowned if lo.kind in kinds}
    if planned == now:
        return None
    return (
        "the left replacement fleet changed since the plan was made (planned: "
        + ("; ".join(lo.text() for lo in plan.leftovers) or "none")
        + "; now: "
        + ("; ".join(lo.text() for lo in current.unowned if lo.key in now) or "none")
        + "); look again before acting"
    )
