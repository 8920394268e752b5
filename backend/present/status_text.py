"""`cutover status` as text: the state of one deployment group in lines a person reads and
pastes, and the short words for revisions the dashboard uses too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import humanize
from cutover.backend.core.revisions import revision_mix, short_revision
from cutover.backend.core.verdict import verdict
from cutover.backend.model import Environment, Instance, Snapshot
from cutover.backend.present.bake_text import bake_status_lines
from cutover.backend.present.verdict_text import (
    key_text,
    last_action_text,
    metrics_line,
    verdict_line,
    when_text,
)


def _left(deadline: datetime | None, now: datetime, rate: float = 1.0) -> str:
    """How long a person will wait, in real time: `rate` is the server clock's speed (a
    sandbox's may run faster than real time)."""
    if deadline is None:
        return ""
    seconds = (deadline - now).total_seconds() / rate
    if seconds <= 0:
        return f"deadline passed {humanize.naturaldelta(-seconds)} ago"
    return f"{humanize.precisedelta(seconds, minimum_unit='seconds', format='%0.0f')} left"


GONE = ("shutting-down", "terminated")


def _health(inst: Instance) -> str:
    if inst.ec2_state in GONE:
        # Its load balancers still list it as unused: that is not an outage, it is gone.
        return inst.ec2_state or "terminated"
    if not inst.health:
        return "not registered"
    parts = []
    for h in inst.health:
        text = f"{h.name}: {h.state}"
        if h.reason and not h.healthy:
            text += f" ({h.reason})"
        parts.append(text)
    return "; ".join(parts)


def _environment(title: str, env: Environment | None, now: datetime) -> list[str]:
    if env is None:
        return []
    where = f" ({env.asg_name})" if env.asg_name else ""
    gone = sum(1 for i in env.instances if i.ec2_state in GONE)
    if gone and gone == len(env.instances):
        lines = [f"{title}{where}: {gone} instance(s), terminated"]
    else:
        lines = [
            f"{title}{where}: {len(env.instances)} instance(s), {env.healthy_count} healthy"
            + (f", {gone} terminated" if gone else "")
        ]
    fleet = env.role == "fleet"
    mix = revision_mix([i.revision for i in env.instances]) if fleet else None
    if mix:
        lines[0] += f"; revisions {mix}"
    for inst in env.instances:
        event = inst.current_event or "-"
        failed = inst.failed_event
        status = inst.lifecycle_status or inst.ec2_state or "-"
        # In place, what each instance runs (a stop leaves some on each revision).
        rev = f"{short_revision(inst.revision) if inst.revision else '-':<8} " if fleet else ""
        line = f"  {inst.id}  {inst.az or '-':<11} {status:<11} {rev}{event:<18} {_health(inst)}"
        if failed is not None:
            line += f"  FAILED {failed.name}: {failed.error_code}: {failed.message}"
        lines.append(line)
    return lines


def sandbox_badge(s: Snapshot) -> str:
    """`SANDBOX (clock x20; ages and waits below in real time) ` when the endpoint said it is a
    sandbox (x-cutover-sandbox), so a pasted status never passes for production."""
    if s.sandbox_rate is None:
        return ""
    if s.sandbox_rate == 1.0:
        return "SANDBOX "
    return f"SANDBOX (clock x{s.sandbox_rate:g}; ages and waits below in real time) "


def render_status(s: Snapshot) -> str:
    now = s.server_time
    where = ", ".join(
        x
        for x in (
            f"account {s.account}" if s.account else None,
            s.region,
            f"endpoint {s.endpoint_url}" if s.endpoint_url else None,
        )
        if x
    )
    lines = [
        f"{sandbox_badge(s)}{s.application}/{s.deployment_group} ({where})",
        verdict_line(s, cli=True),
    ]
    lines += _pending(s)
    lines += _deployment(s)
    if s.traffic is not None:
        t = s.traffic
        lines.append(
            f"Traffic: original {t.original_percent:.0f}% / replacement "
            f"{t.replacement_percent:.0f}%  ({t.basis})"
        )
    figures = metrics_line(s)
    if figures:
        lines.append(f"Metrics: {figures}")
    if s.bake is not None:
        lines += bake_status_lines(s.bake)
    lines += _environment("Original", s.original, now)
    lines += _environment("Replacement", s.replacement, now)
    lines += _environment("Fleet", s.fleet, now)
    if s.gates:
        lines.append("Gates:")
        lines += [f"  {'pass' if g.passed else 'FAIL'}  {g.name}: {g.reason}" for g in s.gates]
    lines += _preview(s)
    lines += _left_behind(s)
    if s.alarms:
        lines.append("Alarms: " + ", ".join(f"{a.name} {a.state}" for a in s.alarms))
    lines.append("Actions:")
    for a in s.actions:
        if a.name == "preview" and s.preview is None:
            continue  # only a target with a preview target group has the action
        lines.append(f"  {'yes' if a.passed else 'no '}  {a.name}: {a.reason}")
    for note in s.notes:
        lines.append(f"Note: {note}")
    lines.append(f"(server time {now:%Y-%m-%d %H:%M:%S}Z, {s.api_calls} API calls)")
    return "\n".join(lines)


