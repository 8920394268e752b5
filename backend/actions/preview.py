"""The preview family: register the replacement instances in the target's preview target group
(a test listener of the same load balancer) before the reroute is approved, and take them out
again in the same plan as the decision that ends the wait (approve, stop, rollback) or, left
over, with `cleanup`.

CodeDeploy registers the replacements with the production target groups only during the
reroute (AllowTraffic), so before approval no load balancer has checked them. Registered in a
target group a test listener forwards to, they are health-checked by ELB exactly as in
production, and a person can send them requests (docs/aws-behaviour.md).
"""

from __future__ import annotations

from dataclasses import replace

from cutover.backend.actions.plan import ApiCall, Plan, Request
from cutover.backend.aws.session import AwsSession
from cutover.backend.core.gates import live_ids
from cutover.backend.model import Preview, Snapshot


def plan_preview(base: Plan, snap: Snapshot, _request: Request, _session: AwsSession) -> Plan:
    """RegisterTargets of every live replacement instance not yet in the preview target
    group, on the target group's port."""
    pv = snap.preview
    dep = snap.deployment
    base = replace(
        base,
        summary="Register the replacement instances in the preview target group",
        deployment_id=dep.id if dep else None,
        expect_status=dep.status if dep else None,
    )
    if pv is None:
        return replace(base, refused="no preview target group is configured for this target")
    if pv.problem is not None or pv.arn is None:
        return replace(base, refused=pv.problem or f"{pv.target_group} could not be read")
    if dep is None or dep.waiting_for != "reroute-approval":
        return replace(base, refused="no deployment is waiting for reroute approval")
    ids = [i for i in live_ids(snap.replacement) if i not in pv.registered]
    if not ids:
        return replace(base, refused=f"every replacement instance is already in {pv.target_group}")
    target = {"Id": "", **({"Port": pv.port} if pv.port else {})}
    call = ApiCall(
        "elbv2",
        "register_targets",
        {"TargetGroupArn": pv.arn, "Targets": [{**target, "Id": i} for i in ids]},
    )
    where = f" (test listener {pv.listener})" if pv.listener else ""
    return replace(
        base,
        summary=f"Preview {dep.id}: register {len(ids)} replacement instance(s) in"
        f" {pv.target_group}",
        calls=(call,),
        changes=(
            f"{', '.join(ids)} registered in {pv.target_group}{where}: the load balancer"
            " health-checks them and the test listener sends them its requests",
            "production traffic is not touched: CodeDeploy reroutes only on approval",
            "approve, stop and rollback take them out of the preview in the same plan",
        ),
        parameters={"target_group": pv.target_group, "instances": ids},
        expect={"kind": "preview", "instances": ids, "target_group": pv.target_group},
    )


def deregister_call(pv: Preview | None) -> tuple[ApiCall, str] | None:
    """The DeregisterTargets of every preview registration, and the change in words; None
    when there are none (or the preview could not be read)."""
    if pv is None or pv.arn is None:
        return None
    targets = [t for t in pv.targets if t.registered]
    if not targets:
        return None
    call = ApiCall(
        "elbv2",
        "deregister_targets",
        {
            "TargetGroupArn": pv.arn,
            "Targets": [{"Id": t.name, **({"Port": t.port} if t.port else {})} for t in targets],
        },
    )
    ids = ", ".join(t.name for t in targets)
    return call, f"{ids} deregistered from preview {pv.target_group} (the preview ends)"


def with_preview_cleanup(plan: Plan, snap: Snapshot) -> Plan:
    """`plan` with the preview registrations taken out after its own calls, so one
    confirmation covers both; unchanged when it is refused or there are none."""
    found = deregister_call(snap.preview)
    if plan.refused is not None or not plan.calls or found is None:
        return plan
    call, change = found
    return replace(plan, calls=(*plan.calls, call), changes=(*plan.changes, change))
