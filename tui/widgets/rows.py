"""What one instance row of an environment table says, and in which order the rows go.

Pure functions over `backend.model` (no widgets): the attention state of an instance, the
per-state counts a panel's header shows, the cells of a row in plain words (no AWS enum
names, no `None`), and the one rule that shortens instance ids when a table is narrow.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from cutover.backend.core.revisions import short_revision
from cutover.backend.model import Instance, TargetHealth
from cutover.tui.widgets.common import countdown
from rich.text import Text

# What needs attention first: a row's rank is its state's place in this tuple.
ATTENTION = (
    "failed",
    "unhealthy",
    "draining",
    "initial",
    "in progress",
    "not serving",
    "healthy",
)
_RANK = {state: i for i, state in enumerate(ATTENTION)}
STATE_STYLE = {
    "failed": "bold red",
    "unhealthy": "red",
    "draining": "yellow",
    "initial": "yellow",
    "in progress": "cyan",
    "not serving": "dim",
    "healthy": "green",
}
DEAD = ("shutting-down", "terminated", "stopped", "stopping")
_UNHEALTHY = ("unhealthy", "unavailable", "OutOfService")
_HEALTHY = ("healthy", "InService")  # and not draining: TargetHealth.healthy

# CodeDeploy's target statuses and Auto Scaling's lifecycle states, in words. A value not
# listed is shown as AWS sent it (a new status is better shown than guessed at).
LIFECYCLE_WORDS = {
    "Pending": "pending",
    "InProgress": "in progress",
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Skipped": "skipped",
    "Unknown": "unknown",
    "Ready": "ready",
}
ASG_WORDS = {
    "InService": "in service",
    "Standby": "standby",
    "EnteringStandby": "entering standby",
    "Pending": "launching",
    "Pending:Wait": "launching, hook waits",
    "Pending:Proceed": "launching",
    "Terminating": "terminating",
    "Terminating:Wait": "terminating, hook waits",
    "Terminating:Proceed": "terminating",
    "Terminated": "terminated",
    "Detaching": "detaching",
    "Detached": "detached",
    "Quarantined": "quarantined",
}
# Elastic Load Balancing's reason codes, as a person would say them, short: the reason shares
# a narrow column with the state (the details screen adds AWS's own description).
REASON_WORDS = {
    "Elb.RegistrationInProgress": "registering",
    "Elb.InitialHealthChecking": "first checks",
    "Elb.InternalError": "ELB internal error",
    "Target.ResponseCodeMismatch": "bad status code",
    "Target.Timeout": "timed out",
    "Target.FailedHealthChecks": "failing checks",
    "Target.NotRegistered": "not registered",
    "Target.NotInUse": "not in use",
    "Target.DeregistrationInProgress": "deregistering",
    "Target.InvalidState": "stopped or terminated",
    "Target.IpUnusable": "IP unusable",
    "Target.HealthCheckDisabled": "checks disabled",
}
# A classic load balancer says why in its description; these are the ones it sends.
_CLASSIC = (
    ("registration is still in progress", "registering"),
    ("UnhealthyThreshold", "failing checks"),
    ("HealthyThreshold", "first checks"),
)
STATE_WORDS = {"InService": "in service", "OutOfService": "out of service", "Unknown": "unknown"}


def words(code: str) -> str:
    """`Target.SomethingNew` -> `something new`: a code no table lists, still readable."""
    tail = code.rsplit(".", 1)[-1]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", tail).lower()


def attention(inst: Instance, in_flight: bool = False) -> str:
    """The one state of `ATTENTION` that says most about what this instance needs."""
    if inst.lifecycle_status == "Failed" or inst.ec2_state in DEAD:
        return "failed"
    # One pass: this runs for every instance of every refresh.
    drain = initial = healthy = False
    for h in inst.health:
        d = h.draining
        if d:
            drain = True
        elif h.state in _UNHEALTHY:
            return "unhealthy"
        elif h.state == "initial":
            initial = True
        elif h.state in _HEALTHY:
            healthy = True
    if drain:
        return "draining"
    if initial:
        return "initial"
    if inst.lifecycle_status == "InProgress" or in_flight:
        return "in progress"
    return "healthy" if healthy else "not serving"


def counts_text(states: Iterable[str]) -> Text:
    """`1 unhealthy, 2 draining, 197 healthy`: the states present, in attention order."""
    seen = Counter(states)
    out = Text()
    for state in ATTENTION:
        if seen[state]:
            if out:
                out.append(", ")
            out.append(f"{seen[state]} {state}", style=STATE_STYLE[state])
    return out if out else Text("no instances", style="dim")


def short_id(iid: str, keep: int = 6) -> str:
    """`i-0a1b2c3d4e5d13836` -> `i-…d13836`: the tail tells instances apart, the head does not."""
    if len(iid) <= keep + 3 or not iid.startswith("i-"):
        return iid
    return f"i-…{iid[-keep:]}"


def short_keep(ids: Iterable[str]) -> int:
    """How many trailing characters keep these ids apart (6, more if two tails collide)."""
    ids = list(ids)
    keep = 6
    while keep < 17 and len({i[-keep:] for i in ids}) < len(ids):
        keep += 1
    return keep


def _reason(h: TargetHealth) -> str:
    if h.kind == "classic":
        for needle, said in _CLASSIC:
            if needle in (h.description or ""):
                return said
        if h.description and " state" in h.description:
            # "Instance is in terminated state."
            return h.description.rstrip(".").replace("Instance is in ", "instance ")
    if not h.reason or h.reason == "N/A":
        return ""
    return REASON_WORDS.get(h.reason) or words(h.reason)


def health_text(
    health: tuple[TargetHealth, ...], now: datetime | None = None, *, names: bool = False
) -> Text:
    """`healthy`; `draining 38s left`; `unhealthy: timed out`; several target
    groups (or `names`) each named first. `now` gives draining targets their countdown."""
    if not health:
        return Text("not registered", style="dim")
    out = Text()
    for i, h in enumerate(health):
        if i:
            out.append(", ")
        if names or len(health) > 1:
            # One group needs no name (the panel says which); several must be told apart.
            out.append(f"{h.name} ", style="dim")
        if not h.registered:
            out.append("not registered", style="dim")
            continue
        if h.draining:
            out.append("draining", style="yellow")
            left = countdown(h.drain_deadline, now) if now is not None else ""
            if left.startswith("passed"):
                out.append(f" (deregistration delay {left})", style="yellow")
            elif left:
                out.append(f" {left}", style="bold yellow")
            continue
        state = STATE_WORDS.get(h.state, h.state)
        style = "green" if h.healthy else ("dim" if h.state == "unused" else "red")
        if h.state == "initial":
            style = "yellow"
        out.append(state, style=style)
        reason = "" if h.healthy else _reason(h)
        if reason and reason != state:
            out.append(f": {reason}")
    return out


def status_text(inst: Instance, *, fleet: bool = False) -> Text:
    """CodeDeploy's status of the instance in words; a dead instance says so; in place, the
    Auto Scaling state when it is not in service (Standby: the hooks took it out)."""
    if inst.lifecycle_status:
        status = LIFECYCLE_WORDS.get(inst.lifecycle_status, inst.lifecycle_status)
    elif inst.asg_lifecycle:
        status = ASG_WORDS.get(inst.asg_lifecycle, inst.asg_lifecycle)
    else:
        status = inst.ec2_state or "-"
    style = {"succeeded": "green", "failed": "bold red", "in progress": "cyan"}.get(status, "")
    out = Text(status, style=style)
    if status != inst.ec2_state and inst.ec2_state in DEAD:
        # A dead instance keeps CodeDeploy's last word (failed): say it is gone as well.
        out.append(f", {inst.ec2_state}", style="bold red")
    asg = inst.asg_lifecycle
    if fleet and inst.lifecycle_status and asg and asg != "InService":
        out.append(f", {ASG_WORDS.get(asg, asg)}", style="yellow")
    return out


def event_text(inst: Instance, *, fleet: bool = False) -> Text:
    """The lifecycle event CodeDeploy is on (its appspec name); in place, how far it got."""
    event = inst.current_event or ""
    if not fleet or not event:
        return Text(event)
    status = next((e.status for e in inst.events if e.name == event), None)
    style = {"InProgress": "cyan", "Failed": "bold red"}.get(status or "", "")
    out = Text(event, style=style)
    if status and status not in ("InProgress", "Pending"):
        out.append(f" {LIFECYCLE_WORDS.get(status, status)}", style="dim")
    return out


def zone(az: str | None) -> str:
    """`us-east-1a` -> `1a`: the region is in the header, and the panel is narrow."""
    if not az:
        return "-"
    return az.rsplit("-", 1)[-1]


def drain_key(inst: Instance, now: datetime) -> str:
    """What of a row moves with the clock: the countdowns of its draining targets."""
    return " ".join(countdown(h.drain_deadline, now) for h in inst.health if h.draining)


# The columns of an instance table, in display order; the id column is drawn by the table.
COLUMNS = ("instance", "health", "status", "event", "az")
# In place, what each instance runs: after a stop some run the new revision, some the old.
FLEET_COLUMNS = ("instance", "health", "status", "revision", "event", "az")


def columns(fleet: bool) -> tuple[str, ...]:
    return FLEET_COLUMNS if fleet else COLUMNS


class Row:
    """One instance as a table row: its state (for the order and the counts) now, its cells
    only when drawn. A fleet of 1,000 builds cells for the twenty rows on screen."""

    __slots__ = ("_cells", "fleet", "in_flight", "inst", "now", "rank", "state")

    def __init__(self, inst: Instance, now: datetime, *, fleet: bool, in_flight: bool) -> None:
        self.inst = inst
        self.state = attention(inst, in_flight)
        self.rank = _RANK[self.state]
        self.in_flight = in_flight
        self.fleet = fleet
        self.now = now
        self._cells: tuple[Text, ...] | None = None

    @property
    def id(self) -> str:
        return self.inst.id

    @property
    def cells(self) -> tuple[Text, ...]:
        """health, status, event, az; in place, each target group / classic LB is named
        (the hooks' path may differ per instance) and the revision follows the status."""
        if self._cells is None:
            inst, fleet = self.inst, self.fleet
            cells = [
                health_text(inst.health, self.now, names=fleet),
                status_text(inst, fleet=fleet),
                event_text(inst, fleet=fleet),
                Text(zone(inst.az)),
            ]
            if fleet:
                # `-`: CodeDeploy does not say what it runs (launched outside a deployment).
                rev = short_revision(inst.revision) if inst.revision else "-"
                cells.insert(2, Text(rev, style="dim" if rev == "-" else ""))
            self._cells = tuple(cells)
        return self._cells

    def same_as(self, other: Row) -> bool:
        """Would this row draw exactly as `other` does?"""
        return (
            self.inst == other.inst
            and self.in_flight == other.in_flight
            and self.fleet == other.fleet
            and drain_key(self.inst, self.now) == drain_key(other.inst, other.now)
        )


def ordered(rows: Iterable[Row], *, by_id: bool = False) -> list[Row]:
    """Trouble first (then by id), or by id alone."""
    if by_id:
        return sorted(rows, key=lambda r: r.id)
    return sorted(rows, key=lambda r: (r.rank, r.id))
