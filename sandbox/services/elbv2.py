"""Elastic Load Balancing v2 (Application and Network Load Balancers) over the sandbox world.

Results follow botocore's `elbv2` output shapes; errors carry the modeled wire codes
(`LoadBalancerNotFound`, `TargetGroupNotFound`, `ListenerNotFound`, `RuleNotFound`,
`InvalidTarget`, `InvalidConfigurationRequest`, ...) or `ValidationError` where AWS rejects a
value its own request validation catches. Every function here runs under `world.lock`
(`dispatch` holds it), so read-modify-write sequences are atomic.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from cutover.sandbox.services import operation
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import (
    REASON_TEXT,
    UNUSED,
    Listener,
    LoadBalancer,
    Rule,
    Target,
    TargetGroup,
    World,
)

SERVICE = "elbv2"
MAX_PAGE_SIZE = 400
MAX_TAGS = 50
MAX_WEIGHT = 999
MAX_FORWARD_GROUPS = 5
MAX_STICKINESS_SECONDS = 604800

ALB_PROTOCOLS = ("HTTP", "HTTPS")
NLB_PROTOCOLS = ("TCP", "TLS", "UDP", "TCP_UDP")
TERMINAL_ACTIONS = ("forward", "redirect", "fixed-response")
# The Action shape documents these configs as "[HTTPS listeners]".
HTTPS_ONLY_ACTIONS = ("authenticate-oidc", "authenticate-cognito", "jwt-validation")
SECURE_PROTOCOLS = ("HTTPS", "TLS")
ACTION_CONFIG_KEY = {
    "redirect": "RedirectConfig",
    "fixed-response": "FixedResponseConfig",
    "authenticate-oidc": "AuthenticateOidcConfig",
    "authenticate-cognito": "AuthenticateCognitoConfig",
    "jwt-validation": "JwtValidationConfig",
}
# Condition fields and the typed config AWS echoes next to the legacy Field/Values form.
CONDITION_CONFIG_KEY = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-header": "HttpHeaderConfig",
    "query-string": "QueryStringConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "source-ip": "SourceIpConfig",
}
# Route 53 hosted zones of the regional load balancer endpoints (ALB and CLB share one).
HOSTED_ZONES = {
    "us-east-1": ("Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    "us-west-2": ("Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
    "eu-west-1": ("Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
}

T = TypeVar("T")


# ----- shared helpers (elb.py uses these too) -----------------------------------------------


def hosted_zone_id(region: str, lb_type: str = "application") -> str:
    """The canonical hosted zone id AWS reports for a load balancer type in a region."""
    alb, nlb = HOSTED_ZONES.get(region, HOSTED_ZONES["us-east-1"])
    return nlb if lb_type == "network" else alb


def paginate(items: Sequence[T], params: dict) -> tuple[list[T], str | None]:
    """Slice `items` by the call's Marker/PageSize; returns (page, NextMarker or None).

    Markers are opaque to callers; a marker this function did not issue is a ValidationError,
    and so is a PageSize above 400 (botocore itself rejects one below 1).
    """
    size = params.get("PageSize") or MAX_PAGE_SIZE
    if size > MAX_PAGE_SIZE:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{size}' at 'pageSize' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_PAGE_SIZE}",
        )
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            start = int(json.loads(base64.b64decode(marker, validate=True))["offset"])
        except (ValueError, KeyError, TypeError):
            raise ApiError("ValidationError", "Invalid value for Marker") from None
        if start < 0:
            raise ApiError("ValidationError", "Invalid value for Marker")
    end = start + size
    next_marker = None
    if end < len(items):
        next_marker = base64.b64encode(json.dumps({"offset": end}).encode()).decode()
    return list(items[start:end]), next_marker


def tag_list(tags: dict[str, str]) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def add_tags(store: dict[str, str], tags: list[dict]) -> None:
    """Merge Key/Value pairs into `store`, enforcing AWS's duplicate-key and 50-tag rules."""
    keys = [t["Key"] for t in tags]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ApiError("DuplicateTagKeys", f"Tag key was specified more than once: {duplicates}")
    if len(set(store) | set(keys)) > MAX_TAGS:
        raise ApiError("TooManyTags", f"A resource can have at most {MAX_TAGS} tags")
    for t in tags:
        store[t["Key"]] = t.get("Value", "")


def _result(key: str, items: list, next_marker: str | None) -> dict:
    out: dict[str, Any] = {key: items}
    if next_marker:
        out["NextMarker"] = next_marker
    return out


# ----- lookups --------------------------------------------------------------------------------


