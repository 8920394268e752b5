"""`cutover status` and the action commands: observe, plan, confirm, execute, report.

Exit codes: 0 done, 1 refused by a gate or failed at AWS (or AWS unreachable), 2 usage or
config error (including a mutating command in read-only mode); with --wait, 3 when the
effect failed and 4 when it was not seen within --wait-timeout (cli/exits.py).
Every message is one line in plain words; AWS errors carry their code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from cutover.backend.actions import Controller, Plan
from cutover.backend.audit import AuditLog
from cutover.backend.aws.errors import describe_aws_error
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import ConfigError, TargetConfig, load_config
from cutover.backend.model import Snapshot
from cutover.backend.observe import WRONG_GROUP, ObserveError, Observer
from cutover.backend.observe.overview import Overview
from cutover.backend.observe.sources import Source, config_sources
from cutover.backend.present.overview import overview_document, render_overview
from cutover.backend.present.status_json import status_document
from cutover.backend.present.status_text import brief, render_status, sandbox_badge
from cutover.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from cutover.cli.flags import WAIT_TIMEOUT
from cutover.cli.wait import wait_for_effect


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
    hooks = config.hooks.for_group(target.deployment_group)
    return target.merged(hook_target_groups=hooks.target_groups, hook_elbs=hooks.elbs)


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
    if args.all or args.source:
        return run_overview(args, out)
    target = resolve_target(args)
    session = _session(target)
    snap = _snapshot(Observer(session, target), args.deployment)
    # Actions sent from this machine whose outcome nobody recorded: read back from this
    # state, recorded when it tells, and shown either way.
    snap = Controller(session, target, AuditLog()).settle(snap)
    if args.json:
        json.dump(status_document(snap), out, indent=2, sort_keys=False)
        out.write("\n")
    elif getattr(args, "brief", False):
        out.write("\n".join(brief(snap, last_action(AuditLog(), snap))) + "\n")
    else:
        out.write(render_status(snap) + "\n")
    return EXIT_OK


def last_action(audit: AuditLog, snap: Snapshot) -> dict | None:
    """The newest audit record of an action on this group, at this endpoint (an outcome
    follows its intent, so the newest says how it ended when that was recorded)."""
    last: dict | None = None
    for r in audit.records():
        if (
            r.get("application") == snap.application
            and r.get("deployment_group") == snap.deployment_group
            and r.get("region") in (None, snap.region)
            and _same_endpoint(r.get("endpoint"), snap.endpoint_url)
        ):
            last = r
    return last


def _same_endpoint(recorded: str | None, custom: str | None) -> bool:
    # Without a custom endpoint the audit records AWS's regional one; with one, that one.
    if custom:
        return recorded == custom
    return not recorded or ".amazonaws.com" in recorded


def overview_sources(args: argparse.Namespace) -> list[Source]:
    """The sources `--all` reads: the flags' one (--profile, --region, --endpoint-url given),
    else the `--source` targets, or `--target`, or every target of the config file."""
    for flag in ("application", "deployment_group", "deployment", "brief"):
        if getattr(args, flag, None):
            name = "--" + flag.replace("_", "-")
            raise CommandError(
                f"{name}: does not apply with --all/--source (every group is shown)", EXIT_USAGE
            )
    endpoint = args.endpoint_url
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise CommandError(f"--endpoint-url: '{endpoint}' is not an http(s) URL", EXIT_USAGE)
    flags = {"profile": args.profile, "region": args.region, "endpoint_url": endpoint}
    try:
        config = load_config(args.config)
        if any(v is not None for v in flags.values()) and not args.source:
            target = config.target(args.target)
            return [Source(target.name, target.merged(**flags))]
        names = tuple(args.source or ()) or ((args.target,) if args.target else ())
        return config_sources(config, names, overrides=flags)
    except ConfigError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def run_overview(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """`cutover status --all`: every group of every source, most urgent first. A source that
    cannot be read shows as stale on its rows; exit 1 only when no source could be read."""
    sources = overview_sources(args)
    overview = Overview(sources)
    try:
        rows = overview.rows()
    finally:
        overview.close()
    if args.json:
        json.dump(
            overview_document(rows, [s.name for s in sources]), out, indent=2, sort_keys=False
        )
        out.write("\n")
    else:
        out.write(render_overview(rows) + "\n")
    return EXIT_FAILED if rows and all(r.stale for r in rows) else EXIT_OK


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
    if snap.sandbox_rate is not None:
        out.write(sandbox_badge(snap).rstrip() + "\n")  # a plan for a sandbox says so first
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
    acted = outcome.result.get("deploymentId") or plan.deployment_id
    if not getattr(args, "wait", False) or not acted:
        return EXIT_OK
    out.flush()
    return wait_for_effect(
        action,
        acted,
        observer,
        timeout=args.wait_timeout or WAIT_TIMEOUT,
        interval=max(0.2, target.poll_interval),
        out=out,
    )


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
