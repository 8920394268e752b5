"""`cutover report` as Markdown: the record of one deployment an engineer pastes into a
postmortem. Pure: built from a `core.history.History` and the audit log's actions, so it is
tested from recorded inputs.

Sections: the header (where, what, who, how), the outcome, the chart, the phases (with the
load balancers' figures per phase), the lifecycle events, the lifecycle failures with
CodeDeploy's diagnostics, the actions taken from this machine, the bake verdict, and what this
record cannot tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cutover.backend.core.audit_trail import Action
from cutover.backend.core.bake import NOTE
from cutover.backend.core.history import History, PhaseSpan, failures, kind, phase_figures
from cutover.backend.core.origin import CREATORS
from cutover.backend.model import BakeVerdict, Instance
from cutover.backend.present.bake_text import bake_label, bake_windows
from cutover.common.lifecycle import ACTIVE_STATUSES


def when(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if t else "-"


def _clock(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%H:%M:%SZ") if t else "-"


def span(d: timedelta) -> str:
    seconds = max(0, round(d.total_seconds()))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h {m:02d}m {s:02d}s"
    return f"{m}m {s:02d}s" if m else f"{s}s"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_report(
    history: History,
    actions: Sequence[Action],
    chart: str | None,
    bake: BakeVerdict | None = None,
) -> str:
    """The whole record; `chart` is the SVG's file name beside it (None: no chart); `bake` the
    deployment's bake verdict (`Observer.bake`)."""
    lines: list[str] = []
    lines += _header(history, actions)
    lines += _outcome(history)
    lines += _chart(history, chart)
    lines += _phases(history)
    lines += _events(history)
    lines += _failures(history)
    lines += _actions(actions)
    lines += bake_section(history, bake)
    lines += _limits(history)
    return "\n".join(lines).rstrip() + "\n"


def _envs(h: History) -> list[tuple[str, Sequence[Instance]]]:
    return h.environments()


def _header(h: History, actions: Sequence[Action]) -> list[str]:
    s, d = h.snapshot, h.snapshot.deployment
    assert d is not None
    out = [f"# Deployment {d.id}: {d.application}/{d.deployment_group}, {d.status}", ""]
    if d.status in ACTIVE_STATUSES:
        out += [
            f"> **In progress** ({d.status}, {d.phase}) when this record was made at"
            f" {when(s.server_time)}: what follows is the deployment so far.",
            "",
        ]
    if s.sandbox_rate is not None:
        out += [
            f"> Recorded from a Cutover sandbox (its clock runs x{s.sandbox_rate:g}): times and"
            " durations are on the sandbox's clock.",
            "",
        ]
    creator = d.creator or "unknown"
    style = {"BLUE_GREEN": "blue/green", "IN_PLACE": "in-place"}.get(d.style, d.style)
    style += ", with traffic control" if d.traffic_control else ", without a load balancer"
    if d.config_name:
        style += f", {d.config_name}"
    rows = [
        ("Application / group", f"{d.application} / {d.deployment_group}"),
        ("Deployment", d.id),
        ("Account / region", f"{s.account or 'unknown'} / {s.region or 'unknown'}"),
    ]
    if s.endpoint_url:
        rows.append(("Endpoint", s.endpoint_url))
    rows += [
        ("Revision", f"{d.revision or 'unknown'} (before: {d.previous_revision or 'none'})"),
        (
            "Created by",
            f"`{creator}`: {CREATORS.get(creator, creator)}" + _from_here(d.id, actions),
        ),
        ("Style", style),
        ("Created / completed", f"{when(d.create_time)} / {when(d.complete_time)}"),
    ]
    if d.rollback_of:
        rows.append(
            ("Rollback of", f"{d.rollback_of} (`cutover report --deployment {d.rollback_of}`)")
        )
    out += ["| | |", "|---|---|"]
    out += [f"| {k} | {_cell(v)} |" for k, v in rows]
    return [*out, ""]


def _from_here(dep_id: str, actions: Sequence[Action]) -> str:
    """`; from this machine: cutover deploy by ARN at TIME` when the audit log started it."""
    for a in actions:
        if a.action in ("deploy", "rollback") and a.deployment_id == dep_id and a.outcome == "done":
            return f"; from this machine: cutover {a.action} by {a.caller or 'unknown'} at {a.time}"
    return ""


