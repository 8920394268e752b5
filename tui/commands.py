"""`cutover status` and the action commands: observe, plan, confirm, execute, report.

Exit codes: 0 done, 1 refused by a gate or failed at AWS (or AWS unreachable), 2 usage or
config error (including a mutating command in read-only mode). Every message is one line in
plain words; AWS errors carry their code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from typing import TextIO

import humanize

from backend.actions import Controller, Plan
from backend.audit import AuditLog
from backend.config import ConfigError, TargetConfig, load_config
from backend.errors import describe_aws_error
from backend.model import Environment, Instance, Snapshot
from backend.observe import WRONG_GROUP, ObserveError, Observer
from backend.session import AwsSession
from backend.status import status_document

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """Printed as one line; `code` is the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def resolve_target(args: argparse.Namespace) -> TargetConfig:
    """The target from the config file with flags applied; usage problems raise exit 2."""
    try:
        config = load_config(args.config)
        target = config.target(args.target)
    except ConfigError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    endpoint = args.endpoint_url
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise CommandError(f"--endpoint-url: '{endpoint}' is not an http(s) URL", EXIT_USAGE)
    target = target.merged(
        profile=args.profile,
        region=args.region,
        endpoint_url=endpoint,
        application=args.application,
        deployment_group=args.deployment_group,
        read_only=True if args.read_only else None,
    )
    if not target.application or not target.deployment_group:
        raise CommandError(
            "--application and --deployment-group are needed (or --target NAME from the "
            "config file)",
            EXIT_USAGE,
        )
    return target


def _session(target: TargetConfig) -> AwsSession:
    try:
        session = AwsSession(target)
        session.create_clients()
    except Exception as exc:  # profile or region problems surface here
        raise CommandError(describe_aws_error(exc), EXIT_USAGE) from None
    return session


def _snapshot(observer: Observer, deployment_id: str | None) -> Snapshot:
    try:
        return observer.snapshot(deployment_id=deployment_id)
    except ObserveError as exc:
        code = EXIT_USAGE if exc.aws_code == WRONG_GROUP else EXIT_FAILED
        raise CommandError(str(exc), code) from None


