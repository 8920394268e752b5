"""The bundled `estate` scenario is its generator's output, and holds what the overview bench
counts on: 500 groups in 50 applications, every style, a history with failures to sort."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from cutover.sandbox.codedeploy import state
from cutover.sandbox.scenario import ScenarioError, build_world, estate
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


GROUP = """
auto_scaling_groups:
  - {name: a, min: 1, max: 1, desired: 1, availability_zones: [us-east-1a], revision: v1}
codedeploy:
  applications:
    - name: app
      deployment_groups:
        - name: g
          style: in_place
          traffic_control: false
          auto_scaling_groups: [a]
          history:
"""


@pytest.mark.parametrize(
    ("history", "words"),
    [
        ("- {revision: v1, rolled_back: true}", "only a Failed or Stopped deployment"),
        ("- {revision: v1, status: Failed, rolled_back: true}", "needs an earlier Succeeded"),
        (
            "- {revision: v1, minutes_ago: 10}\n            - {revision: v2, minutes_ago: 20}",
            "oldest first",
        ),
    ],
)
def test_history_mistakes_are_named(tmp_path: Path, history: str, words: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GROUP + "            " + history + "\n")
    with pytest.raises(ScenarioError, match=words):
        load_scenario(str(path))


def test_a_rolled_back_deployment_is_followed_by_its_rollback(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        GROUP
        + "            - {revision: v1, minutes_ago: 120}\n"
        + "            - {revision: v2, status: Failed, minutes_ago: 30, rolled_back: true}\n"
    )
    world = build_world(load_scenario(str(path)))
    deps = sorted(state(world).deployments.values(), key=lambda d: d.created)
    assert [(d.label, d.status, d.creator) for d in deps] == [
        ("v1", "Succeeded", "user"),
        ("v2", "Failed", "user"),
        ("v1", "Succeeded", "codeDeployRollback"),
    ]
    failed, rollback = deps[1], deps[2]
    assert failed.rollback_info["rollbackDeploymentId"] == rollback.id
    assert rollback.rollback_info["rollbackTriggeringDeploymentId"] == failed.id
    assert failed.completed <= rollback.created
