"""Why a confirmed plan no longer fits the state read again just before it is sent.

A person confirms what they saw; by the time they press the key the state may have moved
(someone else started a deployment, the listener's weights changed, the credentials now
reach another account). `changed` compares the plan with a fresh Snapshot and says why in
plain words, or None when the plan still holds.
"""

from __future__ import annotations

from cutover.backend.actions.cleanup import unowned_changed
from cutover.backend.actions.plan import Plan
from cutover.backend.actions.repair import leftovers_changed
from cutover.backend.actions.shift import changed_since
from cutover.backend.model import Snapshot

LOOK = "; look again before acting"


def changed(plan: Plan, current: Snapshot) -> str | None:
    """Why the plan no longer fits the state as it is now, or None."""
    if plan.account and current.account and plan.account != current.account:
        return (
            f"the credentials now reach account {current.account}, not {plan.account} where"
            f" the plan was made{LOOK}"
        )
    if plan.region and current.region and plan.region != current.region:
        return f"the region is now {current.region}, not {plan.region}{LOOK}"
    if plan.action == "repair":
        return leftovers_changed(plan, current)
    if plan.action == "cleanup":
        return unowned_changed(plan, current)
    moved = _deployment_moved(plan, current) or changed_since(plan, current)
    if moved:
        return moved
    check = current.action(plan.action)
    if not check.passed and not (check.overridable and plan.override):
        return check.reason
    return None


def _deployment_moved(plan: Plan, current: Snapshot) -> str | None:
    """A deployment started since a deploy was planned, or the deployment the plan acts on
    is another one now or has another status."""
    before = plan.planned_from
    if plan.expect.get("kind") in ("deploy", "redeploy"):
        if current.latest_deployment != before.get("latest_deployment"):
            return (
                f"a deployment started since the plan was made: the group's latest is now"
                f" {current.latest_deployment} (was {before.get('latest_deployment')}){LOOK}"
            )
    elif plan.deployment_id is not None or current.deployment is not None:
        d = current.deployment
        if (d.id if d else None) != plan.deployment_id:
            now = f"{d.id} ({d.status})" if d else "none"
            return (
                "the deployment changed since the plan was made: planned for"
                f" {plan.deployment_id or 'no deployment'}, now {now}{LOOK}"
            )
        if d is not None and plan.expect_status is not None and d.status != plan.expect_status:
            return (
                f"deployment {d.id} changed since the plan was made: it was"
                f" {plan.expect_status}, it is now {d.status}{LOOK}"
            )
    return None
