"""AllowTraffic and BlockTraffic: CodeDeploy's own lifecycle events, which register an
instance with the deployment's load balancers (and wait until it is healthy) or deregister it
(and wait until it drained)."""

from __future__ import annotations

from cutover.sandbox.world import HEALTHY, World

from .diagnostics import elb_missing, unknown_error
from .hooks import HookResult
from .model import Deployment
from .state import CodeDeploy


class AllowTraffic:
    """Register the instance with every target group and Classic Load Balancer of the
    deployment and wait until it passes their health checks."""

    def __init__(self, cd: CodeDeploy, dep: Deployment, instance_id: str, at: float) -> None:
        world = cd.world
        self.world = world
        self.iid = instance_id
        self.tgs, self.clbs, self.missing = _load_balancers(world, dep.lb_info)
        limit = cd.settings.allow_traffic_timeout
        if limit is None:
            checks = [tg.health_check for tg in self.tgs] + [c.health_check for c in self.clbs]
            limit = max([300.0] + [3.0 * (hc.healthy_threshold + 1) * hc.interval for hc in checks])
        self.limit = cd.floor(limit)
        self.deadline = at + self.limit
        for tg in self.tgs:
            world.register(tg, instance_id)
        for clb in self.clbs:
            world.register_classic(clb, instance_id)

    def _states(self) -> list[tuple[str, str, bool, bool, str]]:
        """(kind, name, healthy, failing, description) per load balancer."""
        world = self.world
        out = []
        for tg in self.tgs:
            target = tg.targets.get((self.iid, tg.port))
            if target is None or target.draining:
                out.append(("target group", tg.name, False, True, "unused"))
                continue
            state, reason, _ = world.effective_state(tg, target)
            failing = target.fails > 0 or state not in (HEALTHY, "initial")
            out.append(("target group", tg.name, state == HEALTHY, failing, f"{state} ({reason})"))
        for clb in self.clbs:
            target = clb.instances.get(self.iid)
            if target is None or target.draining:
                out.append(("load balancer", clb.name, False, True, "OutOfService"))
                continue
            state, reason, _ = world.classic_state(clb, target)
            ok = state == "InService"
            out.append(("load balancer", clb.name, ok, target.fails > 0, f"{state} ({reason})"))
        return out

    def poll(self, now: float) -> HookResult | None:
        if self.missing:
            return HookResult(False, elb_missing(self.missing), now)
        states = self._states()
        if all(ok for _, _, ok, _, _ in states):
            return HookResult(True, None, now)
        if now < self.deadline:
            return None
        # At the time limit a target whose checks fail has failed. One whose checks pass but
        # have not yet added up (a data plane lagging behind a high time scale) gets longer.
        if not any(failing for _, _, ok, failing, _ in states if not ok) and (
            now < self.deadline + 4 * self.limit
        ):
            return None
        kind, name, _, _, last = next(s for s in states if not s[2])
        message = (
            f"Instance {self.iid} did not pass the health checks of {kind} {name} within "
            f"{self.limit:.0f} seconds; its last state was {last}."
        )
        return HookResult(False, unknown_error(message))

    def cancel(self) -> None:
        pass


class BlockTraffic:
    """Deregister the instance from every target group and Classic Load Balancer of the
    deployment and wait until it has drained out of all of them."""

    def __init__(self, cd: CodeDeploy, dep: Deployment, instance_id: str, at: float) -> None:
        world = cd.world
        self.world = world
        self.iid = instance_id
        self.tgs, self.clbs, self.missing = _load_balancers(world, dep.lb_info)
        delay = max(
            [0]
            + [tg.deregistration_delay for tg in self.tgs]
            + [c.draining_timeout for c in self.clbs]
        )
        self.limit = cd.floor(delay + cd.settings.block_traffic_margin)
        self.deadline = at + self.limit
        # The (group, target key) pairs to wait on: one scan here, dictionary lookups after.
        self.keys = [(tg, key) for tg in self.tgs for key in tg.targets if key[0] == instance_id]
        for tg, (_, port) in self.keys:
            world.deregister(tg, instance_id, port)
        for clb in self.clbs:
            world.deregister_classic(clb, instance_id)

    def poll(self, now: float) -> HookResult | None:
        if self.missing:
            return HookResult(False, elb_missing(self.missing), now)
        still = [tg.name for tg, key in self.keys if key in tg.targets]
        still += [clb.name for clb in self.clbs if self.iid in clb.instances]
        if not still:
            return HookResult(True, None, now)
        if now < self.deadline:
            return None
        message = (
            f"Instance {self.iid} did not finish deregistering from {', '.join(still)} within "
            f"{self.limit:.0f} seconds."
        )
        return HookResult(False, unknown_error(message))

    def cancel(self) -> None:
        pass


def _load_balancers(world: World, lb_info: dict | None) -> tuple[list, list, list[str]]:
    tgs, clbs, missing = [], [], []
    for entry in (lb_info or {}).get("targetGroupInfoList") or []:
        tg = world.target_group_by_name(entry.get("name", ""))
        if tg is None:
            missing.append(entry.get("name", ""))
        else:
            tgs.append(tg)
    for entry in (lb_info or {}).get("elbInfoList") or []:
        clb = world.classic_lbs.get(entry.get("name", ""))
        if clb is None:
            missing.append(entry.get("name", ""))
        else:
            clbs.append(clb)
    return tgs, clbs, missing