def _outcome(h: History) -> list[str]:
    d = h.snapshot.deployment
    assert d is not None
    out = ["## Outcome", ""]
    if d.status in ACTIVE_STATUSES:
        out.append(f"Not finished: {d.status} ({d.phase}).")
    elif d.status == "Succeeded":
        what = "traffic on the replacement" if d.style == "BLUE_GREEN" else "revision installed"
        if d.rollback_of:
            what = f"traffic back on the originals; {d.rollback_of} rolled back"
        out.append(f"**Succeeded** at {when(d.complete_time)}: {what}.")
    else:
        word = "Failed" if d.status == "Failed" else "Stopped"
        why = ": ".join(x for x in (d.error_code, d.error_message) if x)
        out.append(f"**{word}** at {when(d.complete_time)}" + (f": {why}" if why else "."))
    rb = h.rollback
    if rb is not None:
        done = f", completed {when(rb.complete_time)}" if rb.complete_time else ", still running"
        out.append(f"\n**Rolled back** by {rb.id} ({rb.status}{done}; created by `{rb.creator}`).")
    elif d.rolled_back_by:
        out.append(f"\n**Rolled back** by {d.rolled_back_by} (its state could not be read).")
    if d.rollback_message and d.rollback_of:
        out.append(f"\nWhy {d.rollback_of} was rolled back: {d.rollback_message}")
    return [*out, ""]


def _chart(h: History, chart: str | None) -> list[str]:
    out = ["## Chart", ""]
    if chart is None:
        return [*out, "No chart was drawn.", ""]
    start, end = when(h.start), when(h.end)
    every = f"{h.period // 60}-minute" if h.period else "no"
    out += [
        f"![Traffic, health, 5xx and latency of {h.snapshot.deployment.id}]({chart})",  # type: ignore[union-attr]
        "",
        f"From {start} to {end}, {every} CloudWatch data points; the shaded spans are the"
        " phases below.",
        "",
    ]
    return out


