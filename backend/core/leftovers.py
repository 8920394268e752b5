"""What an interrupted in-place deployment left behind, from what a snapshot read (no AWS
call): instances in Standby or out of their load balancers, a lowered MinSize, suspended
Auto Scaling processes. The hooks' records in tags (`hooktags`) say which of these they did."""

from __future__ import annotations

from collections.abc import Sequence

from cutover.backend.core import hooktags
from cutover.backend.core.facts import Asg, Classic, Ec2, TargetGroup
from cutover.backend.model import Environment, Instance, Leftover

STANDBY_STATES = ("Standby", "EnteringStandby")


def find_leftovers(
    *,
    fleet: Environment | None,
    active: str | None,
    ec2: dict[str, Ec2],
    asgs: dict[str, Asg],
    group_asgs: Sequence[str],
    own_tgs: Sequence[TargetGroup],
    own_clbs: Sequence[Classic],
    tgs: Sequence[TargetGroup],
    health: dict[str, list[dict] | None],
    unread: Sequence[str],
) -> tuple[tuple[Leftover, ...] | None, str | None]:
    """What an interrupted in-place deployment left behind, from what the snapshot read (no
    AWS call): (leftovers, None), or (None, why it was not checked).

    - standby: members of the group's Auto Scaling groups in Standby or EnteringStandby;
    - out-of-service: instances outside Auto Scaling carrying `cutover:hook:out`, where their
      `cutover:hook:home` names a target group (port) or classic LB they are not registered
      in (or draining from); with traffic control, any running instance of the group missing
      from the group's own target groups / classic LBs;
    - min-size: a group whose MinSize is still the value its `cutover:hook:min-size` says the
      hooks set (to restore); else a stale record (MinSize back at the original, or changed by
      someone else since, which stands);
    - suspended: the processes a group's `cutover:hook:suspended` lists that are still
      suspended (or, none left, a record left behind).
    """
    if active:
        return None, f"deployment {active} is running: checked when the deployment ends"
    missing = [k for k in ("instances", "auto-scaling", "targets") if k in unread]
    if missing:
        return None, "not checked: " + ", ".join(missing) + " could not be read"
    instances = fleet.instances if fleet else ()
    asg_names = list(dict.fromkeys([*group_asgs, *(i.asg_name for i in instances if i.asg_name)]))
    out = _standby(asg_names, asgs, ec2)
    tg_by_name = {tg.name: tg for tg in tgs}
    traffic_control = bool(own_tgs or own_clbs)
    for inst in instances:
        e = ec2.get(inst.id)
        if e is None or (e.state or "running") not in ("running", "pending"):
            continue
        if inst.asg_lifecycle in STANDBY_STATES:
            continue  # already a standby leftover
        found, why_not = _out_of_service(
            inst, e, traffic_control, own_tgs, own_clbs, tg_by_name, health, unread
        )
        if why_not is not None:
            return None, why_not
        out += found
    for name in asg_names:
        asg = asgs.get(name)
        if asg is not None:
            out += _group_records(asg)
    return tuple(out), None


def _standby(asg_names: Sequence[str], asgs: dict[str, Asg], ec2: dict[str, Ec2]) -> list[Leftover]:
    """Members of the groups in Standby or EnteringStandby, whether the hooks put them there
    or not."""
    out: list[Leftover] = []
    for name in asg_names:
        asg = asgs.get(name)
        if asg is None:
            continue
        for iid, state in sorted(asg.members.items()):
            if state not in STANDBY_STATES:
                continue
            e = ec2.get(iid)
            mark = e.tags.get(hooktags.OUT) if e else None
            where = "in Standby" if state == "Standby" else "entering Standby"
            why = (
                hooktags.describe_out(mark)
                if mark is not None
                else "not by the hooks (no cutover:hook:out tag)"
            )
            out.append(
                Leftover(
                    kind="standby",
                    resource=iid,
                    detail=f"{where} in {name}, {why}",
                    instance_id=iid,
                    asg_name=name,
                    tagged=mark is not None,
                    asg_desired=asg.desired,
                    asg_max=asg.max_size,
                    record_tag=hooktags.OUT if mark is not None else None,
                )
            )
    return out


