"""The sandbox's CodeDeploy phase table is closed: every phase leads only to phases of the
table, and every phase but `done` (where any ending leads) is reachable from `start`."""

from __future__ import annotations

from cutover.sandbox.codedeploy.phases import PHASES


def test_every_phase_leads_to_a_phase_of_the_table() -> None:
    for name, phase in PHASES.items():
        assert set(phase.leads_to) <= set(PHASES), name


def test_every_phase_but_done_is_reachable_from_start() -> None:
    # ContinueDeployment moves a Ready deployment from ready to allow.
    edges = {name: set(phase.leads_to) for name, phase in PHASES.items()}
    edges["ready"].add("allow")
    reached, todo = {"start"}, ["start"]
    while todo:
        for following in edges[todo.pop()] - reached:
            reached.add(following)
            todo.append(following)
    assert set(PHASES) - reached == {"done"}