def _lb(world: World, arn: str) -> LoadBalancer:
    lb = world.load_balancers.get(arn)
    if lb is None:
        raise ApiError("LoadBalancerNotFound", f"One or more load balancers not found: '{arn}'")
    return lb


def _tg(world: World, arn: str) -> TargetGroup:
    tg = world.target_groups.get(arn)
    if tg is None:
        raise ApiError("TargetGroupNotFound", f"One or more target groups not found: '{arn}'")
    return tg


def _listener(world: World, arn: str) -> Listener:
    for listener in world.listeners():
        if listener.arn == arn:
            return listener
    raise ApiError("ListenerNotFound", f"One or more listeners not found: '{arn}'")


def _rule(world: World, arn: str) -> tuple[Listener, Rule]:
    for listener in world.listeners():
        for rule in listener.rules:
            if rule.arn == arn:
                return listener, rule
    raise ApiError("RuleNotFound", f"One or more rules not found: '{arn}'")


def _lookup_all(arns: list[str], find: Callable[[str], T | None], code: str, noun: str) -> list[T]:
    found, missing = [], []
    for arn in arns:
        item = find(arn)
        if item is None:
            missing.append(arn)
        else:
            found.append(item)
    if missing:
        raise ApiError(code, f"One or more {noun} not found: {', '.join(map(repr, missing))}")
    return found


# ----- rendering ------------------------------------------------------------------------------


def _render_lb(world: World, lb: LoadBalancer) -> dict:
    out: dict[str, Any] = {
        "LoadBalancerArn": lb.arn,
        "DNSName": lb.dns_name,
        "CanonicalHostedZoneId": hosted_zone_id(world.region, lb.type),
        "CreatedTime": lb.created,
        "LoadBalancerName": lb.name,
        "Scheme": lb.scheme,
        "VpcId": lb.vpc_id,
        "State": {"Code": "active"},
        "Type": lb.type,
        "AvailabilityZones": [
            {
                "ZoneName": az,
                "SubnetId": lb.subnets.get(az) or world.subnet_for(az),
                "LoadBalancerAddresses": [],
            }
            for az in lb.azs
        ],
        "IpAddressType": "ipv4",
    }
    # Network Load Balancers created without security groups report none at all.
    if lb.security_groups or lb.type == "application":
        out["SecurityGroups"] = list(lb.security_groups)
    return out


def normalize_action(action: dict) -> dict:
    """An action as AWS stores and returns it.

    A forward action always carries ForwardConfig (weights default to 1, stickiness off) and,
    when it forwards to exactly one group, TargetGroupArn too.
    """
    out: dict[str, Any] = {"Type": action["Type"]}
    if action["Type"] == "forward":
        cfg = action.get("ForwardConfig") or {}
        groups = cfg.get("TargetGroups") or (
            [{"TargetGroupArn": action["TargetGroupArn"]}] if action.get("TargetGroupArn") else []
        )
        tuples = [
            {"TargetGroupArn": g["TargetGroupArn"], "Weight": int(g.get("Weight", 1))}
            for g in groups
        ]
        if len(tuples) == 1:
            out["TargetGroupArn"] = tuples[0]["TargetGroupArn"]
        sticky_in = cfg.get("TargetGroupStickinessConfig") or {}
        sticky: dict[str, Any] = {"Enabled": bool(sticky_in.get("Enabled", False))}
        if sticky["Enabled"] and "DurationSeconds" in sticky_in:
            sticky["DurationSeconds"] = int(sticky_in["DurationSeconds"])
        out["ForwardConfig"] = {"TargetGroups": tuples, "TargetGroupStickinessConfig": sticky}
    else:
        key = ACTION_CONFIG_KEY.get(action["Type"])
        if key and key in action:
            out[key] = copy.deepcopy(action[key])
    if "Order" in action:
        out["Order"] = int(action["Order"])
    return out


def normalize_condition(condition: dict) -> dict:
    """A rule condition as AWS returns it: legacy Values next to the typed config."""
    out = copy.deepcopy(condition)
    field = out.get("Field")
    key = CONDITION_CONFIG_KEY.get(field or "")
    # Only host-header and path-pattern have both spellings; AWS mirrors one into the other.
    if field in ("host-header", "path-pattern") and key:
        if "Values" in out and key not in out:
            out[key] = {"Values": list(out["Values"])}
        elif key in out and "Values" not in out:
            out["Values"] = list(out[key].get("Values", []))
    return out


def _render_listener(listener: Listener) -> dict:
    out: dict[str, Any] = {
        "ListenerArn": listener.arn,
        "LoadBalancerArn": listener.lb_arn,
        "Port": listener.port,
        "Protocol": listener.protocol,
    }
    if listener.certificates:
        out["Certificates"] = copy.deepcopy(listener.certificates)
    if listener.ssl_policy:
        out["SslPolicy"] = listener.ssl_policy
    out["DefaultActions"] = [normalize_action(a) for a in listener.default_rule.actions]
    return out


