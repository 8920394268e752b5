"""The flags that say where and how Cutover acts, the same wherever they are typed.

`cutover --read-only approve ...` and `cutover approve --read-only ...` must mean the same.
argparse does not do that by itself: a subcommand's defaults overwrite what the top-level
parser read, so a flag typed before the subcommand was silently dropped. Here every parser
of the tree declares these flags under a dest of its own depth, with no default, and
`merge` gathers them after parsing: one value per flag, a usage error when two positions
disagree, and a usage error (the same words in every position) when a flag does not apply
to the command it was given to.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from cutover.backend.actions.catalogue import NAMES
from cutover.backend.core.effects import WATCHED

# `--wait` gives up after this long by default (seconds): a blue/green deployment's
# provisioning and install take minutes, its termination wait may take hours (pass more).
WAIT_TIMEOUT = 1800.0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FlagError(f"--wait-timeout: '{text}' is not a number of seconds") from None
    if value <= 0:
        raise FlagError(f"--wait-timeout: {text} must be more than 0 seconds")
    return value


@dataclass(frozen=True)
class GlobalFlag:
    flag: str
    metavar: str | None  # None: a switch
    help: str
    parse: Callable[[str], object] | None = None  # the value checked, wherever typed
    many: bool = False  # may be typed more than once: every value kept (a tuple)

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


GLOBAL_FLAGS: tuple[GlobalFlag, ...] = (
    GlobalFlag("--target", "NAME", "a target from the config file"),
    GlobalFlag("--application", "NAME", "CodeDeploy application"),
    GlobalFlag("--deployment-group", "NAME", "CodeDeploy deployment group"),
    GlobalFlag("--deployment", "ID", "this deployment (default: the active, else the latest)"),
    GlobalFlag("--profile", "NAME", "AWS profile (default: $AWS_PROFILE)"),
    GlobalFlag(
        "--region",
        "NAME",
        "AWS region (default: the config target, $AWS_REGION, $AWS_DEFAULT_REGION, the profile)",
    ),
    GlobalFlag(
        "--endpoint-url", "URL", "AWS endpoint, e.g. a sandbox (default: $AWS_ENDPOINT_URL)"
    ),
    GlobalFlag("--config", "PATH", "config file (default: $XDG_CONFIG_HOME/cutover/config.yaml)"),
    GlobalFlag("--read-only", None, "refuse every action that changes anything"),
    GlobalFlag(
        "--all",
        None,
        "every deployment group of every source (each config target, or the flags given),"
        " most urgent first",
    ),
    GlobalFlag(
        "--source",
        "NAME",
        "only this config target's account and region (repeat for more; implies --all)",
        many=True,
    ),
    GlobalFlag(
        "--wait",
        None,
        "after the action, wait until its effect is seen (exit 0), fails (exit 3) or"
        " --wait-timeout passes (exit 4)",
    ),
    GlobalFlag(
        "--wait-timeout",
        "SECONDS",
        f"wait as --wait does, at most SECONDS (default {WAIT_TIMEOUT:.0f})",
        _seconds,
    ),
)
BY_FLAG = {f.flag: f for f in GLOBAL_FLAGS}

_WAIT = ("--wait", "--wait-timeout")
_OVERVIEW = ("--all", "--source")
_ALL = tuple(f.flag for f in GLOBAL_FLAGS if f.flag not in _WAIT + _OVERVIEW)
_AWS = ("--target", "--profile", "--region", "--endpoint-url", "--config", "--read-only")
_CONTROL = ("--endpoint-url",)
_FAULT = ("--endpoint-url", "--read-only")

# Which of the flags each command takes, by its path of subcommand names; any other one is
# a usage error wherever it is typed (never silently ignored).
APPLIES: dict[tuple[str, ...], tuple[str, ...]] = {
    (): _ALL,
    ("dashboard",): _ALL + _OVERVIEW,
    ("status",): _ALL + _OVERVIEW,
    ("report",): _ALL,
    **{(name,): _ALL + (_WAIT if name in WATCHED else ()) for name in NAMES},
    # The hooks act on the instance they run on: no application, group or deployment to name.
    ("hook", "deregister"): _AWS,
    ("hook", "register"): _AWS,
    # Starting a sandbox touches no AWS account.
    ("sandbox",): (),
    ("sandbox", "info"): _CONTROL,
    ("sandbox", "fault", "list"): _CONTROL,
    **{
        ("sandbox", "fault", kind): _FAULT
        for kind in ("api", "instance", "hook", "kill", "replacements", "alarm", "clear")
    },
}

WHY_NOT = {
    ("shift",): "it changes the load balancer at once: the answer is the effect",
    ("repair",): "it changes the instances at once: the answer is the effect",
    ("sandbox",): "it starts a local sandbox, which touches no AWS account",
    ("hook",): "the hook acts on the instance it runs on",
    ("sandbox", "info"): "it only reads the sandbox at --endpoint-url",
    ("sandbox", "fault", "list"): "it only reads the sandbox at --endpoint-url",
    ("sandbox", "fault"): "it changes the sandbox at --endpoint-url",
}


def _dest(depth: int, flag: GlobalFlag) -> str:
    return f"_global{depth}_{flag.dest}"


class _Collect(argparse.Action):
    """Keeps every occurrence (argparse keeps the last), so a flag typed twice is seen."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        seen = list(getattr(namespace, self.dest, []))
        seen.append(True if self.nargs == 0 else values)
        setattr(namespace, self.dest, seen)


