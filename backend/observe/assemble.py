"""Assembly: what one snapshot read -> the frozen Snapshot. Pure: no AWS call.

A sequence of named steps: the deployment's facts (`reads`), which environment each instance
belongs to, the health in each load balancer, the instances and the environments (`fleet`),
then here the deployment with its phase and timers, the snapshot with its traffic split, the
leftovers, the gates and the actions' availability.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cutover.backend.actions.catalogue import action_checks
from cutover.backend.core import gates
from cutover.backend.core.leftovers import find_leftovers
from cutover.backend.core.phase import derive_phase, ready_since, reroute_finished, waiting_for
from cutover.backend.core.revisions import revision_label
from cutover.backend.core.traffic import traffic_split
from cutover.backend.core.unowned import find_unowned, preview_left
from cutover.backend.model import (
    ACTIVE_STATUSES,
    Alarm,
    Deployment,
    DeploymentSummary,
    Environment,
    Snapshot,
    SourceHealth,
    Timer,
)
from cutover.backend.observe.fleet import (
    Health,
    environments,
    fleet_roles,
    place_instances,
    read_health,
)
from cutover.backend.observe.reads import Facts, Reads, facts
from cutover.common.lifecycle import FINISHED_STATUSES


@dataclass(frozen=True)
class _Timing:
    """The deployment's phase, what it waits for, and its timers."""

    status: str
    phase: str
    wait: str | None
    deadline: datetime | None
    timers: list[Timer]
    ready_at: datetime | None
    ready_opt: dict
    term_opt: dict
    term_started: bool


def assemble(r: Reads) -> Snapshot:
    """Build the Snapshot from parsed responses. Pure: no AWS call."""
    f = facts(r)
    roles, asg_of, tg_role = fleet_roles(r, f)
    health = read_health(r)
    instances = place_instances(r, f, roles, asg_of, health)
    envs = environments(r, instances, roles, tg_role, health)
    original, replacement, fleet = (
        (envs["original"], envs["replacement"], None)
        if f.blue_green
        else (None, None, envs["fleet"])
    )
    deployment, timers = None, []
    if r.info is not None:
        timing = _timing(r, r.info, f, original, replacement, fleet)
        deployment = _deployment(r, r.info, f, timing, roles, replacement)
        timers = timing.timers
    snap = _snapshot(r, f, deployment, timers, (original, replacement, fleet), roles, health)
    snap = _with_leftovers(r, f, snap, health)
    if deployment is not None and deployment.status == "Ready" and f.blue_green:
        snap = replace(snap, gates=gates.evaluate(snap, r.target.gates))
    elif deployment is not None and deployment.waiting_for == "termination" and f.blue_green:
        snap = replace(snap, gates=gates.evaluate_termination(snap, r.target.gates))
    return replace(snap, actions=action_checks(snap, r.target.gates, read_only=r.target.read_only))


# ----- the deployment, its phase and its timers ---------------------------------------------------


def _timing(
    r: Reads,
    info: dict,
    f: Facts,
    original: Environment | None,
    replacement: Environment | None,
    fleet: Environment | None,
) -> _Timing:
    bg = (
        info.get("blueGreenDeploymentConfiguration")
        or r.group.get("blueGreenDeploymentConfiguration")
        or {}
    )
    ready_opt = bg.get("deploymentReadyOption") or {}
    term_opt = bg.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    status = info.get("status", "Unknown")
    term_started = bool(info.get("instanceTerminationWaitTimeStarted"))
    term_minutes = term_opt.get("terminationWaitTimeInMinutes")
    originals = original.instances if original else ()
    term_deadline = None
    term_start = None
    if f.blue_green and term_started and term_opt.get("action", "TERMINATE") == "TERMINATE":
        term_start = reroute_finished(
            originals, originals + (replacement.instances if replacement else ())
        )
        if term_start is not None and term_minutes is not None:
            term_deadline = term_start + timedelta(minutes=term_minutes)
    phase = derive_phase(
        status,
        style=r.style,
        is_rollback=f.is_rollback and status not in FINISHED_STATUSES,
        termination_wait_started=term_started,
        original=originals,
        replacement=replacement.instances if replacement else (),
        fleet=fleet.instances if fleet else (),
        termination_deadline=term_deadline,
        now=r.now,
    )
    wait = waiting_for(phase)
    ready_at = ready_since(replacement.instances) if replacement else None
    timers: list[Timer] = []
    if phase == "ready" and ready_opt.get("actionOnTimeout") == "STOP_DEPLOYMENT":
        minutes = ready_opt.get("waitTimeInMinutes")
        if ready_at is not None and minutes is not None:
            timers.append(
                Timer("ready-wait", ready_at + timedelta(minutes=minutes), started=ready_at)
            )
    if term_deadline is not None and phase in ("termination-wait", "terminating"):
        timers.append(Timer("termination-wait", term_deadline, started=term_start))
    deadline = next(
        (
            t.deadline
            for t in timers
            if (t.name, wait)
            in (("ready-wait", "reroute-approval"), ("termination-wait", "termination"))
        ),
        None,
    )
    return _Timing(
        status, phase, wait, deadline, timers, ready_at, ready_opt, term_opt, term_started
    )


