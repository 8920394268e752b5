"""Classic Elastic Load Balancing over the sandbox world.

Results follow botocore's `elb` output shapes; errors carry the modeled wire codes
(`LoadBalancerNotFound`, `InvalidInstance`, `LoadBalancerAttributeNotFound`,
`DuplicateTagKeys`, `TooManyTags`) or `ValidationError` for values AWS's request validation
rejects. Every function here runs under `world.lock` (`dispatch` holds it).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from cutover.sandbox.services import operation
from cutover.sandbox.services.elbv2 import add_tags, hosted_zone_id, paginate, tag_list
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import ClassicLoadBalancer, Target, World

SERVICE = "elb"

# What a load balancer created through the API reports until someone changes it.
DEFAULT_ATTRIBUTES: dict[str, Any] = {
    "CrossZoneLoadBalancing": {"Enabled": False},
    "AccessLog": {"Enabled": False},
    "ConnectionDraining": {"Enabled": False, "Timeout": 300},
    "ConnectionSettings": {"IdleTimeout": 60},
}
DESYNC_MODES = ("monitor", "defensive", "strictest")
NOT_REGISTERED = "Instance is not currently registered with the LoadBalancer."
DEFAULT_ADDITIONAL = {"elb.http.desyncmitigationmode": "defensive"}


def _clb(world: World, name: str) -> ClassicLoadBalancer:
    clb = world.classic_lbs.get(name)
    if clb is None:
        raise ApiError("LoadBalancerNotFound", f"There is no ACTIVE Load Balancer named '{name}'")
    return clb


def _security_group(world: World, clb: ClassicLoadBalancer) -> str:
    # Stable per load balancer without consuming the world's random stream.
    digest = hashlib.sha256(f"{world.account_id}/{clb.name}".encode()).hexdigest()
    return "sg-" + digest[:17]


def _in_service(clb: ClassicLoadBalancer) -> list[dict]:
    """Registered instances that are not draining, as AWS lists them after a deregistration."""
    return [{"InstanceId": t.id} for t in clb.instances.values() if not t.draining]


def _render(world: World, clb: ClassicLoadBalancer) -> dict:
    hc = clb.health_check
    return {
        "LoadBalancerName": clb.name,
        "DNSName": clb.dns_name,
        "CanonicalHostedZoneName": clb.dns_name,
        "CanonicalHostedZoneNameID": hosted_zone_id(world.region),
        "ListenerDescriptions": [
            {
                "Listener": {
                    "Protocol": listener["Protocol"],
                    "LoadBalancerPort": int(listener["LoadBalancerPort"]),
                    "InstanceProtocol": listener.get("InstanceProtocol", listener["Protocol"]),
                    "InstancePort": int(listener["InstancePort"]),
                },
                "PolicyNames": [],
            }
            for listener in clb.listeners
        ],
        "Policies": {
            "AppCookieStickinessPolicies": [],
            "LBCookieStickinessPolicies": [],
            "OtherPolicies": [],
        },
        "BackendServerDescriptions": [],
        "AvailabilityZones": list(clb.azs),
        "Subnets": list(clb.subnets),
        "VPCId": clb.vpc_id,
        # Draining instances are left out: DeregisterInstancesFromLoadBalancer already answers
        # without them, and this list is what takes new connections.
        "Instances": _in_service(clb),
        "HealthCheck": {
            "Target": clb.health_target,
            "Interval": hc.interval,
            "Timeout": hc.timeout,
            "UnhealthyThreshold": hc.unhealthy_threshold,
            "HealthyThreshold": hc.healthy_threshold,
        },
        "SourceSecurityGroup": {"OwnerAlias": world.account_id, "GroupName": "default"},
        "SecurityGroups": [_security_group(world, clb)],
        "CreatedTime": clb.created,
        "Scheme": "internet-facing",
    }


@operation(SERVICE, "DescribeLoadBalancers")
def describe_load_balancers(world: World, params: dict) -> dict:
    """Classic load balancers by name (all when none is given), paginated."""
    names = params.get("LoadBalancerNames")
    clbs = [_clb(world, n) for n in names] if names else list(world.classic_lbs.values())
    page, marker = paginate(clbs, params)
    out: dict[str, Any] = {"LoadBalancerDescriptions": [_render(world, c) for c in page]}
    if marker:
        out["NextMarker"] = marker
    return out


def _instance_state(world: World, clb: ClassicLoadBalancer, target: Target) -> dict:
    state, reason, description = world.classic_state(clb, target)
    return {
        "InstanceId": target.id,
        "State": state,
        "ReasonCode": reason,
        "Description": description,
    }


@operation(SERVICE, "DescribeInstanceHealth")
def describe_instance_health(world: World, params: dict) -> dict:
    """InService/OutOfService per instance, draining ones included (they read InService with
    "Instance deregistration currently in progress.").

    Without Instances: the registered instances. With Instances: each one's state "even if
    they are no longer registered": a deregistered instance reads OutOfService, "Instance is
    not currently registered with the LoadBalancer."; a terminated one that is no longer
    registered is left out ("The state of terminated instances is not returned"). An instance
    the load balancer never had is `InvalidInstance`, which the `instance_deregistered` waiter
    treats as success.
    """
    clb = _clb(world, params["LoadBalancerName"])
    wanted = [i["InstanceId"] for i in params.get("Instances") or []]
    if not wanted:
        return {"InstanceStates": [_instance_state(world, clb, t) for t in clb.instances.values()]}
    never = [i for i in wanted if i not in clb.instances and i not in clb.known]
    if never:
        raise ApiError(
            "InvalidInstance",
            f"The following instances are not registered with load balancer '{clb.name}': "
            + ", ".join(never),
        )
    states = []
    for instance_id in wanted:
        target = clb.instances.get(instance_id)
        if target is not None:
            states.append(_instance_state(world, clb, target))
            continue
        inst = world.instances.get(instance_id)
        if inst is None or inst.state in ("shutting-down", "terminated"):
            continue
        states.append(
            {
                "InstanceId": instance_id,
                "State": "OutOfService",
                "ReasonCode": "ELB",
                "Description": NOT_REGISTERED,
            }
        )
    return {"InstanceStates": states}


@operation(SERVICE, "RegisterInstancesWithLoadBalancer")
def register_instances(world: World, params: dict) -> dict:
    """Register instances (all or none); returns every registered, non-draining instance.

    Each instance must exist, be pending or running and live in the load balancer's VPC,
    else `InvalidInstance`. Re-registering a registered instance changes nothing.
    """
    clb = _clb(world, params["LoadBalancerName"])
    ids = [i["InstanceId"] for i in params["Instances"]]
    for instance_id in ids:
        inst = world.instances.get(instance_id)
        if inst is None:
            raise ApiError("InvalidInstance", f"EC2 instance {instance_id} is not valid.")
        if inst.state not in ("pending", "running"):
            raise ApiError(
                "InvalidInstance", f"EC2 instance {instance_id} is not in running state."
            )
        if inst.vpc_id != clb.vpc_id:
            raise ApiError(
                "InvalidInstance",
                f"EC2 instance {instance_id} is not in the load balancer's VPC {clb.vpc_id}.",
            )
    for instance_id in ids:
        world.register_classic(clb, instance_id)
    return {"Instances": _in_service(clb)}


@operation(SERVICE, "DeregisterInstancesFromLoadBalancer")
def deregister_instances(world: World, params: dict) -> dict:
    """Start connection draining (all or none); returns the instances still in service.

    An instance that is not registered is `InvalidInstance`; one already draining is left
    as it is.
    """
    clb = _clb(world, params["LoadBalancerName"])
    ids = [i["InstanceId"] for i in params["Instances"]]
    missing = [i for i in ids if i not in clb.instances]
    if missing:
        raise ApiError(
            "InvalidInstance",
            f"The following instances are not registered with load balancer '{clb.name}': "
            + ", ".join(missing),
        )
    for instance_id in ids:
        world.deregister_classic(clb, instance_id)
    return {"Instances": _in_service(clb)}


def _stored(clb: ClassicLoadBalancer, key: str) -> dict:
    value = clb.attributes.get(key)
    return dict(value) if isinstance(value, dict) else {}


def _stored_additional(clb: ClassicLoadBalancer) -> dict[str, str]:
    value = clb.attributes.get("AdditionalAttributes")
    items = value if isinstance(value, list) else []
    return {item["Key"]: item["Value"] for item in items}


def _attributes(clb: ClassicLoadBalancer) -> dict:
    out: dict[str, Any] = {}
    for key, default in DEFAULT_ATTRIBUTES.items():
        out[key] = {**default, **_stored(clb, key)}
    additional = {**DEFAULT_ADDITIONAL, **_stored_additional(clb)}
    out["AdditionalAttributes"] = [{"Key": k, "Value": v} for k, v in additional.items()]
    return out


@operation(SERVICE, "DescribeLoadBalancerAttributes")
def describe_load_balancer_attributes(world: World, params: dict) -> dict:
    """Connection draining, idle timeout, cross-zone and access-log settings, with defaults."""
    return {"LoadBalancerAttributes": _attributes(_clb(world, params["LoadBalancerName"]))}


def _validate_attributes(attrs: dict) -> None:
    drain = attrs.get("ConnectionDraining")
    if drain and drain.get("Enabled") and not 1 <= drain.get("Timeout", 300) <= 3600:
        raise ApiError(
            "ValidationError",
            f"Connection draining timeout must be between 1 and 3600 seconds, not "
            f"{drain['Timeout']}",
        )
    settings = attrs.get("ConnectionSettings")
    if settings and not 1 <= settings.get("IdleTimeout", 60) <= 3600:
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{settings['IdleTimeout']}' at "
            "'loadBalancerAttributes.connectionSettings.idleTimeout' failed to satisfy "
            "constraint: Member must have value less than or equal to 3600",
        )
    log = attrs.get("AccessLog")
    if log and log.get("Enabled"):
        if not log.get("S3BucketName"):
            raise ApiError(
                "InvalidConfigurationRequest",
                "An S3 bucket name is required when access logs are enabled",
            )
        if log.get("EmitInterval", 60) not in (5, 60):
            raise ApiError(
                "ValidationError", "The access log emit interval must be 5 or 60 minutes"
            )
    for item in attrs.get("AdditionalAttributes") or []:
        if item.get("Key") not in DEFAULT_ADDITIONAL:
            raise ApiError(
                "LoadBalancerAttributeNotFound",
                f"The specified load balancer attribute does not exist: '{item.get('Key')}'",
            )
        if item.get("Value") not in DESYNC_MODES:
            raise ApiError(
                "ValidationError",
                f"'{item.get('Key')}' must be one of {', '.join(DESYNC_MODES)}",
            )


@operation(SERVICE, "ModifyLoadBalancerAttributes")
def modify_load_balancer_attributes(world: World, params: dict) -> dict:
    """Validate and store attribute changes (all or none); returns every attribute.

    A ConnectionDraining change takes effect for the next deregistration: the delay is read
    from these attributes when draining starts.
    """
    clb = _clb(world, params["LoadBalancerName"])
    attrs = params["LoadBalancerAttributes"]
    _validate_attributes(attrs)
    for key in DEFAULT_ATTRIBUTES:
        if key in attrs:
            clb.attributes[key] = {**_stored(clb, key), **copy.deepcopy(attrs[key])}
    if attrs.get("AdditionalAttributes"):
        merged = _stored_additional(clb)
        merged.update({item["Key"]: item["Value"] for item in attrs["AdditionalAttributes"]})
        clb.attributes["AdditionalAttributes"] = [{"Key": k, "Value": v} for k, v in merged.items()]
    return {"LoadBalancerName": clb.name, "LoadBalancerAttributes": _attributes(clb)}


@operation(SERVICE, "DescribeTags")
def describe_tags(world: World, params: dict) -> dict:
    """Tags of up to 20 classic load balancers."""
    names = params["LoadBalancerNames"]
    if len(names) > 20:
        raise ApiError(
            "ValidationError",
            "1 validation error detected: Value at 'loadBalancerNames' failed to satisfy "
            "constraint: Member must have length less than or equal to 20",
        )
    return {
        "TagDescriptions": [
            {"LoadBalancerName": n, "Tags": tag_list(_clb(world, n).tags)} for n in names
        ]
    }


@operation(SERVICE, "AddTags")
def add_tags_op(world: World, params: dict) -> dict:
    """Add or overwrite tags on classic load balancers (all or none)."""
    clbs = [_clb(world, n) for n in params["LoadBalancerNames"]]
    for clb in clbs:
        add_tags(dict(clb.tags), params["Tags"])
    for clb in clbs:
        add_tags(clb.tags, params["Tags"])
    return {}


@operation(SERVICE, "RemoveTags")
def remove_tags(world: World, params: dict) -> dict:
    """Remove tag keys from classic load balancers; absent keys are ignored."""
    clbs = [_clb(world, n) for n in params["LoadBalancerNames"]]
    for clb in clbs:
        for tag in params["Tags"]:
            clb.tags.pop(tag.get("Key", ""), None)
    return {}
