"""Scenario files: YAML worlds for the sandbox, validated with the file and line of each problem.

A scenario names load balancers, target groups, classic load balancers, Auto Scaling groups and
standalone instances. `load_scenario` turns a name (a file in `scenarios/`) or a path into a
`Scenario`; `build_world` turns that into a `World`. Every problem is one `ScenarioError` line:
`path:line: what is wrong`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backend.sandbox.world import (
    AutoScalingGroup,
    ClassicLoadBalancer,
    HealthCheck,
    Listener,
    LoadBalancer,
    Rule,
    TargetGroup,
    World,
)

SCENARIO_DIR = Path(__file__).parent / "scenarios"

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")


class ScenarioError(Exception):
    """A scenario that cannot be loaded; str() is one line naming the file and line."""


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


# ----- a small validating reader over YAML nodes, so every error can name its line --------------


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node | None, message: str) -> ScenarioError:
        line = node.start_mark.line + 1 if node is not None else 1
        return ScenarioError(f"{self.path}:{line}: {message}")

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        *,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, yaml.Node] = {}
        allowed = set(required) | set(optional)
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                raise self.fail(
                    key_node, f"unknown key '{key}' in {what} (expected one of: {hint})"
                )
            if key in out:
                raise self.fail(key_node, f"duplicate key '{key}' in {what}")
            out[key] = value_node
        for key in required:
            if key not in out:
                raise self.fail(node, f"{what} is missing '{key}'")
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        return yaml.safe_load(yaml.serialize(node))

    def string(self, node: yaml.Node, what: str, *, pattern: re.Pattern | None = None) -> str:
        value = self.scalar(node, what)
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self.fail(node, f"{what} must be text")
        value = str(value)
        if pattern is not None and not pattern.match(value):
            raise self.fail(node, f"{what} '{value}' is not a valid name")
        return value

    def choice(self, node: yaml.Node, what: str, choices: tuple[str, ...]) -> str:
        value = self.string(node, what)
        if value not in choices:
            raise self.fail(node, f"{what} must be one of {', '.join(choices)}, not '{value}'")
        return value

    def integer(self, node: yaml.Node, what: str, lo: int, hi: int) -> int:
        value = self.scalar(node, what)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(node, f"{what} must be a whole number")
        if not lo <= value <= hi:
            raise self.fail(node, f"{what} must be from {lo} to {hi}, not {value}")
        return value

    def number(self, node: yaml.Node, what: str, lo: float, hi: float) -> float:
        value = self.scalar(node, what)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.fail(node, f"{what} must be a number")
        if not lo <= value <= hi:
            raise self.fail(node, f"{what} must be from {lo:g} to {hi:g}, not {value:g}")
        return float(value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        value = self.scalar(node, what)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false")
        return value

    def strings(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        return [(self.string(n, what), n) for n in self.sequence(node, what)]

    def tags(self, node: yaml.Node, what: str) -> dict[str, str]:
        m = self.mapping(node, what, optional=tuple(k.value for k, _ in node.value))
        return {k: self.string(v, f"{what} value") for k, v in m.items()}


# ----- the typed scenario -----------------------------------------------------------------------


@dataclass
class ForwardSpec:
    target_group: str
    weight: int
    line: yaml.Node


@dataclass
class RuleSpec:
    priority: int
    paths: list[str]
    hosts: list[str]
    forward: list[ForwardSpec]


@dataclass
class ListenerSpec:
    port: int
    protocol: str
    forward: list[ForwardSpec]
    rules: list[RuleSpec]


@dataclass
class LoadBalancerSpec:
    name: str
    type: str
    scheme: str
    availability_zones: list[str]
    listeners: list[ListenerSpec]


@dataclass
class TargetGroupSpec:
    name: str
    protocol: str
    port: int
    health_check: HealthCheck
    deregistration_delay: int


@dataclass
class ClassicSpec:
    name: str
    listeners: list[dict]
    health_check: HealthCheck
    health_target: str
    connection_draining: int | None
    availability_zones: list[str]


@dataclass
class AsgSpec:
    name: str
    min_size: int
    max_size: int
    desired: int
    availability_zones: list[str]
    instance_type: str
    revision: str
    target_groups: list[str]
    load_balancers: list[str]
    health_check_type: str
    health_check_grace_period: int
    tags: dict[str, str]


@dataclass
class InstanceSpec:
    name: str
    availability_zone: str
    instance_type: str
    revision: str
    tags: dict[str, str]
    target_groups: list[str]
    load_balancers: list[str]


@dataclass
class Scenario:
    path: Path
    name: str
    description: str
    region: str
    account_id: str
    time_scale: float
    seed: int
    load_balancers: list[LoadBalancerSpec] = field(default_factory=list)
    target_groups: list[TargetGroupSpec] = field(default_factory=list)
    classic_load_balancers: list[ClassicSpec] = field(default_factory=list)
    auto_scaling_groups: list[AsgSpec] = field(default_factory=list)
    instances: list[InstanceSpec] = field(default_factory=list)

    def listener_ports(self) -> list[tuple[str, int]]:
        """(a label for the listener, its port) for every listener in the scenario."""
        out = [
            (f"{lb.name}:{ls.port}", ls.port) for lb in self.load_balancers for ls in lb.listeners
        ]
        out += [
            (f"{clb.name}:{ls['LoadBalancerPort']}", ls["LoadBalancerPort"])
            for clb in self.classic_load_balancers
            for ls in clb.listeners
        ]
        return out

    def remap_listener_ports(self, ports: list[int]) -> None:
        """Give the listeners other ports, in the order of `listener_ports()`."""
        it = iter(ports)
        for lb in self.load_balancers:
            for ls in lb.listeners:
                ls.port = next(it)
        for clb in self.classic_load_balancers:
            for ls in clb.listeners:
                ls["LoadBalancerPort"] = next(it)


def load_scenario(name_or_path: str) -> Scenario:
    """Read and validate a scenario; raises ScenarioError with `file:line: problem`."""
    path = resolve(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError(f"{path}:{line}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if root is None:
        raise ScenarioError(f"{path}:1: the scenario is empty")
    return _parse(_Reader(path), root)


def _health_check(
    r: _Reader, node: yaml.Node | None, what: str, *, classic: bool
) -> tuple[HealthCheck, str | None]:
    """The health check, and for classic load balancers the `target` text when given."""
    hc = HealthCheck()
    if classic:
        hc.interval, hc.timeout, hc.healthy_threshold, hc.unhealthy_threshold = 30, 5, 10, 2
    if node is None:
        return hc, None
    keys = ("interval", "timeout", "healthy_threshold", "unhealthy_threshold")
    extra = ("target",) if classic else ("path", "protocol", "matcher", "enabled", "port")
    m = r.mapping(node, what, optional=keys + extra)
    if "interval" in m:
        hc.interval = r.integer(m["interval"], f"{what} interval", 5, 300)
    if "timeout" in m:
        hc.timeout = r.integer(m["timeout"], f"{what} timeout", 2, 120)
    if "healthy_threshold" in m:
        hc.healthy_threshold = r.integer(m["healthy_threshold"], f"{what} healthy_threshold", 2, 10)
    if "unhealthy_threshold" in m:
        hc.unhealthy_threshold = r.integer(
            m["unhealthy_threshold"], f"{what} unhealthy_threshold", 2, 10
        )
    if hc.timeout >= hc.interval:
        raise r.fail(node, f"{what} timeout ({hc.timeout}) must be less than interval")
    if "path" in m:
        hc.path = r.string(m["path"], f"{what} path")
        if not hc.path.startswith("/"):
            raise r.fail(m["path"], f"{what} path must start with /")
    if "protocol" in m:
        hc.protocol = r.choice(m["protocol"], f"{what} protocol", ("HTTP", "TCP"))
    if "matcher" in m:
        hc.matcher = r.string(m["matcher"], f"{what} matcher")
        if not re.fullmatch(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*", hc.matcher):
            raise r.fail(m["matcher"], f"{what} matcher must be codes like 200 or 200-299")
    if "enabled" in m:
        hc.enabled = r.boolean(m["enabled"], f"{what} enabled")
    if "port" in m:
        hc.port = str(r.integer(m["port"], f"{what} port", 1, 65535))
    target = None
    if "target" in m:
        target = r.string(m["target"], f"{what} target")
        match = re.fullmatch(r"(HTTP|HTTPS|TCP):(\d+)(/.*)?", target)
        if not match:
            raise r.fail(m["target"], f"{what} target must look like HTTP:80/health or TCP:80")
        hc.protocol = "HTTP" if match.group(1) != "TCP" else "TCP"
        hc.path = match.group(3) or "/"
    return hc, target


def _forward(r: _Reader, node: yaml.Node, what: str) -> list[ForwardSpec]:
    out = []
    for item in r.sequence(node, what):
        m = r.mapping(item, what, required=("target_group",), optional=("weight",))
        weight = r.integer(m["weight"], f"{what} weight", 0, 999) if "weight" in m else 1
        name = r.string(m["target_group"], f"{what} target_group")
        out.append(ForwardSpec(name, weight, m["target_group"]))
    if not out:
        raise r.fail(node, f"{what} needs at least one target group")
    return out


def _azs(r: _Reader, node: yaml.Node | None, what: str, region: str) -> list[str]:
    if node is None:
        return [f"{region}a", f"{region}b"]
    azs = []
    for az, n in r.strings(node, what):
        azs.append(az)
        if not re.fullmatch(rf"{re.escape(region)}[a-z]", az):
            raise r.fail(n, f"{what}: '{az}' is not an Availability Zone of {region}")
    if not azs:
        raise r.fail(node, f"{what} needs at least one zone")
    return azs


_NULL = yaml.ScalarNode("tag:yaml.org,2002:null", "")


def _parse(r: _Reader, root: yaml.Node) -> Scenario:
    top = r.mapping(
        root,
        "the scenario",
        optional=(
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
        ),
    )
    region = r.string(top["region"], "region") if "region" in top else "us-east-1"
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise r.fail(top.get("region"), f"region '{region}' is not a region name")
    account = r.string(top["account_id"], "account_id") if "account_id" in top else "123456789012"
    if not re.fullmatch(r"\d{12}", account):
        raise r.fail(top.get("account_id"), "account_id must be 12 digits (quote it in YAML)")
    sc = Scenario(
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

    tg_names: dict[str, yaml.Node] = {}
    for node in r.sequence(top.get("target_groups", _NULL), "target_groups"):
        m = r.mapping(
            node,
            "a target group",
            required=("name",),
            optional=("protocol", "port", "health_check", "deregistration_delay"),
        )
        name = r.string(m["name"], "target group name", pattern=NAME_RE)
        if name in tg_names:
            raise r.fail(m["name"], f"target group '{name}' is defined twice")
        tg_names[name] = m["name"]
        protocol = (
            r.choice(m["protocol"], "protocol", ("HTTP", "TCP")) if "protocol" in m else "HTTP"
        )
        hc, _ = _health_check(
            r, m.get("health_check"), f"target group {name} health_check", classic=False
        )
        if protocol == "TCP" and "health_check" not in m:
            hc.protocol = "TCP"
        sc.target_groups.append(
            TargetGroupSpec(
                name=name,
                protocol=protocol,
                port=r.integer(m["port"], "port", 1, 65535) if "port" in m else 80,
                health_check=hc,
                deregistration_delay=r.integer(
                    m["deregistration_delay"], "deregistration_delay", 0, 3600
                )
                if "deregistration_delay" in m
                else 300,
            )
        )

    def check_tg(spec: ForwardSpec) -> None:
        if spec.target_group not in tg_names:
            raise r.fail(spec.line, f"unknown target group '{spec.target_group}'")

    lb_names: set[str] = set()
    ports: dict[int, str] = {}

    def claim_port(port: int, node: yaml.Node, label: str) -> None:
        if port in ports:
            raise r.fail(node, f"port {port} of {label} is already used by {ports[port]}")
        ports[port] = label

    for node in r.sequence(top.get("load_balancers", _NULL), "load_balancers"):
        m = r.mapping(
            node,
            "a load balancer",
            required=("name", "listeners"),
            optional=("type", "scheme", "availability_zones"),
        )
        name = r.string(m["name"], "load balancer name", pattern=NAME_RE)
        if name in lb_names:
            raise r.fail(m["name"], f"load balancer '{name}' is defined twice")
        lb_names.add(name)
        kind = (
            r.choice(m["type"], "type", ("application", "network"))
            if "type" in m
            else "application"
        )
        listeners = []
        for ln in r.sequence(m["listeners"], f"listeners of {name}"):
            lm = r.mapping(
                ln,
                f"a listener of {name}",
                required=("port", "forward"),
                optional=("protocol", "rules"),
            )
            port = r.integer(lm["port"], "listener port", 1, 65535)
            claim_port(port, lm["port"], f"listener {name}:{port}")
            default_protocol = "HTTP" if kind == "application" else "TCP"
            allowed = ("HTTP",) if kind == "application" else ("TCP",)
            protocol = (
                r.choice(lm["protocol"], "listener protocol", allowed)
                if "protocol" in lm
                else default_protocol
            )
            forward = _forward(r, lm["forward"], f"forward of listener {name}:{port}")
            for f in forward:
                check_tg(f)
            rules = []
            for rn in r.sequence(lm.get("rules", _NULL), "rules"):
                if kind != "application":
                    raise r.fail(rn, "only application load balancers have rules")
                rm = r.mapping(
                    rn, "a rule", required=("priority", "forward"), optional=("path", "host")
                )
                paths = [p for p, _ in r.strings(rm["path"], "rule path")] if "path" in rm else []
                if "path" in rm and isinstance(rm["path"], yaml.ScalarNode):
                    paths = [r.string(rm["path"], "rule path")]
                hosts = []
                if "host" in rm:
                    hosts = (
                        [r.string(rm["host"], "rule host")]
                        if isinstance(rm["host"], yaml.ScalarNode)
                        else [h for h, _ in r.strings(rm["host"], "rule host")]
                    )
                if not paths and not hosts:
                    raise r.fail(rn, "a rule needs a path or a host condition")
                fwd = _forward(r, rm["forward"], "forward of a rule")
                for f in fwd:
                    check_tg(f)
                rules.append(
                    RuleSpec(
                        priority=r.integer(rm["priority"], "rule priority", 1, 50000),
                        paths=paths,
                        hosts=hosts,
                        forward=fwd,
                    )
                )
            listeners.append(ListenerSpec(port, protocol, forward, rules))
        sc.load_balancers.append(
            LoadBalancerSpec(
                name=name,
                type=kind,
                scheme=r.choice(m["scheme"], "scheme", ("internet-facing", "internal"))
                if "scheme" in m
                else "internet-facing",
                availability_zones=_azs(
                    r, m.get("availability_zones"), "availability_zones", region
                ),
                listeners=listeners,
            )
        )

    clb_names: set[str] = set()
    for node in r.sequence(top.get("classic_load_balancers", _NULL), "classic_load_balancers"):
        m = r.mapping(
            node,
            "a classic load balancer",
            required=("name", "listeners"),
            optional=("health_check", "connection_draining", "availability_zones"),
        )
        name = r.string(m["name"], "classic load balancer name", pattern=NAME_RE)
        if name in clb_names or name in lb_names:
            raise r.fail(m["name"], f"load balancer '{name}' is defined twice")
        clb_names.add(name)
        listeners = []
        for ln in r.sequence(m["listeners"], f"listeners of {name}"):
            lm = r.mapping(
                ln,
                f"a listener of {name}",
                required=("port",),
                optional=("instance_port", "protocol"),
            )
            port = r.integer(lm["port"], "listener port", 1, 65535)
            claim_port(port, lm["port"], f"listener {name}:{port}")
            protocol = (
                r.choice(lm["protocol"], "listener protocol", ("HTTP", "TCP"))
                if "protocol" in lm
                else "HTTP"
            )
            listeners.append(
                {
                    "Protocol": protocol,
                    "LoadBalancerPort": port,
                    "InstanceProtocol": protocol,
                    "InstancePort": r.integer(lm["instance_port"], "instance_port", 1, 65535)
                    if "instance_port" in lm
                    else 80,
                }
            )
        if not listeners:
            raise r.fail(m["listeners"], f"{name} needs at least one listener")
        hc, target = _health_check(r, m.get("health_check"), f"{name} health_check", classic=True)
        if target is None:
            hc.path = "/health" if hc.protocol == "HTTP" else "/"
            target = f"{hc.protocol}:{listeners[0]['InstancePort']}" + (
                hc.path if hc.protocol == "HTTP" else ""
            )
        sc.classic_load_balancers.append(
            ClassicSpec(
                name=name,
                listeners=listeners,
                health_check=hc,
                health_target=target,
                connection_draining=r.integer(
                    m["connection_draining"], "connection_draining", 0, 3600
                )
                if "connection_draining" in m
                else 300,
                availability_zones=_azs(
                    r, m.get("availability_zones"), "availability_zones", region
                ),
            )
        )

    def check_lbs(names: list[tuple[str, yaml.Node]], groups: list[tuple[str, yaml.Node]]) -> None:
        for n, node in groups:
            if n not in tg_names:
                raise r.fail(node, f"unknown target group '{n}'")
        for n, node in names:
            if n not in clb_names:
                raise r.fail(node, f"unknown classic load balancer '{n}'")

    asg_names: set[str] = set()
    for node in r.sequence(top.get("auto_scaling_groups", _NULL), "auto_scaling_groups"):
        m = r.mapping(
            node,
            "an Auto Scaling group",
            required=("name",),
            optional=(
                "min",
                "max",
                "desired",
                "availability_zones",
                "instance_type",
                "revision",
                "target_groups",
                "load_balancers",
                "health_check_type",
                "health_check_grace_period",
                "tags",
            ),
        )
        name = r.string(m["name"], "group name", pattern=re.compile(r"^[\w.-]{1,255}$"))
        if name in asg_names:
            raise r.fail(m["name"], f"Auto Scaling group '{name}' is defined twice")
        asg_names.add(name)
        desired = r.integer(m["desired"], "desired", 0, 500) if "desired" in m else 2
        min_size = r.integer(m["min"], "min", 0, 500) if "min" in m else desired
        max_size = r.integer(m["max"], "max", 0, 500) if "max" in m else max(desired, min_size) * 2
        if not min_size <= desired <= max_size:
            raise r.fail(
                node,
                f"group {name} needs min <= desired <= max ({min_size}, {desired}, {max_size})",
            )
        groups = r.strings(m["target_groups"], "target_groups") if "target_groups" in m else []
        clbs = r.strings(m["load_balancers"], "load_balancers") if "load_balancers" in m else []
        check_lbs(clbs, groups)
        sc.auto_scaling_groups.append(
            AsgSpec(
                name=name,
                min_size=min_size,
                max_size=max_size,
                desired=desired,
                availability_zones=_azs(
                    r, m.get("availability_zones"), "availability_zones", region
                ),
                instance_type=r.string(m["instance_type"], "instance_type")
                if "instance_type" in m
                else "t3.micro",
                revision=r.string(m["revision"], "revision") if "revision" in m else "v1",
                target_groups=[g for g, _ in groups],
                load_balancers=[c for c, _ in clbs],
                health_check_type=r.choice(
                    m["health_check_type"], "health_check_type", ("EC2", "ELB")
                )
                if "health_check_type" in m
                else "EC2",
                health_check_grace_period=r.integer(
                    m["health_check_grace_period"], "health_check_grace_period", 0, 7200
                )
                if "health_check_grace_period" in m
                else 300,
                tags=r.tags(m["tags"], "tags") if "tags" in m else {},
            )
        )

    for node in r.sequence(top.get("instances", _NULL), "instances"):
        m = r.mapping(
            node,
            "an instance",
            required=("name",),
            optional=(
                "availability_zone",
                "instance_type",
                "revision",
                "tags",
                "target_groups",
                "load_balancers",
            ),
        )
        name = r.string(m["name"], "instance name")
        groups = r.strings(m["target_groups"], "target_groups") if "target_groups" in m else []
        clbs = r.strings(m["load_balancers"], "load_balancers") if "load_balancers" in m else []
        check_lbs(clbs, groups)
        az = f"{region}a"
        if "availability_zone" in m:
            az = r.string(m["availability_zone"], "availability_zone")
            if not re.fullmatch(rf"{re.escape(region)}[a-z]", az):
                raise r.fail(
                    m["availability_zone"], f"'{az}' is not an Availability Zone of {region}"
                )
        sc.instances.append(
            InstanceSpec(
                name=name,
                availability_zone=az,
                instance_type=r.string(m["instance_type"], "instance_type")
                if "instance_type" in m
                else "t3.micro",
                revision=r.string(m["revision"], "revision") if "revision" in m else "v1",
                tags=r.tags(m["tags"], "tags") if "tags" in m else {},
                target_groups=[g for g, _ in groups],
                load_balancers=[c for c, _ in clbs],
            )
        )
    return sc


def build_world(sc: Scenario, *, time_scale: float | None = None) -> World:
    """A fresh World holding everything the scenario describes.

    Auto Scaling groups start empty with their desired capacity set: the first tick launches
    their instances, which the data plane boots and the groups then register, exactly as a
    scale-out would. Standalone instances are launched and registered directly.
    """
    world = World(
        region=sc.region,
        account_id=sc.account_id,
        time_scale=time_scale or sc.time_scale,
        seed=sc.seed,
    )
    with world.lock:
        tgs: dict[str, TargetGroup] = {}
        for spec in sc.target_groups:
            tg = TargetGroup(
                arn=world.arn(
                    "elasticloadbalancing", f"targetgroup/{spec.name}/{world.new_id('', 16)}"
                ),
                name=spec.name,
                protocol=spec.protocol,
                port=spec.port,
                vpc_id=world.vpc_id,
                health_check=spec.health_check,
                attributes={
                    "deregistration_delay.timeout_seconds": str(spec.deregistration_delay),
                    "stickiness.enabled": "false",
                    "stickiness.type": "lb_cookie" if spec.protocol == "HTTP" else "source_ip",
                    "stickiness.lb_cookie.duration_seconds": "86400",
                    "load_balancing.algorithm.type": "round_robin",
                    "slow_start.duration_seconds": "0",
                },
            )
            world.target_groups[tg.arn] = tg
            tgs[spec.name] = tg

        def actions(forward: list[ForwardSpec]) -> list[dict]:
            groups = [
                {"TargetGroupArn": tgs[f.target_group].arn, "Weight": f.weight} for f in forward
            ]
            action: dict = {
                "Type": "forward",
                "Order": 1,
                "ForwardConfig": {
                    "TargetGroups": groups,
                    "TargetGroupStickinessConfig": {"Enabled": False},
                },
            }
            if len(groups) == 1:
                action["TargetGroupArn"] = groups[0]["TargetGroupArn"]
            return [action]

        for spec in sc.load_balancers:
            short = "app" if spec.type == "application" else "net"
            lb_id = world.new_id("", 16)
            lb = LoadBalancer(
                arn=world.arn("elasticloadbalancing", f"loadbalancer/{short}/{spec.name}/{lb_id}"),
                name=spec.name,
                type=spec.type,
                scheme=spec.scheme,
                dns_name=world.dns_name(spec.name, spec.type),
                vpc_id=world.vpc_id,
                azs=list(spec.availability_zones),
                subnets={az: world.subnet_for(az) for az in spec.availability_zones},
                created=world.now(),
                security_groups=[world.new_id("sg-", 17)] if spec.type == "application" else [],
            )
            for ls in spec.listeners:
                l_id = world.new_id("", 16)
                l_arn = world.arn(
                    "elasticloadbalancing", f"listener/{short}/{spec.name}/{lb_id}/{l_id}"
                )
                rule_prefix = world.arn(
                    "elasticloadbalancing", f"listener-rule/{short}/{spec.name}/{lb_id}/{l_id}"
                )
                rules = [
                    Rule(
                        arn=f"{rule_prefix}/{world.new_id('', 16)}",
                        priority="default",
                        conditions=[],
                        actions=actions(ls.forward),
                    )
                ]
                for rs in sorted(ls.rules, key=lambda x: x.priority):
                    conditions = []
                    if rs.paths:
                        conditions.append(
                            {
                                "Field": "path-pattern",
                                "Values": rs.paths,
                                "PathPatternConfig": {"Values": rs.paths},
                            }
                        )
                    if rs.hosts:
                        conditions.append(
                            {
                                "Field": "host-header",
                                "Values": rs.hosts,
                                "HostHeaderConfig": {"Values": rs.hosts},
                            }
                        )
                    rules.append(
                        Rule(
                            arn=f"{rule_prefix}/{world.new_id('', 16)}",
                            priority=str(rs.priority),
                            conditions=conditions,
                            actions=actions(rs.forward),
                        )
                    )
                lb.listeners[l_arn] = Listener(
                    arn=l_arn, lb_arn=lb.arn, port=ls.port, protocol=ls.protocol, rules=rules
                )
            world.load_balancers[lb.arn] = lb

        for spec in sc.classic_load_balancers:
            world.classic_lbs[spec.name] = ClassicLoadBalancer(
                name=spec.name,
                dns_name=world.dns_name(spec.name, "classic"),
                azs=list(spec.availability_zones),
                subnets=[world.subnet_for(az) for az in spec.availability_zones],
                vpc_id=world.vpc_id,
                created=world.now(),
                listeners=spec.listeners,
                health_check=spec.health_check,
                health_target=spec.health_target,
                attributes={
                    "ConnectionDraining": {
                        "Enabled": spec.connection_draining is not None,
                        "Timeout": spec.connection_draining or 300,
                    },
                    "ConnectionSettings": {"IdleTimeout": 60},
                    "CrossZoneLoadBalancing": {"Enabled": True},
                    "AccessLog": {"Enabled": False},
                },
            )

        for spec in sc.auto_scaling_groups:
            asg_uuid = world.new_uuid()
            world.asgs[spec.name] = AutoScalingGroup(
                name=spec.name,
                arn=world.arn(
                    "autoscaling", f"autoScalingGroup:{asg_uuid}:autoScalingGroupName/{spec.name}"
                ),
                min_size=spec.min_size,
                max_size=spec.max_size,
                desired=spec.desired,
                azs=list(spec.availability_zones),
                instance_type=spec.instance_type,
                revision=spec.revision,
                created=world.now(),
                launch_template={
                    "LaunchTemplateId": world.new_id("lt-", 17),
                    "LaunchTemplateName": f"{spec.name}-template",
                    "Version": "$Default",
                },
                target_group_arns=[tgs[n].arn for n in spec.target_groups],
                load_balancer_names=list(spec.load_balancers),
                health_check_type=spec.health_check_type,
                health_check_grace_period=spec.health_check_grace_period,
                tags=[
                    {"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in spec.tags.items()
                ],
                vpc_zone_identifier=",".join(
                    world.subnet_for(az) for az in spec.availability_zones
                ),
            )

        for spec in sc.instances:
            inst = world.launch_instance(
                az=spec.availability_zone,
                instance_type=spec.instance_type,
                revision=spec.revision,
                tags={"Name": spec.name, **spec.tags},
            )
            for name in spec.target_groups:
                world.register(tgs[name], inst.id)
            for name in spec.load_balancers:
                world.register_classic(world.classic_lbs[name], inst.id)
    return world
