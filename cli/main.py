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
from pathlib import Path
from typing import NoReturn

from cutover.cli.logs import setup_logging as _setup_logging
from cutover.sandbox.control.client import ControlClient, ControlError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_SANDBOX_PORT = 4599


class UsageError(Exception):
    """Bad input: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the flag (no usage dump), exit 2, and
    no abbreviations: `--deploy` must not quietly become `--deployment`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a share (0.5 or 50%)") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a share from 0 to 1 (or 0% to 100%)")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value


def _revision(text: str) -> str:
    """A revision CodeDeploy can take, checked before anything is read or sent."""
    from cutover.backend.actions import parse_revision

    try:
        parse_revision(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--revision: ")) from None
    return text


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from cutover.cli.flags import add_global_flags

    parser = _Parser(
        prog="cutover",
        description="Supervise AWS CodeDeploy blue/green cutovers behind Elastic Load Balancing."
        " The flags that say where and how (--target, --application, --deployment-group,"
        " --deployment, --profile, --region, --endpoint-url, --config, --read-only) mean the"
        " same before or after the command.",
    )
    parser.add_argument("--version", action="version", version=f"cutover {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # `cutover` alone opens the dashboard on a sandbox; with target flags, on that target.
    add_global_flags(parser, 0)
    dash = sub.add_parser(
        "dashboard",
        help="open the dashboard (plain `cutover` opens it on a local sandbox)",
        description="Open the dashboard on a target. Without target flags or "
        "AWS_ENDPOINT_URL, `cutover` alone starts a sandbox and opens it there.",
    )
    add_global_flags(dash, 1)

    st = sub.add_parser(
        "status",
        help="show the deployment group and the deployment under supervision",
        description="Show a deployment group, its deployment, both environments, traffic, "
        "gates and which actions are possible now.",
    )
    add_global_flags(st, 1)
    st.add_argument("--json", action="store_true", help="the documented JSON document")

    for name, text in (
        ("deploy", "start a deployment (the group's last revision unless --revision)"),
        ("approve", "approve the traffic reroute of a deployment waiting in Ready"),
        ("terminate-original", "terminate the original instances now (ends the wait)"),
        ("stop", "stop the deployment without rolling back"),
        ("rollback", "stop and roll back (or redeploy the previous revision)"),
        ("shift", "reroute by hand: listener weights or move an environment in or out"),
        (
            "repair",
            "in-place: put back what an interrupted deployment left (Standby, out of a load"
            " balancer, lowered MinSize, suspended processes)",
        ),
    ):
        ap = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        add_global_flags(ap, 1)
        ap.add_argument("--yes", action="store_true", help="do not ask; act on the plan")
        if name == "deploy":
            ap.add_argument(
                "--revision",
                type=_revision,
                metavar="S3-URL",
                help="s3://bucket/key.zip (or github:owner/repo@commit)",
            )
        if name in ("approve", "terminate-original"):
            ap.add_argument(
                "--override-gates",
                action="store_true",
                help="act even though a gate fails (audited as an override)",
            )
        if name == "shift":
            way = ap.add_mutually_exclusive_group(required=True)
            way.add_argument(
                "--replacement",
                type=_percent,
                metavar="PERCENT",
                help="send PERCENT of traffic to the replacement (0, 10, 50, 100, ...)",
            )
            way.add_argument(
                "--move",
                choices=("replacement-in", "replacement-out", "original-in", "original-out"),
                help="register or deregister an environment with the group's load balancers",
            )

    sb = sub.add_parser(
        "sandbox",
        help="run the local AWS-compatible sandbox (or control a running one)",
        description=(
            "Run a local cloud that speaks the AWS APIs Cutover uses, with real instances "
            "(HTTP servers) and real load balancers (proxies) on 127.0.0.1. Prints the "
            "export lines that point boto3 and the AWS CLI at it; Ctrl-C stops it."
        ),
    )
    sb.add_argument(
        "--scenario",
        default="default",
        metavar="NAME|PATH",
        help="a bundled scenario (default, classic, nlb, weighted, inplace, hooks, big) or a"
        " YAML file (default: default)",
    )
    sb.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_SANDBOX_PORT,
        help=f"API port on 127.0.0.1; 0 picks a free one (default: {DEFAULT_SANDBOX_PORT})",
    )
    sb.add_argument(
        "--time-scale",
        type=_positive_float,
        metavar="X",
        help="run the clock X times faster than real time (default: the scenario's)",
    )
    sb.add_argument(
        "--load",
        type=_positive_float,
        default=0.0,
        metavar="RPS",
        help="send a steady RPS requests per second to every listener",
    )
    sb.add_argument(
        "--free-ports",
        action="store_true",
        help="give listeners free ports instead of the scenario's",
    )
    sb.add_argument("--json", action="store_true", help="print the world summary as JSON")
    add_global_flags(sb, 1)
    sbsub = sb.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", parser_class=_Parser)

    info = sbsub.add_parser("info", help="show what a running sandbox holds")
    add_global_flags(info, 2)
    info.add_argument("--json", action="store_true", help="print JSON")

    fault = sbsub.add_parser("fault", help="inject or clear faults in a running sandbox")
    add_global_flags(fault, 2, shown=False)
    fsub = fault.add_subparsers(dest="fault_command", metavar="KIND", parser_class=_Parser)
    fsub.required = True

    api = fsub.add_parser("api", help="throttle, slow down or cut off the AWS API")
    add_global_flags(api, 3)
    api.add_argument(
        "--throttle", type=_share, metavar="SHARE", help="share of calls throttled (0.5 or 50%%)"
    )
    api.add_argument(
        "--latency-ms", type=_non_negative_int, metavar="MS", help="latency added to every call"
    )
    api.add_argument(
        "--unreachable",
        type=_positive_float,
        metavar="SECONDS",
        help="stop answering (connection refused) for SECONDS, then come back",
    )
    api.add_argument(
        "--service",
        action="append",
        metavar="NAME",
        help="limit to a service (ec2, autoscaling, elbv2, elb, sts, ...); repeatable",
    )
    api.add_argument(
        "--operation", action="append", metavar="NAME", help="limit to an operation; repeatable"
    )
    api.add_argument(
        "--deny",
        choices=("access", "credentials", "none"),
        help="refuse calls: access (AccessDenied for --deny-operation, or every operation),"
        " credentials (every call: the access key is rejected), none (lift it)",
    )
    api.add_argument(
        "--deny-operation",
        action="append",
        metavar="NAME",
        help="with --deny access: the operation refused (e.g. ContinueDeployment); repeatable",
    )
    api.add_argument(
        "--drop-response",
        type=_non_negative_int,
        metavar="N",
        help="the next N calls take effect but their answers are lost (connection closed)",
    )
    api.add_argument(
        "--drop-operation",
        action="append",
        metavar="NAME",
        help="with --drop-response: only answers to this operation are lost; repeatable",
    )

    inst = fsub.add_parser("instance", help="make an instance unhealthy, slow, erroring or down")
    add_global_flags(inst, 3)
    inst.add_argument("instance_id", metavar="INSTANCE_ID")
    inst.add_argument(
        "--unhealthy",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="answer 503 to everything, so health checks fail",
    )
    inst.add_argument(
        "--down",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stop listening (connection refused)",
    )
    inst.add_argument(
        "--slow", type=_non_negative_int, metavar="MS", help="add MS milliseconds to every answer"
    )
    inst.add_argument(
        "--errors", type=_share, metavar="SHARE", help="answer 500 to a share of requests"
    )

    hook = fsub.add_parser("hook", help="make a deployment lifecycle script fail")
    add_global_flags(hook, 3)
    hook.add_argument("event", metavar="EVENT", help="e.g. AfterInstall, ValidateService")
    hook.add_argument("--instance", metavar="ID", help="only on this instance (default: the next)")
    hook.add_argument("--exit-code", type=_non_negative_int, default=1, metavar="N")
    hook.add_argument("--times", type=_non_negative_int, default=1, metavar="N")

    kill = fsub.add_parser("kill", help="terminate an instance as a lifecycle event starts on it")
    add_global_flags(kill, 3)
    kill.add_argument("event", metavar="EVENT", help="e.g. AllowTraffic, BlockTraffic")
    kill.add_argument("--instance", metavar="ID", help="only this instance (default: the next)")

    repl = fsub.add_parser(
        "replacements", help="make new replacement instances never become healthy"
    )
    add_global_flags(repl, 3)
    repl.add_argument(
        "--unhealthy",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on (default) or off (--no-unhealthy heals them)",
    )

    alarm = fsub.add_parser("alarm", help="set a CloudWatch alarm's state (the next check decides)")
    add_global_flags(alarm, 3)
    alarm.add_argument("name", metavar="ALARM")
    alarm.add_argument("--state", choices=("ALARM", "OK", "INSUFFICIENT_DATA"), default="ALARM")

    clear = fsub.add_parser("clear", help="clear every fault, or one instance's")
    add_global_flags(clear, 3)
    clear.add_argument("instance_id", nargs="?", metavar="INSTANCE_ID")

    show = fsub.add_parser("list", help="show the faults in force")
    add_global_flags(show, 3)

    from cutover.cli.hook import add_hook_parser

    add_hook_parser(sub)
    return parser


def _percent(text: str) -> int:
    try:
        value = int(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole percentage") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value} is not from 0 to 100")
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cutover-tui")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments, with the where-and-how flags merged from every position.

    Raises UsageError (one line, exit 2) for bad input, including a flag given twice with
    two values or given to a command it does not apply to."""
    from cutover.cli.flags import FlagError, merge

    args = build_parser().parse_args(argv)
    try:
        return merge(args)
    except FlagError as exc:
        raise UsageError(f"cutover: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "hook":
            from cutover.cli.hook import run as run_hook

            return run_hook(args)
        if args.command in (None, "dashboard"):
            return _dashboard(args)
        return _controller_command(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _controller_command(args: argparse.Namespace) -> int:
    from cutover.cli.commands import CommandError, run_action, run_status

    log_path = _setup_logging("cutover")
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


# ----- the dashboard ------------------------------------------------------------------------

_TARGET_FLAGS = (
    "target",
    "application",
    "deployment_group",
    "profile",
    "region",
    "endpoint_url",
    "config",
)


def _dashboard(args: argparse.Namespace) -> int:
    """`cutover` (sandbox) or `cutover dashboard --target ...` (real AWS or an endpoint)."""
    from cutover.cli.commands import CommandError, resolve_target

    log_path = _setup_logging("dashboard")
    wants_target = any(getattr(args, f, None) for f in _TARGET_FLAGS) or bool(
        os.environ.get("AWS_ENDPOINT_URL")
    )
    if args.command is None and not wants_target:
        return _dashboard_on_sandbox(args, log_path)
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


def _dashboard_on_sandbox(args: argparse.Namespace, log_path: Path | None) -> int:
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
    try:
        # The same process talks to it: boto3 finds the keys and the endpoint here.
        os.environ.update(sandbox.env())
        target = TargetConfig(
            name="sandbox",
            region=sandbox.world.region,
            endpoint_url=sandbox.endpoint_url,
            application="web",
            deployment_group="web-prod",
            read_only=bool(args.read_only),
        )
        return _run_dashboard(target, args, log_path, sandbox=sandbox)
    finally:
        sandbox.stop()


def _run_dashboard(
    target: object, args: argparse.Namespace, log_path: Path | None, sandbox: object
) -> int:
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
    )
    try:
        app.run()
    except Exception as exc:  # the last line of defence
        logging.getLogger("cutover").exception("dashboard failed")
        where = f" (details in {log_path})" if log_path else ""
        print(f"cutover: unexpected error: {exc}{where}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        observer.close()
    return EXIT_OK


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
    for app in summary.get("applications", []):
        for grp in app["deployment_groups"]:
            kind = "blue/green" if grp["type"] == "BLUE_GREEN" else "in-place"
            traffic = (
                ""
                if grp["type"] == "BLUE_GREEN"
                else (
                    ", traffic control"
                    if grp["traffic"] == "WITH_TRAFFIC_CONTROL"
                    else ", no load balancer"
                )
            )
            asgs = ", ".join(grp["auto_scaling_groups"]) or "tagged instances"
            lines.append(
                f"  {app['name']} / {grp['name']}  {kind}{traffic}, {grp['config']}, {asgs}"
                + (f", last deployment {grp['last_attempted']}" if grp["last_attempted"] else "")
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
    for inst in summary["instances"]:
        fault = f"  FAULT: {inst['fault']}" if inst.get("fault") else ""
        metadata = f"  {inst['metadata_url']}" if per_instance and inst.get("metadata_url") else ""
        lines.append(
            f"  {inst['id']}  {inst['state']:<8} {inst['az']}  {inst['revision']:<6} "
            f"{inst['group'] or '-':<10} {inst['url'] or ''}{metadata}{fault}"
        )
    if not settled:
        lines.append("(still settling: some targets are not healthy yet)")
    return "\n".join(lines)


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


def _endpoint(args: argparse.Namespace) -> str:
    url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        raise UsageError(
            "cutover sandbox: --endpoint-url: no sandbox endpoint; pass --endpoint-url "
            "or set AWS_ENDPOINT_URL (cutover sandbox prints it)"
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
