"""The repair planner: put right what an interrupted in-place deployment left behind.

The leftovers come from the Snapshot (observe finds them when no deployment of the group
runs). The plan's calls go in an order that is safe to stop anywhere: instances back first
(ExitStandby per Auto Scaling group, RegisterTargets per target group,
RegisterInstancesWithLoadBalancer per classic load balancer), then the groups' MinSize and
suspended processes, then the hooks' record tags, last the instances' mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cutover.backend.actions.plan import ApiCall, Plan, Request
from cutover.backend.aws.session import AwsSession
from cutover.backend.core.hooktags import OUT as OUT_TAG
from cutover.backend.model import Leftover, Snapshot


class _Refused(Exception):
    """A leftover the repair cannot put right now; str() says why and what to do."""


@dataclass
class _Steps:
    """The calls and their plain-words changes, gathered step by step."""

    calls: list[ApiCall] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    def add(self, call: ApiCall | None, change: str) -> None:
        if call is not None:
            self.calls.append(call)
        self.changes.append(change)


def _running(snap: Snapshot) -> str | None:
    d = snap.deployment
    return snap.active_deployment or (d.id if d is not None and d.active else None)


def plan_repair(base: Plan, snap: Snapshot, _request: Request, _session: AwsSession) -> Plan:
    """The calls that put an in-place group's leftovers right, in this order: ExitStandby per
    Auto Scaling group, RegisterTargets per target group, RegisterInstancesWithLoadBalancer per
    classic LB, UpdateAutoScalingGroup MinSize, ResumeProcesses, the groups' record tags
    deleted, the instances' `cutover:hook:out` deleted. Refused with the reason when a
    deployment is running, nothing is left over, or Auto Scaling could not take the instances
    back (MaxSize)."""
    where = f"{snap.application}/{snap.deployment_group}"
    base = replace(
        base,
        summary=f"Repair what an interrupted deployment left behind in {where}",
        seen_at=snap.server_time.isoformat(),
        expect={"kind": "repair", "leftovers": []},
    )
    running = _running(snap)
    if running:
        return replace(
            base,
            refused=f"deployment {running} is running: leftovers are checked and repaired when"
            " it ends",
        )
    if snap.leftovers is None:
        return replace(base, refused=snap.leftovers_note or "the leftovers were not checked")
    leftovers = snap.leftovers
    if not leftovers:
        return replace(base, refused="no leftovers: nothing to repair")
    steps = _Steps()
    try:
        back = _exit_standby(steps, leftovers) | _register(steps, leftovers)
    except _Refused as exc:
        return replace(base, refused=str(exc))
    _restore_groups(steps, leftovers)
    _delete_marks(steps, leftovers)
    if back:
        # The interrupted deployment may have stopped the application (ApplicationStop ran,
        # ApplicationStart did not): the load balancer then keeps the instance unhealthy,
        # which is safe, and the next deployment starts it again.
        steps.changes.append(
            "instances serve again only once they pass health checks; one whose application"
            " the interrupted deployment stopped stays unhealthy until a deployment runs on it"
        )
    return replace(
        base,
        calls=tuple(steps.calls),
        changes=tuple(steps.changes),
        leftovers=leftovers,
        parameters={"leftovers": [lo.text() for lo in leftovers]},
        expect={"kind": "repair", "leftovers": [lo.text() for lo in leftovers]},
    )


def _exit_standby(steps: _Steps, leftovers: tuple[Leftover, ...]) -> bool:
    """ExitStandby per Auto Scaling group; True when there was any."""
    standby: dict[str, list[Leftover]] = {}
    for lo in leftovers:
        if lo.kind == "standby" and lo.asg_name:
            standby.setdefault(lo.asg_name, []).append(lo)
    for asg, members in standby.items():
        entering = [lo.resource for lo in members if lo.detail.startswith("entering")]
        if entering:
            raise _Refused(
                f"{', '.join(entering)} still entering Standby in {asg}: wait until it"
                " is in Standby, then repair"
            )
        desired, most = members[0].asg_desired, members[0].asg_max
        if desired is not None and most is not None and desired + len(members) > most:
            raise _Refused(
                f"{asg}: taking {len(members)} instance(s) out of Standby needs desired"
                f" capacity {desired + len(members)}, above MaxSize {most}; raise MaxSize first"
            )
        ids = [lo.resource for lo in members]
        steps.add(
            ApiCall(
                "autoscaling", "exit_standby", {"AutoScalingGroupName": asg, "InstanceIds": ids}
            ),
            f"{', '.join(ids)} leave Standby and rejoin {asg} (desired capacity +{len(ids)});"
            " Auto Scaling registers them with the group's load balancers",
        )
    return bool(standby)


def _register(steps: _Steps, leftovers: tuple[Leftover, ...]) -> bool:
    """RegisterTargets per target group, RegisterInstancesWithLoadBalancer per classic load
    balancer; True when there was any."""
    by_tg: dict[str, tuple[str, list[Leftover]]] = {}
    by_clb: dict[str, list[Leftover]] = {}
    for lo in leftovers:
        if lo.kind != "out-of-service":
            continue
        if lo.target_group:
            if not lo.target_group_arn:
                raise _Refused(f"target group {lo.target_group} was not found")
            by_tg.setdefault(lo.target_group, (lo.target_group_arn, []))[1].append(lo)
        elif lo.classic_lb:
            by_clb.setdefault(lo.classic_lb, []).append(lo)
    for tg, (arn, items) in by_tg.items():
        targets = [{"Id": lo.resource, **({"Port": lo.port} if lo.port else {})} for lo in items]
        names = ", ".join(lo.resource + (f":{lo.port}" if lo.port else "") for lo in items)
        steps.add(
            ApiCall("elbv2", "register_targets", {"TargetGroupArn": arn, "Targets": targets}),
            f"{names} registered in target group {tg} (serve once healthy)",
        )
    for clb, items in by_clb.items():
        ids = list(dict.fromkeys(lo.resource for lo in items))
        steps.add(
            ApiCall(
                "elb",
                "register_instances_with_load_balancer",
                {"LoadBalancerName": clb, "Instances": [{"InstanceId": i} for i in ids]},
            ),
            f"{', '.join(ids)} registered with classic load balancer {clb} (serve once healthy)",
        )
    return bool(by_tg or by_clb)


def _restore_groups(steps: _Steps, leftovers: tuple[Leftover, ...]) -> None:
    """MinSize back (unless someone set it since), processes resumed, the records deleted."""
    for lo in leftovers:
        if lo.kind == "min-size" and lo.asg_name and not lo.stale and lo.min_size is not None:
            steps.add(
                ApiCall(
                    "autoscaling",
                    "update_auto_scaling_group",
                    {"AutoScalingGroupName": lo.asg_name, "MinSize": lo.min_size},
                ),
                f"{lo.asg_name}: MinSize back to {lo.min_size} ({lo.detail})",
            )
        elif lo.kind == "min-size" and lo.asg_name and lo.stale:
            # Never the recorded value over one someone set since: only the record goes.
            steps.add(
                None,
                f"{lo.asg_name}: MinSize not changed ({lo.detail}); only its record"
                f" {lo.record_tag} is deleted",
            )
    for lo in leftovers:
        if lo.kind == "suspended" and lo.asg_name and lo.processes:
            steps.add(
                ApiCall(
                    "autoscaling",
                    "resume_processes",
                    {"AutoScalingGroupName": lo.asg_name, "ScalingProcesses": list(lo.processes)},
                ),
                f"{lo.asg_name}: {', '.join(lo.processes)} resumed",
            )
    group_tags: list[dict[str, Any]] = [
        {"ResourceId": lo.asg_name, "ResourceType": "auto-scaling-group", "Key": lo.record_tag}
        for lo in leftovers
        if lo.kind in ("min-size", "suspended") and lo.asg_name and lo.record_tag
    ]
    if group_tags:
        steps.add(
            ApiCall("autoscaling", "delete_tags", {"Tags": group_tags}),
            "the hooks' records deleted: "
            + ", ".join(f"{t['Key']} on {t['ResourceId']}" for t in group_tags),
        )


def _delete_marks(steps: _Steps, leftovers: tuple[Leftover, ...]) -> None:
    """The hooks' mark on the instances they took out, deleted last."""
    marked = list(
        dict.fromkeys(
            lo.resource
            for lo in leftovers
            if lo.kind in ("standby", "out-of-service") and lo.tagged
        )
    )
    if marked:
        steps.add(
            ApiCall("ec2", "delete_tags", {"Resources": marked, "Tags": [{"Key": OUT_TAG}]}),
            f"{OUT_TAG} deleted from {', '.join(marked)} (the hooks' mark that they"
            " took the instance out)",
        )


def leftovers_changed(plan: Plan, current: Snapshot) -> str | None:
    """Why a repair plan no longer fits: a deployment started, or the leftovers differ."""
    running = _running(current)
    if running:
        return f"deployment {running} started since the plan was made; look again before acting"
    if current.leftovers is None:
        return f"the leftovers could not be checked again: {current.leftovers_note}"
    planned = {lo.key for lo in plan.leftovers}
    now = {lo.key for lo in current.leftovers}
    if planned == now:
        return None
    gone = [lo.text() for lo in plan.leftovers if lo.key not in now]
    new = [lo.text() for lo in current.leftovers if lo.key not in planned]
    what = []
    if gone:
        what.append("no longer there: " + "; ".join(gone))
    if new:
        what.append("new: " + "; ".join(new))
    return (
        "the leftovers changed since the plan was made ("
        + " / ".join(what)
        + "); look again before acting"
    )