def _render_rule(rule: Rule) -> dict:
    return {
        "RuleArn": rule.arn,
        "Priority": rule.priority,
        "Conditions": [normalize_condition(c) for c in rule.conditions],
        "Actions": [normalize_action(a) for a in rule.actions],
        "IsDefault": rule.is_default,
    }


def _health_check_port(tg: TargetGroup) -> str:
    port = tg.health_check.port
    return str(tg.port) if port == "traffic-port" else str(port)


def _render_tg(world: World, tg: TargetGroup) -> dict:
    hc = tg.health_check
    out: dict[str, Any] = {
        "TargetGroupArn": tg.arn,
        "TargetGroupName": tg.name,
        "Protocol": tg.protocol,
        "Port": tg.port,
        "VpcId": tg.vpc_id,
        "HealthCheckProtocol": hc.protocol,
        "HealthCheckPort": str(hc.port),
        "HealthCheckEnabled": hc.enabled,
        "HealthCheckIntervalSeconds": hc.interval,
        "HealthCheckTimeoutSeconds": hc.timeout,
        "HealthyThresholdCount": hc.healthy_threshold,
        "UnhealthyThresholdCount": hc.unhealthy_threshold,
    }
    # Path and matcher exist only for HTTP(S) health checks (a TCP check has neither).
    if hc.protocol in ALB_PROTOCOLS:
        out["HealthCheckPath"] = hc.path
        out["Matcher"] = {"HttpCode": hc.matcher}
    out["LoadBalancerArns"] = [lb.arn for lb in world.load_balancers_of(tg)]
    out["TargetType"] = tg.target_type
    if tg.protocol in ALB_PROTOCOLS:
        out["ProtocolVersion"] = "HTTP1"
    out["IpAddressType"] = "ipv4"
    return out


# ----- load balancers, listeners, rules -------------------------------------------------------


@operation(SERVICE, "DescribeLoadBalancers")
def describe_load_balancers(world: World, params: dict) -> dict:
    """Load balancers by ARN or name (all when neither is given), paginated."""
    if params.get("LoadBalancerArns") and params.get("Names"):
        raise ApiError("ValidationError", "Load balancer ARNs and names cannot both be specified")
    if params.get("LoadBalancerArns"):
        lbs = _lookup_all(
            params["LoadBalancerArns"],
            world.load_balancers.get,
            "LoadBalancerNotFound",
            "load balancers",
        )
    elif params.get("Names"):
        lbs = _lookup_all(
            params["Names"], world.load_balancer_by_name, "LoadBalancerNotFound", "load balancers"
        )
    else:
        lbs = list(world.load_balancers.values())
    page, marker = paginate(lbs, params)
    return _result("LoadBalancers", [_render_lb(world, lb) for lb in page], marker)


@operation(SERVICE, "DescribeListeners")
def describe_listeners(world: World, params: dict) -> dict:
    """Listeners of one load balancer, or the listeners asked for by ARN; paginated."""
    if params.get("ListenerArns"):
        by_arn = {listener.arn: listener for listener in world.listeners()}
        listeners = _lookup_all(params["ListenerArns"], by_arn.get, "ListenerNotFound", "listeners")
        if params.get("LoadBalancerArn"):
            listeners = [x for x in listeners if x.lb_arn == params["LoadBalancerArn"]]
    elif params.get("LoadBalancerArn"):
        listeners = list(_lb(world, params["LoadBalancerArn"]).listeners.values())
    else:
        raise ApiError(
            "ValidationError", "You must specify either listener ARNs or a load balancer ARN"
        )
    page, marker = paginate(listeners, params)
    return _result("Listeners", [_render_listener(x) for x in page], marker)


def _rule_order(rule: Rule) -> tuple[int, int]:
    return (1, 0) if rule.is_default else (0, int(rule.priority))


@operation(SERVICE, "DescribeRules")
def describe_rules(world: World, params: dict) -> dict:
    """A listener's rules by priority with the default rule last, or the rules asked for."""
    if params.get("RuleArns"):
        rules = [_rule(world, arn)[1] for arn in params["RuleArns"]]
    elif params.get("ListenerArn"):
        rules = sorted(_listener(world, params["ListenerArn"]).rules, key=_rule_order)
    else:
        raise ApiError("ValidationError", "You must specify either listener ARN or rule ARNs")
    page, marker = paginate(rules, params)
    return _result("Rules", [_render_rule(r) for r in page], marker)


