"""The bundled `estate` scenario is its generator's output, and holds what the overview bench
counts on: 500 groups in 50 applications, every style, a history with failures to sort."""

from __future__ import annotations

from collections import Counter

from cutover.sandbox.scenario import estate
from cutover.sandbox.scenario.load import SCENARIO_DIR, load_scenario


def test_estate_yaml_is_the_generators_output() -> None:
    assert (SCENARIO_DIR / "estate.yaml").read_text() == estate.render()


def test_estate_has_500_groups_of_every_style() -> None:
    sc = load_scenario("estate").codedeploy
    groups = [(app.name, g) for app in sc.applications for g in app.groups]
    assert len(sc.applications) == 50 and len(groups) == 500
    styles = Counter(
        (
            g.params["deploymentStyle"]["deploymentType"],
            g.params["deploymentStyle"]["deploymentOption"],
            bool(g.params.get("loadBalancerInfo", {}).get("elbInfoList")),
        )
        for _, g in groups
    )
    assert len(styles) == 4 and min(styles.values()) >= 100
    live = [g for app, g in groups if "autoScalingGroups" in g.params]
    assert {app for app, g in groups if "autoScalingGroups" in g.params} == {"shop", "accounts"}
    assert len(live) == 20
    history = [h for _, g in groups for h in g.history]
    statuses = Counter(h.status for h in history)
    assert statuses["Failed"] and statuses["Stopped"] and statuses["Succeeded"]
    assert any(h.rolled_back for h in history)
    assert any(h.status == "Failed" and (h.minutes_ago or 99) < 60 for h in history)
