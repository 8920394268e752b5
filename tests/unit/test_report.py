"""`cutover report`'s record from recorded inputs: the phases read from CodeDeploy's times and
lifecycle events, the failures with their diagnostics, the audit log's actions joined by
attempt, CloudWatch's retention, and the Markdown built from them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cutover.backend.core.audit_trail import actions
from cutover.backend.core.history import History, metric_period, phases, serving
from cutover.backend.model import (
    Deployment,
    Environment,
    Instance,
    LifecycleEvent,
    Series,
    Snapshot,
)
from cutover.backend.present.report import render_report
from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS, INSTALL_EVENTS

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def events(names: tuple[str, ...], start: float, *, fail: str | None = None) -> tuple:
    """Each event one minute long from `start`; `fail` fails that one and leaves the rest
    pending."""
    out, t, failed = [], start, False
    for name in names:
        if failed:
            out.append(LifecycleEvent(name, "Pending"))
            continue
        if name == fail:
            failed = True
            out.append(
                LifecycleEvent(
                    name,
                    "Failed",
                    at(t),
                    at(t + 1),
                    error_code="ScriptFailed",
                    script_name="scripts/validate_service.sh",
                    message="Script at specified location: scripts/validate_service.sh failed"
                    " with exit code 1",
                    log_tail="[stdout]attempt 5/5: HTTP 503\n[stderr]not healthy",
                )
            )
        else:
            out.append(LifecycleEvent(name, "Succeeded", at(t), at(t + 1)))
        t += 1
    return tuple(out)


def cutover_snapshot(*, failed: bool = False, running: bool = False) -> Snapshot:
    """web/web-prod: two originals, two replacements installed from minute 2 (7 install
    events), the reroute from minute 20 (allow 3 events, then block 3), done at minute 40."""
    originals = tuple(
        Instance(f"i-orig{n}", label="Blue", events=() if failed else events(BLOCK_EVENTS, 23))
        for n in range(2)
    )
    replacements = tuple(
        Instance(
            f"i-repl{n}",
            label="Green",
            events=events(
                INSTALL_EVENTS,
                2,
                fail="ValidateService" if failed and n == 0 else None,
            )
            + (() if failed else events(ALLOW_EVENTS, 20)),
        )
        for n in range(2)
    )
    status = "InProgress" if running else ("Failed" if failed else "Succeeded")
    d = Deployment(
        id="d-TEST12345",
        status=status,
        phase="termination-wait" if running else status.lower(),
        application="web",
        deployment_group="web-prod",
        style="BLUE_GREEN",
        traffic_control=True,
        revision="s3://web-revisions/web/v2.zip",
        previous_revision="s3://web-revisions/web/v1.zip",
        creator="user",
        create_time=at(0),
        complete_time=None if running else at(9 if failed else 40),
        error_code="HEALTH_CONSTRAINTS" if failed else None,
        error_message="too many individual instances failed deployment" if failed else None,
        termination_action="TERMINATE",
        rolled_back_by="d-ROLLBACK1" if failed else None,
    )
    return Snapshot(
        target="prod",
        server_time=at(30 if running else 60),
        application="web",
        deployment_group="web-prod",
        account="123456789012",
        region="eu-west-1",
        deployment=d,
        original=Environment("original", originals),
        replacement=Environment("replacement", replacements),
        target_groups=("web-tg",),
    )


def history_of(snap: Snapshot, series: tuple[Series, ...] = ()) -> History:
    d = snap.deployment
    assert d is not None
    spans = phases(d, original=snap.original.instances, replacement=snap.replacement.instances)  # type: ignore[union-attr]
    return History(snap, None, tuple(spans), at(-10), at(45), 60, series, ())


AUDIT = [
    {  # another group's action: not this record's
        "action": "approve",
        "outcome": "done",
        "application": "api",
        "deployment_group": "api-prod",
        "deployment_id": "d-TEST12345",
        "server_time": "2026-03-02T14:19:00+00:00",
    },
    {
        "action": "deploy",
        "outcome": "intent",
        "attempt": "a1",
        "application": "web",
        "deployment_group": "web-prod",
        "region": "eu-west-1",
        "deployment_id": None,
        "caller": "arn:aws:iam::123456789012:user/alice",
        "plan": ["Start a deployment of s3://web-revisions/web/v2.zip to web/web-prod"],
        "server_time": "2026-03-02T13:59:59+00:00",
    },
    {
        "action": "deploy",
        "outcome": "done",
        "attempt": "a1",
        "application": "web",
        "deployment_group": "web-prod",
        "region": "eu-west-1",
        "deployment_id": "d-TEST12345",
        "message": "deployment d-TEST12345 started",
        "request_id": "req-1",
        "server_time": "2026-03-02T14:00:00+00:00",
    },
    {
        "action": "approve",
        "outcome": "intent",
        "attempt": "a2",
        "application": "web",
        "deployment_group": "web-prod",
        "region": "eu-west-1",
        "deployment_id": "d-TEST12345",
        "caller": "arn:aws:iam::123456789012:user/bob",
        "override": True,
        "gates": [
            {"name": "alarms", "passed": True, "reason": "no alarm in ALARM"},
            {"name": "replacement-healthy", "passed": False, "reason": "1 of 2 healthy"},
        ],
        "plan": ["Reroute traffic of d-TEST12345 to the replacement"],
        "server_time": "2026-03-02T14:19:30+00:00",
    },
]


def test_phases_of_a_cutover_come_from_its_lifecycle_events() -> None:
    h = history_of(cutover_snapshot())
    assert [(p.name, p.start, p.end) for p in h.phases] == [
        ("provisioning", at(0), at(2)),
        ("installing on the replacement", at(2), at(9)),
        ("ready, waiting for the reroute", at(9), at(20)),
        ("rerouting", at(20), at(26)),
        ("termination wait and termination", at(26), at(40)),
    ]
    assert h.reroute == (at(20), at(26))
    # Originals serve until their BlockTraffic starts; replacements from AllowTraffic's end.
    snap = h.snapshot
    assert serving(snap.original.instances, at(-10), serving_first=True) == [  # type: ignore[union-attr]
        (at(-10), 2),
        (at(24), 1),
        (at(24), 0),
    ]
    assert serving(snap.replacement.instances, at(-10), serving_first=False)[-1] == (at(22), 2)  # type: ignore[union-attr]


def test_the_record_of_a_finished_cutover() -> None:
    series = (
        Series("RequestCount", ((at(-5), 600.0), (at(21), 580.0)), "web-tg", "Sum"),
        Series("HTTPCode_Target_5XX_Count", ((at(21), 7.0),), "web-tg", "Sum"),
        Series("TargetResponseTime", ((at(21), 0.25),), "web-tg", "p95"),
    )
    h = history_of(cutover_snapshot(), series)
    found = actions(
        AUDIT,
        ["d-TEST12345"],
        application="web",
        deployment_group="web-prod",
        region="eu-west-1",
        endpoint=None,
    )
    assert [(a.action, a.outcome) for a in found] == [
        ("deploy", "done"),
        ("approve", "no outcome recorded"),
    ]
    md = render_report(h, found, "report-d-TEST12345.svg")
    assert md.startswith("# Deployment d-TEST12345: web/web-prod, Succeeded\n")
    assert "| Account / region | 123456789012 / eu-west-1 |" in md
    assert (
        "| Created by | `user`: a user (CreateDeployment); from this machine: cutover deploy by"
        " arn:aws:iam::123456789012:user/alice at 2026-03-02T13:59:59+00:00 |" in md
    )
    assert "![Traffic, health, 5xx and latency of d-TEST12345](report-d-TEST12345.svg)" in md
    assert (
        "| rerouting | 2026-03-02 14:20:00Z | 2026-03-02 14:26:00Z | 6m 00s | 580 | 7 | - |"
        " 250 ms |" in md
    )
    assert "| replacement | ValidateService | 2/2 | 14:08:00Z | 14:09:00Z | 1m 00s |  |" in md
    assert "No lifecycle event failed." in md
    # The actions: who, the plan as confirmed, each gate, the override.
    assert "### 13:59:59Z deploy: done" in md and "(request req-1)" in md
    assert "- who: arn:aws:iam::123456789012:user/bob" in md
    assert "- gate replacement-healthy: FAIL: 1 of 2 healthy" in md
    assert "- **override**: sent although a gate failed" in md
    assert "Reroute traffic of d-TEST12345 to the replacement" in md
    assert "## Bake verdict" in md and "In progress" not in md


def test_the_record_of_a_failed_deployment_shows_the_diagnostics() -> None:
    md = render_report(history_of(cutover_snapshot(failed=True)), [], "x.svg")
    assert "**Failed** at 2026-03-02 14:09:00Z: HEALTH_CONSTRAINTS: too many" in md
    assert "**Rolled back** by d-ROLLBACK1 (its state could not be read)." in md
    assert "### i-repl0 (replacement): ValidateService Failed at 14:09:00Z" in md
    assert "- errorCode: `ScriptFailed`" in md
    assert "- scriptName: `scripts/validate_service.sh`" in md
    assert "```text\n[stdout]attempt 5/5: HTTP 503\n[stderr]not healthy\n```" in md
    assert "No reroute took place" in md
    # No data point from CloudWatch at all: not a count of zero.
    assert (
        "| installing on the replacement | 2026-03-02 14:02:00Z | 2026-03-02 14:09:00Z | 7m 00s"
        " | (no data point) |  |  |  |" in md
    )
    assert "None recorded here" in md


def test_an_unfinished_deployment_says_so_at_the_top() -> None:
    h = history_of(cutover_snapshot(running=True))
    md = render_report(h, [], "x.svg")
    assert md.splitlines()[2].startswith("> **In progress** (InProgress, termination-wait)")
    assert "| termination wait | 2026-03-02 14:26:00Z | under way | 4m 00s |" in md


def test_a_rollback_moves_the_traffic_back_in_the_record() -> None:
    """After the reroute CodeDeploy rolls back (a new deployment): its AllowTraffic on the
    originals and BlockTraffic on the replacements follow the same instances back."""
    snap = cutover_snapshot()
    back = Snapshot(
        target="prod",
        server_time=at(60),
        application="web",
        deployment_group="web-prod",
        deployment=replace(snap.deployment, id="d-ROLLBACK1", rollback_of="d-TEST12345"),  # type: ignore[arg-type]
        original=Environment(
            "original",
            tuple(Instance(f"i-orig{n}", events=events(ALLOW_EVENTS, 41)) for n in range(2)),
        ),
        replacement=Environment(
            "replacement",
            tuple(Instance(f"i-repl{n}", events=events(BLOCK_EVENTS, 44)) for n in range(2)),
        ),
    )
    # Read later, the original environment also holds what its Auto Scaling group has now
    # (a later deployment's instances): not this deployment's targets.
    later = Environment("original", (*snap.original.instances, Instance("i-later0")))  # type: ignore[union-attr]
    h = replace(history_of(replace(snap, original=later)), rolled_back=back)
    originals = serving(h.instances("original"), at(-10), serving_first=True)
    replacements = serving(h.instances("replacement"), at(-10), serving_first=False)
    assert originals[0] == (at(-10), 2) and originals[-1] == (at(43), 2)
    assert replacements[-1] == (at(45), 0)
    labels = [label for label, _ in h.environments()]
    assert labels == [
        "original",
        "replacement",
        "original (rollback d-ROLLBACK1)",
        "replacement (rollback d-ROLLBACK1)",
    ]


def test_cloudwatch_keeps_minutes_for_15_days_then_coarser() -> None:
    now = at(0)
    assert metric_period(now - timedelta(days=14), now) == 60
    assert metric_period(now - timedelta(days=16), now) == 300
    assert metric_period(now - timedelta(days=64), now) == 3600
    assert metric_period(now - timedelta(days=456), now) is None


def test_the_command_line_does_not_load_matplotlib() -> None:
    """The chart's library costs a second: `cutover --help` and the dashboard's modules never
    import it (import-linter checks the imports; this checks what actually loads)."""
    code = (
        "import sys; from cutover.cli.main import main; import cutover.cli.dashboard,"
        " cutover.tui.app, cutover.cli.commands; from cutover.cli.parser import parse_args;"
        " parse_args(['report', '--output', '.']);"
        " loaded = ('matplotlib', 'cutover.cli.report');"
        " print(sorted(m for m in sys.modules if m.startswith(loaded)))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