def _protocol_family(lb: LoadBalancer) -> tuple[str, ...]:
    return NLB_PROTOCOLS if lb.type == "network" else ALB_PROTOCOLS


def _validate_actions(
    world: World, lb: LoadBalancer, protocol: str, actions: list[dict], where: str
) -> list[dict]:
    """Check actions the way ELB does and return them normalized for storage."""
    if not actions:
        raise ApiError("ValidationError", f"At least one action must be specified in '{where}'")
    ordered = sorted(enumerate(actions), key=lambda ia: (ia[1].get("Order", ia[0] + 1), ia[0]))
    terminal = [a for _, a in ordered if a["Type"] in TERMINAL_ACTIONS]
    if len(terminal) != 1 or ordered[-1][1]["Type"] not in TERMINAL_ACTIONS:
        raise ApiError(
            "InvalidLoadBalancerAction",
            "Exactly one forward, redirect or fixed-response action must be specified, "
            "and it must be the last action",
        )
    for index, action in enumerate(actions, start=1):
        kind = action["Type"]
        path = f"{where}.{index}.member"
        if lb.type == "network" and kind != "forward":
            raise ApiError(
                "InvalidLoadBalancerAction",
                f"Network Load Balancers support only forward actions, not '{kind}'",
            )
        if kind in HTTPS_ONLY_ACTIONS and protocol != "HTTPS":
            raise ApiError(
                "InvalidLoadBalancerAction",
                f"Actions of type '{kind}' are supported only on HTTPS listeners.",
            )
        if kind == "forward":
            _validate_forward(world, lb, protocol, action, path)
        elif ACTION_CONFIG_KEY.get(kind) and ACTION_CONFIG_KEY[kind] not in action:
            raise ApiError(
                "ValidationError",
                f"{ACTION_CONFIG_KEY[kind]} must be specified for a '{kind}' action",
            )
    return [normalize_action(a) for _, a in ordered]


def _validate_forward(
    world: World, lb: LoadBalancer, protocol: str, action: dict, path: str
) -> None:
    cfg = action.get("ForwardConfig") or {}
    groups = cfg.get("TargetGroups") or []
    single = action.get("TargetGroupArn")
    if not groups and not single:
        raise ApiError(
            "ValidationError", "A target group ARN must be specified for a forward action"
        )
    if single and groups and (len(groups) != 1 or groups[0].get("TargetGroupArn") != single):
        raise ApiError(
            "ValidationError",
            "You cannot specify both TargetGroupArn and ForwardConfig unless they name the "
            "same single target group",
        )
    if len(groups) > MAX_FORWARD_GROUPS:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value at '{path}.forwardConfig.targetGroups' failed "
            f"to satisfy constraint: Member must have length less than or equal to "
            f"{MAX_FORWARD_GROUPS}",
        )
    arns = [g["TargetGroupArn"] for g in groups] or [single]
    if len(set(arns)) != len(arns):
        raise ApiError("ValidationError", "A target group can appear only once in a forward action")
    for n, group in enumerate(groups, start=1):
        weight = group.get("Weight", 1)
        if not 0 <= weight <= MAX_WEIGHT:
            bound = "greater than or equal to 0" if weight < 0 else "less than or equal to 999"
            raise ApiError(
                "ValidationError",
                f"1 validation error detected: Value '{weight}' at "
                f"'{path}.forwardConfig.targetGroups.{n}.member.weight' failed to satisfy "
                f"constraint: Member must have value {bound}",
            )
    sticky = cfg.get("TargetGroupStickinessConfig") or {}
    if sticky.get("Enabled") and not 1 <= sticky.get("DurationSeconds", 3600) <= (
        MAX_STICKINESS_SECONDS
    ):
        raise ApiError(
            "ValidationError",
            f"Target group stickiness duration must be between 1 and {MAX_STICKINESS_SECONDS} "
            "seconds",
        )
    missing = [arn for arn in arns if arn not in world.target_groups]
    if missing:
        raise ApiError(
            "TargetGroupNotFound",
            f"One or more target groups not found: {', '.join(map(repr, missing))}",
        )
    for arn in arns:
        tg = world.target_groups[arn]
        if tg.protocol not in _protocol_family(lb):
            raise ApiError(
                "IncompatibleProtocols",
                f"The protocol of target group '{tg.name}' ({tg.protocol}) is incompatible "
                f"with listener protocol '{protocol}'",
            )
        # A target group serves a single load balancer; sharing it is a modeled limit error.
        others = [other.name for other in world.load_balancers_of(tg) if other.arn != lb.arn]
        if others:
            raise ApiError(
                "TargetGroupAssociationLimit",
                f"The following target groups cannot be associated with more than one load "
                f"balancer: '{arn}' (already used by '{others[0]}')",
            )


