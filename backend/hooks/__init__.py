"""In-place appspec hooks: take an instance out of service (`deregister`, ApplicationStop) and
put it back (`register`, ApplicationStart).

What AWS's public sample scripts do, without their problems (docs/hooks.md lists each one):
instance identity from IMDSv2 (token first); every target state understood; an `unhealthy`
target fails at once (ELB only says so after the group's unhealthy threshold); the Auto Scaling
path also waits on target-group and classic load balancer state; what was changed is recorded
in tags (`cutover:hook:*`), so a later run restores MinSize and suspended processes even after
a failed deployment, holding what they set so that a MinSize someone changed since is never
undone; timeouts derived from the groups' own settings and measured in the server's time;
full-jitter retries of reads and polling; each change sent once, a lost answer read back
(`Hook.send`).

The caller gives a `Reporter` for the one-line-per-step output; failures raise `HookError`
(exit 1) or `HookUsage` (exit 2) with one line saying why. No textual, no sandbox import:
the hooks start on the instance, so their imports stay few.

`run` finds the instance (`identity`) and runs `deregister` or `register` on a `hook.Hook`
(one run's AWS calls and reads). Those flows use `locate` and `places` (where the instance
serves), `timeouts`, `changes` (each change and how it looks once done), `records` (the
`cutover:hook:*` tags, format in `cutover.backend.core.hooktags`), `autoscaling` (suspended
processes and MinSize) and `waits`, which read states through `verdicts`.
"""

from __future__ import annotations

from .errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, HookError, HookUsage
from .identity import Identity, Imds, ImdsError, find_identity
from .options import DeploymentEnv, HookOptions, merge_options, split_list
from .report import Reporter
from .run import run_hook
from .timeouts import FALLBACK_TIMEOUT, clb_timeout, tg_timeout
from .verdicts import DONE, FAIL, REREGISTER, WAIT, Verdict, classic_verdict, target_verdict

__all__ = [
    "DONE",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "FAIL",
    "FALLBACK_TIMEOUT",
    "REREGISTER",
    "WAIT",
    "DeploymentEnv",
    "HookError",
    "HookOptions",
    "HookUsage",
    "Identity",
    "Imds",
    "ImdsError",
    "Reporter",
    "Verdict",
    "classic_verdict",
    "clb_timeout",
    "find_identity",
    "merge_options",
    "run_hook",
    "split_list",
    "target_verdict",
    "tg_timeout",
]
