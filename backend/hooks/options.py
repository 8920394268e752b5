"""What one hook run is told to do: CodeDeploy's hook variables, and the flags, environment and
config merged in that order of precedence (flags > TARGET_GROUP_LIST / ELB_LIST / PORT > config).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cutover.backend.config import DEFAULT_SUSPEND_PROCESSES, HookSettings

from .errors import HookUsage


@dataclass(frozen=True)
class DeploymentEnv:
    """CodeDeploy's hook variables (for the log and the `cutover:hook:out` tag)."""

    deployment_id: str | None = None
    group: str | None = None
    application: str | None = None
    event: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DeploymentEnv:
        return cls(
            deployment_id=env.get("DEPLOYMENT_ID") or None,
            group=env.get("DEPLOYMENT_GROUP_NAME") or None,
            application=env.get("APPLICATION_NAME") or None,
            event=env.get("LIFECYCLE_EVENT") or None,
        )

    def where(self) -> str:
        """`deployment d-1, group app/grp, event E` (what is known of it), for the first line."""
        bits = [
            f"deployment {self.deployment_id}" if self.deployment_id else "",
            f"group {self.application}/{self.group}" if self.group else "",
            f"event {self.event}" if self.event else "",
        ]
        return ", ".join(b for b in bits if b)


@dataclass(frozen=True)
class HookOptions:
    """Everything one run needs, already merged (flags > env > config)."""

    action: str  # "deregister" | "register"
    instance_id: str | None = None
    region: str | None = None
    target_groups: tuple[str, ...] = ()
    elbs: tuple[str, ...] = ()
    port: int | None = None
    timeout: float | None = None
    suspend_processes: tuple[str, ...] = DEFAULT_SUSPEND_PROCESSES
    lower_min_size: bool = True
    # Whether target_groups/elbs were given at all (else register falls back to the home tag).
    configured: bool = False
    deployment: DeploymentEnv = field(default_factory=DeploymentEnv)


def split_list(text: str) -> list[str]:
    """TARGET_GROUP_LIST / ELB_LIST: names separated by spaces or commas, as the scripts take."""
    return [part for part in text.replace(",", " ").split() if part]


def merge_options(
    action: str,
    *,
    flags: dict[str, Any],
    env: dict[str, str],
    settings: HookSettings,
) -> HookOptions:
    """Flags > TARGET_GROUP_LIST / ELB_LIST / PORT > the config's settings for the group.

    `flags` holds target_groups, elbs, port, instance_id, region, timeout (None when absent).
    A bad PORT raises HookUsage naming the variable.
    """
    tgs: tuple[str, ...] | None = None
    elbs: tuple[str, ...] | None = None
    if flags.get("target_groups") is not None or flags.get("elbs") is not None:
        tgs = tuple(_names(flags.get("target_groups") or []))
        elbs = tuple(_names(flags.get("elbs") or []))
    elif env.get("TARGET_GROUP_LIST", "").strip() or env.get("ELB_LIST", "").strip():
        tgs = tuple(split_list(env.get("TARGET_GROUP_LIST", "")))
        elbs = tuple(split_list(env.get("ELB_LIST", "")))
    elif settings.target_groups or settings.elbs:
        tgs, elbs = settings.target_groups, settings.elbs
    port = flags.get("port")
    if port is None and env.get("PORT", "").strip():
        text = env["PORT"].strip()
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise HookUsage(f"PORT: '{text}' is not a port number (1-65535)")
        port = int(text)
    if port is None:
        port = settings.port
    return HookOptions(
        action=action,
        instance_id=flags.get("instance_id") or None,
        region=flags.get("region") or None,
        target_groups=tgs or (),
        elbs=elbs or (),
        port=port,
        timeout=flags.get("timeout"),
        suspend_processes=settings.suspend_processes,
        lower_min_size=settings.lower_min_size,
        configured=tgs is not None and bool(tgs or elbs),
        deployment=DeploymentEnv.from_env(env),
    )


def _names(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(split_list(value))
    return list(dict.fromkeys(out))