def _security(listener: Listener, protocol: str, params: dict) -> tuple[list[dict], str | None]:
    """The certificates and security policy the listener has after the change.

    "Any properties that you do not specify remain unchanged. Changing the protocol from
    HTTPS to HTTP, or from TLS to TCP, removes the security policy and default certificate
    properties. If you change the protocol from HTTP to HTTPS, or from TCP to TLS, you must
    add the security policy and default certificate properties." (ModifyListener)
    """
    certificates = params.get("Certificates")
    policy = params.get("SslPolicy")
    if protocol not in SECURE_PROTOCOLS:
        if policy:
            raise ApiError(
                "ValidationError", f"An SSL policy cannot be specified for {protocol} listeners."
            )
        if certificates:
            raise ApiError(
                "ValidationError", f"Certificates cannot be specified for {protocol} listeners."
            )
        return [], None
    if certificates is None:
        certificates = listener.certificates if listener.protocol in SECURE_PROTOCOLS else []
    if policy is None:
        policy = listener.ssl_policy if listener.protocol in SECURE_PROTOCOLS else None
    if not certificates:
        raise ApiError(
            "ValidationError", f"A certificate must be specified for {protocol} listeners"
        )
    if (
        len(certificates) != 1
        or not certificates[0].get("CertificateArn")
        or ("IsDefault" in certificates[0])
    ):
        raise ApiError(
            "ValidationError",
            "Exactly one default certificate must be specified, with CertificateArn and "
            "without IsDefault",
        )
    cert = certificates[0]["CertificateArn"]
    if not cert.startswith("arn:") or not (
        ":certificate/" in cert or ":server-certificate/" in cert
    ):
        raise ApiError("CertificateNotFound", f"Certificate '{cert}' not found")
    if not policy:
        raise ApiError(
            "ValidationError", f"A security policy must be specified for {protocol} listeners"
        )
    if not policy.startswith("ELBSecurityPolicy-"):
        raise ApiError("SSLPolicyNotFound", f"SSL policy '{policy}' not found")
    return [{"CertificateArn": cert}], policy


@operation(SERVICE, "ModifyListener")
def modify_listener(world: World, params: dict) -> dict:
    """Change a listener's port, protocol, certificate, security policy and/or default
    actions; returns the listener. What is not given stays as it is.

    Everything is validated before anything changes. Forward actions are stored normalized
    (ForwardConfig with weights), which is what the data plane reads.
    """
    listener = _listener(world, params["ListenerArn"])
    lb = _lb(world, listener.lb_arn)
    port = params.get("Port", listener.port)
    protocol = params.get("Protocol", listener.protocol)
    if protocol not in _protocol_family(lb):
        raise ApiError(
            "UnsupportedProtocol",
            f"Protocol '{protocol}' is not supported by {lb.type} load balancers",
        )
    certificates, policy = _security(listener, protocol, params)
    if any(other.port == port for other in lb.listeners.values() if other.arn != listener.arn):
        raise ApiError(
            "DuplicateListener",
            f"A listener already exists on port {port} for load balancer '{lb.arn}'",
        )
    actions = listener.default_rule.actions
    if "DefaultActions" in params:
        actions = _validate_actions(world, lb, protocol, params["DefaultActions"], "defaultActions")
    elif protocol != listener.protocol:
        _validate_actions(world, lb, protocol, actions, "defaultActions")
    if protocol != listener.protocol:
        # The other rules' actions must suit the new protocol too.
        for rule in listener.rules[1:]:
            _validate_actions(world, lb, protocol, rule.actions, "actions")
    listener.port = port
    listener.protocol = protocol
    listener.certificates = certificates
    listener.ssl_policy = policy
    listener.default_rule.actions = actions
    return {"Listeners": [_render_listener(listener)]}


@operation(SERVICE, "ModifyRule")
def modify_rule(world: World, params: dict) -> dict:
    """Replace a rule's actions and/or conditions; returns the rule."""
    listener, rule = _rule(world, params["RuleArn"])
    lb = _lb(world, listener.lb_arn)
    actions = rule.actions
    conditions = rule.conditions
    if "Actions" in params:
        actions = _validate_actions(world, lb, listener.protocol, params["Actions"], "actions")
    if "Conditions" in params:
        if rule.is_default:
            raise ApiError(
                "OperationNotPermitted", "The default rule's conditions cannot be modified"
            )
        if not params["Conditions"]:
            raise ApiError("ValidationError", "A rule must have at least one condition")
        conditions = []
        for condition in params["Conditions"]:
            field = condition.get("Field")
            if field not in CONDITION_CONFIG_KEY:
                raise ApiError("ValidationError", f"Condition field '{field}' is not supported")
            conditions.append(normalize_condition(condition))
    rule.actions = actions
    rule.conditions = conditions
    return {"Rules": [_render_rule(rule)]}


