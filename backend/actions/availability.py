"""Whether each action is possible now, and why not: the one check every front end asks.

Pure, over a Snapshot: no AWS call. The dashboard dims a key with a check's reason, `status`
prints it under "Actions", and `Controller.plan` refuses with it, so a refusal reads the same
everywhere. A passing check's reason says what the action will do; a failing one says why not
and what to do instead. Only a failed readiness gate is `overridable`.
"""

from __future__ import annotations

from collections import Counter

from cutover.backend.core.gates import failed, live, live_ids, production_reaches
from cutover.backend.model import Check, Snapshot


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _blue_green(snapshot: Snapshot) -> bool:
    dep = snapshot.deployment
    return (dep.style if dep else snapshot.style) == "BLUE_GREEN"


def _one_at_a_time(name: str, running: str) -> Check:
    return Check(
        name,
        False,
        f"deployment {running} is running in the group; CodeDeploy runs one deployment per"
        " group at a time",
    )


def _gate_failed(name: str, snapshot: Snapshot) -> Check | None:
    bad = failed(snapshot.gates)
    if not bad:
        return None
    return Check(
        name, False, "a gate failed: " + "; ".join(c.reason for c in bad), overridable=True
    )


def deploy(snapshot: Snapshot) -> Check:
    name, dep = "deploy", snapshot.deployment
    if dep is not None and dep.active:
        return Check(
            name,
            False,
            f"deployment {dep.id} is {dep.status} ({dep.phase}); CodeDeploy runs one"
            " deployment per group at a time: wait for it, or stop it",
        )
    if snapshot.active_deployment:
        return _one_at_a_time(name, snapshot.active_deployment)
    rev = f" of {snapshot.target_revision}" if snapshot.target_revision else ""
    return Check(name, True, f"CreateDeployment{rev}: no deployment is running in the group")


def approve(snapshot: Snapshot) -> Check:
    name, dep = "approve", snapshot.deployment
    if dep is None:
        return Check(name, False, "there is no deployment to approve")
    if not _blue_green(snapshot):
        return Check(name, False, "in-place deployments have no reroute to approve")
    if dep.status != "Ready":
        if dep.ready_action == "CONTINUE_DEPLOYMENT" and dep.active:
            return Check(
                name,
                False,
                "the group reroutes without waiting for approval"
                " (deploymentReadyOption CONTINUE_DEPLOYMENT)",
            )
        return Check(
            name,
            False,
            f"deployment {dep.id} is not waiting for reroute approval"
            f" (status {dep.status}, phase {dep.phase})",
        )
    gate = _gate_failed(name, snapshot)
    if gate is not None:
        return gate
    n = len(live_ids(snapshot.replacement))
    return Check(
        name,
        True,
        "ContinueDeployment READY_WAIT: reroutes traffic to the"
        f" {_plural(n, 'replacement instance')} in batches, then deregisters the originals",
    )


def terminate_original(snapshot: Snapshot) -> Check:
    name, dep = "terminate-original", snapshot.deployment
    if dep is None or not _blue_green(snapshot):
        return Check(name, False, "only blue/green deployments have original instances to end")
    if dep.termination_action == "KEEP_ALIVE":
        return Check(
            name, False, "the group keeps the originals running after the reroute (KEEP_ALIVE)"
        )
    if dep.phase == "termination-wait":
        gate = _gate_failed(name, snapshot)
        if gate is not None:
            return gate
        when = f" instead of at {dep.deadline.strftime('%H:%M:%S UTC')}" if dep.deadline else ""
        n = len(live_ids(snapshot.original))
        return Check(
            name,
            True,
            f"ContinueDeployment TERMINATION_WAIT: terminates the"
            f" {_plural(n, 'original instance')} now{when}",
        )
    if dep.phase == "terminating":
        return Check(name, False, "the original instances are being terminated already")
    if not dep.active:
        return Check(name, False, f"deployment {dep.id} has finished ({dep.status})")
    return Check(
        name,
        False,
        f"the originals still matter (phase {dep.phase}); the termination wait starts"
        " after the reroute",
    )


def stop(snapshot: Snapshot) -> Check:
    name, dep = "stop", snapshot.deployment
    if dep is None or not dep.active:
        return Check(
            name,
            False,
            "no deployment is running"
            if dep is None
            else f"deployment {dep.id} has finished ({dep.status})",
        )
    if _blue_green(snapshot) and dep.phase == "rerouting":
        return Check(
            name,
            True,
            f"StopDeployment: stops {dep.id} where it is; traffic stays split as it is now"
            " (rollback would return it to the originals)",
        )
    return Check(name, True, f"StopDeployment: stops {dep.id} without rolling back")


def _originals_gone(snapshot: Snapshot) -> bool:
    """Whether the original instances are terminated or being terminated."""
    env = snapshot.original
    if snapshot.deployment is not None and snapshot.deployment.phase == "terminating":
        return True
    if env is None or not env.instances:
        return False
    return not any(live(i) for i in env.instances)


def _previous(snapshot: Snapshot) -> str:
    dep = snapshot.deployment
    rev = dep.previous_revision if dep is not None else None
    return f" ({rev})" if rev else ""


