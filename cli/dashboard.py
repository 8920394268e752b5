"""`cutover` and `cutover dashboard`: the dashboard on a target, or on a sandbox started here.

Textual is imported only once the target is known to be reachable, so a flag error is one
line before any screen is drawn.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cutover.cli.commands import CommandError, resolve_target
from cutover.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from cutover.cli.logs import setup_logging as _setup_logging

_TARGET_FLAGS = (
    "target",
    "application",
    "deployment_group",
    "profile",
    "region",
    "endpoint_url",
    "config",
)


def run(args: argparse.Namespace) -> int:
    """`cutover` (sandbox) or `cutover dashboard --target ...` (real AWS or an endpoint)."""
    log_path = _setup_logging("dashboard")
    if getattr(args, "all", False) or getattr(args, "source", None):
        return run_overview(args, log_path)
    wants_target = any(getattr(args, f, None) for f in _TARGET_FLAGS) or bool(
        os.environ.get("AWS_ENDPOINT_URL")
    )
    if args.command is None and not wants_target:
        return _dashboard_on_sandbox(args, log_path)
    if args.command is None and not _names_a_group(args):
        # Plain `cutover` at an endpoint or profile (a `cutover sandbox`'s export lines, say):
        # no group named, so the home screen, the overview of what is there.
        return run_overview(args, log_path)
    if not wants_target:
        # `cutover dashboard` alone: the sandbox a plain `cutover` runs, if one does.
        from cutover.cli import sandbox_record

        found = sandbox_record.for_command(args)
        if found is not None:
            sandbox_record.use(found, args)
            print(f"cutover: {found.says()}", file=sys.stderr, flush=True)
    try:
        endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint and not (args.target or args.config):
            # A `cutover sandbox` started elsewhere: its group is web/web-prod by default.
            args.application = args.application or "web"
            args.deployment_group = args.deployment_group or "web-prod"
        target = resolve_target(args)
    except CommandError as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        return exc.code
    return _run_dashboard(target, args, log_path, sandbox=None)


def _names_a_group(args: argparse.Namespace) -> bool:
    return any(
        getattr(args, f, None) for f in ("target", "application", "deployment_group", "deployment")
    )


def _dashboard_on_sandbox(args: argparse.Namespace, log_path: Path | None) -> int:
    from dataclasses import replace

    from cutover.backend.config import TargetConfig
    from cutover.sandbox.runtime import Sandbox, SandboxError, port_is_free
    from cutover.sandbox.scenario import load_scenario

    scenario = load_scenario("default")
    busy = not all(port_is_free(port) for _, port in scenario.listener_ports())
    print("cutover: starting the sandbox (default scenario)…", file=sys.stderr, flush=True)
    sandbox = Sandbox(scenario, port=0, load_rps=20, free_listener_ports=busy)
    try:
        sandbox.start(wait_healthy=60)
    except SandboxError as exc:
        print(f"cutover: sandbox: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from cutover.cli import sandbox_record

    try:
        # The same process talks to it: boto3 finds the keys and the endpoint here.
        os.environ.update(sandbox.env())
        # Another terminal's `cutover status` or `cutover sandbox fault` finds it from this.
        sandbox_record.record(sandbox.env(), scenario.name, "web", "web-prod")
        target = TargetConfig(
            name="sandbox",
            region=sandbox.world.region,
            endpoint_url=sandbox.endpoint_url,
            read_only=bool(args.read_only),
        )
        if getattr(args, "deployment", None):  # a deployment named: its group's dashboard
            target = replace(target, application="web", deployment_group="web-prod")
            return _run_dashboard(target, args, log_path, sandbox=sandbox)
        # Home is the overview of the scenario's groups, the cursor on web/web-prod: Enter
        # there is the dashboard the walkthrough starts from.
        from cutover.backend.observe.sources import Source

        return _overview_loop(
            [Source("sandbox", target)],
            args,
            log_path,
            select=("sandbox", "web", "web-prod"),
            sandbox=sandbox,
        )
    finally:
        sandbox_record.forget()
        sandbox.stop()


def run_overview(args: argparse.Namespace, log_path: Path | None) -> int:
    """`cutover dashboard --all` (or `--source NAME`...): the overview; Enter runs the group's
    dashboard, Escape there comes back to the overview, on the same group."""
    from cutover.cli import sandbox_record
    from cutover.cli.commands import overview_sources

    if not (args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or args.source):
        found = sandbox_record.for_command(args)
        if found is not None:  # the sandbox a plain `cutover` runs, if one does
            sandbox_record.use(found, args)
            # Its endpoint and keys; not its group: every group is shown.
            args.application = args.deployment_group = None
            print(f"cutover: {found.says()}", file=sys.stderr, flush=True)
    try:
        sources = overview_sources(args)
    except CommandError as exc:
        print(f"cutover: {exc}", file=sys.stderr)
        return exc.code
    return _overview_loop(sources, args, log_path)


def _overview_loop(
    sources: list,
    args: argparse.Namespace,
    log_path: Path | None,
    *,
    select: tuple[str, str, str] | None = None,
    sandbox: object = None,
) -> int:
    """The overview until it is quit; Enter runs the group's dashboard (Escape there comes
    back here, on the same group)."""
    from dataclasses import replace

    from cutover.backend.observe.overview import Overview
    from cutover.cli.overview_watch import OverviewWatch
    from cutover.tui.overview_app import OverviewApp

    overview = Overview(sources)
    by_name = {s.name: s for s in sources}
    rows: list = []
    rang: set[str] = set()
    try:
        while True:
            app = OverviewApp(overview, select=select, rows=rows, rang=rang)
            row = app.run()
            if row is None:
                return EXIT_OK
            select, rows = row.key, app.rows
            target = replace(
                by_name[row.source].target,
                application=row.application,
                deployment_group=row.deployment_group,
            )
            watch = OverviewWatch(overview, rang, row.key)
            try:
                code = _run_dashboard(
                    target, args, log_path, sandbox=sandbox, back=True, watch=watch.start
                )
            finally:
                watch.stop()
            rows = watch.rows if watch.rows is not None else rows
            if code != EXIT_BACK:
                return code
    except Exception as exc:  # the last line of defence
        return _unexpected("overview", exc, log_path)
    finally:
        overview.close()


EXIT_BACK = -1  # the dashboard ended with Escape: back to the overview


def _unexpected(what: str, exc: Exception, log_path: Path | None) -> int:
    """One line for the person, the traceback in the log."""
    logging.getLogger("cutover").exception("%s failed", what)
    where = f" (details in {log_path})" if log_path else ""
    print(f"cutover: unexpected error: {exc}{where}", file=sys.stderr)
    return EXIT_FAILED


def _run_dashboard(
    target: object,
    args: argparse.Namespace,
    log_path: Path | None,
    sandbox: object,
    back: bool = False,
    watch: Callable[[Any], None] | None = None,
) -> int:
    """The group's dashboard; `watch` is called with the app as it starts (the overview's
    watch for the other groups, when opened from the overview)."""
    from cutover.backend.actions import Controller
    from cutover.backend.audit import AuditLog
    from cutover.backend.aws.errors import describe_aws_error
    from cutover.backend.aws.session import AwsSession
    from cutover.backend.observe import Observer

    try:
        session = AwsSession(target)  # type: ignore[arg-type]
        session.create_clients()
    except Exception as exc:  # profile or region problems: a flag error, before Textual
        print(f"cutover: {describe_aws_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    from cutover.tui.app import CutoverApp  # textual only now: scripted commands stay fast

    observer = Observer(session, target)  # type: ignore[arg-type]
    deployment_id = getattr(args, "deployment", None)
    if deployment_id:
        from cutover.backend.observe import WRONG_GROUP, ObserveError

        try:
            observer.snapshot(deployment_id=deployment_id)
        except ObserveError as exc:
            if exc.aws_code == WRONG_GROUP:  # supervising it would act on another group
                observer.close()
                print(f"cutover: {exc}", file=sys.stderr)
                return EXIT_USAGE
    controller = Controller(session, target, AuditLog())  # type: ignore[arg-type]
    app = CutoverApp(
        target,  # type: ignore[arg-type]
        observer=observer,
        controller=controller,
        sandbox=sandbox is not None,
        deployment_id=getattr(args, "deployment", None),
        back=back,
    )
    if watch is not None:
        watch(app)  # it waits for the app to run before it rings
    try:
        if app.run() == "back":
            return EXIT_BACK
    except Exception as exc:  # the last line of defence
        return _unexpected("dashboard", exc, log_path)
    finally:
        observer.close()
    return EXIT_OK
