"""The overview's order (issue 16, item 2): who needs a person first, and why in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cutover.backend.core.attention import (
    FAILED,
    IN_PROGRESS,
    QUIET,
    STOPPING,
    TERMINATION_WAIT,
    WAITING,
    attention,
    order,
)
from cutover.backend.model import OverviewDeployment, OverviewRow
from cutover.backend.present.overview import overview_document, render_overview

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def dep(did: str, status: str, *, minutes_ago: float = 10, **kw: object) -> OverviewDeployment:
    created = NOW - timedelta(minutes=minutes_ago)
    done = created + timedelta(minutes=5) if status in ("Succeeded", "Failed", "Stopped") else None
    kw.setdefault("phase", status.lower())
    return OverviewDeployment(did, status, create_time=created, complete_time=done, **kw)  # type: ignore[arg-type]


def row(name: str, d: OverviewDeployment | None = None, **kw: object) -> OverviewRow:
    app, group = name.split("/")
    return OverviewRow(
        source="prod", application=app, deployment_group=group, deployment=d, server_time=NOW, **kw
    )  # type: ignore[arg-type]


def waiting(name: str, minutes_left: float) -> OverviewRow:
    d = dep(
        f"d-W{name[-1]}",
        "Ready",
        phase="ready",
        waiting_for="reroute-approval",
        deadline=NOW + timedelta(minutes=minutes_left),
    )
    return row(name, d)


def test_the_order_and_the_reasons() -> None:
    rows = [
        row("a/quiet-b", dep("d-1", "Succeeded", minutes_ago=300)),
        row("a/quiet-a"),
        row(
            "z/term", dep("d-T", "InProgress", phase="termination-wait", waiting_for="termination")
        ),
        row("z/install", dep("d-I", "InProgress", phase="installing")),
        row("z/back", dep("d-R", "InProgress", phase="rolling-back", rollback=True)),
        row("z/failed", dep("d-F", "Failed", minutes_ago=20, error_code="HEALTH_CONSTRAINTS")),
        waiting("z/wait-2", 30),
        waiting("z/wait-1", 5),
    ]
    got = order(rows)
    assert [r.deployment_group for r in got] == [
        "wait-1",
        "wait-2",
        "failed",
        "back",
        "install",
        "term",
        "quiet-a",
        "quiet-b",
    ]
    ranks = [r.attention.rank for r in got]  # type: ignore[union-attr]
    assert ranks == [
        WAITING,
        WAITING,
        FAILED,
        STOPPING,
        IN_PROGRESS,
        TERMINATION_WAIT,
        QUIET,
        QUIET,
    ]
    reasons = [r.attention.reason for r in got]  # type: ignore[union-attr]
    assert reasons[0].startswith("waiting for approval")
    assert reasons[2] == "d-F failed (HEALTH_CONSTRAINTS) within the last hour"
    assert reasons[3] == "rolling back (d-R)"
    assert reasons[4] == "in progress: installing (d-I)"
    assert reasons[5] == "termination wait (d-T)"
    assert reasons[6] == "quiet"


def test_a_failure_older_than_an_hour_is_quiet() -> None:
    assert attention(row("a/b", dep("d-F", "Failed", minutes_ago=70)), NOW).rank == QUIET
    assert attention(row("a/b", dep("d-F", "Failed", minutes_ago=50)), NOW).rank == FAILED


def test_a_rollback_after_a_failure_is_still_news_a_new_success_is_not() -> None:
    failed = dep("d-F", "Failed", minutes_ago=30)
    rolled = dep("d-R", "Succeeded", minutes_ago=20, rollback=True)
    a = attention(row("a/b", rolled, recent_failure=failed), NOW)
    assert a.rank == FAILED and a.reason.endswith("; rolled back")
    fixed = dep("d-N", "Succeeded", minutes_ago=10)
    assert attention(row("a/b", fixed, recent_failure=failed), NOW).rank == QUIET
    rolling = dep("d-R", "InProgress", minutes_ago=1, rollback=True, phase="rolling-back")
    a = attention(row("a/b", rolling, recent_failure=failed), NOW)
    assert a.rank == FAILED and a.reason.endswith("; rolling back")


def test_waiting_beats_a_recent_failure_and_stopped_says_stopped() -> None:
    w = waiting("a/b", 10)
    w = replace(w, recent_failure=dep("d-F", "Failed", minutes_ago=30))
    assert attention(w, NOW).rank == WAITING
    a = attention(row("a/b", dep("d-S", "Stopped", minutes_ago=15)), NOW)
    assert a.rank == FAILED and "d-S stopped" in a.reason


def test_the_countdown_is_real_time_on_a_fast_sandbox() -> None:
    # 30 sandbox minutes at clock x60 are 30 real seconds.
    r = replace(waiting("a/b", 30), sandbox_rate=60.0)
    text = render_overview(order([r]))
    assert "30 seconds left" in text and "SANDBOX (clock x60" in text
    doc = overview_document(order([r]))
    assert doc["groups"][0]["seconds_left"] == 30.0
    assert doc["groups"][0]["attention"]["rank"] == WAITING


def test_the_text_reads_at_80_columns() -> None:
    rows = order(
        [
            waiting("an-application-with-a-long-name/and-a-long-group-name", 12),
            row("a/b", dep("d-1", "Succeeded"), stale="could not be read: " + "x" * 120),
        ]
    )
    text = render_overview(rows)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "STALE" in text


def test_the_overview_document_matches_its_schema() -> None:
    import json

    import jsonschema

    from tests.unit.test_status import schema

    rows = order(
        [
            waiting("a/w", 3),
            row("a/f", dep("d-F", "Failed", minutes_ago=5), stale="could not be read: x (Code)"),
            OverviewRow(source="dead", application="", deployment_group="", stale="gone"),
        ]
    )
    doc = json.loads(json.dumps(overview_document(rows)))
    s = schema()
    # The top level describes `cutover status`: check the overview alone.
    sub = {"$schema": s["$schema"], "$defs": s["$defs"], "$ref": "#/$defs/overview"}
    validator = jsonschema.Draft202012Validator(
        sub, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert not problems, problems
    assert [g["attention"]["rank"] for g in doc["groups"]] == [WAITING, FAILED, QUIET]
