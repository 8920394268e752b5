"""Reading a scenario file: a bundled name or a path, the YAML composed with line numbers, and
each section parsed in the file's order of dependence (target groups before the listeners
that forward to them, alarms before the deployment groups that name them)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from cutover.common.yamlcheck import YamlReader, compose

from .cloudwatch import parse_cloudwatch
from .codedeploy import parse_codedeploy
from .elb import parse_classic_load_balancers, parse_load_balancers, parse_target_groups
from .fields import Names
from .fleet import parse_auto_scaling_groups, parse_instances
from .spec import Scenario, ScenarioError

SCENARIO_DIR = Path(__file__).parent.parent / "scenarios"

_TOP_KEYS = (
    "name",
    "description",
    "region",
    "account_id",
    "time_scale",
    "seed",
    "load_balancers",
    "target_groups",
    "classic_load_balancers",
    "auto_scaling_groups",
    "instances",
    "cloudwatch",
    "codedeploy",
    "imds",
)


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A bundled scenario by name, else a file path."""
    bundled = SCENARIO_DIR / f"{name_or_path}.yaml"
    if "/" not in name_or_path and not name_or_path.endswith((".yaml", ".yml")):
        if bundled.exists():
            return bundled
        raise ScenarioError(
            f"unknown scenario '{name_or_path}' (bundled: {', '.join(available_scenarios())};"
            " or give a path to a .yaml file)"
        )
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    return path


def load_scenario(name_or_path: str) -> Scenario:
    """Read and validate a scenario; raises ScenarioError with `file:line: problem`."""
    path = resolve(name_or_path)
    root = compose(path, ScenarioError)
    if root is None:
        raise ScenarioError(f"{path}:1: the scenario is empty")
    return _parse(YamlReader(path, ScenarioError), root)


def _parse(r: YamlReader, root: yaml.Node) -> Scenario:
    top = r.mapping(root, "the scenario", optional=_TOP_KEYS)
    sc = _header(r, top)
    if "imds" in top:
        im = r.mapping(top["imds"], "imds", optional=("tokens",))
        if "tokens" in im:
            sc.imds_tokens = r.choice(im["tokens"], "imds tokens", ("optional", "required"))
    names = Names()
    parse_target_groups(r, top, sc, names)
    parse_load_balancers(r, top, sc, names)
    parse_classic_load_balancers(r, top, sc, names)
    parse_auto_scaling_groups(r, top, sc, names)
    parse_instances(r, top, sc, names)
    if "cloudwatch" in top:
        parse_cloudwatch(r, top["cloudwatch"], sc, names)
    if "codedeploy" in top:
        parse_codedeploy(r, top["codedeploy"], sc, names)
    return sc


def _header(r: YamlReader, top: dict[str, yaml.Node]) -> Scenario:
    """The scenario's own fields: name, description, region, account, time scale and seed."""
    region = r.string(top["region"], "region") if "region" in top else "us-east-1"
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise r.fail(top.get("region"), f"region '{region}' is not a region name")
    account = r.string(top["account_id"], "account_id") if "account_id" in top else "123456789012"
    if not re.fullmatch(r"\d{12}", account):
        raise r.fail(top.get("account_id"), "account_id must be 12 digits (quote it in YAML)")
    return Scenario(
        path=r.path,
        name=r.string(top["name"], "name") if "name" in top else r.path.stem,
        description=r.string(top["description"], "description") if "description" in top else "",
        region=region,
        account_id=account,
        time_scale=r.number(top["time_scale"], "time_scale", 0.01, 3600)
        if "time_scale" in top
        else 1.0,
        seed=r.integer(top["seed"], "seed", 0, 2**31) if "seed" in top else 0,
    )
