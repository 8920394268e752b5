"""How long to wait: derived from the target groups' and load balancers' own settings (health
check interval and thresholds, deregistration delay), unless --timeout says."""

from __future__ import annotations

from .hook import Hook
from .places import ClbPlace, TgPlace

# Without any load balancer to derive it from (an Auto Scaling group with none attached).
FALLBACK_TIMEOUT = 300.0


def tg_timeout(attrs: dict[str, str], tg: dict, *, into: bool) -> float:
    """Seconds to allow for one target group, from its own settings."""
    interval = float(tg.get("HealthCheckIntervalSeconds") or 30)
    if into:
        healthy = float(tg.get("HealthyThresholdCount") or 5)
        hc_timeout = float(tg.get("HealthCheckTimeoutSeconds") or 5)
        return (healthy + 1) * interval + hc_timeout + 60
    delay = float(attrs.get("deregistration_delay.timeout_seconds", 300))
    return delay + 2 * interval + 30


def clb_timeout(attrs: dict, lb: dict, *, into: bool) -> float:
    hc = lb.get("HealthCheck") or {}
    interval = float(hc.get("Interval") or 30)
    if into:
        healthy = float(hc.get("HealthyThreshold") or 10)
        return (healthy + 1) * interval + float(hc.get("Timeout") or 5) + 60
    drain = attrs.get("ConnectionDraining") or {}
    delay = float(drain.get("Timeout") or 300) if drain.get("Enabled") else 0.0
    return delay + 2 * interval + 30


def derive_timeout(hook: Hook, tgs: list[TgPlace], clbs: list[ClbPlace], *, into: bool) -> float:
    """--timeout, else the longest any of these places needs (one line says which)."""
    if hook.options.timeout is not None:
        hook.say.info(f"timeout {hook.options.timeout:g} s (--timeout)")
        return hook.options.timeout
    parts: list[tuple[float, str]] = []
    for tg in tgs:
        attrs = {
            a["Key"]: a["Value"]
            for a in hook.client("elbv2").describe_target_group_attributes(TargetGroupArn=tg.arn)[
                "Attributes"
            ]
        }
        parts.append((tg_timeout(attrs, tg.info, into=into), f"target group {tg.name}"))
    for clb in clbs:
        attrs = hook.client("elb").describe_load_balancer_attributes(LoadBalancerName=clb.name)[
            "LoadBalancerAttributes"
        ]
        parts.append((clb_timeout(attrs, clb.info, into=into), f"load balancer {clb.name}"))
    if not parts:
        hook.say.info(f"timeout {FALLBACK_TIMEOUT:g} s (no load balancer to derive it from)")
        return FALLBACK_TIMEOUT
    seconds, source = max(parts)
    how = (
        "(healthy threshold + 1) x interval + timeout + 60 s"
        if into
        else "deregistration delay + 2 x interval + 30 s"
    )
    hook.say.info(f"timeout {seconds:g} s, from {source}: {how}")
    return seconds
