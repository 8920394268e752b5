"""Running a hook: find the instance, then take it out (`deregister`) or put it back
(`register`); every failure ends as one line (HookError, HookUsage)."""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cutover.backend.aws.errors import describe_aws_error

from .deregister import deregister
from .errors import EXIT_OK, HookError, HookUsage
from .hook import Hook
from .identity import find_identity
from .options import HookOptions
from .register import register
from .report import Reporter


def run_hook(
    options: HookOptions,
    reporter: Reporter,
    env: dict[str, str] | None = None,
    **kwargs: Any,
) -> int:
    """Find the instance, run the hook; failures raise HookError/HookUsage (one line)."""
    env = dict(os.environ) if env is None else env
    identity = find_identity(options, env)
    reporter.instance_id = identity.instance_id
    if not identity.region:
        raise HookUsage("--region: no AWS region (pass --region or set AWS_REGION)")
    hook = Hook(options, identity, reporter, **kwargs)
    try:
        if options.action == "deregister":
            deregister(hook)
        else:
            register(hook)
    except (ClientError, BotoCoreError) as exc:
        raise HookError(describe_aws_error(exc)) from None
    return EXIT_OK