def add_global_flags(parser: argparse.ArgumentParser, depth: int, *, shown: bool = True) -> None:
    """Declare the flags on one parser of the tree (`depth` 0 is `cutover` itself)."""
    group = parser.add_argument_group(
        "where and how (before or after the command, the same meaning)"
    )
    for f in GLOBAL_FLAGS:
        group.add_argument(
            f.flag,
            action=_Collect,
            nargs=0 if f.metavar is None else None,
            metavar=f.metavar,
            dest=_dest(depth, f),
            default=argparse.SUPPRESS,
            help=f.help if shown else argparse.SUPPRESS,
        )


class FlagError(Exception):
    """A flag typed twice with two values, or where it does not apply: one line, exit 2."""


def command_path(ns: argparse.Namespace) -> tuple[str, ...]:
    """The subcommand names the arguments chose, e.g. ("sandbox", "fault", "api")."""
    command = getattr(ns, "command", None)
    if command is None:
        return ()
    if command == "hook":
        return ("hook", ns.hook_command)
    if command == "sandbox":
        sub = getattr(ns, "sandbox_command", None)
        if sub is None:
            return ("sandbox",)
        if sub == "fault":
            return ("sandbox", "fault", ns.fault_command)
        return ("sandbox", sub)
    return (command,)


def merge(ns: argparse.Namespace, depths: int = 4) -> argparse.Namespace:
    """Gather each flag from every position into `ns.<dest>` (None or False when absent).

    Raises FlagError when one flag was given two different values, or when a flag does not
    apply to the chosen command."""
    path = command_path(ns)
    allowed = APPLIES.get(path, ())
    for f in GLOBAL_FLAGS:
        values = []
        for depth in range(depths):
            name = _dest(depth, f)
            if hasattr(ns, name):
                values += getattr(ns, name)
                delattr(ns, name)
        distinct = list(dict.fromkeys(values))
        if f.many and distinct:
            distinct = [tuple(distinct)]
        if len(distinct) > 1:
            shown = " and ".join(repr(v) for v in distinct)
            raise FlagError(f"{f.flag}: given twice with different values ({shown}); give it once")
        value = distinct[0] if distinct else None
        if value is not None and f.flag not in allowed:
            raise FlagError(f"{f.flag}: does not apply to {_name(path)}{_why(path)}")
        if value is not None and f.parse is not None:
            value = f.parse(value)
        if f.metavar is None:
            value = bool(value)
        setattr(ns, f.dest, value)
    if getattr(ns, "wait_timeout", None) is not None:
        ns.wait = True  # a time limit to wait asks to wait
    return ns


def _name(path: tuple[str, ...]) -> str:
    return "`cutover " + " ".join(path) + "`" if path else "`cutover`"


def _why(path: tuple[str, ...]) -> str:
    for n in range(len(path), 0, -1):
        why = WHY_NOT.get(path[:n])
        if why:
            return f" ({why})"
    return ""