def _preview(s: Snapshot) -> list[str]:
    """The preview target group: where, the address to send requests to, and the health of
    the instances registered there."""
    pv = s.preview
    if pv is None:
        return []
    where = f" behind test listener {pv.listener}" if pv.listener else ""
    lines = [f"Preview {pv.target_group}{where}:"]
    if pv.address:
        lines.append(f"  send requests to http://{pv.address}/")
    if pv.problem:
        lines.append(f"  {pv.problem}")
    for t in pv.targets:
        detail = ": ".join(x for x in (t.reason, t.description) if x)
        lines.append(f"  {t.name}  {t.state}" + (f" ({detail})" if detail else ""))
    if not pv.targets and not pv.problem:
        lines.append("  no instance registered (`cutover preview` registers the replacements)")
    return lines


def _pending(s: Snapshot) -> list[str]:
    """Actions sent from this machine whose outcome nobody recorded."""
    lines = []
    for p in s.pending:
        if p.verdict == "unknown":
            lines.append(
                f"OUTCOME UNKNOWN: {p.summary} (sent {p.sent_at[:19]}Z from this machine; no"
                f" outcome recorded): {p.evidence}"
            )
            lines += [f"  {line.strip()}" for line in p.plan[1:]]
        else:
            words = "it took effect" if p.verdict == "done" else "it did not take effect"
            lines.append(
                f"Earlier action read back: {p.summary} (sent {p.sent_at[:19]}Z, no outcome"
                f" recorded then): {p.evidence}: {words} (now recorded in the audit log)"
            )
    return lines


def _deployment(s: Snapshot) -> list[str]:
    d, now, rate = s.deployment, s.server_time, s.sandbox_rate or 1.0
    if d is None:
        return ["No deployment yet."]
    rev = f"{short_revision(d.previous_revision)} -> {short_revision(d.revision)}"
    by = f"  created by {d.creator}" if d.creator else ""
    lines = [
        f"Deployment {d.id}  {d.status} ({d.phase})  {rev}{by}"
        f" {when_text(d.create_time, now, rate)}"
    ]
    if d.waiting_for:
        wait = "reroute approval" if d.waiting_for == "reroute-approval" else "termination"
        lines.append(
            f"  waiting for {wait}: {_left(d.deadline, now, rate)} (deadline"
            f" {when_text(d.deadline, now, rate)})"
        )
    if d.error_code:
        lines.append(f"  error {d.error_code}: {d.error_message}")
    if d.rollback_of:
        lines.append(f"  rollback of {d.rollback_of}")
    if d.rolled_back_by:
        lines.append(f"  rolled back by {d.rolled_back_by}")
    return lines


def _left_behind(s: Snapshot) -> list[str]:
    """In place, the leftovers; blue/green, the capacity no deployment owns."""
    lines = []
    if s.fleet is not None and s.original is None:
        if s.leftovers is None:
            lines.append(f"Leftovers: {s.leftovers_note or 'not checked'}")
        elif not s.leftovers:
            lines.append("Leftovers: none")
        else:
            lines.append(f"Leftovers ({len(s.leftovers)}; `cutover repair` puts them right):")
            lines += [f"  {lo.text()}" for lo in s.leftovers]
    if s.original is not None and s.unowned:
        lines.append(
            f"Unowned capacity ({len(s.unowned)}; `cutover cleanup` removes a left replacement"
            " fleet and left preview registrations):"
        )
        lines += [f"  {lo.text()}" for lo in s.unowned]
    return lines


def brief(snap: Snapshot, last_action: dict[str, Any] | None = None) -> list[str]:
    """`cutover status --brief`: at most five lines, times absolute (UTC) and relative."""
    now = snap.server_time
    rate = snap.sandbox_rate or 1.0
    where = ", ".join(
        x for x in (f"account {snap.account}" if snap.account else None, snap.region) if x
    )
    at = when_text(now, now)[:20]
    lines = [f"{sandbox_badge(snap)}{snap.application}/{snap.deployment_group} ({where}) at {at}"]
    d = snap.deployment
    v = verdict(snap)
    if d is None:
        lines.append("no deployment in this group yet")
    else:
        rev = f"{short_revision(d.previous_revision)} -> {short_revision(d.revision)}"
        created = when_text(d.create_time, now, rate)
        by = f" by {d.creator}" if d.creator else ""
        lines.append(f"deployment {d.id}{by}, created {created}, {rev}")
        phase = f"phase {d.phase} ({d.status})"
        if v.deadline is not None:
            phase += f", deadline {when_text(v.deadline, now, rate)}: then {v.if_nobody}"
        elif d.complete_time is not None:
            phase += f", ended {when_text(d.complete_time, now, rate)}"
        lines.append(phase)
    key = key_text(v, cli=True)
    lines.append(f"{v.level}: {v.why}" + (f" · {key}" if key else ""))
    lines.append(last_action_text(last_action, now, rate))
    return lines
