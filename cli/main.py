"""The `cutover` command line.

Parses arguments and hands off to the backend. Bad input is one line naming the flag and exit
code 2; no traceback reaches the user (details go to the log file). Textual is imported only
by the dashboard, so scripted commands start fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

from cutover.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from cutover.cli.logs import setup_logging as _setup_logging
from cutover.cli.parser import UsageError, parse_args
from cutover.cli.world_text import describe_load, describe_world
from cutover.sandbox.control.client import ControlClient, ControlError


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "hook":
            from cutover.cli.hook import run as run_hook

            return run_hook(args)
        if args.command in (None, "dashboard"):
            from cutover.cli.dashboard import run as run_dashboard

            return run_dashboard(args)
        return _controller_command(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _controller_command(args: argparse.Namespace) -> int:
    from cutover.cli.commands import CommandError, run_action, run_status

    log_path = _setup_logging("cutover")
    _find_sandbox(args)
    try:
        if args.command == "status":
            return run_status(args)
        if args.command == "report":
            from cutover.cli.report import run as run_report

            return run_report(args)
        return run_action(args.command, args)
    except CommandError as exc:
        print(f"cutover {args.command}: {exc}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # the last line of defence: one line, details in the log
        logging.getLogger("cutover").exception("cutover %s failed", args.command)
        where = f" (details in {log_path})" if log_path else ""
        print(f"cutover {args.command}: unexpected error: {exc}{where}", file=sys.stderr)
        return EXIT_FAILED


# ----- cutover sandbox ------------------------------------------------------------------------


def _sandbox(args: argparse.Namespace) -> int:
    if args.sandbox_command == "fault":
        return _fault(args)
    if args.sandbox_command == "info":
        return _info(args)
    return _run_sandbox(args)


def _run_sandbox(args: argparse.Namespace) -> int:
    from cutover.sandbox.runtime import Sandbox, SandboxError
    from cutover.sandbox.scenario import ScenarioError, load_scenario
    from cutover.sandbox.summary import summarize

    log_path = _setup_logging("sandbox")
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"cutover sandbox: --scenario: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        sandbox = Sandbox(
            scenario,
            port=args.port,
            time_scale=args.time_scale,
            load_rps=args.load,
            free_listener_ports=args.free_ports,
        )
    except ScenarioError as exc:
        print(f"cutover sandbox: --scenario: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    # A shell without job control starts `cutover sandbox &` with SIGINT ignored, and Python
    # then raises no KeyboardInterrupt: its `kill -INT` would leave every server running.
    signal.signal(signal.SIGINT, on_signal)
    try:
        sandbox.start(wait_healthy=60)
    except SandboxError as exc:
        flag = "--port" if "--port" in str(exc) else "--scenario"
        print(f"cutover sandbox: {flag}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        settled = sandbox.settled()
        env = sandbox.env()
        if args.json:
            print(json.dumps({"env": env, **summarize(sandbox.world, sandbox)}, indent=2))
        else:
            print(f"# Cutover sandbox: scenario {scenario.name} ({scenario.path})")
            for key, value in env.items():
                print(f"export {key}={value}")
            print()
            print(describe_world(summarize(sandbox.world, sandbox), settled))
            if log_path:
                print(f"Log: {log_path}")
            print("Ctrl-C stops the sandbox and every server it started.")
        sys.stdout.flush()
        next_report = 10.0
        while not stop.wait(1.0 if args.load else 3600):
            next_report -= 1
            if args.load and sandbox.load is not None and next_report <= 0:
                next_report = 10.0
                print(describe_load(sandbox.load.stats()), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    print("Sandbox stopped.", file=sys.stderr)
    return EXIT_OK


def _find_sandbox(args: argparse.Namespace) -> None:
    """Nothing names where to go, and plain `cutover` runs a sandbox: go there, and say so."""
    from cutover.cli import sandbox_record

    found = sandbox_record.for_command(args)
    if found is not None:
        sandbox_record.use(found, args)
        print(f"cutover: {found.says()}", file=sys.stderr, flush=True)


def _endpoint(args: argparse.Namespace) -> str:
    url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        _find_sandbox(args)
        url = args.endpoint_url
    if not url:
        raise UsageError(
            "cutover sandbox: --endpoint-url: no sandbox endpoint; pass --endpoint-url "
            "or set AWS_ENDPOINT_URL (cutover sandbox prints it), or start one with plain"
            " `cutover`, which records its own"
        )
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"cutover sandbox: --endpoint-url: '{url}' is not an http:// URL")
    return url.rstrip("/")


def _control(args: argparse.Namespace) -> ControlClient:
    return ControlClient(_endpoint(args))


def _fault(args: argparse.Namespace) -> int:
    kind = args.fault_command
    if args.read_only and kind != "list":
        raise UsageError(
            f"cutover sandbox fault {kind}: --read-only: a fault changes the sandbox; only"
            " `cutover sandbox fault list` reads"
        )
    try:
        if kind == "api":
            body: dict = {}
            if args.throttle is not None:
                body["throttle"] = args.throttle
            if args.latency_ms is not None:
                body["latency_ms"] = args.latency_ms
            if args.unreachable is not None:
                body["unreachable_s"] = args.unreachable
            if args.service:
                body["services"] = args.service
            if args.operation:
                body["operations"] = args.operation
            if args.deny_operation and args.deny != "access":
                raise UsageError("cutover sandbox fault api: --deny-operation needs --deny access")
            if args.deny is not None:
                body["deny"] = args.deny
                body["deny_operations"] = args.deny_operation or []
            if args.drop_operation and args.drop_response is None:
                raise UsageError(
                    "cutover sandbox fault api: --drop-operation needs --drop-response N"
                )
            if args.drop_response is not None:
                body["drop_response"] = args.drop_response
                body["drop_operations"] = args.drop_operation or []
            if not body:
                raise UsageError(
                    "cutover sandbox fault api: give --throttle, --latency-ms, --unreachable,"
                    " --deny or --drop-response"
                )
            result = _control(args).set_api_fault(**body)
        elif kind == "instance":
            body = {
                k: v
                for k, v in {
                    "unhealthy": args.unhealthy,
                    "down": args.down,
                    "slow_ms": args.slow,
                    "error_rate": args.errors,
                    "unhealthy_path": args.unhealthy_path,
                }.items()
                if v is not None
            }
            if not body:
                raise UsageError(
                    "cutover sandbox fault instance: give --unhealthy, --down, --slow, --errors"
                    " or --unhealthy-path"
                )
            result = _control(args).set_instance_fault(args.instance_id, **body)
        elif kind in ("hook", "kill", "replacements"):
            if kind == "hook":
                body = {"fail_hook": args.event, "exit_code": args.exit_code, "times": args.times}
            elif kind == "kill":
                body = {"kill_at": args.event}
            else:
                body = {"unhealthy_replacements": args.unhealthy}
            if getattr(args, "instance", None):
                body["instance_id"] = args.instance
            result = _control(args).set_deployment_fault(**body)
        elif kind == "alarm":
            result = _control(args).set_alarm(args.name, args.state)
            print(f"Alarm {result['alarm']} set to {result['state']}")
            return EXIT_OK
        elif kind == "clear":
            result = _control(args).clear_faults(args.instance_id)
        else:
            result = _control(args).faults()
    except ControlError as exc:
        print(f"cutover sandbox fault {kind}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(_describe_faults(result))
    return EXIT_OK


def _describe_faults(result: dict) -> str:
    api = result.get("api", {})
    parts = []
    if api.get("throttle_rate"):
        parts.append(f"{api['throttle_rate']:.0%} of calls throttled")
    if api.get("latency_ms"):
        parts.append(f"+{api['latency_ms']} ms per call")
    scope = ""
    if api.get("services") or api.get("operations"):
        scope = " (only " + ", ".join(api.get("services", []) + api.get("operations", [])) + ")"
    lines = [f"API: {', '.join(parts) + scope if parts else 'no faults'}"]
    if api.get("deny") == "credentials":
        lines.append("API: every call refused: the credentials are rejected")
    elif api.get("deny") == "access":
        ops = ", ".join(api.get("deny_operations") or []) or "every operation"
        lines.append(f"API: access denied to {ops}")
    if result.get("unreachable"):
        lines.append("API: unreachable now")
    if api.get("drop_response"):
        ops = ", ".join(api.get("drop_operations") or []) or "any operation"
        lines.append(f"API: the next {api['drop_response']} answer(s) to {ops} are lost")
    instances = result.get("instances") or {}
    for iid, fault in instances.items():
        active = [k for k in ("down", "unhealthy") if fault.get(k)]
        if fault.get("slow_ms"):
            active.append(f"slow {fault['slow_ms']} ms")
        if fault.get("error_rate"):
            active.append(f"{fault['error_rate']:.0%} 5xx")
        if fault.get("unhealthy_path"):
            active.append(f"unhealthy on {fault['unhealthy_path']}")
        lines.append(f"{iid}: {', '.join(active)}")
    if not instances:
        lines.append("Instances: no faults")
    deployment = result.get("deployment") or {}
    for hook in deployment.get("hook_failures", []):
        where = hook.get("instance_id") or "the next instance"
        lines.append(f"Deployment: {hook.get('event')} fails on {where}")
    for kill in deployment.get("instance_kills", []):
        where = kill.get("instance_id") or "the next instance"
        lines.append(f"Deployment: {where} dies as {kill.get('event')} starts")
    if deployment.get("unhealthy_replacements"):
        lines.append("Deployment: new replacement instances never become healthy")
    return "\n".join(lines)


def _info(args: argparse.Namespace) -> int:
    try:
        summary = _control(args).summary()
    except ControlError as exc:
        print(f"cutover sandbox info: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(describe_world(summary, settled=True))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
