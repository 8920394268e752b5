"""Scenario files: the bundled ones build, and every mistake names its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover.sandbox.scenario import (
    ScenarioError,
    available_scenarios,
    build_world,
    load_scenario,
)


def test_bundled_scenarios_build() -> None:
    assert {"default", "classic", "nlb"} <= set(available_scenarios())
    for name in available_scenarios():
        sc = load_scenario(name)
        world = build_world(sc)
        assert sc.listener_ports(), name
        assert world.asgs, name


def test_default_scenario_is_what_the_docs_promise() -> None:
    sc = load_scenario("default")
    world = build_world(sc)
    (lb,) = [b for b in world.load_balancers.values() if b.name == "web-alb"]
    assert lb.type == "application"
    (listener,) = lb.listeners.values()
    assert listener.protocol == "HTTP" and listener.port == 8080
    (tg,) = [t for t in world.target_groups.values() if t.name == "web-tg"]
    assert [arn for arn, _ in world.rule_target_groups(listener.default_rule)] == [tg.arn]
    asg = world.asgs["web-asg"]
    assert asg.desired == 4 and len(asg.azs) == 2 and asg.revision == "v1"
    assert asg.target_group_arns == [tg.arn]
    assert lb.dns_name.endswith(".localhost")
    # Around web: a small estate of every style, kept out of `--load`.
    apps = {a.name: [g.name for g in a.groups] for a in sc.codedeploy.applications}
    assert apps["web"] == ["web-prod"] and sum(map(len, apps.values())) == 12
    assert sc.unloaded() == {"search-alb", "payments-nlb", "api-clb"}


def test_same_seed_same_ids() -> None:
    a = build_world(load_scenario("default"))
    b = build_world(load_scenario("default"))
    assert list(a.target_groups) == list(b.target_groups)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("target_groups:\n  - name: a\n    prot: HTTP\n", 3, "unknown key 'prot'"),
        (
            "target_groups:\n  - name: a\n    health_check:\n      interval: 1\n",
            4,
            "interval must be from 5 to 300",
        ),
        (
            "load_balancers:\n  - name: lb\n    listeners:\n      - port: 8080\n"
            "        forward:\n          - target_group: nope\n",
            6,
            "unknown target group 'nope'",
        ),
        ("time_scale: fast\n", 1, "time_scale must be a number"),
        ("a: [1,\n", 2, "not valid YAML"),
        (
            "auto_scaling_groups:\n  - name: g\n    min: 3\n    desired: 2\n",
            2,
            "min <= desired <= max",
        ),
        ("account_id: 12\n", 1, "12 digits"),
        ("", 1, "empty"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(str(path))
    message = str(err.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message
    assert "\n" not in message


def test_unknown_name_lists_bundled() -> None:
    with pytest.raises(
        ScenarioError,
        match="bundled: big, classic, default, estate, hooks, huge, inplace, nlb, preview,"
        " weighted",
    ):
        load_scenario("nosuch")
