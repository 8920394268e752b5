"""What a target's or a Classic Load Balancer instance's state means while the hook puts the
instance in or takes it out: done, wait, fail, or register again."""

from __future__ import annotations

from dataclasses import dataclass

# Classic Load Balancer InstanceState descriptions (the API reference's list), lowercased.
DRAINING_TEXT = "deregistration currently in progress"
NOT_REGISTERED_TEXT = "instance is not currently registered with the loadbalancer"
UNHEALTHY_TEXT = "instance has failed at least the unhealthythreshold number of health checks"
STOPPED_TEXTS = ("instance is in stopped state", "instance is in terminated state")

DONE, WAIT, FAIL, REREGISTER = "done", "wait", "fail", "reregister"


@dataclass(frozen=True)
class Verdict:
    action: str  # DONE | WAIT | FAIL | REREGISTER
    note: str = ""  # for the log (why done / why failed)


def target_verdict(
    state: str, reason: str | None, description: str | None, *, into: bool
) -> Verdict:
    """What one ELBv2 registration's health means while putting the instance in (`into`) or
    taking it out. Every state DescribeTargetHealth reports is handled; an unknown one waits."""
    why = f"{reason}: {description}" if reason and description else (reason or description or "")
    if not into:
        if state == "unused" and reason in (None, "Target.NotRegistered"):
            return Verdict(DONE)
        return Verdict(WAIT)  # draining, unhealthy.draining, or the deregistration not seen yet
    if state == "healthy":
        return Verdict(DONE)
    if state == "unavailable":
        # Health checks are off: ELB sends traffic to every registered target.
        return Verdict(DONE, f"health checks are disabled ({why}); registered counts as in")
    if state == "initial":
        return Verdict(WAIT)
    if state == "unhealthy":
        # ELB reports unhealthy only after UnhealthyThresholdCount failed checks: waiting on
        # cannot help. Elb.* reasons are the load balancer's own trouble: wait.
        if reason and reason.startswith("Elb."):
            return Verdict(WAIT, why)
        return Verdict(FAIL, f"unhealthy ({why})" if why else "unhealthy")
    if state == "unused":
        if reason in (None, "Target.NotRegistered"):
            return Verdict(WAIT)  # just registered: not visible yet
        if reason == "Target.NotInUse":
            return Verdict(
                FAIL, f"the target group is not used by any load balancer listener ({why})"
            )
        return Verdict(FAIL, f"cannot be used ({why})")  # Target.InvalidState, Target.IpUnusable
    if state in ("draining", "unhealthy.draining"):
        return Verdict(REREGISTER, why)
    return Verdict(WAIT, f"unknown state {state} ({why})")


def classic_registered(state: str | None, description: str | None) -> bool:
    """Whether a DescribeInstanceHealth answer is a registration (draining included).

    Asked about one instance, a Classic Load Balancer answers even once it is no longer
    registered: OutOfService, "Instance is not currently registered with the LoadBalancer."
    (InvalidInstance, state None here, for an instance it never had)."""
    return state is not None and NOT_REGISTERED_TEXT not in (description or "").lower()


def classic_verdict(
    state: str | None, reason: str | None, description: str | None, *, into: bool
) -> Verdict:
    """What a Classic Load Balancer's DescribeInstanceHealth answer means (state None: the
    instance is not registered). Classic has no separate initial/unhealthy states: the
    documented descriptions tell them apart."""
    text = (description or "").lower()
    draining = DRAINING_TEXT in text
    registered = classic_registered(state, description)
    if not into:
        if not registered or (state == "OutOfService" and not draining):
            return Verdict(DONE)
        return Verdict(WAIT)
    if not registered:
        return Verdict(REREGISTER, "not registered")
    if state == "InService":
        return Verdict(REREGISTER, description or "") if draining else Verdict(DONE)
    if UNHEALTHY_TEXT in text or any(t in text for t in STOPPED_TEXTS):
        # The unhealthy threshold reached, or an instance that cannot serve: waiting on cannot
        # help. "Instance has not passed the configured HealthyThreshold number of health
        # checks consecutively." (ReasonCode Instance too) is only not healthy yet.
        return Verdict(FAIL, f"OutOfService ({description})")
    return Verdict(WAIT)
