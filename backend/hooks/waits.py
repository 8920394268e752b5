"""Waiting, in the server's time, until the instance is out of (or healthy in) its load
balancers, or in the lifecycle state wanted in its Auto Scaling group."""

from __future__ import annotations

from collections.abc import Callable

from .changes import move_clb, move_tg
from .errors import HookError
from .hook import Hook
from .places import ClbPlace, TgPlace
from .verdicts import DONE, FAIL, REREGISTER, classic_verdict, target_verdict


def wait(
    hook: Hook,
    what: str,
    check: Callable[[], tuple[bool, str]],
    timeout: float,
) -> None:
    """Poll `check` (-> (done, last state text)) until done, measured in server time.

    Spacing grows 0.25 s -> 5 s with full jitter, in real time; `check` raises to fail.
    """
    start = hook.clock.now()
    attempt = 0
    last = ""
    while True:
        done, state = check()
        if done:
            return
        if state != last:
            attempt = 0  # something moved: look again soon
            last = state
            hook.say.info(f"waiting: {state}")
        elapsed = (hook.clock.now() - start).total_seconds()
        if elapsed >= timeout:
            raise HookError(f"timed out after {timeout:g} s waiting for {what}; last seen: {last}")
        ceiling = min(hook.poll_cap, hook.poll_base * 2**attempt)
        # Never sleep past the deadline (server seconds -> real ones at the clock's rate).
        remaining_real = (timeout - elapsed) / max(hook.clock.rate, 1e-6)
        hook.sleep(max(0.02, min(hook.rng.uniform(0, ceiling), remaining_real)))
        attempt += 1


def wait_out(hook: Hook, tgs: list[TgPlace], clbs: list[ClbPlace], timeout: float) -> None:
    pending = {(tg.name, p) for tg in tgs for p in tg.ports} | {c.name for c in clbs}

    def check() -> tuple[bool, str]:
        states = []
        for tg in tgs:
            for port in tg.ports:
                if (tg.name, port) not in pending:
                    continue
                state, reason, _ = hook.tg_health(tg, port)
                if target_verdict(state, reason, None, into=False).action == DONE:
                    pending.discard((tg.name, port))
                    hook.say.info(f"out of target group {tg.name} (port {port})")
                else:
                    states.append(f"{tg.name}:{port} {state}")
        for clb in clbs:
            if clb.name not in pending:
                continue
            state, reason, desc = hook.clb_health(clb.name)
            if classic_verdict(state, reason, desc, into=False).action == DONE:
                pending.discard(clb.name)
                hook.say.info(f"out of load balancer {clb.name}")
            else:
                states.append(f"{clb.name} {state} ({desc})")
        return not states, ", ".join(states)

    wait(hook, "the instance to leave its load balancers (draining)", check, timeout)


def wait_in(hook: Hook, tgs: list[TgPlace], clbs: list[ClbPlace], timeout: float) -> None:
    pending = {(tg.name, p) for tg in tgs for p in tg.ports} | {c.name for c in clbs}
    by_name = {tg.name: tg for tg in tgs}

    def check() -> tuple[bool, str]:
        states = []
        for name, port in sorted(p for p in pending if isinstance(p, tuple)):
            tg = by_name[name]
            state, reason, desc = hook.tg_health(tg, port)
            v = target_verdict(state, reason, desc, into=True)
            where = f"target group {name} (port {port})"
            if v.action == DONE:
                pending.discard((name, port))
                hook.say.info(
                    f"{'in' if v.note else 'healthy in'} {where}"
                    + (f": {v.note}" if v.note else "")
                )
            elif v.action == FAIL:
                raise HookError(f"{v.note} in {where}")
            elif v.action == REREGISTER:
                hook.say.info(f"{state} in {where}: registering again")
                move_tg(hook, tg, [port], into=True)
                states.append(f"{name}:{port} {state}")
            else:
                states.append(f"{name}:{port} {state}" + (f" ({reason})" if reason else ""))
        for clb in clbs:
            if clb.name not in pending:
                continue
            state, reason, desc = hook.clb_health(clb.name)
            v = classic_verdict(state, reason, desc, into=True)
            where = f"load balancer {clb.name}"
            if v.action == DONE:
                pending.discard(clb.name)
                hook.say.info(f"InService in {where}")
            elif v.action == FAIL:
                raise HookError(f"{v.note} in {where}")
            elif v.action == REREGISTER and not clb.managed:
                hook.say.info(f"{state or 'not registered'} in {where}: registering again")
                move_clb(hook, clb.name, into=True)
                states.append(f"{clb.name} {state}")
            else:
                states.append(f"{clb.name} {state or 'not registered'} ({desc})")
        return not states, ", ".join(states)

    wait(hook, "the instance to be healthy in its load balancers", check, timeout)


def wait_lifecycle(hook: Hook, asg: str, wanted: str, timeout: float) -> None:
    def check() -> tuple[bool, str]:
        member = hook.membership()
        if member is None:
            raise HookError(f"the instance left Auto Scaling group {asg}")
        state = member["LifecycleState"]
        return state == wanted, f"{asg} {state}"

    wait(hook, f"{wanted} in Auto Scaling group {asg}", check, timeout)
    hook.say.info(f"{wanted} in Auto Scaling group {asg}")
