"""The load balancing sections of a scenario file: target_groups, load_balancers (with their
listeners and rules) and classic_load_balancers."""

from __future__ import annotations

import yaml
from cutover.common.yamlcheck import NULL, YamlReader

from .fields import NAME_RE, Names, azs, forward, health_check
from .spec import ClassicSpec, ListenerSpec, LoadBalancerSpec, RuleSpec, Scenario, TargetGroupSpec


def parse_target_groups(
    r: YamlReader, top: dict[str, yaml.Node], sc: Scenario, names: Names
) -> None:
    for node in r.sequence(top.get("target_groups", NULL), "target_groups"):
        m = r.mapping(
            node,
            "a target group",
            required=("name",),
            optional=("protocol", "port", "health_check", "deregistration_delay"),
        )
        name = r.string(m["name"], "target group name", pattern=NAME_RE)
        if name in names.target_groups:
            raise r.fail(m["name"], f"target group '{name}' is defined twice")
        names.target_groups[name] = m["name"]
        protocol = (
            r.choice(m["protocol"], "protocol", ("HTTP", "TCP")) if "protocol" in m else "HTTP"
        )
        hc, _ = health_check(
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


def parse_load_balancers(
    r: YamlReader, top: dict[str, yaml.Node], sc: Scenario, names: Names
) -> None:
    for node in r.sequence(top.get("load_balancers", NULL), "load_balancers"):
        m = r.mapping(
            node,
            "a load balancer",
            required=("name", "listeners"),
            optional=("type", "scheme", "availability_zones", "load"),
        )
        name = r.string(m["name"], "load balancer name", pattern=NAME_RE)
        if name in names.load_balancers:
            raise r.fail(m["name"], f"load balancer '{name}' is defined twice")
        names.load_balancers.add(name)
        kind = (
            r.choice(m["type"], "type", ("application", "network"))
            if "type" in m
            else "application"
        )
        listeners = [
            _listener(r, ln, name, kind, names)
            for ln in r.sequence(m["listeners"], f"listeners of {name}")
        ]
        sc.load_balancers.append(
            LoadBalancerSpec(
                name=name,
                type=kind,
                scheme=r.choice(m["scheme"], "scheme", ("internet-facing", "internal"))
                if "scheme" in m
                else "internet-facing",
                availability_zones=azs(
                    r, m.get("availability_zones"), "availability_zones", sc.region
                ),
                listeners=listeners,
                load=r.boolean(m["load"], "load") if "load" in m else True,
            )
        )


def _listener(r: YamlReader, ln: yaml.Node, name: str, kind: str, names: Names) -> ListenerSpec:
    lm = r.mapping(
        ln,
        f"a listener of {name}",
        required=("port", "forward"),
        optional=("protocol", "rules", "load"),
    )
    port = r.integer(lm["port"], "listener port", 1, 65535)
    names.claim_port(r, port, lm["port"], f"listener {name}:{port}")
    default_protocol = "HTTP" if kind == "application" else "TCP"
    allowed = ("HTTP",) if kind == "application" else ("TCP",)
    protocol = (
        r.choice(lm["protocol"], "listener protocol", allowed)
        if "protocol" in lm
        else default_protocol
    )
    fwd = forward(r, lm["forward"], f"forward of listener {name}:{port}")
    names.check_forward(r, fwd)
    rules = []
    for rn in r.sequence(lm.get("rules", NULL), "rules"):
        if kind != "application":
            raise r.fail(rn, "only application load balancers have rules")
        rules.append(_rule(r, rn, names))
    load = r.boolean(lm["load"], "listener load") if "load" in lm else True
    return ListenerSpec(port, protocol, fwd, rules, load)


def _rule(r: YamlReader, rn: yaml.Node, names: Names) -> RuleSpec:
    rm = r.mapping(rn, "a rule", required=("priority", "forward"), optional=("path", "host"))
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
    fwd = forward(r, rm["forward"], "forward of a rule")
    names.check_forward(r, fwd)
    return RuleSpec(
        priority=r.integer(rm["priority"], "rule priority", 1, 50000),
        paths=paths,
        hosts=hosts,
        forward=fwd,
    )


def parse_classic_load_balancers(
    r: YamlReader, top: dict[str, yaml.Node], sc: Scenario, names: Names
) -> None:
    for node in r.sequence(top.get("classic_load_balancers", NULL), "classic_load_balancers"):
        m = r.mapping(
            node,
            "a classic load balancer",
            required=("name", "listeners"),
            optional=("health_check", "connection_draining", "availability_zones", "load"),
        )
        name = r.string(m["name"], "classic load balancer name", pattern=NAME_RE)
        if name in names.classic_load_balancers or name in names.load_balancers:
            raise r.fail(m["name"], f"load balancer '{name}' is defined twice")
        names.classic_load_balancers.add(name)
        listeners = [
            _classic_listener(r, ln, name, names)
            for ln in r.sequence(m["listeners"], f"listeners of {name}")
        ]
        if not listeners:
            raise r.fail(m["listeners"], f"{name} needs at least one listener")
        hc, target = health_check(r, m.get("health_check"), f"{name} health_check", classic=True)
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
                availability_zones=azs(
                    r, m.get("availability_zones"), "availability_zones", sc.region
                ),
                load=r.boolean(m["load"], "load") if "load" in m else True,
            )
        )


def _classic_listener(r: YamlReader, ln: yaml.Node, name: str, names: Names) -> dict:
    lm = r.mapping(
        ln,
        f"a listener of {name}",
        required=("port",),
        optional=("instance_port", "protocol"),
    )
    port = r.integer(lm["port"], "listener port", 1, 65535)
    names.claim_port(r, port, lm["port"], f"listener {name}:{port}")
    protocol = (
        r.choice(lm["protocol"], "listener protocol", ("HTTP", "TCP"))
        if "protocol" in lm
        else "HTTP"
    )
    return {
        "Protocol": protocol,
        "LoadBalancerPort": port,
        "InstanceProtocol": protocol,
        "InstancePort": r.integer(lm["instance_port"], "instance_port", 1, 65535)
        if "instance_port" in lm
        else 80,
    }
