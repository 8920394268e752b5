"""Assembly's fleet steps: which environment each instance belongs to, the health read in
each load balancer, the instances, and the environments with their metrics. Pure: no AWS call."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cutover.backend.core.facts import TargetGroup, TargetInfo
from cutover.backend.core.hooktags import HOME, parse_home
from cutover.backend.core.phase import current_event
from cutover.backend.model import LB_OWN_5XX, Environment, Instance, Series, TargetHealth
from cutover.backend.observe.reads import Facts, Reads
from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS

ROLES = ("original", "replacement", "fleet")


@dataclass(frozen=True)
class Health:
    """The health read per load balancer ("source"), by instance, worst port first."""

    all_tgs: list[TargetGroup]
    sources: list[str]  # the group's own target groups and classic LBs
    extra_sources: list[str]  # the others the instances serve in
    kinds: dict[str, str]
    arn_names: dict[str, str]
    seen: dict[str, dict[str, TargetHealth]]


# ----- which environment each instance belongs to -------------------------------------------------


def fleet_roles(r: Reads, f: Facts) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(instance id -> environment, instance id -> Auto Scaling group, target group ->
    environment where a weighted listener rule defines them)."""
    roles: dict[str, str] = {}
    for t in r.targets:
        roles[t.id] = _role(t, f.is_rollback) if f.blue_green else "fleet"
    asg_of = {iid: a.name for a in r.asgs.values() for iid in a.members}
    tg_role = _listener_roles(r) if f.blue_green else {}
    asg_role = _asg_roles(r, f.blue_green, roles, tg_role)
    for iid, name in asg_of.items():
        roles.setdefault(iid, asg_role.get(name, "original"))
    if r.previous is not None and {"auto-scaling", "targets"} & set(r.unread):
        # A membership read failed (throttled, say): the instances seen last time stay where
        # they were, instead of a fleet vanishing from the view for one refresh.
        prev_dep = r.previous.deployment.id if r.previous.deployment else None
        if prev_dep == (r.info or {}).get("deploymentId"):
            for was, env in (
                ("original", r.previous.original),
                ("replacement", r.previous.replacement),
                ("fleet", r.previous.fleet),
            ):
                for inst in env.instances if env else ():
                    roles.setdefault(inst.id, was)
    return roles, asg_of, tg_role


def _role(target: TargetInfo, is_rollback: bool) -> str:
    """original or replacement, in the words of the deployment being rolled back when this is
    a rollback (which reroutes back to the originals: their traffic events are the Allow ones)."""
    if is_rollback:
        if any(e.name in BLOCK_EVENTS for e in target.events):
            return "replacement"
        if any(e.name in ALLOW_EVENTS for e in target.events):
            return "original"
        return "replacement" if target.label == "Blue" else "original"
    return "original" if target.label == "Blue" else "replacement"


def _listener_roles(r: Reads) -> dict[str, str]:
    """Without CodeDeploy's labels, a listener splitting the group's target groups by weight
    defines the environments (weighted.yaml): the rule's first target group is the original,
    the others the replacement. Target group order in the rule is stable across shifts."""
    group_tgs = {tg.name for tg in r.tgs}
    for w in r.listeners:
        names = [tg for tg, _ in w.weights if tg in group_tgs]
        if len(names) >= 2:
            return {names[0]: "original"} | {n: "replacement" for n in names[1:]}
    return {}


def _asg_roles(
    r: Reads, blue_green: bool, roles: dict[str, str], tg_role: dict[str, str]
) -> dict[str, str]:
    """The environment of each Auto Scaling group: its targets' majority, else where a
    weighted rule puts its members, else what the deployment's state makes it."""
    registered_in: dict[str, set[str]] = {}
    for source, rows in r.health.items():
        for row in rows or ():
            if source in tg_role and row.get("state") != "unused":
                registered_in.setdefault(row["id"], set()).add(tg_role[source])
    asg_role: dict[str, str] = {}
    for a in r.asgs.values():
        votes = Counter(roles[i] for i in a.members if i in roles)
        if not votes and tg_role:
            votes = Counter(
                role
                for i in a.members
                for role in registered_in.get(i, ())
                if len(registered_in[i]) == 1
            )
        if votes:
            asg_role[a.name] = votes.most_common(1)[0][0]
        elif not blue_green:
            asg_role[a.name] = "fleet"
        elif a.name in r.group_asgs and not (
            r.info and r.info.get("status") == "Succeeded" and r.targets
        ):
            asg_role[a.name] = "original"
        else:
            asg_role[a.name] = "replacement" if r.info else "original"
    return asg_role


