"""The audit log: one JSON line per record, appended and fsynced before anything else.

Every mutating action, whether it ran, failed at AWS or was refused by a gate, leaves records:
server time, caller identity, account, region, endpoint, target, action, parameters, gate
results and outcome. An action that is sent writes an `intent` record (fsynced) before its
first call, then one outcome record with the same `attempt`: so an intent with no outcome is
an action whose fate nobody recorded (Ctrl-C, a crash, lost power), and `pending` finds it.
The file is only ever appended to, so it can be shipped or tailed as is.
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


# What became of an action, as its records say.
INTENT = "intent"  # written before the first call; an outcome record follows
DONE = "done"  # AWS accepted every call (or the state read again shows it took effect)
NOT_DONE = "not-done"  # the state read again shows it did not take effect
FAILED = "failed"  # AWS refused a call (see `rejected`)
UNKNOWN = "unknown"  # no answer, and the state read again could not tell
REFUSED = "refused"  # not sent: a precondition, a gate, a duplicate, an unwritable log
CANCELLED = "cancelled"  # not sent: a person declined at the confirmation
OUTCOMES = (DONE, NOT_DONE, FAILED, UNKNOWN)


@dataclass(frozen=True)
class AuditRecord:
    action: str
    outcome: str  # intent | done | not-done | failed | unknown | refused | cancelled
    target: str
    server_time: str
    caller: str | None = None
    account: str | None = None
    region: str | None = None
    endpoint: str | None = None
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
    # One send of a plan: the intent record and its outcome record share it.
    attempt: str | None = None
    # intent only: the plan as the person confirmed it, line by line.
    plan: list[str] = field(default_factory=list)
    # intent only: the state the plan was made from and what it is meant to change, so the
    # outcome can be read back from the state later (backend/actions/readback.py).
    planned_from: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    # How an outcome was learnt when AWS gave no clear answer: what the state read again showed.
    resolved_by: str | None = None
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
        """Whether a plan with this id was already sent to AWS (from any process): an intent
        was written for it, unless AWS rejected that send outright (nothing was done then, so
        a person may confirm it again)."""
        attempts: dict[str, bool] = {}  # attempt -> rejected
        for r in self.records():
            if r.get("plan_id") != plan_id:
                continue
            outcome = r.get("outcome")
            if outcome == INTENT:
                attempts.setdefault(r.get("attempt") or "", False)
            elif outcome == FAILED and r.get("rejected"):
                attempts[r.get("attempt") or ""] = True
            elif outcome in (DONE, UNKNOWN, NOT_DONE) or (outcome == FAILED):
                # Records written before intents existed: an outcome alone means it was sent.
                attempts.setdefault(r.get("attempt") or "", False)
        return any(not rejected for rejected in attempts.values())

    def pending(
        self,
        *,
        application: str | None,
        deployment_group: str | None,
        region: str | None = None,
        endpoint: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Intent records of this deployment group with no outcome record: actions sent (or
        about to be) whose outcome nobody recorded. Oldest first. Region, endpoint and
        account narrow it when given (a record that lacks one still matches)."""
        intents: dict[str, dict[str, Any]] = {}
        for r in self.records():
            attempt = r.get("attempt")
            if not attempt:
                continue
            if r.get("outcome") == INTENT:
                intents[attempt] = r
            elif r.get("outcome") in OUTCOMES:
                intents.pop(attempt, None)
        out = []
        for r in intents.values():
            if r.get("application") != application or r.get("deployment_group") != (
                deployment_group
            ):
                continue
            if any(
                want is not None and r.get(key) is not None and r.get(key) != want
                for key, want in (("region", region), ("endpoint", endpoint), ("account", account))
            ):
                continue
            out.append(r)
        return out
