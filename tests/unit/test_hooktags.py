"""The hooks' tag record: what one writes, the others read back the same."""

from datetime import UTC, datetime

from cutover.backend.core import hooktags


def test_home_round_trips_and_keeps_each_place_once():
    text = hooktags.home_text("web", [("blue", 80), ("blue", 80), ("api", 8080)], ["legacy"])
    assert text == "asg/web tg/blue/80 tg/api/8080 elb/legacy"
    home = hooktags.parse_home(text)
    assert home == hooktags.Home("web", [("blue", 80), ("api", 8080)], ["legacy"])


def test_home_written_by_hand_without_a_port_is_still_read():
    home = hooktags.parse_home("tg/blue elb/ junk asg/")
    assert home.tgs == [("blue", None)] and home.elbs == [] and home.asg is None


def test_out_reads_back_in_plain_words():
    when = datetime(2026, 12, 4, 3, 5, 9, tzinfo=UTC)
    value = hooktags.out_text("d-ABC", when, "BeforeInstall")
    assert value == "d-ABC 2026-12-04T03:05:09Z BeforeInstall"
    assert hooktags.describe_out(value) == (
        "taken out by the hooks in deployment d-ABC at 2026-12-04T03:05:09Z (BeforeInstall)"
    )
    assert hooktags.describe_out(hooktags.out_text(None, when, None)) == (
        "taken out by the hooks at 2026-12-04T03:05:09Z"
    )


def test_min_size_record_both_forms_and_nonsense():
    assert hooktags.parse_min_size(hooktags.min_size_text(4, 2)) == (4, 2)
    assert hooktags.parse_min_size("4") == (4, 3)
    for bad in ("", "x", "4>", "4>4", "3>5", "0"):
        assert hooktags.parse_min_size(bad) is None, bad


def test_suspended_list():
    assert hooktags.parse_suspended(hooktags.suspended_text(["Launch", "Terminate", "Launch"])) == [
        "Launch",
        "Terminate",
    ]
    assert hooktags.parse_suspended("AZRebalance, Launch  ") == ["AZRebalance", "Launch"]
    assert hooktags.parse_suspended(None) == []
