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
            print(_describe_world(summarize(sandbox.world, sandbox), settled))
            if log_path:
                print(f"Log: {log_path}")
            print("Ctrl-C stops the sandbox and every server it started.")
        sys.stdout.flush()
        next_report = 10.0
        while not stop.wait(1.0 if args.load else 3600):
            next_report -= 1
            if args.load and sandbox.load is not None and next_report <= 0:
                next_report = 10.0
                print(_describe_load(sandbox.load.stats()), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    print("Sandbox stopped.", file=sys.stderr)
    return EXIT_OK


# A summary is read at a glance: a big world lists its first groups and instances, and says how
# many more there are.
SHOWN_GROUPS = 24
SHOWN_INSTANCES = 40


def _describe_world(summary: dict, settled: bool) -> str:
    lines = [
        f"Region {summary['region']}, account {summary['account_id']}, "
        f"clock x{summary['time_scale']:g} (sandbox time {summary['clock'][:19]}Z)"
    ]
    if summary["load_balancers"] or summary["classic_load_balancers"]:
        lines.append("Load balancers:")
    for lb in summary["load_balancers"]:
        for ls in lb["listeners"]:
            forward = ", ".join(
                f"{f['target_group']} (weight {f['weight']})" for f in ls["forward"]
            )
            lines.append(f"  {lb['name']} ({lb['type']})  {ls['url']}  -> {forward}")
    for clb in summary["classic_load_balancers"]:
        for port in clb["ports"]:
            states = _count(clb["instances"].values())
            lines.append(f"  {clb['name']} (classic)  http://{clb['dns_name']}:{port}/  {states}")
    if summary["target_groups"]:
        lines.append("Target groups:")
    for tg in summary["target_groups"]:
        lines.append(
            f"  {tg['name']}  {len(tg['targets'])} targets: {_count(tg['targets'].values())}"
        )
    if summary["auto_scaling_groups"]:
        lines.append("Auto Scaling groups:")
    for asg in summary["auto_scaling_groups"]:
        lines.append(
            f"  {asg['name']}  desired {asg['desired']} (min {asg['min']}, max {asg['max']}): "
            f"{_count(asg['instances'].values())}"
        )
    if summary.get("applications"):
        lines.append("CodeDeploy applications:")
    groups = [
        (app, grp) for app in summary.get("applications", []) for grp in app["deployment_groups"]
    ]
    lines += [_describe_group(app, grp) for app, grp in groups[:SHOWN_GROUPS]]
    if len(groups) > SHOWN_GROUPS:
        lines.append(
            f"  … and {len(groups) - SHOWN_GROUPS} more deployment groups"
            " (`cutover status --all` lists them; `--json` here has them all)"
        )
    if summary["instances"]:
        lines.append("Instances:")
    # Each instance's AWS_EC2_METADATA_SERVICE_ENDPOINT: a column for a few, the pattern for many.
    imds = summary.get("imds_base_url")
    per_instance = bool(imds) and len(summary["instances"]) <= 20
    if imds and summary["instances"]:
        tokens = summary.get("imds_tokens", "optional")
        where = "the last column" if per_instance else f"{imds}<instance-id>/"
        lines.append(f"  (instance metadata: {where}; IMDSv2 tokens {tokens})")
    for inst in summary["instances"][:SHOWN_INSTANCES]:
        fault = f"  FAULT: {inst['fault']}" if inst.get("fault") else ""
        metadata = f"  {inst['metadata_url']}" if per_instance and inst.get("metadata_url") else ""
        lines.append(
            f"  {inst['id']}  {inst['state']:<8} {inst['az']}  {inst['revision']:<6} "
            f"{inst['group'] or '-':<10} {inst['url'] or ''}{metadata}{fault}"
        )
    if len(summary["instances"]) > SHOWN_INSTANCES:
        lines.append(
            f"  … and {len(summary['instances']) - SHOWN_INSTANCES} more instances"
            " (`--json` here has them all)"
        )
    if not settled:
        lines.append("(still settling: some targets are not healthy yet)")
    return "\n".join(lines)


def _describe_group(app: dict, grp: dict) -> str:
    kind = "blue/green" if grp["type"] == "BLUE_GREEN" else "in-place"
    traffic = ""
    if grp["type"] != "BLUE_GREEN":
        traffic = (
            ", traffic control"
            if grp["traffic"] == "WITH_TRAFFIC_CONTROL"
            else ", no load balancer"
        )
    asgs = ", ".join(grp["auto_scaling_groups"]) or "tagged instances"
    last = f", last deployment {grp['last_attempted']}" if grp["last_attempted"] else ""
    return f"  {app['name']} / {grp['name']}  {kind}{traffic}, {grp['config']}, {asgs}{last}"


def _count(states: object) -> str:
    counts: dict[str, int] = {}
    for s in states:  # type: ignore[attr-defined]
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"


def _describe_load(stats: dict) -> str:
    parts = []
    for label, ls in stats.get("listeners", {}).items():
        lat = ls.get("latency_ms", {})
        kinds = ", ".join(f"{k}: {n}" for k, n in sorted(ls.get("error_kinds", {}).items()))
        parts.append(
            f"{label} sent {ls['sent']}, ok {ls['ok']}, errors {ls['errors']}"
            + (f" ({kinds})" if kinds else "")
            + f", median {lat.get('median') or 0:.1f} ms, p99 {lat.get('p99') or 0:.1f} ms"
        )
    return "load: " + ("; ".join(parts) or "no listeners")


# ----- cutover sandbox fault / info -------------------------------------------------------------


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
                }.items()
                if v is not None
            }
            if not body:
                raise UsageError(
                    "cutover sandbox fault instance: give --unhealthy, --down, --slow or --errors"
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
        print(_describe_world(summary, settled=True))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
