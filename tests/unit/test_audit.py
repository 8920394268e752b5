"""The audit log is append-only JSONL, one fsynced line per record."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from cutover.backend.audit import AuditLog, AuditRecord


def test_append_and_read_back(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "deep" / "audit.jsonl")
    log.append(
        AuditRecord(
            action="approve",
            outcome="refused",
            target="prod",
            server_time="2026-11-26T12:00:00+00:00",
            gates=[{"name": "replacement-healthy", "passed": False, "reason": "i-1 unhealthy"}],
            plan_id="p1",
        )
    )
    log.append(
        AuditRecord(
            action="approve",
            outcome="done",
            target="prod",
            server_time="2026-11-26T12:01:00+00:00",
            plan_id="p2",
            request_id="r-1",
        )
    )
    lines = log.path.read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["gates"][0]["passed"] is False
    assert [r["outcome"] for r in log.records()] == ["refused", "done"]
    assert log.executed("p2") and not log.executed("p1")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_torn_line_is_skipped(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.path.write_text('{"action": "stop", "plan_id": "x", "outcome": "done"}\n{"act')
    assert [r["action"] for r in log.records()] == ["stop"]
    assert log.executed("x")


def test_a_send_aws_rejected_may_be_confirmed_again(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for plan_id, rejected in (("denied", True), ("unknown", False)):
        log.append(
            AuditRecord(
                action="approve",
                outcome="failed",
                target="prod",
                server_time="2026-11-26T12:00:00+00:00",
                plan_id=plan_id,
                error_code="AccessDeniedException" if rejected else "Connection",
                rejected=rejected,
            )
        )
    # AWS refused it: nothing was done. No answer: it may have been done, so never again.
    assert not log.executed("denied") and log.executed("unknown")