def rollback(snapshot: Snapshot) -> Check:
    name, dep = "rollback", snapshot.deployment
    if dep is None:
        return Check(name, False, "there is no deployment to roll back")
    if dep.rollback_of is not None:
        return Check(
            name,
            False,
            f"{dep.id} is itself the rollback of {dep.rollback_of}; rolling it back would"
            " redeploy what was rolled back. To go elsewhere, deploy the revision you want",
        )
    if dep.rolled_back_by:
        return Check(name, False, f"{dep.id} was already rolled back by {dep.rolled_back_by}")
    if not dep.active:
        if snapshot.active_deployment:
            return _one_at_a_time(name, snapshot.active_deployment)
        return Check(
            name,
            True,
            f"CreateDeployment: {dep.id} has finished ({dep.status}), so the way back is a"
            " new deployment of the last revision that succeeded before it (the plan names"
            " it)",
        )
    if not _blue_green(snapshot):
        return Check(
            name,
            True,
            "StopDeployment with rollback: CodeDeploy redeploys the last good revision"
            f"{_previous(snapshot)} to the fleet",
        )
    if _originals_gone(snapshot):
        return Check(
            name,
            False,
            "the original instances are being terminated, so CodeDeploy cannot route back"
            " to them; once the deployment ends, the way back is a new deployment of the"
            f" previous revision{_previous(snapshot)}",
        )
    n = len(live_ids(snapshot.original))
    return Check(
        name,
        True,
        "StopDeployment with rollback: traffic returns to the"
        f" {_plural(n, 'original instance')} and the replacement fleet is removed",
    )


def shift(snapshot: Snapshot) -> Check:
    name, dep = "shift", snapshot.deployment
    running = dep.id if dep is not None and dep.active else snapshot.active_deployment
    if running:
        status = f" is {dep.status}" if dep is not None and dep.active else " is running"
        return Check(
            name,
            False,
            f"deployment {running}{status}: CodeDeploy owns the traffic until it finishes or"
            " is stopped",
        )
    weighted = [w for w in snapshot.listeners if len(w.weights) >= 2]
    if weighted:
        w = weighted[0]
        split = ", ".join(f"{tg} {weight}" for tg, weight in w.weights)
        return Check(name, True, f"weights can be set on {w.load_balancer}:{w.port} (now {split})")
    sources = (*snapshot.target_groups, *snapshot.classic_load_balancers)
    if live_ids(snapshot.original) and live_ids(snapshot.replacement) and sources:
        return Check(
            name,
            True,
            f"both environments are running: either can be moved into or out of"
            f" {', '.join(sources)}",
        )
    return Check(
        name,
        False,
        "nothing to shift between: no listener splits the group's target groups by"
        " weight, and only one environment is running",
    )


_REPAIRED = {
    "standby": "out of Standby",
    "out-of-service": "registered again",
    "min-size": "MinSize restored, or a stale record of it deleted",
    "suspended": "processes resumed",
}


def repair(snapshot: Snapshot) -> Check:
    name = "repair"
    if snapshot.leftovers is None:
        return Check(name, False, snapshot.leftovers_note or "leftovers not checked")
    if not snapshot.leftovers:
        return Check(name, False, "no leftovers: nothing to repair")
    kinds = Counter(lo.kind for lo in snapshot.leftovers)
    parts = [f"{_REPAIRED[k]} ({n})" for k, n in kinds.items()]
    return Check(name, True, "puts the leftovers right: " + ", ".join(parts))


def cleanup(snapshot: Snapshot) -> Check:
    name = "cleanup"
    if snapshot.unowned is None:
        return Check(name, False, snapshot.unowned_note or "unowned capacity not checked")
    fleets = [lo for lo in snapshot.unowned if lo.kind == "replacement-fleet"]
    previews = [lo for lo in snapshot.unowned if lo.kind == "preview-registration"]
    if not fleets and not previews:
        flagged = len(snapshot.unowned)
        note = f" ({flagged} unowned serving instance(s) flagged, never removed)" if flagged else ""
        return Check(name, False, "no replacement fleet left behind" + note)
    parts = []
    if fleets:
        parts.append(
            "deletes the replacement fleet a stopped deployment left: "
            + ", ".join(f"{lo.resource} ({len(lo.instance_ids)} instance(s))" for lo in fleets)
        )
    if previews:
        parts.append(
            "deregisters the preview registrations left: "
            + ", ".join(f"{len(lo.instance_ids)} in {lo.resource}" for lo in previews)
        )
    return Check(name, True, "; ".join(parts))


def preview(snapshot: Snapshot) -> Check:
    name, pv, dep = "preview", snapshot.preview, snapshot.deployment
    if pv is None:
        return Check(
            name,
            False,
            "no preview target group is configured for this target (`preview:` in the config,"
            " docs/config.md)",
        )
    problem = pv.problem or production_reaches(snapshot)
    if problem is not None:  # a setup mistake says so first, whatever the deployment does
        return Check(name, False, f"preview {pv.target_group}: {problem}")
    if dep is None or not _blue_green(snapshot) or dep.status != "Ready":
        return Check(
            name,
            False,
            "a preview is for a blue/green deployment waiting for reroute approval"
            + (f" ({dep.id} is {dep.status}, {dep.phase})" if dep is not None else ""),
        )
    ids = [i for i in live_ids(snapshot.replacement) if i not in pv.registered]
    if not ids:
        return Check(
            name, False, f"every replacement instance is already registered in {pv.target_group}"
        )
    at = f" behind test listener {pv.listener}" if pv.listener else ""
    return Check(
        name,
        True,
        f"RegisterTargets: {_plural(len(ids), 'replacement instance')} into"
        f" {pv.target_group}{at}, health-checked by the load balancer; production traffic"
        " is not touched",
    )