# ----- target groups ----------------------------------------------------------------------------


@operation(SERVICE, "DescribeTargetGroups")
def describe_target_groups(world: World, params: dict) -> dict:
    """Target groups by load balancer, ARN or name (all when none is given), paginated.

    LoadBalancerArns lists the load balancers whose listeners or rules forward to the group.
    """
    groups = list(world.target_groups.values())
    if params.get("LoadBalancerArn"):
        lb = _lb(world, params["LoadBalancerArn"])
        groups = [tg for tg in groups if any(x.arn == lb.arn for x in world.load_balancers_of(tg))]
    if params.get("TargetGroupArns"):
        groups = _lookup_all(
            params["TargetGroupArns"],
            world.target_groups.get,
            "TargetGroupNotFound",
            "target groups",
        )
    elif params.get("Names"):
        groups = _lookup_all(
            params["Names"], world.target_group_by_name, "TargetGroupNotFound", "target groups"
        )
    page, marker = paginate(groups, params)
    return _result("TargetGroups", [_render_tg(world, tg) for tg in page], marker)


def _bool(value: str) -> bool:
    return value in ("true", "false")


def _int_between(lo: int, hi: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return value.lstrip("-").isdigit() and lo <= int(value) <= hi

    return check


def _one_of(*choices: str) -> Callable[[str], bool]:
    return lambda value: value in choices


def _slow_start(value: str) -> bool:
    return value.isdigit() and (int(value) == 0 or 30 <= int(value) <= 900)


# (default, validator, what a valid value looks like) per attribute, by target group family.
_COMMON_ATTRIBUTES: dict[str, tuple[str, Callable[[str], bool], str]] = {
    "deregistration_delay.timeout_seconds": ("300", _int_between(0, 3600), "0-3600"),
    "stickiness.enabled": ("false", _bool, "true or false"),
    "load_balancing.cross_zone.enabled": (
        "use_load_balancer_configuration",
        _one_of("true", "false", "use_load_balancer_configuration"),
        "true, false or use_load_balancer_configuration",
    ),
    "target_group_health.dns_failover.minimum_healthy_targets.count": (
        "1",
        lambda v: v == "off" or _int_between(1, 10000)(v),
        "off or a positive number",
    ),
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": (
        "off",
        lambda v: v == "off" or _int_between(1, 100)(v),
        "off or 1-100",
    ),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": (
        "1",
        _int_between(1, 10000),
        "a positive number",
    ),
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": (
        "off",
        lambda v: v == "off" or _int_between(1, 100)(v),
        "off or 1-100",
    ),
}
_HTTP_ATTRIBUTES = {
    **_COMMON_ATTRIBUTES,
    "stickiness.type": ("lb_cookie", _one_of("lb_cookie", "app_cookie"), "lb_cookie or app_cookie"),
    "stickiness.lb_cookie.duration_seconds": (
        "86400",
        _int_between(1, MAX_STICKINESS_SECONDS),
        f"1-{MAX_STICKINESS_SECONDS}",
    ),
    "stickiness.app_cookie.cookie_name": ("", lambda v: True, "a cookie name"),
    "stickiness.app_cookie.duration_seconds": (
        "86400",
        _int_between(1, MAX_STICKINESS_SECONDS),
        f"1-{MAX_STICKINESS_SECONDS}",
    ),
    "load_balancing.algorithm.type": (
        "round_robin",
        _one_of("round_robin", "least_outstanding_requests", "weighted_random"),
        "round_robin, least_outstanding_requests or weighted_random",
    ),
    "load_balancing.algorithm.anomaly_mitigation": ("off", _one_of("on", "off"), "on or off"),
    "slow_start.duration_seconds": ("0", _slow_start, "0 or 30-900"),
}
_TCP_ATTRIBUTES = {
    **_COMMON_ATTRIBUTES,
    "stickiness.type": ("source_ip", _one_of("source_ip"), "source_ip"),
    "deregistration_delay.connection_termination.enabled": ("false", _bool, "true or false"),
    "preserve_client_ip.enabled": ("true", _bool, "true or false"),
    "proxy_protocol_v2.enabled": ("false", _bool, "true or false"),
    "target_health_state.unhealthy.connection_termination.enabled": (
        "true",
        _bool,
        "true or false",
    ),
    "target_health_state.unhealthy.draining_interval_seconds": (
        "0",
        _int_between(0, 360000),
        "0-360000",
    ),
}


