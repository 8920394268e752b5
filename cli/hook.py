"""`cutover hook deregister|register`: the in-place appspec hooks (backend/hooks/ does it).

Output suits the CodeDeploy agent's log: one line per step on stdout, the reason for a failure
as the last line on stderr. Exit 0 done (or nothing to do), 1 failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from typing import Any

INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number (1-65535)")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 86400, not {text}")
    return value


def _instance_id(text: str) -> str:
    if not INSTANCE_ID.match(text):
        raise argparse.ArgumentTypeError(f"'{text}' is not an instance id (i-0123456789abcdef0)")
    return text


def add_hook_parser(sub: Any) -> None:
    """`cutover hook deregister|register` and their flags, on the top-level subparsers."""
    hook = sub.add_parser(
        "hook",
        help="in-place appspec hooks: take this instance out of / back into its load balancers",
        description=(
            "Called from appspec.yml hooks of an in-place deployment: `deregister` at "
            "ApplicationStop, `register` at ApplicationStart (use CodeDeployDefault.OneAtATime). "
            "Where the instance serves traffic comes from the flags, else TARGET_GROUP_LIST / "
            "ELB_LIST / PORT, else the config's hooks: section; an Auto Scaling member goes to "
            "Standby and back. See docs/hooks.md."
        ),
    )
    from cutover.cli.flags import add_global_flags

    add_global_flags(hook, 1, shown=False)
    hsub = hook.add_subparsers(dest="hook_command", metavar="ACTION", parser_class=type(hook))
    hsub.required = True
    for name, text in (
        ("deregister", "take the instance out of service and wait until it has drained"),
        ("register", "put the instance back in service and wait until it is healthy"),
    ):
        p = hsub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        add_global_flags(p, 2)
        p.add_argument(
            "--target-groups",
            nargs="+",
            metavar="NAME",
            help="target group names or ARNs (default: $TARGET_GROUP_LIST, else the config)",
        )
        p.add_argument(
            "--elbs",
            nargs="+",
            metavar="NAME",
            help="Classic Load Balancer names (default: $ELB_LIST, else the config)",
        )
        p.add_argument(
            "--port",
            type=_port,
            help="target port (default: $PORT, else the ports the instance is registered on)",
        )
        p.add_argument(
            "--instance-id",
            type=_instance_id,
            metavar="ID",
            help="this instance's id (skips instance metadata)",
        )
        p.add_argument(
            "--timeout",
            type=_seconds,
            metavar="SECONDS",
            help="wait at most this long (default: derived from the groups' own settings)",
        )


def run(args: argparse.Namespace, env: dict[str, str] | None = None) -> int:
    """Run the hook the arguments ask for; returns the exit code (never raises)."""
    from cutover.backend.config import ConfigError, load_config
    from cutover.backend.hooks import HookError, Reporter, merge_options, run_hook

    env = dict(os.environ) if env is None else env
    action = args.hook_command
    reporter = Reporter(action, sys.stdout, sys.stderr)
    log_path = _log()
    try:
        try:
            config = load_config(args.config)
            target = config.target(args.target) if args.target else None
        except ConfigError as exc:
            reporter.error(str(exc))  # names the file and line, or --config / --target
            return 2
        if args.read_only or (target is not None and target.read_only):
            why = "--read-only" if args.read_only else f"target {target.name} is read_only"
            reporter.error(
                f"read-only ({why}): the hook changes load balancer registrations and Auto"
                " Scaling state, so it does nothing; remove read-only to run it"
            )
            return 2
        profile = args.profile or (target.profile if target else None)
        region = args.region or (target.region if target else None)
        endpoint = args.endpoint_url or (target.endpoint_url if target else None)
        if endpoint:
            if not endpoint.startswith(("http://", "https://")):
                reporter.error(f"--endpoint-url: '{endpoint}' is not an http(s) URL")
                return 2
            # The hook's clients read it like every AWS SDK does; this process is the hook's own.
            os.environ["AWS_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL"] = endpoint
        deployment_group = env.get("DEPLOYMENT_GROUP_NAME") or None
        options = merge_options(
            action,
            flags={
                "target_groups": args.target_groups,
                "elbs": args.elbs,
                "port": args.port,
                "instance_id": args.instance_id,
                "region": region,
                "timeout": args.timeout,
            },
            env=env,
            settings=config.hooks.for_group(deployment_group),
        )
        extra = {}
        if profile:
            import boto3
            from botocore.exceptions import ProfileNotFound

            try:
                extra["session"] = boto3.session.Session(
                    profile_name=profile, region_name=options.region
                )
            except ProfileNotFound as exc:
                reporter.error(f"--profile: {exc}")
                return 2
        return run_hook(options, reporter, env, **extra)
    except HookError as exc:
        logging.getLogger("cutover.hook").info("hook %s failed: %s", action, exc)
        reporter.error(str(exc))
        return exc.code
    except Exception as exc:  # the last line of defence: one line, details in the log
        logging.getLogger("cutover.hook").exception("hook %s failed", action)
        where = f" (details in {log_path})" if log_path else ""
        reporter.error(f"unexpected error: {exc}{where}")
        return 1


def _log() -> Any:
    from cutover.cli.logs import setup_logging

    return setup_logging("hook")
