"""Classic Load Balancers: registering and deregistering instances, and their attributes
(what an API-created one reports until changed, and what values AWS accepts).

Every change is all or none: the whole request is checked before anything changes.
"""

from __future__ import annotations

import copy
from typing import Any

from cutover.sandbox.world.model import ClassicLoadBalancer, WorldError
from cutover.sandbox.world.state import State

# What a load balancer created through the API reports until someone changes it.
DEFAULT_ATTRIBUTES: dict[str, Any] = {
    "CrossZoneLoadBalancing": {"Enabled": False},
    "AccessLog": {"Enabled": False},
    "ConnectionDraining": {"Enabled": False, "Timeout": 300},
    "ConnectionSettings": {"IdleTimeout": 60},
}
DESYNC_MODES = ("monitor", "defensive", "strictest")
DEFAULT_ADDITIONAL = {"elb.http.desyncmitigationmode": "defensive"}


def find_clb(world: State, name: str) -> ClassicLoadBalancer:
    clb = world.classic_lbs.get(name)
    if clb is None:
        raise WorldError("LoadBalancerNotFound", f"There is no ACTIVE Load Balancer named '{name}'")
    return clb


def register_instances(world: State, clb: ClassicLoadBalancer, ids: list[str]) -> None:
    """Register instances (all or none). Each instance must exist, be pending or running and
    live in the load balancer's VPC, else `InvalidInstance`. Re-registering a registered
    instance changes nothing."""
    for instance_id in ids:
        inst = world.instances.get(instance_id)
        if inst is None:
            raise WorldError("InvalidInstance", f"EC2 instance {instance_id} is not valid.")
        if inst.state not in ("pending", "running"):
            raise WorldError(
                "InvalidInstance", f"EC2 instance {instance_id} is not in running state."
            )
        if inst.vpc_id != clb.vpc_id:
            raise WorldError(
                "InvalidInstance",
                f"EC2 instance {instance_id} is not in the load balancer's VPC {clb.vpc_id}.",
            )
    for instance_id in ids:
        world.register_classic(clb, instance_id)


def deregister_instances(world: State, clb: ClassicLoadBalancer, ids: list[str]) -> None:
    """Start connection draining (all or none). An instance that is not registered is
    `InvalidInstance`; one already draining is left as it is."""
    missing = [i for i in ids if i not in clb.instances]
    if missing:
        raise WorldError(
            "InvalidInstance",
            f"The following instances are not registered with load balancer '{clb.name}': "
            + ", ".join(missing),
        )
    for instance_id in ids:
        world.deregister_classic(clb, instance_id)


def _stored(clb: ClassicLoadBalancer, key: str) -> dict:
    value = clb.attributes.get(key)
    return dict(value) if isinstance(value, dict) else {}


def _stored_additional(clb: ClassicLoadBalancer) -> dict[str, str]:
    value = clb.attributes.get("AdditionalAttributes")
    items = value if isinstance(value, list) else []
    return {item["Key"]: item["Value"] for item in items}


def attributes(clb: ClassicLoadBalancer) -> dict:
    out: dict[str, Any] = {}
    for key, default in DEFAULT_ATTRIBUTES.items():
        out[key] = {**default, **_stored(clb, key)}
    additional = {**DEFAULT_ADDITIONAL, **_stored_additional(clb)}
    out["AdditionalAttributes"] = [{"Key": k, "Value": v} for k, v in additional.items()]
    return out


def _validate_attributes(attrs: dict) -> None:
    drain = attrs.get("ConnectionDraining")
    if drain and drain.get("Enabled") and not 1 <= drain.get("Timeout", 300) <= 3600:
        raise WorldError(
            "ValidationError",
            f"Connection draining timeout must be between 1 and 3600 seconds, not "
            f"{drain['Timeout']}",
        )
    settings = attrs.get("ConnectionSettings")
    if settings and not 1 <= settings.get("IdleTimeout", 60) <= 3600:
        raise WorldError(
            "ValidationError",
            f"1 validation error detected: Value '{settings['IdleTimeout']}' at "
            "'loadBalancerAttributes.connectionSettings.idleTimeout' failed to satisfy "
            "constraint: Member must have value less than or equal to 3600",
        )
    log = attrs.get("AccessLog")
    if log and log.get("Enabled"):
        if not log.get("S3BucketName"):
            raise WorldError(
                "InvalidConfigurationRequest",
                "An S3 bucket name is required when access logs are enabled",
            )
        if log.get("EmitInterval", 60) not in (5, 60):
            raise WorldError(
                "ValidationError", "The access log emit interval must be 5 or 60 minutes"
            )
    for item in attrs.get("AdditionalAttributes") or []:
        if item.get("Key") not in DEFAULT_ADDITIONAL:
            raise WorldError(
                "LoadBalancerAttributeNotFound",
                f"The specified load balancer attribute does not exist: '{item.get('Key')}'",
            )
        if item.get("Value") not in DESYNC_MODES:
            raise WorldError(
                "ValidationError",
                f"'{item.get('Key')}' must be one of {', '.join(DESYNC_MODES)}",
            )


def modify_attributes(clb: ClassicLoadBalancer, attrs: dict) -> None:
    """Validate and store attribute changes (all or none). A ConnectionDraining change takes
    effect for the next deregistration: the delay is read from these attributes when draining
    starts."""
    _validate_attributes(attrs)
    for key in DEFAULT_ATTRIBUTES:
        if key in attrs:
            clb.attributes[key] = {**_stored(clb, key), **copy.deepcopy(attrs[key])}
    if attrs.get("AdditionalAttributes"):
        merged = _stored_additional(clb)
        merged.update({item["Key"]: item["Value"] for item in attrs["AdditionalAttributes"]})
        clb.attributes["AdditionalAttributes"] = [{"Key": k, "Value": v} for k, v in merged.items()]
