"""The sandbox's ELBv2 and Classic ELB operations, called through `dispatch` on small worlds.

Every request is checked against botocore's input shape and every result against its output
shape, so the wire layer can encode whatever these operations return.
"""

from __future__ import annotations

from datetime import datetime

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator
from cutover.sandbox import services
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import (
    ClassicLoadBalancer,
    HealthCheck,
    Instance,
    Listener,
    LoadBalancer,
    Rule,
    Target,
    TargetGroup,
    World,
)

services.load_all()
SESSION = botocore.session.get_session()
MODELS = {name: SESSION.get_service_model(name) for name in ("elbv2", "elb")}
AZS = ["us-east-1a", "us-east-1b"]


# ----- shape checking ---------------------------------------------------------------------------


def check_shape(value: object, shape: Shape, path: str = "$") -> None:
    """Fail on anything botocore's output shape does not allow: unknown keys, wrong types,
    values outside an enum, missing required members."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected a dict, got {value!r}"
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: keys not in {shape.name}: {sorted(unknown)}"
        missing = set(shape.required_members) - set(value)
        assert not missing, f"{path}: required members missing: {sorted(missing)}"
        for key, item in value.items():
            check_shape(item, shape.members[key], f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        for n, item in enumerate(value):
            check_shape(item, shape.member, f"{path}[{n}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: expected a map, got {value!r}"
        for key, item in value.items():
            check_shape(key, shape.key, f"{path}.<key>")
            check_shape(item, shape.value, f"{path}.{key}")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
        enum = shape.enum
        assert not enum or value in enum, f"{path}: {value!r} not in {enum}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
    elif kind == "timestamp":
        assert isinstance(value, datetime) and value.tzinfo, f"{path}: {value!r}"
    elif kind in ("float", "double"):
        assert isinstance(value, int | float) and not isinstance(value, bool), path
    elif kind == "blob":
        assert isinstance(value, bytes), f"{path}: expected bytes, got {value!r}"
    else:
        pytest.fail(f"{path}: unexpected shape type {kind}")


def call(world: World, service: str, name: str, params: dict | None = None) -> dict:
    """Dispatch like the wire layer would, checking the request and the result shapes."""
    params = params or {}
    op = MODELS[service].operation_model(name)
    report = ParamValidator().validate(params, op.input_shape)
    assert not report.has_errors(), report.generate_report()
    result = services.dispatch(world, service, name, params)
    if op.output_shape is None:
        assert result == {}
    else:
        check_shape(result, op.output_shape)
    return result


def fails(world: World, service: str, name: str, params: dict, code: str) -> ApiError:
    """Call and expect `code`, which must be a modeled error of the operation (or the
    generic ValidationError)."""
    op = MODELS[service].operation_model(name)
    modeled = {e.metadata["error"]["code"] for e in op.error_shapes}
    assert code in modeled | {"ValidationError"}, f"{code} is not modeled for {name}"
    with pytest.raises(ApiError) as caught:
        call(world, service, name, params)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message
    return caught.value


# ----- worlds -----------------------------------------------------------------------------------


def running(world: World, az: str = "us-east-1a") -> Instance:
    inst = world.launch_instance(az=az)
    inst.state = "running"
    return inst


def add_tg(world: World, name: str, protocol: str = "HTTP", port: int = 80) -> TargetGroup:
    hc = HealthCheck(protocol="HTTP" if protocol == "HTTP" else "TCP", healthy_threshold=2)
    tg = TargetGroup(
        arn=world.arn("elasticloadbalancing", f"targetgroup/{name}/{world.new_id('', 16)}"),
        name=name,
        protocol=protocol,
        port=port,
        vpc_id=world.vpc_id,
        health_check=hc,
        attributes={},
    )
    world.target_groups[tg.arn] = tg
    return tg


def add_lb(
    world: World, name: str, tg: TargetGroup | None, kind: str = "application", port: int = 80
) -> tuple[LoadBalancer, Listener]:
    short = "app" if kind == "application" else "net"
    suffix = world.new_id("", 16)
    lb = LoadBalancer(
        arn=world.arn("elasticloadbalancing", f"loadbalancer/{short}/{name}/{suffix}"),
        name=name,
        type=kind,
        scheme="internet-facing",
        dns_name=world.dns_name(name, kind),
        vpc_id=world.vpc_id,
        azs=list(AZS),
        subnets={az: world.subnet_for(az) for az in AZS},
        created=world.now(),
        security_groups=["sg-0123456789abcdef0"] if kind == "application" else [],
    )
    world.load_balancers[lb.arn] = lb
    actions = [{"Type": "forward", "TargetGroupArn": tg.arn}] if tg else []
    listener_arn = world.arn(
        "elasticloadbalancing", f"listener/{short}/{name}/{suffix}/{world.new_id('', 16)}"
    )
    rule = Rule(
        arn=listener_arn.replace(":listener/", ":listener-rule/") + "/" + world.new_id("", 16),
        priority="default",
        conditions=[],
        actions=actions,
    )
    listener = Listener(
        arn=listener_arn,
        lb_arn=lb.arn,
        port=port,
        protocol="HTTP" if kind == "application" else "TCP",
        rules=[rule],
    )
    lb.listeners[listener.arn] = listener
    return lb, listener


def add_rule(world: World, listener: Listener, priority: int, tg: TargetGroup) -> Rule:
    rule = Rule(
        arn=listener.arn.replace(":listener/", ":listener-rule/") + "/" + world.new_id("", 16),
        priority=str(priority),
        conditions=[{"Field": "path-pattern", "Values": [f"/p{priority}/*"]}],
        actions=[{"Type": "forward", "TargetGroupArn": tg.arn}],
    )
    listener.rules.append(rule)
    return rule


def make_healthy(world: World, tg: TargetGroup, target: Target) -> None:
    for _ in range(tg.health_check.healthy_threshold):
        world.record_check(tg.health_check, target, True, None, 200)


def make_unhealthy(world: World, hc: HealthCheck, target: Target) -> None:
    for _ in range(hc.unhealthy_threshold):
        world.record_check(hc, target, False, "Target.ResponseCodeMismatch", 503)


@pytest.fixture
def world() -> World:
    return World(seed=7)


@pytest.fixture
def alb(world: World) -> dict:
    """One ALB on :80 forwarding to `blue`; `green` is free; one running instance."""
    blue = add_tg(world, "blue")
    green = add_tg(world, "green")
    lb, listener = add_lb(world, "web", blue)
    return {"lb": lb, "listener": listener, "blue": blue, "green": green, "inst": running(world)}


def health_of(world: World, tg: TargetGroup, targets: list[dict] | None = None) -> list[dict]:
    params: dict = {"TargetGroupArn": tg.arn}
    if targets is not None:
        params["Targets"] = targets
    return call(world, "elbv2", "DescribeTargetHealth", params)["TargetHealthDescriptions"]


# ----- ELBv2: load balancers, listeners, rules --------------------------------------------------


def test_describe_load_balancers_fields_and_filters(world: World, alb: dict) -> None:
    lb = alb["lb"]
    out = call(world, "elbv2", "DescribeLoadBalancers", {"LoadBalancerArns": [lb.arn]})
    (desc,) = out["LoadBalancers"]
    assert desc["LoadBalancerArn"] == lb.arn
    assert desc["State"] == {"Code": "active"}
    assert desc["Type"] == "application"
    assert desc["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"
    assert [z["ZoneName"] for z in desc["AvailabilityZones"]] == AZS
    assert desc["AvailabilityZones"][0]["SubnetId"] == world.subnet_for(AZS[0])
    assert desc["SecurityGroups"] == ["sg-0123456789abcdef0"]
    assert "NextMarker" not in out
    by_name = call(world, "elbv2", "DescribeLoadBalancers", {"Names": ["web"]})
    assert by_name["LoadBalancers"] == out["LoadBalancers"]


def test_describe_load_balancers_paginates(world: World) -> None:
    for n in range(5):
        add_lb(world, f"lb{n}", None)
    names, marker, pages = [], None, 0
    while True:
        params: dict = {"PageSize": 2}
        if marker:
            params["Marker"] = marker
        out = call(world, "elbv2", "DescribeLoadBalancers", params)
        names += [lb["LoadBalancerName"] for lb in out["LoadBalancers"]]
        pages += 1
        marker = out.get("NextMarker")
        if not marker:
            break
    assert names == [f"lb{n}" for n in range(5)]
    assert pages == 3
    fails(world, "elbv2", "DescribeLoadBalancers", {"Marker": "not-a-marker"}, "ValidationError")
    fails(world, "elbv2", "DescribeLoadBalancers", {"PageSize": 401}, "ValidationError")


def test_describe_load_balancers_not_found(world: World, alb: dict) -> None:
    missing = alb["lb"].arn.replace("/web/", "/nope/")
    fails(
        world,
        "elbv2",
        "DescribeLoadBalancers",
        {"LoadBalancerArns": [alb["lb"].arn, missing]},
        "LoadBalancerNotFound",
    )
    fails(world, "elbv2", "DescribeLoadBalancers", {"Names": ["nope"]}, "LoadBalancerNotFound")


def test_describe_listeners_returns_forward_in_both_forms(world: World, alb: dict) -> None:
    out = call(world, "elbv2", "DescribeListeners", {"LoadBalancerArn": alb["lb"].arn})
    (listener,) = out["Listeners"]
    assert listener["Port"] == 80 and listener["Protocol"] == "HTTP"
    assert listener["DefaultActions"] == [
        {
            "Type": "forward",
            "TargetGroupArn": alb["blue"].arn,
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": alb["blue"].arn, "Weight": 1}],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
    ]
    by_arn = call(world, "elbv2", "DescribeListeners", {"ListenerArns": [listener["ListenerArn"]]})
    assert by_arn["Listeners"] == out["Listeners"]


def test_describe_listeners_errors_and_pages(world: World, alb: dict) -> None:
    lb, listener = alb["lb"], alb["listener"]
    fails(world, "elbv2", "DescribeListeners", {}, "ValidationError")
    fails(
        world,
        "elbv2",
        "DescribeListeners",
        {"ListenerArns": [listener.arn + "0"]},
        "ListenerNotFound",
    )
    fails(
        world,
        "elbv2",
        "DescribeListeners",
        {"LoadBalancerArn": lb.arn + "0"},
        "LoadBalancerNotFound",
    )
    second = Listener(
        arn=listener.arn + "1",
        lb_arn=lb.arn,
        port=8080,
        protocol="HTTP",
        rules=[Rule(listener.arn + "1r", "default", [], list(listener.default_rule.actions))],
    )
    lb.listeners[second.arn] = second
    first = call(world, "elbv2", "DescribeListeners", {"LoadBalancerArn": lb.arn, "PageSize": 1})
    rest = call(
        world,
        "elbv2",
        "DescribeListeners",
        {"LoadBalancerArn": lb.arn, "PageSize": 1, "Marker": first["NextMarker"]},
    )
    assert [x["Port"] for x in first["Listeners"] + rest["Listeners"]] == [80, 8080]
    assert "NextMarker" not in rest


def test_describe_rules_default_last(world: World, alb: dict) -> None:
    listener = alb["listener"]
    add_rule(world, listener, 20, alb["green"])
    add_rule(world, listener, 5, alb["blue"])
    rules = call(world, "elbv2", "DescribeRules", {"ListenerArn": listener.arn})["Rules"]
    assert [r["Priority"] for r in rules] == ["5", "20", "default"]
    assert [r["IsDefault"] for r in rules] == [False, False, True]
    assert rules[0]["Conditions"] == [
        {"Field": "path-pattern", "Values": ["/p5/*"], "PathPatternConfig": {"Values": ["/p5/*"]}}
    ]
    one = call(world, "elbv2", "DescribeRules", {"RuleArns": [rules[1]["RuleArn"]]})
    assert one["Rules"] == [rules[1]]
    fails(world, "elbv2", "DescribeRules", {"RuleArns": [listener.arn + "x"]}, "RuleNotFound")
    fails(world, "elbv2", "DescribeRules", {"ListenerArn": listener.arn + "x"}, "ListenerNotFound")


def weighted(blue: TargetGroup, green: TargetGroup, wb: int, wg: int, **extra: object) -> list:
    cfg: dict = {
        "TargetGroups": [
            {"TargetGroupArn": blue.arn, "Weight": wb},
            {"TargetGroupArn": green.arn, "Weight": wg},
        ]
    }
    cfg.update(extra)
    return [{"Type": "forward", "ForwardConfig": cfg}]


def test_modify_listener_weights(world: World, alb: dict) -> None:
    blue, green, listener = alb["blue"], alb["green"], alb["listener"]
    out = call(
        world,
        "elbv2",
        "ModifyListener",
        {
            "ListenerArn": listener.arn,
            "DefaultActions": weighted(
                blue,
                green,
                90,
                10,
                TargetGroupStickinessConfig={"Enabled": True, "DurationSeconds": 300},
            ),
        },
    )
    (action,) = out["Listeners"][0]["DefaultActions"]
    assert "TargetGroupArn" not in action  # two groups: only ForwardConfig
    assert action["ForwardConfig"]["TargetGroupStickinessConfig"] == {
        "Enabled": True,
        "DurationSeconds": 300,
    }
    assert world.rule_target_groups(listener.default_rule) == [(blue.arn, 90), (green.arn, 10)]
    assert [lb.arn for lb in world.load_balancers_of(green)] == [alb["lb"].arn]
    # Shifting everything to green with a single target group gives both forms back.
    out = call(
        world,
        "elbv2",
        "ModifyListener",
        {
            "ListenerArn": listener.arn,
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": green.arn}],
        },
    )
    assert out["Listeners"][0]["DefaultActions"][0]["TargetGroupArn"] == green.arn
    assert world.load_balancers_of(blue) == []


def test_modify_listener_validation_changes_nothing(world: World, alb: dict) -> None:
    blue, green, listener = alb["blue"], alb["green"], alb["listener"]
    before = [dict(a) for a in listener.default_rule.actions]
    arn = listener.arn

    def modify(actions: list, code: str) -> None:
        fails(
            world, "elbv2", "ModifyListener", {"ListenerArn": arn, "DefaultActions": actions}, code
        )

    modify(weighted(blue, green, 1000, 0), "ValidationError")
    modify(weighted(blue, green, 50, -1), "ValidationError")
    modify(weighted(blue, blue, 50, 50), "ValidationError")
    modify(
        weighted(
            blue, green, 1, 1, TargetGroupStickinessConfig={"Enabled": True, "DurationSeconds": 0}
        ),
        "ValidationError",
    )
    modify([{"Type": "forward"}], "ValidationError")
    unknown = blue.arn.replace("/blue/", "/gone/")
    modify([{"Type": "forward", "TargetGroupArn": unknown}], "TargetGroupNotFound")
    tcp = add_tg(world, "tcp", protocol="TCP")
    modify([{"Type": "forward", "TargetGroupArn": tcp.arn}], "IncompatibleProtocols")
    modify(
        [
            {"Type": "forward", "TargetGroupArn": blue.arn},
            {"Type": "forward", "TargetGroupArn": green.arn},
        ],
        "InvalidLoadBalancerAction",
    )
    # A group already behind another load balancer cannot be shared.
    other = add_tg(world, "other")
    add_lb(world, "other-lb", other)
    modify([{"Type": "forward", "TargetGroupArn": other.arn}], "TargetGroupAssociationLimit")
    fails(
        world,
        "elbv2",
        "ModifyListener",
        {"ListenerArn": arn + "x", "DefaultActions": before},
        "ListenerNotFound",
    )
    assert listener.default_rule.actions == before


def test_modify_listener_port_and_protocol(world: World, alb: dict) -> None:
    listener, lb = alb["listener"], alb["lb"]
    out = call(world, "elbv2", "ModifyListener", {"ListenerArn": listener.arn, "Port": 8081})
    assert out["Listeners"][0]["Port"] == 8081 and listener.port == 8081
    fails(
        world,
        "elbv2",
        "ModifyListener",
        {"ListenerArn": listener.arn, "Protocol": "TCP"},
        "UnsupportedProtocol",
    )
    fails(
        world,
        "elbv2",
        "ModifyListener",
        {"ListenerArn": listener.arn, "Protocol": "HTTPS"},
        "ValidationError",
    )
    _, second = add_lb(world, "spare", None, port=9000)
    lb.listeners[second.arn] = second
    second.lb_arn = lb.arn
    fails(
        world,
        "elbv2",
        "ModifyListener",
        {"ListenerArn": listener.arn, "Port": 9000},
        "DuplicateListener",
    )
    assert listener.port == 8081


def test_modify_rule(world: World, alb: dict) -> None:
    listener = alb["listener"]
    rule = add_rule(world, listener, 10, alb["blue"])
    out = call(
        world,
        "elbv2",
        "ModifyRule",
        {
            "RuleArn": rule.arn,
            "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": ["a.example"]}}],
            "Actions": weighted(alb["blue"], alb["green"], 0, 100),
        },
    )
    (desc,) = out["Rules"]
    assert desc["Conditions"][0]["Values"] == ["a.example"]
    assert world.rule_target_groups(rule) == [(alb["blue"].arn, 0), (alb["green"].arn, 100)]
    fails(
        world,
        "elbv2",
        "ModifyRule",
        {"RuleArn": listener.default_rule.arn, "Conditions": [{"Field": "path-pattern"}]},
        "OperationNotPermitted",
    )
    fails(
        world,
        "elbv2",
        "ModifyRule",
        {"RuleArn": rule.arn, "Actions": weighted(alb["blue"], alb["green"], 0, 1000)},
        "ValidationError",
    )
    fails(world, "elbv2", "ModifyRule", {"RuleArn": rule.arn + "x"}, "RuleNotFound")


# ----- ELBv2: target groups ---------------------------------------------------------------------


def test_describe_target_groups(world: World, alb: dict) -> None:
    blue, green, lb = alb["blue"], alb["green"], alb["lb"]
    nlb_tg = add_tg(world, "tcp", protocol="TCP", port=8080)
    out = call(world, "elbv2", "DescribeTargetGroups")
    by_name = {tg["TargetGroupName"]: tg for tg in out["TargetGroups"]}
    assert set(by_name) == {"blue", "green", "tcp"}
    assert by_name["blue"]["LoadBalancerArns"] == [lb.arn]
    assert by_name["green"]["LoadBalancerArns"] == []
    assert by_name["blue"]["HealthCheckPort"] == "traffic-port"
    assert by_name["blue"]["Matcher"] == {"HttpCode": "200"}
    assert by_name["blue"]["ProtocolVersion"] == "HTTP1"
    assert "HealthCheckPath" not in by_name["tcp"] and "ProtocolVersion" not in by_name["tcp"]
    only = call(world, "elbv2", "DescribeTargetGroups", {"LoadBalancerArn": lb.arn})
    assert [tg["TargetGroupArn"] for tg in only["TargetGroups"]] == [blue.arn]
    named = call(world, "elbv2", "DescribeTargetGroups", {"Names": ["tcp", "green"]})
    assert [tg["TargetGroupArn"] for tg in named["TargetGroups"]] == [nlb_tg.arn, green.arn]
    page = call(world, "elbv2", "DescribeTargetGroups", {"PageSize": 2})
    rest = call(world, "elbv2", "DescribeTargetGroups", {"Marker": page["NextMarker"]})
    assert len(page["TargetGroups"]) == 2 and len(rest["TargetGroups"]) == 1
    fails(world, "elbv2", "DescribeTargetGroups", {"Names": ["nope"]}, "TargetGroupNotFound")
    fails(
        world,
        "elbv2",
        "DescribeTargetGroups",
        {"TargetGroupArns": [blue.arn + "x"]},
        "TargetGroupNotFound",
    )
    fails(
        world,
        "elbv2",
        "DescribeTargetGroups",
        {"LoadBalancerArn": lb.arn + "x"},
        "LoadBalancerNotFound",
    )


def test_target_group_attributes(world: World, alb: dict) -> None:
    blue = alb["blue"]
    blue.attributes["deregistration_delay.timeout_seconds"] = "120"
    out = call(world, "elbv2", "DescribeTargetGroupAttributes", {"TargetGroupArn": blue.arn})
    attrs = {a["Key"]: a["Value"] for a in out["Attributes"]}
    assert attrs["deregistration_delay.timeout_seconds"] == "120"
    assert attrs["stickiness.enabled"] == "false"
    assert attrs["load_balancing.algorithm.type"] == "round_robin"
    out = call(
        world,
        "elbv2",
        "ModifyTargetGroupAttributes",
        {
            "TargetGroupArn": blue.arn,
            "Attributes": [
                {"Key": "deregistration_delay.timeout_seconds", "Value": "30"},
                {"Key": "stickiness.enabled", "Value": "true"},
            ],
        },
    )
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in out["Attributes"]
    assert len(out["Attributes"]) == len(attrs)
    assert blue.deregistration_delay == 30

    def bad(key: str, value: str) -> None:
        fails(
            world,
            "elbv2",
            "ModifyTargetGroupAttributes",
            {
                "TargetGroupArn": blue.arn,
                "Attributes": [
                    {"Key": "stickiness.enabled", "Value": "false"},
                    {"Key": key, "Value": value},
                ],
            },
            "InvalidConfigurationRequest",
        )

    bad("deregistration_delay.timeout_seconds", "3601")
    bad("deregistration_delay.timeout_seconds", "-1")
    bad("deregistration_delay.timeout_seconds", "soon")
    bad("stickiness.enabled", "yes")
    bad("no.such.attribute", "1")
    bad("proxy_protocol_v2.enabled", "true")  # a TCP-only attribute
    assert blue.attributes["stickiness.enabled"] == "true"  # nothing from a failed call stuck
    fails(
        world,
        "elbv2",
        "DescribeTargetGroupAttributes",
        {"TargetGroupArn": blue.arn + "x"},
        "TargetGroupNotFound",
    )
    tcp = add_tg(world, "tcp", protocol="TCP")
    out = call(world, "elbv2", "DescribeTargetGroupAttributes", {"TargetGroupArn": tcp.arn})
    assert {"Key": "proxy_protocol_v2.enabled", "Value": "false"} in out["Attributes"]


# ----- ELBv2: targets and their health ---------------------------------------------------------


def test_register_and_health_lifecycle(world: World, alb: dict) -> None:
    blue, inst = alb["blue"], alb["inst"]
    call(
        world,
        "elbv2",
        "RegisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id}]},
    )
    (entry,) = health_of(world, blue)
    assert entry["Target"] == {"Id": inst.id, "Port": 80}
    assert entry["HealthCheckPort"] == "80"
    assert entry["TargetHealth"] == {
        "State": "initial",
        "Reason": "Elb.RegistrationInProgress",
        "Description": "Target registration is in progress",
    }
    target = blue.targets[(inst.id, 80)]
    make_healthy(world, blue, target)
    assert health_of(world, blue)[0]["TargetHealth"] == {"State": "healthy"}
    # Registering again while registered keeps the target's health.
    call(
        world,
        "elbv2",
        "RegisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id}]},
    )
    assert blue.targets[(inst.id, 80)] is target
    make_unhealthy(world, blue.health_check, target)
    (entry,) = health_of(world, blue)
    assert entry["TargetHealth"]["State"] == "unhealthy"
    assert entry["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    assert entry["TargetHealth"]["Description"] == "Health checks failed with these codes: [503]"


def test_health_check_port_override_and_include(world: World, alb: dict) -> None:
    blue, inst = alb["blue"], alb["inst"]
    blue.health_check.port = "8081"
    world.register(blue, inst.id, 8080)
    out = call(
        world,
        "elbv2",
        "DescribeTargetHealth",
        {"TargetGroupArn": blue.arn, "Include": ["AnomalyDetection"]},
    )
    (entry,) = out["TargetHealthDescriptions"]
    assert entry["Target"]["Port"] == 8080
    assert entry["HealthCheckPort"] == "8081"
    assert entry["AnomalyDetection"] == {"Result": "normal", "MitigationInEffect": "no"}
    assert "AnomalyDetection" not in health_of(world, blue)[0]


def test_describe_target_health_with_targets(world: World, alb: dict) -> None:
    blue, inst = alb["blue"], alb["inst"]
    other = running(world, "us-east-1b")
    world.register(blue, inst.id)
    entries = health_of(world, blue, [{"Id": other.id}, {"Id": inst.id, "Port": 80}])
    assert [e["Target"]["Id"] for e in entries] == [other.id, inst.id]
    assert entries[0]["TargetHealth"] == {
        "State": "unused",
        "Reason": "Target.NotRegistered",
        "Description": "Target is not registered to the target group",
    }
    assert entries[0]["Target"]["Port"] == 80
    assert entries[1]["TargetHealth"]["State"] == "initial"
    # Same instance on another port is not registered.
    (wrong_port,) = health_of(world, blue, [{"Id": inst.id, "Port": 81}])
    assert wrong_port["TargetHealth"]["Reason"] == "Target.NotRegistered"
    fails(
        world,
        "elbv2",
        "DescribeTargetHealth",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": "i-0000000000000000f"}]},
        "InvalidTarget",
    )
    fails(
        world,
        "elbv2",
        "DescribeTargetHealth",
        {"TargetGroupArn": blue.arn + "x"},
        "TargetGroupNotFound",
    )


def test_deregister_drains_then_not_registered(world: World, alb: dict) -> None:
    blue, inst = alb["blue"], alb["inst"]
    blue.attributes["deregistration_delay.timeout_seconds"] = "300"
    keep = running(world)
    world.register(blue, inst.id)
    world.register(blue, keep.id)
    target = blue.targets[(inst.id, 80)]
    make_healthy(world, blue, target)
    target.inflight = 1  # an open request keeps it draining
    call(
        world,
        "elbv2",
        "DeregisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id}]},
    )
    assert target.drain_deadline is not None
    assert target.drain_deadline - target.drain_started == 300
    states = {e["Target"]["Id"]: e["TargetHealth"] for e in health_of(world, blue)}
    assert states[inst.id] == {
        "State": "draining",
        "Reason": "Target.DeregistrationInProgress",
        "Description": "Target deregistration is in progress",
    }
    assert states[keep.id]["State"] == "initial"
    # Deregistering while draining is accepted and changes nothing.
    call(
        world,
        "elbv2",
        "DeregisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id}]},
    )
    # The request ends: deregistration is complete, yet the target reads draining until the
    # delay is over.
    target.inflight = 0
    world.tick()
    (entry,) = health_of(world, blue, [{"Id": inst.id}])
    assert entry["TargetHealth"]["State"] == "draining"
    world.clock.advance(300)
    world.tick()
    (entry,) = health_of(world, blue, [{"Id": inst.id}])
    assert entry["TargetHealth"]["State"] == "unused"
    assert entry["TargetHealth"]["Reason"] == "Target.NotRegistered"
    # Deregistering a target that is not registered succeeds and changes nothing.
    call(
        world,
        "elbv2",
        "DeregisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id}]},
    )
    assert [e["Target"]["Id"] for e in health_of(world, blue)] == [keep.id]


def test_reregistering_a_draining_target_starts_over(world: World, alb: dict) -> None:
    blue, inst = alb["blue"], alb["inst"]
    world.register(blue, inst.id)
    blue.targets[(inst.id, 80)].inflight = 1
    world.deregister(blue, inst.id)
    call(
        world,
        "elbv2",
        "RegisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id}]},
    )
    assert health_of(world, blue)[0]["TargetHealth"]["State"] == "initial"


def test_register_and_deregister_errors(world: World, alb: dict) -> None:
    blue, inst = alb["blue"], alb["inst"]
    stopped = running(world)
    stopped.state = "stopped"
    for targets in ([{"Id": "i-0000000000000000f"}], [{"Id": inst.id}, {"Id": stopped.id}]):
        fails(
            world,
            "elbv2",
            "RegisterTargets",
            {"TargetGroupArn": blue.arn, "Targets": targets},
            "InvalidTarget",
        )
    assert blue.targets == {}  # all or nothing
    foreign = running(world)
    foreign.vpc_id = "vpc-0ther"
    fails(
        world,
        "elbv2",
        "RegisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": foreign.id}]},
        "InvalidTarget",
    )
    fails(
        world,
        "elbv2",
        "RegisterTargets",
        {"TargetGroupArn": blue.arn + "x", "Targets": [{"Id": inst.id}]},
        "TargetGroupNotFound",
    )
    call(
        world,
        "elbv2",
        "RegisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id, "Port": 8080}]},
    )
    # Registered on 8080, so the group's own port (80) is not registered: nothing to do.
    call(
        world,
        "elbv2",
        "DeregisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id}]},
    )
    assert not blue.targets[(inst.id, 8080)].draining
    fails(
        world,
        "elbv2",
        "DeregisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": "i-0000000000000000f"}]},
        "InvalidTarget",
    )
    call(
        world,
        "elbv2",
        "DeregisterTargets",
        {"TargetGroupArn": blue.arn, "Targets": [{"Id": inst.id, "Port": 8080}]},
    )


def test_not_in_use_invalid_state_and_disabled(world: World, alb: dict) -> None:
    green, inst = alb["green"], alb["inst"]
    world.register(green, inst.id)
    (entry,) = health_of(world, green)
    assert entry["TargetHealth"]["State"] == "unused"
    assert entry["TargetHealth"]["Reason"] == "Target.NotInUse"
    blue = alb["blue"]
    world.register(blue, inst.id)
    world.stop_instance(inst)
    (entry,) = health_of(world, blue)
    assert entry["TargetHealth"] == {
        "State": "unused",
        "Reason": "Target.InvalidState",
        "Description": "Target is in the stopping state",
    }
    inst.state = "running"
    blue.health_check.enabled = False
    (entry,) = health_of(world, blue)
    assert entry["TargetHealth"]["State"] == "unavailable"
    assert entry["TargetHealth"]["Reason"] == "Target.HealthCheckDisabled"


def test_nlb_unhealthy_target_reads_unhealthy_draining(world: World) -> None:
    tg = add_tg(world, "tcp", protocol="TCP", port=8080)
    lb, listener = add_lb(world, "net", tg, kind="network")
    inst = running(world)
    call(
        world, "elbv2", "RegisterTargets", {"TargetGroupArn": tg.arn, "Targets": [{"Id": inst.id}]}
    )
    target = tg.targets[(inst.id, 8080)]
    make_unhealthy(world, tg.health_check, target)
    target.inflight = 1
    call(
        world,
        "elbv2",
        "DeregisterTargets",
        {"TargetGroupArn": tg.arn, "Targets": [{"Id": inst.id}]},
    )
    (entry,) = health_of(world, tg)
    assert entry["TargetHealth"]["State"] == "unhealthy.draining"
    assert entry["TargetHealth"]["Reason"] == "Target.DeregistrationInProgress"
    desc = call(world, "elbv2", "DescribeLoadBalancers", {"LoadBalancerArns": [lb.arn]})
    assert desc["LoadBalancers"][0]["CanonicalHostedZoneId"] == "Z26RNL4JYFTOTI"
    assert "SecurityGroups" not in desc["LoadBalancers"][0]
    # Network listeners forward only.
    fails(
        world,
        "elbv2",
        "ModifyListener",
        {
            "ListenerArn": listener.arn,
            "DefaultActions": [
                {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}
            ],
        },
        "InvalidLoadBalancerAction",
    )


# ----- ELBv2: tags ------------------------------------------------------------------------------


def test_elbv2_tags(world: World, alb: dict) -> None:
    lb, blue = alb["lb"], alb["blue"]
    arns = [lb.arn, blue.arn]
    tags = [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "web"}]
    call(world, "elbv2", "AddTags", {"ResourceArns": arns, "Tags": tags})
    call(world, "elbv2", "RemoveTags", {"ResourceArns": [blue.arn], "TagKeys": ["team"]})
    out = call(world, "elbv2", "DescribeTags", {"ResourceArns": [*arns, alb["listener"].arn]})
    assert out["TagDescriptions"] == [
        {"ResourceArn": lb.arn, "Tags": tags},
        {"ResourceArn": blue.arn, "Tags": [{"Key": "env", "Value": "prod"}]},
        {"ResourceArn": alb["listener"].arn, "Tags": []},
    ]
    fails(
        world,
        "elbv2",
        "AddTags",
        {
            "ResourceArns": [lb.arn],
            "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}],
        },
        "DuplicateTagKeys",
    )
    many = [{"Key": f"k{n}", "Value": "v"} for n in range(49)]
    fails(world, "elbv2", "AddTags", {"ResourceArns": arns, "Tags": many}, "TooManyTags")
    assert blue.tags == {"env": "prod"}  # the failed call added nowhere
    fails(world, "elbv2", "DescribeTags", {"ResourceArns": [lb.arn + "x"]}, "LoadBalancerNotFound")
    fails(world, "elbv2", "DescribeTags", {"ResourceArns": [blue.arn + "x"]}, "TargetGroupNotFound")


# ----- Classic ELB ------------------------------------------------------------------------------


def add_clb(world: World, name: str = "classic", drain: int | None = 300) -> ClassicLoadBalancer:
    attributes: dict[str, object] = {}
    if drain is not None:
        attributes["ConnectionDraining"] = {"Enabled": True, "Timeout": drain}
    clb = ClassicLoadBalancer(
        name=name,
        dns_name=f"{name}-123.us-east-1.elb.localhost",
        azs=list(AZS),
        subnets=[world.subnet_for(az) for az in AZS],
        vpc_id=world.vpc_id,
        created=world.now(),
        listeners=[
            {
                "Protocol": "HTTP",
                "LoadBalancerPort": 80,
                "InstanceProtocol": "HTTP",
                "InstancePort": 8080,
            }
        ],
        health_check=HealthCheck(healthy_threshold=2),
        health_target="HTTP:8080/health",
        attributes=attributes,
    )
    world.classic_lbs[name] = clb
    return clb


def instance_states(world: World, clb: ClassicLoadBalancer, ids: list[str] | None = None) -> dict:
    params: dict = {"LoadBalancerName": clb.name}
    if ids is not None:
        params["Instances"] = [{"InstanceId": i} for i in ids]
    out = call(world, "elb", "DescribeInstanceHealth", params)
    return {s["InstanceId"]: s for s in out["InstanceStates"]}


def test_classic_describe_load_balancers(world: World) -> None:
    clb = add_clb(world)
    add_clb(world, "second")
    add_clb(world, "third")
    inst = running(world)
    world.register_classic(clb, inst.id)
    out = call(world, "elb", "DescribeLoadBalancers", {"LoadBalancerNames": ["classic"]})
    (desc,) = out["LoadBalancerDescriptions"]
    assert desc["ListenerDescriptions"] == [
        {
            "Listener": {
                "Protocol": "HTTP",
                "LoadBalancerPort": 80,
                "InstanceProtocol": "HTTP",
                "InstancePort": 8080,
            },
            "PolicyNames": [],
        }
    ]
    assert desc["Instances"] == [{"InstanceId": inst.id}]
    assert desc["HealthCheck"]["Target"] == "HTTP:8080/health"
    assert desc["VPCId"] == world.vpc_id and desc["Subnets"] == clb.subnets
    assert desc["CanonicalHostedZoneNameID"] == "Z35SXDOTRQ7X7K"
    first = call(world, "elb", "DescribeLoadBalancers", {"PageSize": 2})
    rest = call(world, "elb", "DescribeLoadBalancers", {"Marker": first["NextMarker"]})
    names = [d["LoadBalancerName"] for d in first["LoadBalancerDescriptions"]]
    names += [d["LoadBalancerName"] for d in rest["LoadBalancerDescriptions"]]
    assert names == ["classic", "second", "third"] and "NextMarker" not in rest
    fails(
        world,
        "elb",
        "DescribeLoadBalancers",
        {"LoadBalancerNames": ["nope"]},
        "LoadBalancerNotFound",
    )


def test_classic_instance_health(world: World) -> None:
    clb = add_clb(world)
    fresh, good, bad, stopped = (running(world) for _ in range(4))
    out = call(
        world,
        "elb",
        "RegisterInstancesWithLoadBalancer",
        {
            "LoadBalancerName": clb.name,
            "Instances": [{"InstanceId": i.id} for i in (fresh, good, bad, stopped)],
        },
    )
    assert len(out["Instances"]) == 4
    for _ in range(2):
        world.record_check(clb.health_check, clb.instances[good.id], True, None, 200)
    make_unhealthy(world, clb.health_check, clb.instances[bad.id])
    stopped.state = "stopped"
    states = instance_states(world, clb)
    assert states[fresh.id]["State"] == "OutOfService"
    assert states[fresh.id]["ReasonCode"] == "ELB"
    assert states[good.id] == {
        "InstanceId": good.id,
        "State": "InService",
        "ReasonCode": "N/A",
        "Description": "N/A",
    }
    assert states[bad.id]["State"] == "OutOfService"
    assert states[bad.id]["ReasonCode"] == "Instance"
    assert states[stopped.id]["Description"] == "Instance is in stopped state."
    # Once its first health check has completed, a new instance is waiting on the threshold.
    world.record_check(clb.health_check, clb.instances[fresh.id], True, None, 200)
    assert instance_states(world, clb, [fresh.id])[fresh.id] == {
        "InstanceId": fresh.id,
        "State": "OutOfService",
        "ReasonCode": "Instance",
        "Description": "Instance has not passed the configured HealthyThreshold number of "
        "health checks consecutively.",
    }
    assert list(instance_states(world, clb, [good.id])) == [good.id]
    outsider = running(world)
    fails(
        world,
        "elb",
        "DescribeInstanceHealth",
        {"LoadBalancerName": clb.name, "Instances": [{"InstanceId": outsider.id}]},
        "InvalidInstance",
    )
    fails(
        world, "elb", "DescribeInstanceHealth", {"LoadBalancerName": "nope"}, "LoadBalancerNotFound"
    )


def test_classic_deregister_drains(world: World) -> None:
    clb = add_clb(world, drain=120)
    leaving, staying = running(world), running(world)
    world.register_classic(clb, leaving.id)
    world.register_classic(clb, staying.id)
    clb.instances[leaving.id].inflight = 1
    out = call(
        world,
        "elb",
        "DeregisterInstancesFromLoadBalancer",
        {"LoadBalancerName": clb.name, "Instances": [{"InstanceId": leaving.id}]},
    )
    assert out["Instances"] == [{"InstanceId": staying.id}]
    target = clb.instances[leaving.id]
    assert target.drain_deadline is not None and target.drain_started is not None
    assert target.drain_deadline - target.drain_started == 120
    state = instance_states(world, clb, [leaving.id])[leaving.id]
    assert state["State"] == "InService"
    assert state["Description"] == "Instance deregistration currently in progress."
    desc = call(world, "elb", "DescribeLoadBalancers", {"LoadBalancerNames": [clb.name]})
    assert desc["LoadBalancerDescriptions"][0]["Instances"] == [{"InstanceId": staying.id}]
    # Classic connection draining ends with the last request, long before the timeout.
    target.inflight = 0
    world.tick()
    state = instance_states(world, clb, [leaving.id])[leaving.id]
    assert state == {
        "InstanceId": leaving.id,
        "State": "OutOfService",
        "ReasonCode": "ELB",
        "Description": "Instance is not currently registered with the LoadBalancer.",
    }
    assert list(instance_states(world, clb)) == [staying.id]
    fails(
        world,
        "elb",
        "DeregisterInstancesFromLoadBalancer",
        {"LoadBalancerName": clb.name, "Instances": [{"InstanceId": leaving.id}]},
        "InvalidInstance",
    )


def test_classic_register_errors(world: World) -> None:
    clb = add_clb(world)
    stopped = running(world)
    stopped.state = "stopped"
    for instance_id in (stopped.id, "i-0000000000000000f"):
        fails(
            world,
            "elb",
            "RegisterInstancesWithLoadBalancer",
            {"LoadBalancerName": clb.name, "Instances": [{"InstanceId": instance_id}]},
            "InvalidInstance",
        )
    assert clb.instances == {}
    fails(
        world,
        "elb",
        "RegisterInstancesWithLoadBalancer",
        {"LoadBalancerName": "nope", "Instances": [{"InstanceId": stopped.id}]},
        "LoadBalancerNotFound",
    )


def test_classic_attributes(world: World) -> None:
    clb = add_clb(world, drain=None)
    out = call(world, "elb", "DescribeLoadBalancerAttributes", {"LoadBalancerName": clb.name})
    attrs = out["LoadBalancerAttributes"]
    assert attrs["ConnectionDraining"] == {"Enabled": False, "Timeout": 300}
    assert attrs["ConnectionSettings"] == {"IdleTimeout": 60}
    assert attrs["CrossZoneLoadBalancing"] == {"Enabled": False}
    assert attrs["AccessLog"] == {"Enabled": False}
    assert clb.draining_timeout == 0
    out = call(
        world,
        "elb",
        "ModifyLoadBalancerAttributes",
        {
            "LoadBalancerName": clb.name,
            "LoadBalancerAttributes": {
                "ConnectionDraining": {"Enabled": True, "Timeout": 45},
                "ConnectionSettings": {"IdleTimeout": 120},
            },
        },
    )
    assert out["LoadBalancerName"] == clb.name
    assert out["LoadBalancerAttributes"]["ConnectionDraining"] == {"Enabled": True, "Timeout": 45}
    assert clb.draining_timeout == 45
    for attrs_in, code in (
        ({"ConnectionDraining": {"Enabled": True, "Timeout": 3601}}, "ValidationError"),
        ({"ConnectionSettings": {"IdleTimeout": 4000}}, "ValidationError"),
        ({"AccessLog": {"Enabled": True}}, "InvalidConfigurationRequest"),
        (
            {"AdditionalAttributes": [{"Key": "elb.nope", "Value": "x"}]},
            "LoadBalancerAttributeNotFound",
        ),
    ):
        fails(
            world,
            "elb",
            "ModifyLoadBalancerAttributes",
            {"LoadBalancerName": clb.name, "LoadBalancerAttributes": attrs_in},
            code,
        )
    assert clb.draining_timeout == 45
    fails(
        world,
        "elb",
        "DescribeLoadBalancerAttributes",
        {"LoadBalancerName": "nope"},
        "LoadBalancerNotFound",
    )


def test_classic_tags(world: World) -> None:
    clb = add_clb(world)
    call(
        world,
        "elb",
        "AddTags",
        {"LoadBalancerNames": [clb.name], "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "x"}]},
    )
    call(world, "elb", "RemoveTags", {"LoadBalancerNames": [clb.name], "Tags": [{"Key": "x"}]})
    out = call(world, "elb", "DescribeTags", {"LoadBalancerNames": [clb.name]})
    assert out["TagDescriptions"] == [
        {"LoadBalancerName": clb.name, "Tags": [{"Key": "env", "Value": "prod"}]}
    ]
    fails(
        world,
        "elb",
        "AddTags",
        {"LoadBalancerNames": [clb.name], "Tags": [{"Key": "a"}, {"Key": "a"}]},
        "DuplicateTagKeys",
    )
    fails(world, "elb", "DescribeTags", {"LoadBalancerNames": ["nope"]}, "LoadBalancerNotFound")