def _phases(h: History) -> list[str]:
    now = h.snapshot.server_time
    figures = {f.phase: f for f in phase_figures(h.series, h.phases, now)}
    out = [
        "## Phases",
        "",
        "| Phase | Start | End | Duration | Requests | Target 5xx | LB 5xx | Worst p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    # Where CloudWatch kept nothing yet (or no longer), a missing count is not a zero.
    kept = [t for s in h.series if kind(s) == "requests" for t, _ in s.points]
    since = min(kept) if kept else None
    for p in h.phases:
        f = figures.get(p.name)
        end = when(p.end) if p.end else "under way"
        cells = [p.name, when(p.start), end, span(p.duration(now))]
        if f is None or f.minutes == 0:
            cells += ["(under a minute)", "", "", ""]
        elif since is None or (p.end or now) <= since:
            cells += ["(no data point)", "", "", ""]
        else:
            cells += [_count(f.requests), _count(f.target_5xx), _count(f.lb_5xx)]
            cells.append(_ms(f.worst_p95))
            if p.start < since - timedelta(minutes=1):
                cells[4] += f" (from {_clock(since)})"
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if not h.phases:
        out.append("| (no phase: CodeDeploy gave no times) | | | | | | | |")
    out += [
        "",
        "Phases are read from CodeDeploy's timestamps and the instances' lifecycle events;"
        " the figures count the CloudWatch minutes that began in each phase, so no minute"
        ' counts twice ("-": no data point, which for a count means none).',
        "",
    ]
    return out


def _count(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:,.0f} ms"


def _events(h: History) -> list[str]:
    out = [
        "## Lifecycle events",
        "",
        "| Environment | Event | Instances | First start | Last end | Longest | Failed |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = 0
    for role, instances in _envs(h):
        names: dict[str, list] = {}
        for inst in instances:
            for e in inst.events:
                names.setdefault(e.name, []).append(e)
        for name, events in names.items():
            started = [e for e in events if e.start]
            if not started:
                continue
            rows += 1
            ends = [e.end for e in started if e.end]
            longest = max((e.end - e.start for e in started if e.end), default=None)
            failed = sum(1 for e in events if e.status == "Failed")
            cells = [
                role,
                name,
                f"{len(started)}/{len(events)}",
                _clock(min(e.start for e in started)),
                _clock(max(ends)) if ends else "under way",
                span(longest) if longest is not None else "-",
                str(failed) if failed else "",
            ]
            out.append("| " + " | ".join(cells) + " |")
    if not rows:
        out.append("| (no lifecycle event started) | | | | | | |")
    return [*out, ""]


def _failures(h: History) -> list[str]:
    found = failures(_envs(h))
    out = ["## Lifecycle failures", ""]
    if not found:
        return [*out, "No lifecycle event failed.", ""]
    for f in found:
        e = f.event
        at = _clock(e.end or e.start)
        out.append(f"### {f.instance_id} ({f.role}): {e.name} {e.status} at {at}")
        out.append("")
        out.append(f"- errorCode: `{e.error_code or 'none'}`")
        if e.script_name:
            out.append(f"- scriptName: `{e.script_name}`")
        if e.message:
            out.append(f"- message: {e.message}")
        if e.log_tail:
            out += ["- logTail:", "", "```text", e.log_tail.rstrip(), "```"]
        out.append("")
    return out


def _actions(actions: Sequence[Action]) -> list[str]:
    out = ["## Actions from this machine's audit log", ""]
    if not actions:
        return [
            *out,
            "None recorded here (actions taken elsewhere, or from another machine, are in that"
            " machine's audit log; CloudTrail has every API call).",
            "",
        ]
    for a in actions:
        head = f"### {_clock(_parse(a.time))} {a.action}: {a.outcome}"
        out += [head, ""]
        out.append(f"- who: {a.caller or 'unknown caller'}")
        out.append(f"- when: {a.time or 'unknown'} (server time)")
        if a.deployment_id:
            out.append(f"- deployment: {a.deployment_id}")
        if a.override:
            out.append("- **override**: sent although a gate failed")
        for g in a.gates:
            mark = "pass" if g.get("passed") else "FAIL"
            out.append(f"- gate {g.get('name')}: {mark}: {g.get('reason', '')}")
        result = a.message or ""
        if a.error_code:
            result += f" ({a.error_code})"
        if a.request_id:
            result += f" (request {a.request_id})"
        if a.resolved_by:
            result += f"; learnt by reading the state again: {a.resolved_by}"
        out.append(f"- outcome: {a.outcome}" + (f": {result.strip()}" if result.strip() else ""))
        # The gates are listed above; the plan's own gate lines would say it twice.
        plan = [p for p in a.plan if not (a.gates and p.lstrip().startswith("gate "))]
        if plan:
            out += ["- plan as confirmed:", "", "```text", *plan, "```"]
        out.append("")
    return out


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def bake_section(h: History, verdict: BakeVerdict | None) -> list[str]:
    """The bake verdict, as the dashboard judged it (backend/core/bake.py): the minutes before
    the reroute against the minutes since it finished, until the deployment ended."""
    began, _ = h.reroute
    out = ["## Bake verdict", ""]
    if began is None:
        return [*out, "No reroute took place, so there is nothing to bake.", ""]
    if verdict is None:
        return [*out, "Not judged: CloudWatch could not be read for it (see the notes).", ""]
    out += [f"**{bake_label(verdict)}**: {verdict.reason}", "", f"- {bake_windows(verdict)}"]
    out += [f"- {c.text}" for c in verdict.checks if c.text not in verdict.reason]
    if verdict.unmeasured:
        out.append(f"- not measured: {verdict.unmeasured}")
    return [*out, "", NOTE, ""]


def _limits(h: History) -> list[str]:
    out = ["## What this record cannot tell", ""]
    items = [
        "Which environment answered a request: a target group both fleets pass through during"
        " the reroute reports one RequestCount, 5xx count and latency for both. The traffic"
        " split in the chart is CloudWatch's per target group where each environment has its"
        " own target group; otherwise it is estimated from the lifecycle events (AllowTraffic"
        " and BlockTraffic), as the share of instances registered in the load balancer.",
        "Health per instance over time: AWS keeps no history of target health. HealthyHostCount"
        " (the lowest in each minute) is per target group, so both fleets are counted together"
        " while both are registered.",
    ]
    nlbs = sorted({s.source or "" for s in h.series if s.name == "NewFlowCount"})
    if nlbs:
        items.append(
            f"HTTP figures behind a Network Load Balancer ({', '.join(nlbs)}): it answers no"
            " HTTP, so CloudWatch has no requests, 5xx or latency for it, only new TCP flows"
            " and host counts."
        )
    items += list(h.notes)
    out += [f"- {i}" for i in items]
    out += ["", f"Read from AWS at {when(h.snapshot.server_time)} by `cutover report`.", ""]
    return out


__all__ = ["PhaseSpan", "bake_section", "render_report", "span", "when"]