def _out_of_service(
    inst: Instance,
    e: Ec2,
    traffic_control: bool,
    own_tgs: Sequence[TargetGroup],
    own_clbs: Sequence[Classic],
    tg_by_name: dict[str, TargetGroup],
    health: dict[str, list[dict] | None],
    unread: Sequence[str],
) -> tuple[list[Leftover], str | None]:
    """Where one running instance is missing from a load balancer it belongs in: (leftovers,
    None), or ([], why it could not be checked)."""
    mark = e.tags.get(hooktags.OUT)
    wanted: list[tuple[str, str, int | None]] = []  # (kind, name, port)
    why = ""
    if traffic_control:
        if inst.asg_lifecycle not in (None, "InService"):
            return [], None  # launching or leaving: Auto Scaling is still at work
        wanted += [("tg", tg.name, tg.port) for tg in own_tgs]
        wanted += [("elb", c.name, None) for c in own_clbs]
        why = (
            hooktags.describe_out(mark)
            if mark is not None
            else "a failed deployment's BlockTraffic leaves instances out"
        )
    elif mark is not None and not inst.asg_name:
        home = hooktags.parse_home(e.tags.get(hooktags.HOME))
        wanted += [("tg", n, p) for n, p in home.tgs]
        wanted += [("elb", n, None) for n in home.elbs]
        why = hooktags.describe_out(mark)
    out: list[Leftover] = []
    for kind, name, port in wanted:
        if f"health:{name}" in unread or health.get(name) is None:
            return [], f"not checked: the health in {name} could not be read"
        state = _registration(health.get(name), inst.id, port)
        bad = state in ("absent", "draining") or (
            kind == "elb" and state == "out-of-service" and mark is not None
        )
        if not bad:
            continue
        status = {
            "absent": "not registered",
            "draining": "draining",
            "out-of-service": "OutOfService",
        }[state]
        record_tag = hooktags.OUT if mark is not None else None
        if kind == "tg":
            tg = tg_by_name.get(name)
            where = f"{name} port {port}" if port else name
            out.append(
                Leftover(
                    kind="out-of-service",
                    resource=inst.id,
                    detail=f"{status} in target group {where}, {why}",
                    instance_id=inst.id,
                    target_group=name,
                    target_group_arn=tg.arn if tg else None,
                    port=port,
                    tagged=mark is not None,
                    record_tag=record_tag,
                )
            )
        else:
            out.append(
                Leftover(
                    kind="out-of-service",
                    resource=inst.id,
                    detail=f"{status} in classic load balancer {name}, {why}",
                    instance_id=inst.id,
                    classic_lb=name,
                    tagged=mark is not None,
                    record_tag=record_tag,
                )
            )
    return out, None


def _registration(rows: list[dict] | None, iid: str, port: int | None) -> str:
    """How an instance stands in one load balancer's health rows: "registered", "draining",
    "out-of-service" (classic) or "absent"."""
    best = "absent"
    for row in rows or ():
        if row["id"] != iid or (port is not None and row.get("port") not in (None, port)):
            continue
        state, reason = row.get("state"), row.get("reason")
        description = row.get("description") or ""
        if state == "unused" and reason == "Target.NotRegistered":
            continue
        if state in ("draining", "unhealthy.draining") or (
            "deregistration currently in progress" in description
        ):
            best = "draining" if best == "absent" else best
            continue
        if state == "OutOfService":
            best = "out-of-service" if best in ("absent", "draining") else best
            continue
        return "registered"
    return best


def _group_records(asg: Asg) -> list[Leftover]:
    """The hooks' records on one Auto Scaling group: MinSize and suspended processes."""
    out: list[Leftover] = []
    if hooktags.MIN_SIZE in asg.tags:
        out.append(_min_size_leftover(asg, asg.tags[hooktags.MIN_SIZE]))
    if hooktags.SUSPENDED in asg.tags:
        listed = hooktags.parse_suspended(asg.tags[hooktags.SUSPENDED])
        still = tuple(p for p in listed if p in asg.suspended)
        out.append(
            Leftover(
                kind="suspended",
                resource=asg.name,
                detail=(
                    f"{', '.join(still)} still suspended by the hooks"
                    if still
                    else "record left behind"
                ),
                asg_name=asg.name,
                processes=still,
                record_tag=hooktags.SUSPENDED,
                stale=not still,
            )
        )
    return out


def _min_size_leftover(asg: Asg, raw: str) -> Leftover:
    """The `cutover:hook:min-size` record against the group's MinSize now: restorable only
    while MinSize is still the value the hooks set; a value someone else set since stands, and
    only the stale record goes."""
    record = hooktags.parse_min_size(raw)
    restore: int | None = None
    if record is None:
        detail = f"record left behind (not a record the hooks write: {raw!r})"
    elif asg.min_size == record[1]:
        restore = record[0]
        detail = f"MinSize {asg.min_size}, was {record[0]} before the hooks lowered it"
    elif asg.min_size == record[0]:
        detail = "record left behind"
    else:
        detail = (
            f"MinSize {asg.min_size}, not the {record[1]} the hooks set: changed by someone"
            f" else since, so it stays (it was {record[0]} before the hooks lowered it);"
            " the record is stale"
        )
    return Leftover(
        kind="min-size",
        resource=asg.name,
        detail=detail,
        asg_name=asg.name,
        min_size=restore,
        record_tag=hooktags.MIN_SIZE,
        stale=restore is None,
        asg_desired=asg.desired,
        asg_max=asg.max_size,
    )
