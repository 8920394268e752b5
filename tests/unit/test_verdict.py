"""The verdict: SAFE, DEGRADED or OUTAGE from what clients get, with the numbers, the key and
what happens when the running wait ends; and `cutover status --brief`."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from cutover.backend.core.verdict import verdict
from cutover.backend.model import Alarm, Serving, SourceHealth
from cutover.backend.present.status_json import status_document
from cutover.backend.present.status_text import brief, render_status
from cutover.backend.present.verdict_text import verdict_line

from tests.e2e.fakes import NOW, verdict_state
from tests.unit.test_status import validate


def test_safe_says_the_numbers_and_that_the_originals_go_when_the_wait_ends() -> None:
    snap = verdict_state("SAFE")
    v = verdict(snap)
    assert v.level == "SAFE" and v.action is None
    assert v.why == "4 of 4 healthy in web-tg, no 5xx, no alarm in ALARM"
    assert verdict_line(snap, NOW) == (
        "SAFE: 4 of 4 healthy in web-tg, no 5xx, no alarm in ALARM · in 53m the originals are"
        " terminated"
    )


def test_unhealthy_replacements_throwing_5xx_in_the_termination_wait_are_degraded() -> None:
    snap = verdict_state("DEGRADED")
    v = verdict(snap)
    assert v.level == "DEGRADED"
    assert v.why == "2 of 4 replacements unhealthy, 5xx 38/min in web-tg"
    assert v.action == "rollback" and v.unhealthy == 2
    line = verdict_line(snap, NOW)
    assert "· b roll back · in 53m the originals are terminated" in line


def test_no_healthy_target_behind_a_serving_listener_is_an_outage() -> None:
    snap = verdict_state("OUTAGE")
    v = verdict(snap)
    assert v.level == "OUTAGE"
    assert v.why.startswith("0 healthy behind web-alb:80 (web-tg 0 of 4 healthy)")
    assert "web-alb own 5xx 310/min" in v.why
    assert v.lb_5xx == {"web-alb": 310.0}


def test_a_weighted_target_group_without_healthy_targets_beside_a_healthy_one() -> None:
    snap = replace(
        verdict_state("SAFE"),
        sources=(
            SourceHealth("blue-tg", "target-group", 4, 4, 0, ("web-alb",)),
            SourceHealth("green-tg", "target-group", 0, 0, 0, ("web-alb",)),
        ),
        serving=(Serving("web-alb:8080", ("blue-tg", "green-tg")),),
    )
    v = verdict(snap)
    assert v.level == "DEGRADED"
    assert v.why == "green-tg has no registered target at web-alb:8080"
    # At weight 0 it serves nobody: nothing to say.
    snap = replace(snap, serving=(Serving("web-alb:8080", ("blue-tg",)),))
    assert verdict(snap).level == "SAFE"


def test_a_classic_load_balancer_with_nothing_in_service_and_an_alarm() -> None:
    snap = replace(
        verdict_state("SAFE"),
        sources=(SourceHealth("web-clb", "classic", 0, 2, 2, ("web-clb",)),),
        serving=None,
        alarms=(Alarm("web-5xx", "ALARM"),),
    )
    v = verdict(snap)
    assert v.level == "OUTAGE" and v.alarms == ("web-5xx",)
    assert v.why.startswith("0 of 2 healthy in web-clb") and "alarm web-5xx in ALARM" in v.why


def test_nothing_read_is_unknown_not_safe() -> None:
    snap = replace(verdict_state("SAFE"), sources=(), serving=None)
    # Without per-source counts, the instances' own health still tells.
    assert verdict(snap).level == "SAFE"
    bare = tuple(replace(i, health=()) for i in snap.replacement.instances)  # type: ignore[union-attr]
    snap = replace(snap, replacement=replace(snap.replacement, instances=bare))  # type: ignore[arg-type]
    assert verdict(snap).level == "UNKNOWN"
    assert verdict(snap).why == "target health not read"


def test_5xx_older_than_three_minutes_no_longer_count() -> None:
    snap = verdict_state("DEGRADED")
    later = replace(snap, server_time=NOW + timedelta(minutes=5))
    assert "5xx" not in verdict(later).why


def test_text_status_and_json_carry_the_verdict() -> None:
    snap = verdict_state("DEGRADED")
    text = render_status(snap).splitlines()
    assert text[1].startswith("DEGRADED: 2 of 4 replacements unhealthy, 5xx 38/min in web-tg")
    assert "b / cutover rollback: roll back" in text[1]
    whole = status_document(snap)
    validate(whole)
    doc = whole["verdict"]
    assert doc["level"] == "DEGRADED" and doc["key"] == "b" and doc["action"] == "rollback"
    assert doc["target_5xx_per_minute"] == {"web-tg": 38.0}
    assert doc["deadline"] == (NOW + timedelta(minutes=53, seconds=10)).isoformat()


def test_brief_is_five_lines_with_absolute_times() -> None:
    snap = verdict_state("DEGRADED")
    record = {
        "action": "approve",
        "deployment_id": "d-7QK2M4XZA",
        "caller": "arn:aws:iam::123456789012:user/alice",
        "server_time": (NOW - timedelta(minutes=12)).isoformat(),
        "outcome": "done",
    }
    lines = brief(snap, record)
    assert len(lines) == 5
    assert lines[0] == "web/web-prod (account 123456789012, eu-west-1) at 2026-03-04 03:11:58Z"
    assert lines[1].startswith("deployment d-7QK2M4XZA by user, created 2026-03-04 03:00:00Z (")
    assert lines[2] == (
        "phase termination-wait (InProgress), deadline 2026-03-04 04:05:10Z (in 53m): then the"
        " originals are terminated"
    )
    assert lines[3].startswith("DEGRADED: 2 of 4 replacements unhealthy")
    assert lines[4] == (
        "last action: approve d-7QK2M4XZA by arn:aws:iam::123456789012:user/alice at"
        " 2026-03-04 03:00:00Z (11m ago): done"
    )
    assert brief(snap)[4] == "last action: none recorded on this machine"


def test_terminated_instances_say_terminated() -> None:
    snap = verdict_state("SAFE")
    gone = tuple(
        replace(i, ec2_state="terminated", health=())
        for i in snap.original.instances  # type: ignore[union-attr]
    )
    snap = replace(snap, original=replace(snap.original, instances=gone))  # type: ignore[arg-type]
    text = render_status(snap)
    assert "Original (web-asg): 4 instance(s), terminated" in text
    assert "0 healthy" not in text.split("Replacement")[0]
    assert "  terminated" in text


def test_no_key_while_a_rollback_runs() -> None:
    snap = verdict_state("DEGRADED")
    dep = replace(snap.deployment, rollback_of="d-EARLIER", phase="rolling-back")  # type: ignore[arg-type]
    v = verdict(replace(snap, deployment=dep))
    assert v.level == "DEGRADED" and v.action is None


def test_a_classic_instance_still_registering_is_not_unhealthy() -> None:
    from cutover.backend.model import TargetHealth

    registering = TargetHealth(
        "web-clb", "classic", "OutOfService", "ELB", "Instance registration is still in progress."
    )
    failing = TargetHealth(
        "web-clb",
        "classic",
        "OutOfService",
        "Instance",
        "Instance has failed at least the UnhealthyThreshold number of health checks"
        " consecutively.",
    )
    assert not registering.failing and failing.failing
    snap = verdict_state("SAFE")
    reps = snap.replacement.instances  # type: ignore[union-attr]
    healthy = TargetHealth("web-clb", "classic", "InService")
    mixed = (
        replace(reps[0], health=(registering,)),
        *(replace(i, health=(healthy,)) for i in reps[1:]),
    )
    snap = replace(
        snap,
        replacement=replace(snap.replacement, instances=mixed),  # type: ignore[arg-type]
        sources=(SourceHealth("web-clb", "classic", 3, 4, 0, ("web-clb",)),),
        serving=None,
    )
    assert verdict(snap).level == "SAFE"
    snap = replace(
        snap,
        replacement=replace(
            snap.replacement,  # type: ignore[arg-type]
            instances=(replace(reps[0], health=(failing,)), *mixed[1:]),
        ),
    )
    assert verdict(snap).why.startswith("1 of 4 replacements unhealthy")
