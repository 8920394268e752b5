"""The `cutover` command line's arguments: every command, subcommand and flag.

The action subcommands (names, help, what each asks for) come from the action catalogue; the
where-and-how flags from `flags`. A usage error is one line naming the flag, exit 2.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from cutover.backend.actions.catalogue import CATALOGUE, Action
from cutover.backend.actions.shift import MOVES
from cutover.cli.flags import FlagError, add_global_flags, merge

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
    _add_dashboard_and_status(sub)
    for entry in CATALOGUE:
        _add_action(sub, entry)
    _add_sandbox(sub)

    from cutover.cli.hook import add_hook_parser

    add_hook_parser(sub)
    return parser


def _add_dashboard_and_status(sub: argparse._SubParsersAction) -> None:
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
    shape = st.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="the documented JSON document")
    shape.add_argument(
        "--brief",
        action="store_true",
        help="at most five lines to paste: group, deployment, phase and deadline, verdict, "
        "last action (absolute UTC times)",
    )


def _add_action(sub: argparse._SubParsersAction, entry: Action) -> None:
    """One action's subcommand, named and described by the catalogue, with the flags for
    what it asks a person for."""
    text = entry.cli_help
    ap = sub.add_parser(entry.name, help=text, description=text[0].upper() + text[1:] + ".")
    add_global_flags(ap, 1)
    ap.add_argument("--yes", action="store_true", help="do not ask; act on the plan")
    if "revision" in entry.asks:
        ap.add_argument(
            "--revision",
            type=_revision,
            metavar="S3-URL",
            help="s3://bucket/key.zip (or github:owner/repo@commit)",
        )
    if "override-gates" in entry.asks:
        ap.add_argument(
            "--override-gates",
            action="store_true",
            help="act even though a gate fails (audited as an override)",
        )
    if "reroute" in entry.asks:
        way = ap.add_mutually_exclusive_group(required=True)
        way.add_argument(
            "--replacement",
            type=_percent,
            metavar="PERCENT",
            help="send PERCENT of traffic to the replacement (0, 10, 50, 100, ...)",
        )
        way.add_argument(
            "--move",
            choices=MOVES,
            help="register or deregister an environment with the group's load balancers",
        )


def _add_sandbox(sub: argparse._SubParsersAction) -> None:
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
        help="a bundled scenario (default, classic, nlb, weighted, inplace, hooks, preview, big,"
        " huge, estate) or a YAML file (default: default)",
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

    _add_faults(sbsub)


def _add_faults(sbsub: argparse._SubParsersAction) -> None:
    fault = sbsub.add_parser("fault", help="inject or clear faults in a running sandbox")
    add_global_flags(fault, 2, shown=False)
    fsub = fault.add_subparsers(dest="fault_command", metavar="KIND", parser_class=_Parser)
    fsub.required = True

    _add_api_fault(fsub)
    _add_world_faults(fsub)


def _add_api_fault(fsub: argparse._SubParsersAction) -> None:
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


def _add_world_faults(fsub: argparse._SubParsersAction) -> None:
    """Faults in the sandbox's world: instances, lifecycle scripts, replacements, alarms."""
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
    inst.add_argument(
        "--unhealthy-path",
        metavar="PATH",
        help="answer 503 only under PATH (e.g. /preview/health: the preview target group's"
        " health check fails, production's passes); '' clears it",
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
    args = build_parser().parse_args(argv)
    try:
        return merge(args)
    except FlagError as exc:
        raise UsageError(f"cutover: {exc}") from None
