"""Deployment configs: the rules for creating one (Server only, a valid minimum of healthy
hosts) and for deleting one (not predefined, not in use)."""

from __future__ import annotations

from cutover.sandbox.world import WorldError

from .model import DeploymentConfig
from .state import CodeDeploy


def create_config(
    cd: CodeDeploy,
    name: str,
    *,
    platform: str,
    traffic_routing: dict | None,
    minimum_healthy_hosts: dict | None,
    zonal: dict | None,
) -> DeploymentConfig:
    if name in cd.configs:
        raise WorldError(
            "DeploymentConfigAlreadyExistsException",
            f"A deployment configuration with the name {name} already exists.",
        )
    if platform != "Server":
        raise WorldError(
            "InvalidComputePlatformException",
            "The sandbox supports only the Server compute platform.",
        )
    if traffic_routing:
        raise WorldError(
            "InvalidTrafficRoutingConfigurationException",
            "Traffic routing configurations are only for Lambda and Amazon ECS deployments.",
        )
    mhh = minimum_healthy_hosts or {}
    kind, value = mhh.get("type"), mhh.get("value")
    valid = (kind == "HOST_COUNT" and isinstance(value, int) and value >= 0) or (
        kind == "FLEET_PERCENT" and isinstance(value, int) and 0 <= value <= 99
    )
    if not valid:
        raise WorldError(
            "InvalidMinimumHealthyHostValueException",
            "The minimum healthy instance value was specified in an invalid format: use "
            "HOST_COUNT with a value of 0 or more, or FLEET_PERCENT with a value from 0 to 99.",
        )
    world = cd.world
    cfg = DeploymentConfig(
        name=name,
        id=world.new_uuid(),
        created=world.now(),
        min_type=kind,
        min_value=value,
        zonal=zonal,
    )
    cd.configs[name] = cfg
    return cfg


def delete_config(cd: CodeDeploy, name: str | None) -> None:
    """Delete a custom config no group or active deployment uses; deleting one that does not
    exist succeeds, as in AWS."""
    cfg = cd.configs.get(name or "")
    if cfg is None:
        return
    if cfg.builtin:
        raise WorldError(
            "InvalidOperationException", "A predefined deployment configuration cannot be deleted."
        )
    in_use = any(g.spec["deploymentConfigName"] == name for g in cd.groups.values()) or any(
        d.config == name and d.active for d in cd.deployments.values()
    )
    if in_use:
        raise WorldError(
            "DeploymentConfigInUseException",
            f"The deployment configuration {name} is still in use.",
        )
    del cd.configs[cfg.name]
