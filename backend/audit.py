"""The audit log: one JSON line per action attempt, appended and fsynced before anything else.

Every mutating action, whether it ran, failed at AWS or was refused by a gate, leaves a record:
server time, caller identity, target, action, parameters, gate results and outcome. The file
is only ever appended to, so it can be shipped or tailed as is.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def default_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "cutover" / "audit.jsonl"


@dataclass(frozen=True)
class AuditRecord:
    action: str
    outcome: str  # done | failed | refused | cancelled
    target: str
    server_time: str
    caller: str | None = None
    application: str | None = None
    deployment_group: str | None = None
    deployment_id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    override: bool = False
    plan_id: str | None = None
    calls: list[str] = field(default_factory=list)
    request_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    # failed only: AWS answered with a refusal (a 4xx, e.g. AccessDeniedException), so nothing
    # was done and a person may send the same plan again; False when the outcome is unknown
    # (no answer, a 5xx), so it is never sent again.
    rejected: bool = False
    local_time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class AuditLog:
    """Append-only JSONL; `append` returns only once the record is on disk."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._lock = threading.Lock()

    def append(self, record: AuditRecord) -> None:
        """Write one record and fsync it. Raises OSError when the log cannot be written;
        callers must not act when the record of the attempt cannot be kept."""
        line = json.dumps(asdict(record), sort_keys=True, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record, oldest first (a torn last line is skipped)."""
        try:
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue
        except FileNotFoundError:
            return

    def executed(self, plan_id: str) -> bool:
        """Whether a plan with this id was already sent to AWS (from any process), counting a
        failed send unless AWS rejected it outright (then nothing was done)."""
        return any(
            r.get("plan_id") == plan_id
            and (
                r.get("outcome") == "done"
                or (r.get("outcome") == "failed" and not r.get("rejected"))
            )
            for r in self.records()
        )
