"""The line above the footer shares its width among the dimmed keys' reasons."""

from cutover.backend.model import Check
from cutover.tui.screens.dashboard import gates_verdict, shares


def test_short_reasons_stay_whole_and_long_ones_split_the_rest() -> None:
    assert shares([30, 90], 100) == [30, 70]
    assert shares([10, 10], 100) == [10, 10]
    assert shares([60, 60], 100) == [50, 50]
    assert shares([50, 5, 50], 60) == [27, 5, 27]
    assert shares([], 80) == []


def test_the_gates_verdict_names_what_fails() -> None:
    ok = (Check("capacity", True, "4 of 4"), Check("alarms", True, "OK"))
    assert gates_verdict(ok).plain == "Gates all 2 pass: capacity, alarms"
    bad = (*ok[:1], Check("alarms", False, "web-5xx in ALARM"))
    assert gates_verdict(bad).plain == "Gates 1 FAIL  alarms: web-5xx in ALARM"
