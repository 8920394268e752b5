"""The sandbox plain `cutover` started, recorded so another terminal finds it.

Plain `cutover` starts a sandbox inside its own process and opens the dashboard on it; the
drills are run from a second terminal (`cutover status`, `cutover sandbox fault ...`), which
would otherwise need the sandbox's export lines. While the sandbox runs, its endpoint, keys
and group are in `$XDG_STATE_HOME/cutover/sandbox.json` (owner-only), removed when it stops.
A record whose process is gone (killed, the machine restarted) is removed when read.

Used only when nothing else names where to go: `--endpoint-url`, `AWS_ENDPOINT_URL`,
`--target`, `--config` or a config file's default target win, and the command says on stderr
which sandbox it found.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cutover.cli.logs import state_dir


def record_path() -> Path:
    return state_dir() / "sandbox.json"


@dataclass(frozen=True)
class Recorded:
    """A running sandbox as recorded: where, with which keys, which group, started by whom."""

    endpoint_url: str
    env: dict[str, str]
    pid: int
    started_at: str
    scenario: str
    application: str
    deployment_group: str

    def says(self) -> str:
        """One line for stderr: which sandbox this command uses, and how to choose another."""
        return (
            f"using the sandbox `cutover` started (pid {self.pid}, {self.endpoint_url},"
            f" {self.application}/{self.deployment_group}, since {self.started_at[11:19]} UTC;"
            f" recorded in {record_path()}); --endpoint-url or AWS_ENDPOINT_URL choose another"
        )


# A record this process replaced (another `cutover` still running): put back by `forget`, so
# closing the second dashboard leaves the first one findable.
_replaced: Recorded | None = None


def record(env: dict[str, str], scenario: str, application: str, group: str) -> Path | None:
    """Write this process's sandbox down; None (nothing written) when the state directory
    cannot be written, which costs only the convenience."""
    global _replaced
    _replaced = find()
    path = record_path()
    body: dict[str, Any] = {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "env": env,
        "pid": os.getpid(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": scenario,
        "application": application,
        "deployment_group": group,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, body)
    except OSError:
        return None
    return path


def _write(path: Path, body: dict[str, Any]) -> None:
    part = path.with_suffix(f".{os.getpid()}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=2)
    # Whole or not at all: a reader never sees half a record.
    os.replace(part, path)


def forget() -> None:
    """Remove the record when it is this process's (a later `cutover` may have replaced it),
    putting back the one it replaced if that sandbox still runs."""
    found = _read()
    if found is None or found.pid != os.getpid():
        return
    with contextlib.suppress(OSError):
        if _replaced is not None and _alive(_replaced.pid):
            _write(record_path(), asdict(_replaced))
        else:
            record_path().unlink()


def find() -> Recorded | None:
    """The recorded sandbox if its process still runs; a record left by a process that is gone
    is removed."""
    found = _read()
    if found is None:
        return None
    if not _alive(found.pid):
        with contextlib.suppress(OSError):
            record_path().unlink()
        return None
    return found


def _read() -> Recorded | None:
    try:
        body = json.loads(record_path().read_text(encoding="utf-8"))
        return Recorded(
            endpoint_url=str(body["endpoint_url"]),
            env={str(k): str(v) for k, v in body["env"].items()},
            pid=int(body["pid"]),
            started_at=str(body["started_at"]),
            scenario=str(body.get("scenario", "default")),
            application=str(body["application"]),
            deployment_group=str(body["deployment_group"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, though not ours to signal
    return True


# The flags that name where to go; any of them (or AWS_ENDPOINT_URL) wins over the record.
_WHERE_FLAGS = ("endpoint_url", "target", "config", "profile", "application", "deployment_group")


def for_command(args: Any) -> Recorded | None:
    """The recorded sandbox when nothing on the command line, in the environment or in the
    config file names where to go; else None (and the command goes where it was told)."""
    if any(getattr(args, flag, None) for flag in _WHERE_FLAGS):
        return None
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None
    from cutover.backend.config import ConfigError, load_config

    try:
        configured = load_config(None).target(None)
    except ConfigError:
        return None  # the command says what is wrong with the config, not a sandbox's
    if configured.endpoint_url or (configured.application and configured.deployment_group):
        return None  # the config's default target is a place somebody chose
    return find()


def use(found: Recorded, args: Any) -> None:
    """Point this process at `found`: its endpoint, keys and region (boto3 reads them from the
    environment), its group, and no profile that could lend other credentials."""
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(found.env)
    args.endpoint_url = found.endpoint_url
    if hasattr(args, "application"):
        args.application = found.application
        args.deployment_group = found.deployment_group