def _attribute_rules(tg: TargetGroup) -> dict[str, tuple[str, Callable[[str], bool], str]]:
    return _HTTP_ATTRIBUTES if tg.protocol in ALB_PROTOCOLS else _TCP_ATTRIBUTES


def _attribute_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _render_attributes(tg: TargetGroup) -> list[dict]:
    rules = _attribute_rules(tg)
    values = {key: default for key, (default, _, _) in rules.items()}
    values.update({k: _attribute_text(v) for k, v in tg.attributes.items()})
    return [{"Key": k, "Value": v} for k, v in values.items()]


@operation(SERVICE, "DescribeTargetGroupAttributes")
def describe_target_group_attributes(world: World, params: dict) -> dict:
    """Every attribute of the group's type: defaults overlaid with what was set."""
    return {"Attributes": _render_attributes(_tg(world, params["TargetGroupArn"]))}


@operation(SERVICE, "ModifyTargetGroupAttributes")
def modify_target_group_attributes(world: World, params: dict) -> dict:
    """Validate and store attributes (all or none); returns every attribute.

    An unknown key or an out-of-range value (deregistration delay outside 0-3600, ...) is
    `InvalidConfigurationRequest`.
    """
    tg = _tg(world, params["TargetGroupArn"])
    rules = _attribute_rules(tg)
    changes: dict[str, str] = {}
    for attribute in params["Attributes"]:
        key = attribute.get("Key", "")
        value = attribute.get("Value", "")
        if key not in rules:
            raise ApiError(
                "InvalidConfigurationRequest",
                f"Attribute key '{key}' is not recognized for a {tg.protocol} target group",
            )
        _, valid, expected = rules[key]
        if not valid(value):
            raise ApiError(
                "InvalidConfigurationRequest",
                f"Attribute '{key}' must be {expected}, not '{value}'",
            )
        changes[key] = value
    tg.attributes.update(changes)
    return {"Attributes": _render_attributes(tg)}


# ----- targets ----------------------------------------------------------------------------------


def _health(world: World, tg: TargetGroup, target: Target, include: list[str]) -> dict:
    state, reason, description = world.effective_state(tg, target)
    return _health_entry(tg, target.id, target.port, state, reason, description, include)


def _health_entry(
    tg: TargetGroup,
    target_id: str,
    port: int,
    state: str,
    reason: str | None,
    description: str | None,
    include: list[str],
) -> dict:
    health: dict[str, Any] = {"State": state}
    if reason:
        health["Reason"] = reason
    if description:
        health["Description"] = description
    out: dict[str, Any] = {
        "Target": {"Id": target_id, "Port": port},
        "HealthCheckPort": _health_check_port(tg),
        "TargetHealth": health,
    }
    if "AnomalyDetection" in include or "All" in include:
        out["AnomalyDetection"] = {"Result": "normal", "MitigationInEffect": "no"}
    out["AdministrativeOverride"] = {
        "State": "no_override",
        "Reason": "AdministrativeOverride.NoOverride",
        "Description": "No override is currently active on target",
    }
    return out


@operation(SERVICE, "DescribeTargetHealth")
def describe_target_health(world: World, params: dict) -> dict:
    """Health of a group's targets.

    Without Targets: every registered target, draining ones included. With Targets: one
    entry per registration of each asked-for target (just that port when Port is given); a
    target that is not registered reads `unused` / `Target.NotRegistered`, which the
    `target_deregistered` waiter relies on. An instance id the world does not know at all is
    `InvalidTarget`.
    """
    tg = _tg(world, params["TargetGroupArn"])
    include = params.get("Include") or []
    if not params.get("Targets"):
        return {
            "TargetHealthDescriptions": [
                _health(world, tg, t, include) for t in tg.targets.values()
            ]
        }
    _check_instances_exist(world, tg, params["Targets"])
    out = []
    for wanted in params["Targets"]:
        port = wanted.get("Port")
        matches = [
            t
            for t in tg.targets.values()
            if t.id == wanted["Id"] and (port is None or t.port == port)
        ]
        if matches:
            out.extend(_health(world, tg, t, include) for t in matches)
        else:
            out.append(
                _health_entry(
                    tg,
                    wanted["Id"],
                    port or tg.port,
                    UNUSED,
                    "Target.NotRegistered",
                    REASON_TEXT["Target.NotRegistered"],
                    include,
                )
            )
    return {"TargetHealthDescriptions": out}


