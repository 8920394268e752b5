"""Target groups: their attributes (defaults, what a valid value looks like) and the rules
of registering and deregistering targets.

Every change is all or none: the whole request is checked before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable

from cutover.sandbox.world.listeners import ALB_PROTOCOLS, MAX_STICKINESS_SECONDS
from cutover.sandbox.world.model import TargetGroup, WorldError
from cutover.sandbox.world.state import State


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


def attributes(tg: TargetGroup) -> dict[str, str]:
    """Every attribute of the group's type: defaults overlaid with what was set."""
    rules = _attribute_rules(tg)
    values = {key: default for key, (default, _, _) in rules.items()}
    values.update({k: _attribute_text(v) for k, v in tg.attributes.items()})
    return values


def modify_attributes(tg: TargetGroup, given: list[dict]) -> None:
    """Validate and store attributes (all or none). An unknown key or an out-of-range value
    (deregistration delay outside 0-3600, ...) is `InvalidConfigurationRequest`."""
    rules = _attribute_rules(tg)
    changes: dict[str, str] = {}
    for attribute in given:
        key = attribute.get("Key", "")
        value = attribute.get("Value", "")
        if key not in rules:
            raise WorldError(
                "InvalidConfigurationRequest",
                f"Attribute key '{key}' is not recognized for a {tg.protocol} target group",
            )
        _, valid, expected = rules[key]
        if not valid(value):
            raise WorldError(
                "InvalidConfigurationRequest",
                f"Attribute '{key}' must be {expected}, not '{value}'",
            )
        changes[key] = value
    tg.attributes.update(changes)


# ----- targets ---------------------------------------------------------------------------------


def check_instances_exist(world: State, tg: TargetGroup, targets: list[dict]) -> None:
    if tg.target_type != "instance":
        return
    unknown = [t["Id"] for t in targets if t["Id"] not in world.instances]
    if unknown:
        raise WorldError(
            "InvalidTarget",
            f"The following targets are not valid instances: {', '.join(map(repr, unknown))}",
        )


def register_targets(world: State, tg: TargetGroup, targets: list[dict]) -> None:
    """Register instances (all or none); each starts `initial`.

    The instance must exist, be pending or running and live in the group's VPC, else
    `InvalidTarget`. Port defaults to the group's port. Registering a target that is already
    registered and not draining changes nothing; registering a draining one starts it over.
    """
    check_instances_exist(world, tg, targets)
    if tg.target_type == "instance":
        not_running = [
            t["Id"] for t in targets if world.instances[t["Id"]].state not in ("pending", "running")
        ]
        if not_running:
            raise WorldError(
                "InvalidTarget",
                "The following targets are not in a running state and cannot be registered: "
                + ", ".join(map(repr, not_running)),
            )
        elsewhere = [t["Id"] for t in targets if world.instances[t["Id"]].vpc_id != tg.vpc_id]
        if elsewhere:
            raise WorldError(
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


def deregister_targets(world: State, tg: TargetGroup, targets: list[dict]) -> None:
    """Start draining targets (all or none); each stays `draining` for the group's delay.

    "If the specified target does not exist, the action returns successfully": a target that
    is not registered (on the given port, or the group's port when none is given) is left as
    it is, and so is one already draining. An id that is no instance at all is `InvalidTarget`.
    """
    check_instances_exist(world, tg, targets)
    for t in targets:
        world.deregister(tg, t["Id"], t.get("Port") or tg.port)
