"""The leftovers check over hand-built reads: the cases the sandbox test does not make."""

from __future__ import annotations

import pytest
from cutover.backend.core.facts import Asg, Classic, Ec2, TargetGroup
from cutover.backend.core.hooktags import Home, describe_out, parse_home
from cutover.backend.core.leftovers import find_leftovers
from cutover.backend.model import Environment, Instance

TG = TargetGroup("web-tg", "arn:tg/web-tg/1", (), 30, {}, port=80)


def ec2(iid: str, **tags: str) -> Ec2:
    return Ec2(iid, "us-east-1a", "t3.micro", "running", None, None, tags=tags)


def check(**kw):  # type: ignore[no-untyped-def]
    base = dict(
        fleet=Environment("fleet", instances=(Instance("i-1"), Instance("i-2"))),
        active=None,
        ec2={"i-1": ec2("i-1"), "i-2": ec2("i-2")},
        asgs={},
        group_asgs=[],
        own_tgs=[],
        own_clbs=[],
        tgs=[],
        health={},
        unread=[],
    )
    base.update(kw)
    return find_leftovers(**base)


def test_with_traffic_control_an_instance_missing_from_the_groups_load_balancers() -> None:
    health = {
        "web-tg": [{"id": "i-1", "port": 80, "state": "healthy"}],
        "old-elb": [{"id": "i-1", "state": "InService"}, {"id": "i-2", "state": "InService"}],
    }
    found, why = check(own_tgs=[TG], own_clbs=[Classic("old-elb", 30)], tgs=[TG], health=health)
    assert why is None
    assert [(lo.kind, lo.resource, lo.target_group, lo.port) for lo in found] == [
        ("out-of-service", "i-2", "web-tg", 80)
    ]
    assert "BlockTraffic" in found[0].detail and found[0].target_group_arn == TG.arn


def test_records_left_behind_and_processes_resumed_by_someone_else() -> None:
    asg = Asg(
        "web-asg",
        4,
        8,
        4,
        {"i-1": "InService", "i-2": "InService"},
        tags={"cutover:hook:min-size": "4", "cutover:hook:suspended": "AZRebalance,Launch"},
        suspended=("Launch",),
    )
    found, _ = check(asgs={"web-asg": asg}, group_asgs=["web-asg"])
    assert [(lo.kind, lo.detail, lo.stale, lo.processes) for lo in found] == [
        ("min-size", "record left behind", True, ()),
        ("suspended", "Launch still suspended by the hooks", False, ("Launch",)),
    ]


def test_not_checked_while_a_deployment_runs_or_when_reads_failed() -> None:
    assert check(active="d-1") == (
        None,
        "deployment d-1 is running: checked when the deployment ends",
    )
    found, why = check(unread=["auto-scaling"])
    assert found is None and "auto-scaling" in (why or "")


def test_a_standby_member_without_the_hooks_mark() -> None:
    asg = Asg("web-asg", 2, 4, 1, {"i-1": "InService", "i-2": "Standby"})
    found, _ = check(asgs={"web-asg": asg}, group_asgs=["web-asg"])
    assert [(lo.kind, lo.resource, lo.tagged) for lo in found] == [("standby", "i-2", False)]
    assert "not by the hooks" in found[0].detail


def test_tag_formats() -> None:
    assert parse_home("asg/web-asg tg/web-tg/80 elb/legacy-elb tg/x") == Home(
        "web-asg", [("web-tg", 80), ("x", None)], ["legacy-elb"]
    )
    assert describe_out("d-1 2026-11-26T10:00:00Z ApplicationStop") == (
        "taken out by the hooks in deployment d-1 at 2026-11-26T10:00:00Z (ApplicationStop)"
    )
    assert describe_out("- 2026-11-26T10:00:00Z -") == (
        "taken out by the hooks at 2026-11-26T10:00:00Z"
    )


@pytest.mark.parametrize(
    ("record", "min_size", "stale", "restore", "words"),
    [
        ("4>3", 3, False, 4, "MinSize 3, was 4 before the hooks lowered it"),
        ("4", 3, False, 4, "MinSize 3, was 4 before the hooks lowered it"),  # earlier versions
        ("4>2", 2, False, 4, "MinSize 2, was 4 before the hooks lowered it"),
        ("4>3", 4, True, None, "record left behind"),
        ("4>3", 6, True, None, "MinSize 6, not the 3 the hooks set: changed by someone else"),
        ("4", 6, True, None, "MinSize 6, not the 3 the hooks set: changed by someone else"),
        ("4>2", 3, True, None, "MinSize 3, not the 2 the hooks set: changed by someone else"),
        ("four", 3, True, None, "not a record the hooks write: 'four'"),
    ],
)
def test_safety_11_min_size_is_restorable_only_while_it_is_the_value_the_hooks_set(
    record: str, min_size: int, stale: bool, restore: int | None, words: str
) -> None:
    asg = Asg("web-asg", min_size, 8, 6, {}, tags={"cutover:hook:min-size": record})
    found, _ = check(asgs={"web-asg": asg}, group_asgs=["web-asg"])
    assert [(lo.kind, lo.stale, lo.min_size) for lo in found] == [("min-size", stale, restore)]
    assert words in found[0].detail, found[0].detail