def _deployment(
    r: Reads,
    info: dict,
    f: Facts,
    timing: _Timing,
    roles: dict[str, str],
    replacement: Environment | None,
) -> Deployment:
    blue_green = f.blue_green
    err = info.get("errorInformation") or {}
    # The fleet CodeDeploy installed and validated: its own replacement targets. The
    # gate compares the live replacement fleet with this list, so a fresh process (every
    # CLI run, a dashboard just opened) compares with CodeDeploy, not with itself.
    ready_fleet = None
    ready_fleet_seen = None
    if blue_green and r.targets and "targets" not in r.unread:
        ready_fleet = tuple(sorted(t.id for t in r.targets if roles.get(t.id) == "replacement"))
        ready_fleet_seen = timing.ready_at
    dstyle = (info.get("deploymentStyle") or {}).get("deploymentType") or r.style
    option = (info.get("deploymentStyle") or {}).get("deploymentOption")
    ready_opt, term_opt = timing.ready_opt, timing.term_opt
    deployment = Deployment(
        id=info.get("deploymentId", "?"),
        status=timing.status,
        phase=timing.phase,
        application=info.get("applicationName") or r.target.application or "",
        deployment_group=info.get("deploymentGroupName") or r.target.deployment_group or "",
        style=dstyle,
        traffic_control=option == "WITH_TRAFFIC_CONTROL",
        config_name=info.get("deploymentConfigName"),
        revision=f.revision,
        previous_revision=f.previous_revision,
        revision_location=info.get("revision"),
        previous_revision_location=info.get("previousRevision"),
        creator=f.creator,
        create_time=info.get("createTime"),
        start_time=info.get("startTime"),
        complete_time=info.get("completeTime"),
        overview=dict(info.get("deploymentOverview") or {}),
        error_code=err.get("code"),
        error_message=err.get("message"),
        status_messages=tuple(info.get("deploymentStatusMessages") or ()),
        waiting_for=timing.wait,
        deadline=timing.deadline,
        ready_action=ready_opt.get("actionOnTimeout") if blue_green else None,
        ready_wait_minutes=ready_opt.get("waitTimeInMinutes") if blue_green else None,
        termination_action=term_opt.get("action") if blue_green else None,
        termination_wait_minutes=term_opt.get("terminationWaitTimeInMinutes")
        if blue_green
        else None,
        termination_wait_started=timing.term_started,
        rollback_of=f.rollback_info.get("rollbackTriggeringDeploymentId"),
        rolled_back_by=f.rollback_info.get("rollbackDeploymentId"),
        rollback_message=f.rollback_info.get("rollbackMessage"),
        replacement_asg=replacement.asg_name if replacement else None,
        ready_fleet=ready_fleet,
        ready_fleet_seen=ready_fleet_seen,
    )
    if f.is_rollback and deployment.rollback_of is None:
        deployment = replace(deployment, rollback_of="(unknown deployment)")
    return deployment


# ----- the snapshot -------------------------------------------------------------------------------


def _snapshot(
    r: Reads,
    f: Facts,
    deployment: Deployment | None,
    timers: list[Timer],
    envs: tuple[Environment | None, Environment | None, Environment | None],
    roles: dict[str, str],
    health: Health,
) -> Snapshot:
    original, replacement, fleet = envs
    last = r.group.get("lastAttemptedDeployment") or {}
    active_id = last.get("deploymentId") if last.get("status") in ACTIVE_STATUSES else None
    if deployment is not None and deployment.active:
        active_id = deployment.id
    elif deployment is not None and active_id == deployment.id:
        # The group was read a moment before the deployment finished: the deployment's own
        # status, read beside it, is the newer word.
        active_id = None
    env_ids = set(roles)
    others: dict[str, tuple[int, int]] = {}
    for source, rows_by_id in health.seen.items():
        outside = [h for iid, h in rows_by_id.items() if iid not in env_ids]
        others[source] = (
            sum(1 for h in outside if h.healthy),
            sum(1 for h in outside if h.registered and not h.healthy and not h.draining),
        )
    traffic = (
        traffic_split(original, replacement, health.sources, r.listeners, others)
        if f.blue_green
        else None
    )
    notes = r.notes
    if r.automatic is not None and deployment is not None:
        notes = [*notes, automatic_text(r.automatic, deployment.id)]
    if r.alarms is None:
        alarms = tuple(Alarm(n, "UNKNOWN", "not read") for n in r.alarm_names)
    else:
        alarms = tuple(r.alarms)
    return Snapshot(
        target=r.target.name,
        server_time=r.now,
        application=r.group.get("applicationName") or r.target.application,
        deployment_group=r.group.get("deploymentGroupName") or r.target.deployment_group,
        account=r.account,
        region=r.region,
        endpoint_url=r.endpoint_url,
        deployment=deployment,
        original=original,
        replacement=replacement,
        fleet=fleet,
        traffic=traffic,
        timers=tuple(timers),
        alarms=alarms,
        listeners=tuple(r.listeners),
        target_groups=tuple(tg.name for tg in r.tgs),
        target_group_arns=tuple((tg.name, tg.arn) for tg in r.tgs),
        classic_load_balancers=tuple(c.name for c in r.clbs),
        notes=tuple(notes),
        unread=tuple(dict.fromkeys(r.unread)),
        style=r.style,
        target_revision=revision_label(r.group.get("targetRevision")),
        metrics=tuple(r.metrics),
        read_only=r.target.read_only,
        active_deployment=active_id,
        latest_deployment=last.get("deploymentId"),
        automatic=r.automatic,
        sources=source_health(health, roles),
        serving=tuple(r.serving) if r.serving is not None else None,
        last_good_revision=r.last_good_revision,
        preview=r.preview,
    )