def _check_instances_exist(world: World, tg: TargetGroup, targets: list[dict]) -> None:
    if tg.target_type != "instance":
        return
    unknown = [t["Id"] for t in targets if t["Id"] not in world.instances]
    if unknown:
        raise ApiError(
            "InvalidTarget",
            f"The following targets are not valid instances: {', '.join(map(repr, unknown))}",
        )


@operation(SERVICE, "RegisterTargets")
def register_targets(world: World, params: dict) -> dict:
    """Register instances (all or none); each starts `initial`.

    The instance must exist, be pending or running and live in the group's VPC, else
    `InvalidTarget`. Port defaults to the group's port. Registering a target that is already
    registered and not draining changes nothing; registering a draining one starts it over.
    """
    tg = _tg(world, params["TargetGroupArn"])
    targets = params["Targets"]
    _check_instances_exist(world, tg, targets)
    if tg.target_type == "instance":
        not_running = [
            t["Id"] for t in targets if world.instances[t["Id"]].state not in ("pending", "running")
        ]
        if not_running:
            raise ApiError(
                "InvalidTarget",
                "The following targets are not in a running state and cannot be registered: "
                + ", ".join(map(repr, not_running)),
            )
        elsewhere = [t["Id"] for t in targets if world.instances[t["Id"]].vpc_id != tg.vpc_id]
        if elsewhere:
            raise ApiError(
                "InvalidTarget",
                "The following targets are not in the target group's VPC "
                f"'{tg.vpc_id}': " + ", ".join(map(repr, elsewhere)),
            )
    for t in targets:
        port = t.get("Port") or tg.port
        existing = tg.targets.get((t["Id"], port))
        if existing is not None and not existing.draining:
            continue
        world.register(tg, t["Id"], port)
    return {}


@operation(SERVICE, "DeregisterTargets")
def deregister_targets(world: World, params: dict) -> dict:
    """Start draining targets (all or none); each stays `draining` for the group's delay.

    "If the specified target does not exist, the action returns successfully": a target that
    is not registered (on the given port, or the group's port when none is given) is left as
    it is, and so is one already draining. An id that is no instance at all is `InvalidTarget`.
    """
    tg = _tg(world, params["TargetGroupArn"])
    targets = params["Targets"]
    _check_instances_exist(world, tg, targets)
    for t in targets:
        world.deregister(tg, t["Id"], t.get("Port") or tg.port)
    return {}


# ----- tags -------------------------------------------------------------------------------------


def _taggable(world: World, arn: str) -> dict[str, str] | None:
    """The tag store of an ARN; None for an existing listener or rule (not taggable here)."""
    if ":targetgroup/" in arn:
        return _tg(world, arn).tags
    if ":loadbalancer/" in arn:
        return _lb(world, arn).tags
    if ":listener-rule/" in arn:
        _rule(world, arn)
        return None
    if ":listener/" in arn:
        _listener(world, arn)
        return None
    raise ApiError("ValidationError", f"'{arn}' is not a valid resource ARN")


def _tag_store(world: World, arn: str) -> dict[str, str]:
    store = _taggable(world, arn)
    if store is None:
        raise ApiError(
            "ValidationError", f"The sandbox does not keep tags on listeners or rules: '{arn}'"
        )
    return store


@operation(SERVICE, "DescribeTags")
def describe_tags(world: World, params: dict) -> dict:
    """Tags of up to 20 load balancers and target groups (listeners and rules have none)."""
    arns = params["ResourceArns"]
    if len(arns) > 20:
        raise ApiError(
            "ValidationError",
            "1 validation error detected: Value at 'resourceArns' failed to satisfy "
            "constraint: Member must have length less than or equal to 20",
        )
    out = []
    for arn in arns:
        store = _taggable(world, arn)
        out.append({"ResourceArn": arn, "Tags": tag_list(store or {})})
    return {"TagDescriptions": out}


@operation(SERVICE, "AddTags")
def add_tags_op(world: World, params: dict) -> dict:
    """Add or overwrite tags on load balancers and target groups (all or none)."""
    stores = [_tag_store(world, arn) for arn in params["ResourceArns"]]
    for store in stores:
        trial = dict(store)
        add_tags(trial, params["Tags"])
    for store in stores:
        add_tags(store, params["Tags"])
    return {}


@operation(SERVICE, "RemoveTags")
def remove_tags(world: World, params: dict) -> dict:
    """Remove tag keys from load balancers and target groups; absent keys are ignored."""
    stores = [_tag_store(world, arn) for arn in params["ResourceArns"]]
    for store in stores:
        for key in params["TagKeys"]:
            store.pop(key, None)
    return {}
