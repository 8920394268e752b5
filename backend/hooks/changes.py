"""The changes a hook makes to registrations and Auto Scaling state, and how each looks once
done: `Hook.send` reads that back when AWS's answer to the change was lost."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .hook import Hook
from .places import TgPlace
from .verdicts import DONE, DRAINING_TEXT, target_verdict


def lifecycle_is(hook: Hook, asg: str, *wanted: str) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        member = hook.membership()
        state = member["LifecycleState"] if member else "not a member"
        return state in wanted, f"{hook.instance_id} is {state} in {asg}"

    return check


def group_shows(
    hook: Hook, asg: str, done: Callable[[dict], bool], what: Callable[[dict], str]
) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        group = hook.group(asg)
        return done(group), f"{asg} {what(group)}"

    return check


def tg_is(hook: Hook, tg: TgPlace, ports: Iterable[int], *, into: bool) -> Callable:
    """Registered (any state but unused or draining) or, not `into`, deregistering."""

    def check() -> tuple[bool, str]:
        states = {p: hook.tg_health(tg, p) for p in ports}
        out = [
            p
            for p, (state, reason, _) in states.items()
            if state in ("draining", "unhealthy.draining")
            or target_verdict(state, reason, None, into=False).action == DONE
        ]
        done = not out if into else len(out) == len(states)
        shown = ", ".join(f"{tg.name}:{p} {st}" for p, (st, _, _) in states.items())
        return done, shown

    return check


def min_size_is(hook: Hook, asg: str, value: int) -> Callable[[], tuple[bool, str]]:
    return group_shows(
        hook, asg, lambda g: g["MinSize"] == value, lambda g: f"has MinSize {g['MinSize']}"
    )


def clb_is(hook: Hook, name: str, *, into: bool) -> Callable:
    def check() -> tuple[bool, str]:
        state, _, desc = hook.clb_health(name)
        leaving = state is None or DRAINING_TEXT in (desc or "").lower()
        leaving = leaving or (not into and state == "OutOfService")
        shown = f"{name} {state or 'not registered'}" + (f" ({desc})" if desc else "")
        return (not leaving) if into else leaving, shown

    return check


def move_tg(hook: Hook, tg: TgPlace, ports: Iterable[int], *, into: bool) -> None:
    """Register this instance in (or deregister it from) a target group on `ports`, sent
    once and read back after a lost answer."""
    ports = list(ports)
    hook.send(
        "elbv2",
        "register_targets" if into else "deregister_targets",
        tg_is(hook, tg, ports, into=into),
        TargetGroupArn=tg.arn,
        Targets=[{"Id": hook.instance_id, "Port": p} for p in ports],
    )


def move_clb(hook: Hook, name: str, *, into: bool) -> None:
    """The same with a Classic Load Balancer."""
    hook.send(
        "elb",
        "register_instances_with_load_balancer"
        if into
        else "deregister_instances_from_load_balancer",
        clb_is(hook, name, into=into),
        LoadBalancerName=name,
        Instances=[{"InstanceId": hook.instance_id}],
    )