def source_health(health: Health, roles: dict[str, str]) -> tuple[SourceHealth, ...]:
    """Each target group and classic load balancer whose health was read: counts of its
    targets (any instance, the group's or not) and which environments they are."""
    lbs = {tg.name: tuple(_lb_name(a) for a in tg.lb_arns) for tg in health.all_tgs}
    out = []
    for source in health.sources + health.extra_sources:
        rows = health.seen.get(source)
        if rows is None:
            continue
        live = {iid: h for iid, h in rows.items() if h.registered and not h.draining}
        kind = health.kinds[source]
        out.append(
            SourceHealth(
                name=source,
                kind=kind,  # type: ignore[arg-type]
                healthy=sum(1 for h in live.values() if h.healthy),
                registered=len(live),
                unhealthy=sum(1 for h in live.values() if h.failing),
                load_balancers=(source,) if kind == "classic" else lbs.get(source, ()),
                roles=tuple(sorted({roles.get(iid, "other") for iid in live})),
            )
        )
    return tuple(out)


def _lb_name(arn: str) -> str:
    # loadbalancer/app/NAME/ID carries the name second to last.
    parts = arn.split(":")[-1].split("/")
    return parts[-2] if len(parts) >= 2 else arn


def automatic_text(auto: DeploymentSummary, supervised: str) -> str:
    """One line about a deployment CodeDeploy started by itself, beside `supervised`."""
    why = {
        "autoscaling": "for instances Auto Scaling launched",
        "autoscalingTermination": "for instances Auto Scaling is terminating",
        "CodeDeployAutoUpdate": "to update outdated instances",
    }.get(auto.creator or "", "by itself")
    on = f" on {', '.join(auto.instances[:4])}" if auto.instances else ""
    more = f" and {len(auto.instances) - 4} more" if len(auto.instances) > 4 else ""
    rev = f" ({auto.revision})" if auto.revision else ""
    error = f" ({auto.error_code})" if auto.error_code else ""
    return (
        f"CodeDeploy's own deployment {auto.id}{rev} {why}{on}{more} is {auto.status}{error};"
        f" {supervised} stays under supervision"
    )


def _with_leftovers(r: Reads, f: Facts, snap: Snapshot, health: Health) -> Snapshot:
    if f.blue_green:
        unowned, why = find_unowned(
            deployment=snap.deployment,
            replacement=snap.replacement,
            original=snap.original,
            active=snap.active_deployment,
            group_asgs=r.group_asgs,
            asgs=r.asgs,
            ec2=r.ec2,
            seen=health.seen,
            sources=health.sources,
            tg_arns={tg.name: tg.arn for tg in r.tgs},
            automatic=r.automatic,
            unread=r.unread,
        )
        previews = preview_left(r.preview, snap.deployment)
        if previews:
            unowned = (*(unowned or ()), *previews)
        return replace(
            snap,
            leftovers_note="blue/green groups are not checked for leftovers",
            unowned=unowned,
            unowned_note=why,
        )
    found, why = find_leftovers(
        fleet=snap.fleet,
        active=snap.active_deployment,
        ec2=r.ec2,
        asgs=r.asgs,
        group_asgs=r.group_asgs,
        own_tgs=r.tgs,
        own_clbs=r.clbs,
        tgs=health.all_tgs,
        health=r.health,
        unread=r.unread,
    )
    return replace(
        snap,
        leftovers=found,
        leftovers_note=why,
        unowned_note="in-place groups: what a deployment left is under leftovers",
    )
