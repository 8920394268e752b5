"""What changed between two snapshots, as the timeline's events: the deployment, its
instances, their health, the traffic split and the alarms."""

from __future__ import annotations

from datetime import datetime

from cutover.backend.model import Event, Instance, LifecycleEvent, Snapshot, TargetHealth


def diff(previous: Snapshot, current: Snapshot) -> list[Event]:
    """What changed between two snapshots, oldest-first in a stable order, for a timeline:
    deployment, status and phase changes; instances appearing and leaving; EC2 state, lifecycle
    status, lifecycle event starts and failures; health state changes; traffic split changes;
    alarm state changes. Every event carries `current.server_time`."""
    at = current.server_time
    out = _deployment_events(previous, current, at)
    pd, cd = previous.deployment, current.deployment
    same_deployment = pd is not None and cd is not None and pd.id == cd.id
    before, after = _instance_roles(previous), _instance_roles(current)
    for iid, (role, inst) in after.items():
        if iid not in before:
            where = f" in {inst.az}" if inst.az else ""
            out.append(Event(at, "instance", f"{iid} joined the {role}{where}", iid))
            continue
        old_role, old = before[iid]
        if old_role != role:
            out.append(Event(at, "instance", f"{iid} moved from the {old_role} to the {role}", iid))
        if old is inst:
            continue
        out += _instance_events(old, inst, same_deployment, at)
        if not _same_health(old.health, inst.health):
            out += _health_events(old, inst, at)
    for iid, (role, _) in before.items():
        if iid not in after:
            out.append(Event(at, "instance", f"{iid} left the {role}", iid))
    out += _traffic_events(previous, current, at)
    out += _alarm_events(previous, current, at)
    return out


def _instance_roles(s: Snapshot) -> dict[str, tuple[str, Instance]]:
    out = {}
    for env in (s.original, s.replacement, s.fleet):
        if env is not None:
            for inst in env.instances:
                out[inst.id] = (env.role, inst)
    return out


def _deployment_events(previous: Snapshot, current: Snapshot, at: datetime) -> list[Event]:
    out: list[Event] = []
    pd, cd = previous.deployment, current.deployment
    if cd is not None and (pd is None or pd.id != cd.id):
        out.append(Event(at, "deployment", f"now following deployment {cd.id} ({cd.status})"))
    elif pd is not None and cd is not None:
        if pd.status != cd.status:
            text = f"deployment {cd.id}: {pd.status} → {cd.status}"
            if cd.error_code and cd.status in ("Failed", "Stopped"):
                text += f" ({cd.error_code}: {cd.error_message or ''})".replace(": )", ")")
            out.append(Event(at, "deployment", text))
        if pd.phase != cd.phase:
            text = f"phase: {pd.phase} → {cd.phase}"
            if cd.waiting_for:
                text += f", waiting for {cd.waiting_for}"
            out.append(Event(at, "deployment", text))
        if cd.rolled_back_by and cd.rolled_back_by != pd.rolled_back_by:
            out.append(Event(at, "deployment", f"rolled back by {cd.rolled_back_by}"))
    pa, ca = previous.automatic, current.automatic
    if ca is not None and (pa is None or (pa.id, pa.status) != (ca.id, ca.status)):
        on = f" on {', '.join(ca.instances[:3])}" if ca.instances else ""
        out.append(Event(at, "deployment", f"CodeDeploy's own deployment {ca.id}{on}: {ca.status}"))
    return out


def _instance_events(
    old: Instance, inst: Instance, same_deployment: bool, at: datetime
) -> list[Event]:
    """An instance's EC2 state, and (within one deployment) its lifecycle status and events."""
    iid = inst.id
    out: list[Event] = []
    if old.ec2_state != inst.ec2_state and inst.ec2_state:
        out.append(Event(at, "instance", f"{iid} is {inst.ec2_state}", iid))
    if not same_deployment:
        return out
    if old.lifecycle_status != inst.lifecycle_status:
        out.append(
            Event(
                at,
                "instance",
                f"{iid}: {old.lifecycle_status or 'not a target'} →"
                f" {inst.lifecycle_status or 'not a target'}",
                iid,
            )
        )
    if _same_events(old.events, inst.events):
        return out  # the usual case, and this runs for every instance of every refresh
    old_events = {e.name: e for e in old.events}
    for e in inst.events:
        was = old_events.get(e.name)
        was_status = was.status if was else "Pending"
        if e.status == was_status:
            continue
        if e.status == "InProgress":
            out.append(Event(at, "instance", f"{iid}: {e.name} started", iid))
        elif e.status == "Failed":
            detail = ": ".join(x for x in (e.error_code, e.message) if x)
            text = f"{iid}: {e.name} failed" + (f" ({detail})" if detail else "")
            out.append(Event(at, "instance", text, iid))
    return out


def _same_events(old: tuple[LifecycleEvent, ...], new: tuple[LifecycleEvent, ...]) -> bool:
    """Every event in the same place with the same status: nothing for the timeline."""
    if len(old) != len(new):
        return False
    for a, b in zip(old, new, strict=True):
        if a.status != b.status or a.name != b.name:
            return False
    return True


def _same_health(old: tuple[TargetHealth, ...], new: tuple[TargetHealth, ...]) -> bool:
    """Same state in the same groups (a drain is told by state or description)."""
    if len(old) != len(new):
        return False
    for a, b in zip(old, new, strict=True):
        if a.state != b.state or a.name != b.name or a.description != b.description:
            return False
    return True


def _health_events(old: Instance, inst: Instance, at: datetime) -> list[Event]:
    out: list[Event] = []
    old_health = {h.name: h for h in old.health}
    for h in inst.health:
        was = old_health.get(h.name)
        if was is not None and (was.state, was.draining) == (h.state, h.draining):
            continue
        if was is None and not h.registered:
            continue
        old_state = was.state if was is not None else "unknown"
        text = f"{inst.id} in {h.name}: {old_state} → {h.state}"
        if h.reason and not h.healthy:
            text += f" ({h.reason})"
        out.append(Event(at, "health", text, inst.id))
    return out


def _traffic_events(previous: Snapshot, current: Snapshot, at: datetime) -> list[Event]:
    pt, ct = previous.traffic, current.traffic
    if ct is None or not (
        pt is None
        or round(pt.original_percent) != round(ct.original_percent)
        or round(pt.replacement_percent) != round(ct.replacement_percent)
    ):
        return []
    old = f"{pt.original_percent:g}/{pt.replacement_percent:g}" if pt else "unknown"
    return [
        Event(
            at,
            "traffic",
            f"traffic original/replacement: {old} → "
            f"{ct.original_percent:g}/{ct.replacement_percent:g}",
        )
    ]


def _alarm_events(previous: Snapshot, current: Snapshot, at: datetime) -> list[Event]:
    out: list[Event] = []
    old_alarms = {a.name: a.state for a in previous.alarms}
    for a in current.alarms:
        if old_alarms.get(a.name, a.state) != a.state:
            text = f"alarm {a.name}: {old_alarms[a.name]} → {a.state}"
            if a.state == "ALARM" and a.reason:
                text += f" ({a.reason})"
            out.append(Event(at, "alarm", text))
    return out
