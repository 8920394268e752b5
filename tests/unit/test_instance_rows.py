"""The instance tables' words and order: attention states, counts, short ids, cells, fitting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cutover.backend.model import Instance, TargetHealth
from cutover.tui.widgets.header import revisions
from cutover.tui.widgets.rows import (
    Row,
    attention,
    counts_text,
    health_text,
    ordered,
    short_id,
    short_keep,
    status_text,
)
from cutover.tui.widgets.table_layout import fit

NOW = datetime(2026, 3, 4, 3, 12, tzinfo=UTC)


def tg(state: str, reason: str | None = None, **kw: object) -> TargetHealth:
    return TargetHealth("web-tg", "target-group", state, reason, **kw)  # type: ignore[arg-type]


def inst(
    iid: str, *health: TargetHealth, status: str = "Succeeded", ec2: str = "running"
) -> Instance:
    return Instance(id=iid, ec2_state=ec2, lifecycle_status=status, health=health)


DRAINING = tg(
    "draining", "Target.DeregistrationInProgress", drain_deadline=NOW + timedelta(seconds=38)
)
FLEET = [
    inst("i-07", tg("healthy")),
    inst("i-06", tg("unused", "Target.NotRegistered")),
    inst("i-05", tg("healthy"), status="InProgress"),
    inst("i-04", tg("initial", "Elb.InitialHealthChecking")),
    inst("i-03", DRAINING),
    inst("i-02", tg("unhealthy", "Target.Timeout")),
    inst("i-01", tg("healthy"), status="Failed"),
    inst("i-00", tg("healthy"), ec2="terminated"),
]


def test_attention_states_in_order_of_trouble() -> None:
    rows = [Row(i, NOW, fleet=False, in_flight=False) for i in FLEET]
    got = [(r.id, r.state) for r in ordered(rows)]
    assert got == [
        ("i-00", "failed"),
        ("i-01", "failed"),
        ("i-02", "unhealthy"),
        ("i-03", "draining"),
        ("i-04", "initial"),
        ("i-05", "in progress"),
        ("i-06", "not serving"),
        ("i-07", "healthy"),
    ]
    assert [r.id for r in ordered(rows, by_id=True)] == sorted(i.id for i in FLEET)


def test_in_flight_is_in_progress_and_unhealthy_beats_draining() -> None:
    assert attention(inst("i-1", tg("healthy"), status="Pending"), in_flight=True) == "in progress"
    assert attention(inst("i-1", DRAINING, tg("unhealthy", "Target.Timeout"))) == "unhealthy"


def test_counts_in_attention_order_without_zeroes() -> None:
    states = ["healthy"] * 197 + ["draining", "draining", "unhealthy"]
    assert counts_text(states).plain == "1 unhealthy, 2 draining, 197 healthy"
    assert counts_text([]).plain == "no instances"


def test_health_in_words_with_reason_or_countdown() -> None:
    assert health_text((tg("healthy"),), NOW).plain == "healthy"
    assert health_text((DRAINING,), NOW).plain == "draining 38s left"
    assert health_text((tg("unhealthy", "Target.Timeout"),), NOW).plain == "unhealthy: timed out"
    assert health_text((tg("initial", "Elb.RegistrationInProgress"),), NOW).plain == (
        "initial: registering"
    )
    assert health_text((tg("unhealthy", "Target.SomethingNew"),), NOW).plain == (
        "unhealthy: something new"
    )
    assert health_text((), NOW).plain == "not registered"
    late = tg("draining", drain_deadline=NOW - timedelta(seconds=5))
    assert "passed" in health_text((late,), NOW).plain
    classic = TargetHealth(
        "web-clb",
        "classic",
        "OutOfService",
        "Instance",
        "Instance has failed at least the UnhealthyThreshold number of health checks.",
    )
    assert health_text((classic,), NOW).plain == "out of service: failing checks"


def test_status_in_words_never_none_or_enum() -> None:
    assert status_text(inst("i-1", status="InProgress")).plain == "in progress"
    assert status_text(inst("i-1", status="Failed", ec2="terminated")).plain == (
        "failed, terminated"
    )
    standby = Instance(id="i-1", lifecycle_status="InProgress", asg_lifecycle="Standby")
    assert status_text(standby, fleet=True).plain == "in progress, standby"
    bare = Instance(id="i-1")
    assert status_text(bare).plain == "-"


def test_short_ids_one_rule() -> None:
    assert short_id("i-0a1b2c3d4e5d13836") == "i-…d13836"
    assert short_id("i-0aaa") == "i-0aaa"
    assert short_keep(["i-0a1b2c3d4e5d13836", "i-0ffffffffffd13836"]) == 7
    assert short_keep(["i-0a1b2c3d4e5d13836", "i-0a1b2c3d4e5d13837"]) == 6


def test_fit_keeps_id_and_health_drops_the_rest() -> None:
    natural = (19, 20, 11, 12, 2)  # instance, health, status, event, az
    assert fit(natural, 9, 200) == natural
    # Narrow: short ids first, then whole columns while they fit, the next cut or left out.
    assert fit(natural, 9, 36) == (9, 20, 0, 0, 0)
    assert fit(natural, 9, 44) == (9, 20, 11, 0, 0)
    assert fit(natural, 9, 56) == (9, 20, 11, 10, 0)  # cut, with `…`
    assert fit(natural, 9, 30) == (9, 19, 0, 0, 0)  # health is never left out


def test_revisions_without_question_marks() -> None:
    assert revisions("s3://b/web/v1.zip", "s3://b/web/v2.zip") == "v1 -> v2"
    assert revisions(None, "s3://b/web/v1.zip") == "v1 (no earlier revision known)"