# ----- health per instance per target group / classic LB ------------------------------------------


def read_health(r: Reads) -> Health:
    prev_drain: dict[tuple[str, str], datetime] = {}
    if r.previous is not None:
        for inst in r.previous.instances():
            for h in inst.health:
                if h.draining and h.drain_deadline is not None:
                    prev_drain[(inst.id, h.name)] = h.drain_deadline
    all_tgs = list(r.tgs) + [tg for tg in r.extra_tgs if tg.name not in {t.name for t in r.tgs}]
    all_clbs = list(r.clbs) + [c for c in r.extra_clbs if c.name not in {x.name for x in r.clbs}]
    delays: dict[str, int | None] = {tg.name: tg.delay for tg in all_tgs}
    delays.update({c.name: c.drain_timeout for c in all_clbs})
    kinds = {tg.name: "target-group" for tg in all_tgs} | {c.name: "classic" for c in all_clbs}
    sources = [tg.name for tg in r.tgs] + [c.name for c in r.clbs]
    extra_sources = [tg.name for tg in all_tgs[len(r.tgs) :]] + [
        c.name for c in all_clbs[len(r.clbs) :]
    ]
    seen: dict[str, dict[str, TargetHealth]] = {}
    for source in sources + extra_sources:
        rows = r.health.get(source)
        if rows is None:
            continue
        worst: dict[str, TargetHealth] = {}
        for row in rows:
            h = TargetHealth(
                name=source,
                kind=kinds[source],  # type: ignore[arg-type]
                state=row["state"],
                reason=row.get("reason"),
                description=row.get("description"),
                port=row.get("port"),
            )
            if h.draining:
                deadline = prev_drain.get((row["id"], source))
                if deadline is None and delays.get(source) is not None:
                    deadline = r.now + timedelta(seconds=delays[source] or 0)
                h = replace(h, drain_deadline=deadline)
            old = worst.get(row["id"])
            # An instance registered on two ports shows the worse of the two.
            if old is None or (old.healthy and not h.healthy):
                worst[row["id"]] = h
        seen[source] = worst
    arn_names = {tg.arn: tg.name for tg in all_tgs}
    return Health(all_tgs, sources, extra_sources, kinds, arn_names, seen)


def _serves_in(r: Reads, asg_of: dict[str, str], health: Health, iid: str) -> set[str]:
    """The extra sources an instance belongs in: its home tag's and its ASG's."""
    e = r.ec2.get(iid)
    home = parse_home(e.tags.get(HOME) if e else None)
    out = {n for n, _ in home.tgs} | set(home.elbs)
    asg = r.asgs.get(asg_of.get(iid) or (e.asg if e else None) or "")
    if asg is not None:
        out |= {health.arn_names.get(a, a) for a in asg.tg_arns} | set(asg.lb_names)
    return out


def _health_of(
    r: Reads, asg_of: dict[str, str], health: Health, iid: str
) -> tuple[TargetHealth, ...]:
    out = []
    wanted = _serves_in(r, asg_of, health, iid) if health.extra_sources else set()
    for source in health.sources + health.extra_sources:
        if source not in health.seen:
            continue
        if (
            source in health.extra_sources
            and source not in wanted
            and iid not in health.seen[source]
        ):
            continue
        h = health.seen[source].get(iid)
        if h is None:
            kind = health.kinds[source]
            h = TargetHealth(
                name=source,
                kind=kind,  # type: ignore[arg-type]
                state="unused",
                reason="Target.NotRegistered",
                description="Target is not registered"
                + (" to the target group" if kind == "target-group" else ""),
            )
        out.append(h)
    return tuple(out)


# ----- the instances and their environments -------------------------------------------------------