def run_status(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    target = resolve_target(args)
    session = _session(target)
    snap = _snapshot(Observer(session, target), args.deployment)
    # Actions sent from this machine whose outcome nobody recorded: read back from this
    # state, recorded when it tells, and shown either way.
    snap = Controller(session, target, AuditLog()).settle(snap)
    if args.json:
        json.dump(status_document(snap), out, indent=2, sort_keys=False)
        out.write("\n")
    else:
        out.write(render_status(snap) + "\n")
    return EXIT_OK


def run_action(action: str, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    target = resolve_target(args)
    if target.read_only:
        raise CommandError(
            f"{action}: read-only mode refuses mutating commands"
            + (" (the target is read_only in the config)" if not args.read_only else ""),
            EXIT_USAGE,
        )
    session = _session(target)
    observer = Observer(session, target)
    snap = _snapshot(observer, args.deployment)
    controller = Controller(session, target, AuditLog())
    plan = controller.plan(
        action,
        snap,
        revision=getattr(args, "revision", None),
        replacement_percent=getattr(args, "replacement", None),
        move=getattr(args, "move", None),
        override_gates=getattr(args, "override_gates", False),
    )
    for line in plan.lines():
        out.write(line + "\n")
    out.flush()
    if plan.refused is not None:
        controller.execute(plan)  # audits the refusal; sends nothing
        raise CommandError(f"refused: {plan.refused}", EXIT_FAILED)
    if not args.yes:
        if not sys.stdin.isatty() or os.environ.get("CUTOVER_NO_PROMPT"):
            _refuse(controller, plan, "not on a terminal and no --yes, so nobody confirmed")
            raise CommandError(
                "not on a terminal, so nobody can confirm: pass --yes to act", EXIT_USAGE
            )
        confirmed = _confirm(plan, out)
        if not confirmed:
            _refuse(controller, plan, "cancelled at the confirmation prompt")
            raise CommandError("cancelled; nothing was sent", EXIT_FAILED)

    def fresh() -> Snapshot:
        return observer.snapshot(deployment_id=plan.deployment_id)

    outcome = controller.execute(plan, fresh)
    if outcome.audit_error:
        print(f"cutover {action}: {outcome.audit_error}", file=sys.stderr)
    if not outcome.ok:
        prefix = {
            "unknown": "OUTCOME UNKNOWN: ",
            "not-done": "not done: ",
            "failed": "refused by AWS: ",
        }.get(outcome.state, "")
        raise CommandError(prefix + outcome.message, EXIT_FAILED)
    ids = f" (request {', '.join(outcome.request_ids)})" if outcome.request_ids else ""
    out.write(f"{outcome.message}{ids}\n")
    return EXIT_OK


def _refuse(controller: Controller, plan: Plan, reason: str) -> None:
    """Audit a plan nobody confirmed; a log that cannot be written is said, not fatal (nothing
    is sent either way)."""
    try:
        controller.refuse(plan, reason)
    except OSError as exc:
        print(f"cutover {plan.action}: the audit log could not be written: {exc}", file=sys.stderr)


def _confirm(plan: Plan, out: TextIO) -> bool:
    token = plan.confirm_token or "y"
    if token == "y":
        prompt = "Send it? Type y to confirm, anything else cancels: "
    else:
        hint = plan.confirm_hint or f"the end of {plan.deployment_id}"
        prompt = f"Type {token} ({hint}) to confirm: "
    out.write(prompt)
    out.flush()
    try:
        answer = sys.stdin.readline().strip()
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.lower() == "y" if token == "y" else answer == token


# ----- rendering ----------------------------------------------------------------------------


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    delta = now - when
    if delta.total_seconds() < 0:
        return "in " + humanize.naturaldelta(-delta)
    return humanize.naturaltime(delta)


def _left(deadline: datetime | None, now: datetime) -> str:
    if deadline is None:
        return ""
    seconds = (deadline - now).total_seconds()
    if seconds <= 0:
        return f"deadline passed {humanize.naturaldelta(-seconds)} ago"
    return f"{humanize.precisedelta(seconds, minimum_unit='seconds', format='%0.0f')} left"


def short_revision(text: str | None) -> str:
    """`s3://bucket/web/v2.zip` -> `v2`; a GitHub commit -> its first 10 characters."""
    if not text:
        return "?"
    if text.startswith("s3://"):
        name = text.rsplit("/", 1)[-1]
        return name.split(".", 1)[0] or text
    if "@" in text:
        return text.rsplit("@", 1)[-1][:10]
    return text


def _health(inst: Instance) -> str:
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
    lines = [f"{title}{where}: {len(env.instances)} instance(s), {env.healthy_count} healthy"]
    for inst in env.instances:
        event = inst.current_event or "-"
        failed = inst.failed_event
        status = inst.lifecycle_status or inst.ec2_state or "-"
        line = f"  {inst.id}  {inst.az or '-':<11} {status:<11} {event:<18} {_health(inst)}"
        if failed is not None:
            line += f"  FAILED {failed.name}: {failed.error_code}: {failed.message}"
        lines.append(line)
    return lines


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
    lines = [f"{s.application}/{s.deployment_group} ({where})"]
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
    d = s.deployment
    if d is None:
        lines.append("No deployment yet.")
    else:
        rev = f"{short_revision(d.previous_revision)} -> {short_revision(d.revision)}"
        lines.append(
            f"Deployment {d.id}  {d.status} ({d.phase})  {rev}  started {_ago(d.create_time, now)}"
        )
        if d.waiting_for:
            wait = "reroute approval" if d.waiting_for == "reroute-approval" else "termination"
            lines.append(f"  waiting for {wait}: {_left(d.deadline, now)}")
        if d.error_code:
            lines.append(f"  error {d.error_code}: {d.error_message}")
        if d.rollback_of:
            lines.append(f"  rollback of {d.rollback_of}")
        if d.rolled_back_by:
            lines.append(f"  rolled back by {d.rolled_back_by}")
    if s.traffic is not None:
        t = s.traffic
        lines.append(
            f"Traffic: original {t.original_percent:.0f}% / replacement "
            f"{t.replacement_percent:.0f}%  ({t.basis})"
        )
    lines += _environment("Original", s.original, now)
    lines += _environment("Replacement", s.replacement, now)
    lines += _environment("Fleet", s.fleet, now)
    if s.gates:
        lines.append("Gates:")
        lines += [f"  {'pass' if g.passed else 'FAIL'}  {g.name}: {g.reason}" for g in s.gates]
    if s.fleet is not None and s.original is None:
        if s.leftovers is None:
            lines.append(f"Leftovers: {s.leftovers_note or 'not checked'}")
        elif not s.leftovers:
            lines.append("Leftovers: none")
        else:
            lines.append(f"Leftovers ({len(s.leftovers)}; `cutover repair` puts them right):")
            lines += [f"  {lo.text()}" for lo in s.leftovers]
    if s.alarms:
        lines.append("Alarms: " + ", ".join(f"{a.name} {a.state}" for a in s.alarms))
    lines.append("Actions:")
    for a in s.actions:
        lines.append(f"  {'yes' if a.passed else 'no '}  {a.name}: {a.reason}")
    for note in s.notes:
        lines.append(f"Note: {note}")
    lines.append(f"(server time {now:%Y-%m-%d %H:%M:%S}Z, {s.api_calls} API calls)")
    return "\n".join(lines)
