"""Elastic Load Balancing's answers: load balancers, listeners, rules, target groups and
target health as the API shapes them, and its Marker/PageSize pagination (Classic ELB's
answers share these)."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import Listener, LoadBalancer, Rule, Target, TargetGroup, World
from cutover.sandbox.world.listeners import ALB_PROTOCOLS, normalize_action, normalize_condition
from cutover.sandbox.world.target_groups import attributes

MAX_PAGE_SIZE = 400
# Route 53 hosted zones of the regional load balancer endpoints (ALB and CLB share one).
HOSTED_ZONES = {
    "us-east-1": ("Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    "us-west-2": ("Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
    "eu-west-1": ("Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
}

T = TypeVar("T")


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


def result(key: str, items: list, next_marker: str | None) -> dict:
    out: dict[str, Any] = {key: items}
    if next_marker:
        out["NextMarker"] = next_marker
    return out


# ----- rendering ------------------------------------------------------------------------------


def render_lb(world: World, lb: LoadBalancer) -> dict:
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


def render_listener(listener: Listener) -> dict:
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


def render_rule(rule: Rule) -> dict:
    return {
        "RuleArn": rule.arn,
        "Priority": rule.priority,
        "Conditions": [normalize_condition(c) for c in rule.conditions],
        "Actions": [normalize_action(a) for a in rule.actions],
        "IsDefault": rule.is_default,
    }


def health_check_port(tg: TargetGroup) -> str:
    port = tg.health_check.port
    return str(tg.port) if port == "traffic-port" else str(port)


def render_tg(world: World, tg: TargetGroup) -> dict:
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


def render_attributes(tg: TargetGroup) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in attributes(tg).items()]


def health(world: World, tg: TargetGroup, target: Target, include: list[str]) -> dict:
    state, reason, description = world.effective_state(tg, target)
    return health_entry(tg, target.id, target.port, state, reason, description, include)


def health_entry(
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
        "HealthCheckPort": health_check_port(tg),
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
