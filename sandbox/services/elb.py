"""Classic Elastic Load Balancing over the sandbox world.

Results follow botocore's `elb` output shapes; errors carry the modeled wire codes
(`LoadBalancerNotFound`, `InvalidInstance`, `LoadBalancerAttributeNotFound`,
`DuplicateTagKeys`, `TooManyTags`) or `ValidationError` for values AWS's request validation
rejects. Every function here runs under `world.lock` (`dispatch` holds it).
"""

from __future__ import annotations

import hashlib
from typing import Any

from cutover.sandbox.services import operation
from cutover.sandbox.services.elbv2_shapes import hosted_zone_id, paginate, tag_list
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import ClassicLoadBalancer, Target, World, classic
from cutover.sandbox.world import loadbalancers as balancing

SERVICE = "elb"

NOT_REGISTERED = "Instance is not currently registered with the LoadBalancer."


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
    clbs = (
        [classic.find_clb(world, n) for n in names] if names else list(world.classic_lbs.values())
    )
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
    clb = classic.find_clb(world, params["LoadBalancerName"])
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
    clb = classic.find_clb(world, params["LoadBalancerName"])
    classic.register_instances(world, clb, [i["InstanceId"] for i in params["Instances"]])
    return {"Instances": _in_service(clb)}


@operation(SERVICE, "DeregisterInstancesFromLoadBalancer")
def deregister_instances(world: World, params: dict) -> dict:
    """Start connection draining (all or none); returns the instances still in service.

    An instance that is not registered is `InvalidInstance`; one already draining is left
    as it is.
    """
    clb = classic.find_clb(world, params["LoadBalancerName"])
    classic.deregister_instances(world, clb, [i["InstanceId"] for i in params["Instances"]])
    return {"Instances": _in_service(clb)}


@operation(SERVICE, "DescribeLoadBalancerAttributes")
def describe_load_balancer_attributes(world: World, params: dict) -> dict:
    """Connection draining, idle timeout, cross-zone and access-log settings, with defaults."""
    return {
        "LoadBalancerAttributes": classic.attributes(
            classic.find_clb(world, params["LoadBalancerName"])
        )
    }


@operation(SERVICE, "ModifyLoadBalancerAttributes")
def modify_load_balancer_attributes(world: World, params: dict) -> dict:
    """Validate and store attribute changes (all or none); returns every attribute.

    A ConnectionDraining change takes effect for the next deregistration: the delay is read
    from these attributes when draining starts.
    """
    clb = classic.find_clb(world, params["LoadBalancerName"])
    classic.modify_attributes(clb, params["LoadBalancerAttributes"])
    return {"LoadBalancerName": clb.name, "LoadBalancerAttributes": classic.attributes(clb)}


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
            {"LoadBalancerName": n, "Tags": tag_list(classic.find_clb(world, n).tags)}
            for n in names
        ]
    }


@operation(SERVICE, "AddTags")
def add_tags_op(world: World, params: dict) -> dict:
    """Add or overwrite tags on classic load balancers (all or none)."""
    clbs = [classic.find_clb(world, n) for n in params["LoadBalancerNames"]]
    balancing.add_tags_to_all([clb.tags for clb in clbs], params["Tags"])
    return {}


@operation(SERVICE, "RemoveTags")
def remove_tags(world: World, params: dict) -> dict:
    """Remove tag keys from classic load balancers; absent keys are ignored."""
    clbs = [classic.find_clb(world, n) for n in params["LoadBalancerNames"]]
    balancing.remove_tags(
        [clb.tags for clb in clbs], [tag.get("Key", "") for tag in params["Tags"]]
    )
    return {}
