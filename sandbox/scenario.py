"""Scenario files: YAML worlds for the sandbox, validated with the file and line of each problem.

A scenario names load balancers, target groups, classic load balancers, Auto Scaling groups and
standalone instances. `load_scenario` turns a name (a file in `scenarios/`) or a path into a
`Scenario`; `build_world` turns that into a `World`. Every problem is one `ScenarioError` line:
`path:line: what is wrong`.

Besides the resources: `imds: {tokens: optional|required}` (the instance metadata service
answers IMDSv1 too, or only requests with an IMDSv2 token) and `codedeploy.bundles:
{<revision label or "*">: <directory relative to the scenario file>}` (revisions that are local
directories, whose appspec hooks the sandbox's agent runs; see agent.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cutover.common.yamlcheck import NULL, YamlReader, compose
from cutover.sandbox.world import (
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
class AlarmSpec:
    """A CloudWatch metric alarm, as PutMetricAlarm params with names still to resolve."""

    name: str
    params: dict
    dimension_refs: dict[str, str]  # TargetGroup/LoadBalancer -> a scenario name to resolve


@dataclass
class HistorySpec:
    revision: str
    status: str


@dataclass
class DeploymentGroupSpec:
    name: str
    params: dict  # CreateDeploymentGroup params, with names already final
    history: list[HistorySpec]


@dataclass
class ApplicationSpec:
    name: str
    groups: list[DeploymentGroupSpec]


@dataclass
class CodeDeploySpec:
    durations: dict[str, float] = field(default_factory=dict)
    configs: list[dict] = field(default_factory=list)  # CreateDeploymentConfig params
    applications: list[ApplicationSpec] = field(default_factory=list)
    # Revisions that are local directories: a revision label (an S3 key's file name without
    # its extension, engine.revision_label) or "*" -> the directory, made absolute.
    bundles: dict[str, Path] = field(default_factory=dict)


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
    alarms: list[AlarmSpec] = field(default_factory=list)
    codedeploy: CodeDeploySpec = field(default_factory=CodeDeploySpec)
    # The instance metadata service: "optional" answers IMDSv1 and IMDSv2; "required" answers
    # only requests with a session token (EC2's HttpTokens=required, IMDSv2-only).
    imds_tokens: str = "optional"

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
    root = compose(path, ScenarioError)
    if root is None:
        raise ScenarioError(f"{path}:1: the scenario is empty")
    return _parse(YamlReader(path, ScenarioError), root)


def _health_check(
    r: YamlReader, node: yaml.Node | None, what: str, *, classic: bool
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


def _forward(r: YamlReader, node: yaml.Node, what: str) -> list[ForwardSpec]:
    out = []
    for item in r.sequence(node, what):
        m = r.mapping(item, what, required=("target_group",), optional=("weight",))
        weight = r.integer(m["weight"], f"{what} weight", 0, 999) if "weight" in m else 1
        name = r.string(m["target_group"], f"{what} target_group")
        out.append(ForwardSpec(name, weight, m["target_group"]))
    if not out:
        raise r.fail(node, f"{what} needs at least one target group")
    return out


def _azs(r: YamlReader, node: yaml.Node | None, what: str, region: str) -> list[str]:
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


def _parse(r: YamlReader, root: yaml.Node) -> Scenario:
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
            "cloudwatch",
            "codedeploy",
            "imds",
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

    if "imds" in top:
        im = r.mapping(top["imds"], "imds", optional=("tokens",))
        if "tokens" in im:
            sc.imds_tokens = r.choice(im["tokens"], "imds tokens", ("optional", "required"))

    tg_names: dict[str, yaml.Node] = {}
    for node in r.sequence(top.get("target_groups", NULL), "target_groups"):
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

    for node in r.sequence(top.get("load_balancers", NULL), "load_balancers"):
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
            for rn in r.sequence(lm.get("rules", NULL), "rules"):
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
    for node in r.sequence(top.get("classic_load_balancers", NULL), "classic_load_balancers"):
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
    for node in r.sequence(top.get("auto_scaling_groups", NULL), "auto_scaling_groups"):
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

    for node in r.sequence(top.get("instances", NULL), "instances"):
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
    if "cloudwatch" in top:
        _parse_cloudwatch(r, top["cloudwatch"], sc, tg_names, lb_names)
    if "codedeploy" in top:
        _parse_codedeploy(r, top["codedeploy"], sc, tg_names, clb_names, asg_names)
    return sc


LIFECYCLE_EVENTS = (
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
    "BeforeBlockTraffic",
    "BlockTraffic",
    "AfterBlockTraffic",
)

COMPARISONS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)


def _parse_cloudwatch(
    r: YamlReader, node: yaml.Node, sc: Scenario, tg_names: dict, lb_names: set[str]
) -> None:
    m = r.mapping(node, "cloudwatch", optional=("alarms",))
    seen: set[str] = set()
    for an in r.sequence(m.get("alarms", NULL), "alarms"):
        am = r.mapping(
            an,
            "an alarm",
            required=("name", "metric", "threshold"),
            optional=(
                "description",
                "namespace",
                "dimensions",
                "statistic",
                "period",
                "evaluation_periods",
                "datapoints_to_alarm",
                "comparison",
                "treat_missing_data",
            ),
        )
        name = r.string(am["name"], "alarm name")
        if name in seen:
            raise r.fail(am["name"], f"alarm '{name}' is defined twice")
        seen.add(name)
        refs: dict[str, str] = {}
        if "dimensions" in am:
            dm = r.mapping(am["dimensions"], "dimensions", optional=("TargetGroup", "LoadBalancer"))
            for key, vn in dm.items():
                value = r.string(vn, f"dimension {key}")
                known = tg_names if key == "TargetGroup" else lb_names
                if value not in known:
                    kind = "target group" if key == "TargetGroup" else "load balancer"
                    raise r.fail(vn, f"unknown {kind} '{value}' in dimension {key}")
                refs[key] = value
        evaluation = (
            r.integer(am["evaluation_periods"], "evaluation_periods", 1, 100)
            if "evaluation_periods" in am
            else 1
        )
        params = {
            "AlarmName": name,
            "AlarmDescription": r.string(am["description"], "description")
            if "description" in am
            else "",
            "Namespace": r.string(am["namespace"], "namespace")
            if "namespace" in am
            else "AWS/ApplicationELB",
            "MetricName": r.string(am["metric"], "metric"),
            "Statistic": r.choice(
                am["statistic"],
                "statistic",
                ("Sum", "Average", "Maximum", "Minimum", "SampleCount"),
            )
            if "statistic" in am
            else "Sum",
            "Period": _alarm_period(r, am["period"]) if "period" in am else 60,
            "EvaluationPeriods": evaluation,
            "DatapointsToAlarm": r.integer(
                am["datapoints_to_alarm"], "datapoints_to_alarm", 1, evaluation
            )
            if "datapoints_to_alarm" in am
            else evaluation,
            "Threshold": r.number(am["threshold"], "threshold", -1e12, 1e12),
            "ComparisonOperator": r.choice(am["comparison"], "comparison", COMPARISONS)
            if "comparison" in am
            else "GreaterThanThreshold",
            "TreatMissingData": r.choice(
                am["treat_missing_data"],
                "treat_missing_data",
                ("missing", "notBreaching", "breaching", "ignore"),
            )
            if "treat_missing_data" in am
            else "notBreaching",
        }
        sc.alarms.append(AlarmSpec(name=name, params=params, dimension_refs=refs))


def _alarm_period(r: YamlReader, node: yaml.Node) -> int:
    period = r.integer(node, "period", 10, 86400)
    if period not in (10, 20, 30) and period % 60:
        raise r.fail(node, f"period must be 10, 20, 30 or a multiple of 60, not {period}")
    return period


def _parse_codedeploy(
    r: YamlReader,
    node: yaml.Node,
    sc: Scenario,
    tg_names: dict,
    clb_names: set[str],
    asg_names: set[str],
) -> None:
    m = r.mapping(
        node,
        "codedeploy",
        optional=("lifecycle_durations", "deployment_configs", "applications", "bundles"),
    )
    spec = sc.codedeploy
    if "bundles" in m:
        spec.bundles = _bundles(r, m["bundles"])
    if "lifecycle_durations" in m:
        dm = r.mapping(m["lifecycle_durations"], "lifecycle_durations", optional=LIFECYCLE_EVENTS)
        spec.durations = {
            k: r.number(v, f"lifecycle_durations {k}", 0, 86400) for k, v in dm.items()
        }
    config_names = {
        "CodeDeployDefault.OneAtATime",
        "CodeDeployDefault.HalfAtATime",
        "CodeDeployDefault.AllAtOnce",
    }
    for cn in r.sequence(m.get("deployment_configs", NULL), "deployment_configs"):
        cm = r.mapping(cn, "a deployment config", required=("name", "minimum_healthy_hosts"))
        name = r.string(cm["name"], "deployment config name")
        if name in config_names or name.startswith("CodeDeployDefault."):
            raise r.fail(cm["name"], f"deployment config '{name}' already exists")
        hm = r.mapping(
            cm["minimum_healthy_hosts"], "minimum_healthy_hosts", required=("type", "value")
        )
        kind = r.choice(hm["type"], "minimum_healthy_hosts type", ("HOST_COUNT", "FLEET_PERCENT"))
        hi = 100 if kind == "FLEET_PERCENT" else 10000
        value = r.integer(hm["value"], "minimum_healthy_hosts value", 0, hi)
        config_names.add(name)
        spec.configs.append(
            {
                "deploymentConfigName": name,
                "minimumHealthyHosts": {"type": kind, "value": value},
                "computePlatform": "Server",
            }
        )
    apps: set[str] = set()
    for an in r.sequence(m.get("applications", NULL), "applications"):
        am = r.mapping(an, "an application", required=("name",), optional=("deployment_groups",))
        app = r.string(am["name"], "application name")
        if app in apps:
            raise r.fail(am["name"], f"application '{app}' is defined twice")
        apps.add(app)
        groups: list[DeploymentGroupSpec] = []
        for gn in r.sequence(am.get("deployment_groups", NULL), "deployment_groups"):
            groups.append(
                _deployment_group(r, gn, sc, tg_names, clb_names, asg_names, config_names)
            )
            if [g.name for g in groups].count(groups[-1].name) > 1:
                raise r.fail(gn, f"deployment group '{groups[-1].name}' is defined twice")
        spec.applications.append(ApplicationSpec(name=app, groups=groups))


def _bundles(r: YamlReader, node: yaml.Node) -> dict[str, Path]:
    """`bundles: {<revision label or "*">: <directory relative to the scenario file>}`."""
    if not isinstance(node, yaml.MappingNode):
        raise r.fail(node, "bundles must be a mapping of revision label to directory")
    out: dict[str, Path] = {}
    for key_node, value_node in node.value:
        label = r.string(key_node, "a bundle's revision label")
        if label in out:
            raise r.fail(key_node, f"duplicate bundle for revision '{label}'")
        directory = (r.path.parent / r.string(value_node, f"bundle {label}")).resolve()
        if not directory.is_dir():
            raise r.fail(value_node, f"bundle {label}: {directory} is not a directory")
        if not any((directory / name).is_file() for name in ("appspec.yml", "appspec.yaml")):
            raise r.fail(value_node, f"bundle {label}: {directory} has no appspec.yml")
        out[label] = directory
    return out


def _deployment_group(
    r: YamlReader,
    node: yaml.Node,
    sc: Scenario,
    tg_names: dict,
    clb_names: set[str],
    asg_names: set[str],
    config_names: set[str],
) -> DeploymentGroupSpec:
    gm = r.mapping(
        node,
        "a deployment group",
        required=("name",),
        optional=(
            "style",
            "traffic_control",
            "auto_scaling_groups",
            "ec2_tags",
            "target_groups",
            "classic_load_balancers",
            "deployment_config",
            "replacement",
            "ready_wait",
            "original",
            "auto_rollback",
            "alarms",
            "history",
        ),
    )
    name = r.string(gm["name"], "deployment group name")
    style = (
        r.choice(gm["style"], "style", ("blue_green", "in_place"))
        if "style" in gm
        else "blue_green"
    )
    traffic = (
        r.boolean(gm["traffic_control"], "traffic_control") if "traffic_control" in gm else True
    )
    if style == "blue_green" and not traffic:
        raise r.fail(gm["traffic_control"], "blue/green deployments always use traffic control")
    asgs = (
        r.strings(gm["auto_scaling_groups"], "auto_scaling_groups")
        if "auto_scaling_groups" in gm
        else []
    )
    for asg, an in asgs:
        if asg not in asg_names:
            raise r.fail(an, f"unknown Auto Scaling group '{asg}'")
    tgs = r.strings(gm["target_groups"], "target_groups") if "target_groups" in gm else []
    for tg, tn in tgs:
        if tg not in tg_names:
            raise r.fail(tn, f"unknown target group '{tg}'")
    clbs = (
        r.strings(gm["classic_load_balancers"], "classic_load_balancers")
        if "classic_load_balancers" in gm
        else []
    )
    for clb, cn in clbs:
        if clb not in clb_names:
            raise r.fail(cn, f"unknown classic load balancer '{clb}'")
    if traffic and not tgs and not clbs:
        raise r.fail(node, f"deployment group {name} has traffic control but no load balancer")
    tags = r.tags(gm["ec2_tags"], "ec2_tags") if "ec2_tags" in gm else {}
    if not asgs and not tags:
        raise r.fail(node, f"deployment group {name} needs auto_scaling_groups or ec2_tags")
    config = "CodeDeployDefault.OneAtATime"
    if "deployment_config" in gm:
        config = r.string(gm["deployment_config"], "deployment_config")
        if config not in config_names:
            raise r.fail(gm["deployment_config"], f"unknown deployment config '{config}'")
    alarm_names = {a.name for a in sc.alarms}
    alarms = r.strings(gm["alarms"], "alarms") if "alarms" in gm else []
    for alarm, node_ in alarms:
        if alarm not in alarm_names:
            raise r.fail(node_, f"unknown alarm '{alarm}' (define it under cloudwatch: alarms)")
    events = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
    rollback = []
    if "auto_rollback" in gm:
        for event, en in r.strings(gm["auto_rollback"], "auto_rollback"):
            if event not in events:
                raise r.fail(en, f"auto_rollback must list of {', '.join(events)}, not '{event}'")
            rollback.append(event)
    params: dict[str, Any] = {
        "applicationName": "",  # filled by the caller
        "deploymentGroupName": name,
        "deploymentConfigName": config,
        "serviceRoleArn": f"arn:aws:iam::{sc.account_id}:role/CodeDeployServiceRole",
        "deploymentStyle": {
            "deploymentType": "BLUE_GREEN" if style == "blue_green" else "IN_PLACE",
            "deploymentOption": "WITH_TRAFFIC_CONTROL" if traffic else "WITHOUT_TRAFFIC_CONTROL",
        },
        "autoRollbackConfiguration": {"enabled": bool(rollback), "events": rollback},
        "alarmConfiguration": {
            "enabled": bool(alarms),
            "ignorePollAlarmFailure": False,
            "alarms": [{"name": a} for a, _ in alarms],
        },
    }
    if asgs:
        params["autoScalingGroups"] = [a for a, _ in asgs]
    if tags:
        params["ec2TagFilters"] = [
            {"Key": k, "Value": v, "Type": "KEY_AND_VALUE"} for k, v in tags.items()
        ]
    if tgs or clbs:
        params["loadBalancerInfo"] = {
            "targetGroupInfoList": [{"name": t} for t, _ in tgs],
            "elbInfoList": [{"name": c} for c, _ in clbs],
        }
    if style == "blue_green":
        params["blueGreenDeploymentConfiguration"] = _blue_green(r, gm, bool(asgs))
    elif any(k in gm for k in ("replacement", "ready_wait", "original")):
        key = next(k for k in ("replacement", "ready_wait", "original") if k in gm)
        raise r.fail(gm[key], f"'{key}' applies only to blue_green deployment groups")
    history = []
    for hn in r.sequence(gm.get("history", NULL), "history"):
        hm = r.mapping(hn, "a past deployment", required=("revision",), optional=("status",))
        history.append(
            HistorySpec(
                revision=r.string(hm["revision"], "revision"),
                status=r.choice(hm["status"], "status", ("Succeeded", "Failed", "Stopped"))
                if "status" in hm
                else "Succeeded",
            )
        )
    return DeploymentGroupSpec(name=name, params=params, history=history)


def _blue_green(r: YamlReader, gm: dict[str, yaml.Node], has_asg: bool) -> dict:
    replacement = "copy_auto_scaling_group" if has_asg else "discover_existing"
    if "replacement" in gm:
        replacement = r.choice(
            gm["replacement"], "replacement", ("copy_auto_scaling_group", "discover_existing")
        )
        if replacement == "copy_auto_scaling_group" and not has_asg:
            raise r.fail(gm["replacement"], "copy_auto_scaling_group needs auto_scaling_groups")
    ready = {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
    if "ready_wait" in gm:
        rm = r.mapping(gm["ready_wait"], "ready_wait", required=("action",), optional=("minutes",))
        action = r.choice(rm["action"], "ready_wait action", ("stop_deployment", "continue"))
        ready = {
            "actionOnTimeout": "STOP_DEPLOYMENT"
            if action == "stop_deployment"
            else "CONTINUE_DEPLOYMENT",
            "waitTimeInMinutes": r.integer(rm["minutes"], "ready_wait minutes", 0, 2880)
            if "minutes" in rm
            else 0,
        }
    original = {"action": "TERMINATE", "terminationWaitTimeInMinutes": 60}
    if "original" in gm:
        om = r.mapping(gm["original"], "original", required=("action",), optional=("minutes",))
        action = r.choice(om["action"], "original action", ("terminate", "keep_alive"))
        original = {
            "action": action.upper(),
            "terminationWaitTimeInMinutes": r.integer(om["minutes"], "original minutes", 0, 2880)
            if "minutes" in om
            else 60,
        }
    return {
        "terminateBlueInstancesOnDeploymentSuccess": original,
        "deploymentReadyOption": ready,
        "greenFleetProvisioningOption": {"action": replacement.upper()},
    }


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
    if sc.alarms or sc.codedeploy.applications or sc.codedeploy.configs:
        _install_services(world, sc, tgs)
    return world


def _install_services(world: World, sc: Scenario, tgs: dict[str, TargetGroup]) -> None:
    """Alarms and CodeDeploy resources, created through the services' own API operations."""
    from cutover.sandbox import services
    from cutover.sandbox.codedeploy import engine
    from cutover.sandbox.wire import ApiError

    services.load_all()

    def call(service: str, operation: str, params: dict) -> dict:
        try:
            return services.dispatch(world, service, operation, params)
        except ApiError as exc:
            raise ScenarioError(
                f"{sc.path}: {operation} refused: {exc.message} ({exc.code})"
            ) from None

    for alarm in sc.alarms:
        dimensions = []
        for key, name in alarm.dimension_refs.items():
            if key == "TargetGroup":
                value = tgs[name].arn.split(":", 5)[5]
            else:
                lb = world.load_balancer_by_name(name)
                assert lb is not None  # checked while parsing
                value = lb.arn.split(":loadbalancer/", 1)[1]
            dimensions.append({"Name": key, "Value": value})
        call("cloudwatch", "PutMetricAlarm", {**alarm.params, "Dimensions": dimensions})

    cd = sc.codedeploy
    if cd.durations:
        engine.configure(world, durations=cd.durations)
    for config in cd.configs:
        call("codedeploy", "CreateDeploymentConfig", config)
    # Launch the groups' first instances so past deployments have targets to name.
    world.tick()
    for app in cd.applications:
        call(
            "codedeploy",
            "CreateApplication",
            {"applicationName": app.name, "computePlatform": "Server"},
        )
        for group in app.groups:
            call(
                "codedeploy", "CreateDeploymentGroup", {**group.params, "applicationName": app.name}
            )
            for i, past in enumerate(group.history):
                engine.record_past_deployment(
                    world,
                    app.name,
                    group.name,
                    past.revision,
                    past.status,
                    ago=3600.0 * (len(group.history) - i) + 1800.0,
                )
