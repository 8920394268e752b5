"""The appspec of a revision as the CodeDeploy agent reads it (the hooks: scripts per
lifecycle event), and the rule that keeps every path inside its root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_TIMEOUT = 3600


class AppspecError(Exception):
    """An appspec file the agent refuses; str() says why."""


def within(root: Path, path: Path) -> Path | None:
    """`path` resolved (symbolic links followed) when that is `root` or below it, else None
    (also for paths that cannot be resolved: a NUL byte, a symbolic-link loop)."""
    try:
        resolved = path.resolve()
        return resolved if resolved.is_relative_to(root.resolve()) else None
    except (OSError, ValueError, RuntimeError):
        return None


def plain_name(part: str) -> bool:
    """Whether `part` is one plain file name: not empty, no `.`/`..`, no `/` or NUL."""
    return bool(part) and part not in (".", "..") and "/" not in part and "\0" not in part


@dataclass(frozen=True)
class Script:
    location: str
    timeout: int = DEFAULT_TIMEOUT
    runas: str | None = None


def read_appspec(archive: Path) -> dict[str, list[Script]]:
    """The hooks of the appspec in an archive: event -> scripts in order. Raises AppspecError."""
    path = next(
        (archive / n for n in ("appspec.yml", "appspec.yaml") if (archive / n).is_file()), None
    )
    if path is None or within(archive, path) is None:
        raise AppspecError(f"The appspec.yml file was not found in {archive}")
    try:
        doc = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise AppspecError(f"{path.name} could not be read: {exc}") from None
    if not isinstance(doc, dict):
        raise AppspecError(f"{path.name} must be a mapping")
    if str(doc.get("version")) not in ("0.0", "0"):
        raise AppspecError(
            f"The deployment failed because an invalid version value ({doc.get('version')}) was "
            f"entered in the application specification file. Make sure your AppSpec file "
            f'specifies "0.0" as the version, and then try again.'
        )
    if doc.get("os", "linux") not in ("linux", "windows"):
        raise AppspecError(f"{path.name}: os must be linux or windows, not {doc.get('os')}")
    hooks = doc.get("hooks") or {}
    if not isinstance(hooks, dict):
        raise AppspecError(f"{path.name}: hooks must be a mapping of lifecycle event to scripts")
    out: dict[str, list[Script]] = {}
    for event, entries in hooks.items():
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise AppspecError(f"{path.name}: hooks {event} must be a list of scripts")
        scripts = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("location"), str):
                raise AppspecError(f"{path.name}: every script of {event} needs a location")
            timeout = entry.get("timeout", DEFAULT_TIMEOUT)
            if (
                isinstance(timeout, bool)
                or not isinstance(timeout, int)
                or not (1 <= timeout <= DEFAULT_TIMEOUT)
            ):
                raise AppspecError(
                    f"{path.name}: the timeout of {entry['location']} must be whole seconds "
                    f"from 1 to {DEFAULT_TIMEOUT}"
                )
            runas = entry.get("runas")
            scripts.append(Script(entry["location"], timeout, str(runas) if runas else None))
        out[str(event)] = scripts
    return out