def place_instances(
    r: Reads, f: Facts, roles: dict[str, str], asg_of: dict[str, str], health: Health
) -> dict[str, list[Instance]]:
    by_id = {t.id: t for t in r.targets}
    # What an instance ran, as last told (a rollback does not say what the replacements run).
    prev_revisions = {
        i.id: i.revision for i in (r.previous.instances() if r.previous else ()) if i.revision
    }
    instances: dict[str, list[Instance]] = {role: [] for role in ROLES}
    for iid, role in roles.items():
        t = by_id.get(iid)
        e = r.ec2.get(iid)
        asg_name = asg_of.get(iid) or (e.asg if e else None)
        asg_state = None
        if asg_name and asg_name in r.asgs:
            asg_state = r.asgs[asg_name].members.get(iid)
        ec2_state = e.state if e else None
        if e is None and "instances" not in r.unread and iid in by_id:
            # Not in DescribeInstances: EC2 has forgotten it (terminated over an hour ago).
            ec2_state = "terminated"
        events = t.events if t else ()
        instances[role].append(
            Instance(
                id=iid,
                az=e.az if e else None,
                instance_type=e.instance_type if e else None,
                ec2_state=ec2_state,
                launch_time=e.launch_time if e else None,
                asg_name=asg_name,
                asg_lifecycle=asg_state,
                label=t.label if t else None,
                lifecycle_status=t.status if t else None,
                current_event=current_event(t.status, events) if t else None,
                events=events,
                last_updated=t.last_updated if t else None,
                revision=_instance_revision(
                    t, role, r.style, f.is_rollback, f.revision, f.previous_revision
                )
                or prev_revisions.get(iid),
                health=_health_of(r, asg_of, health, iid),
            )
        )
    for group_list in instances.values():
        group_list.sort(key=lambda i: (i.az or "", i.launch_time or r.now, i.id))
    return instances


def _instance_revision(
    target: TargetInfo | None,
    role: str,
    style: str,
    is_rollback: bool,
    revision: str | None,
    previous: str | None,
) -> str | None:
    """What an instance runs, as far as this deployment tells (None when it does not tell).

    Blue/green: originals run the previous revision and replacements this deployment's once
    their Install succeeded; in a rollback the originals run the rollback's revision and the
    replacements the one being rolled back. In-place: this revision once Install succeeded,
    else the previous one."""
    if target is None:
        return None
    install = target.event("Install")
    installed = install is None or install.status == "Succeeded"
    if style == "BLUE_GREEN":
        if is_rollback:
            if role == "original":
                return revision
            return previous if previous != revision else None
        if role == "original":
            return previous
        return revision if installed else None
    return revision if install is not None and install.status == "Succeeded" else previous


def environments(
    r: Reads,
    instances: dict[str, list[Instance]],
    roles: dict[str, str],
    tg_role: dict[str, str],
    health: Health,
) -> dict[str, Environment]:
    """Every environment with its instances, its Auto Scaling group, and the metrics and
    target groups that are its alone."""

    # Metrics: per source; attached to an environment when only that environment is in it.
    def owner(source: str) -> str | None:
        rows = health.seen.get(source) or {}
        owners = {roles.get(iid, "other") for iid, h in rows.items() if h.registered}
        return next(iter(owners)) if len(owners) == 1 else None

    # Blue/green: only a target group a weighted rule gives to one environment measures that
    # environment alone over the whole window; one target group both fleets passed through
    # (a reroute, a rollback) is shown at target-group level instead, never on a panel.
    env_metrics: dict[str, list[Series]] = {role: [] for role in ROLES}
    for s in r.metrics:
        role = None if s.name in LB_OWN_5XX else owner(s.source or "")
        if role in ("original", "replacement") and tg_role.get(s.source or "") != role:
            role = None
        if role in env_metrics:
            env_metrics[role].append(s)
    # Target groups that serve one environment alone; an empty one in a weighted rule belongs
    # to the side the rule's order gives it (what a weighted shift moves traffic to).
    env_tgs: dict[str, list[str]] = {role: [] for role in ROLES}
    for tg in r.tgs:
        role = owner(tg.name)
        if role is None and not any(
            h.registered for h in (health.seen.get(tg.name) or {}).values()
        ):
            role = tg_role.get(tg.name)
        if role in env_tgs:
            env_tgs[role].append(tg.name)

    def env(role: str) -> Environment:
        members = instances[role]
        names = Counter(i.asg_name for i in members if i.asg_name)
        asg = r.asgs.get(names.most_common(1)[0][0]) if names else None
        in_flight = tuple(i.id for i in members if i.lifecycle_status == "InProgress")
        return Environment(
            role=role,  # type: ignore[arg-type]
            instances=tuple(members),
            asg_name=asg.name if asg else (names.most_common(1)[0][0] if names else None),
            desired=asg.desired if asg else None,
            min_size=asg.min_size if asg else None,
            max_size=asg.max_size if asg else None,
            metrics=tuple(env_metrics[role]),
            in_flight=in_flight,
            target_groups=tuple(env_tgs[role]),
        )

    return {role: env(role) for role in ROLES}
