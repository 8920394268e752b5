"""Where a listener sends one request or connection: its rule's action, the target group a
weighted forward picks, and the target round-robin picks in that group.

A chosen target counts the request in `Target.inflight` until `release`: that count is what
ends a classic load balancer's connection draining.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cutover.sandbox.world import Rule, Target, World

from .rules import choose_rule, redirect_location, terminal_action


@dataclass
class Route:
    """What a proxy does with one request or connection."""

    kind: str  # forward | fixed | redirect | none
    status: int = 503
    tg: str | None = None
    target: Target | None = None
    instance_id: str | None = None
    port: int = 0
    body: str = ""
    content_type: str = "text/plain"
    location: str = ""


class Router:
    """Routing state of one data plane: round-robin positions and weighted-forward credits."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._rr: dict[Any, int] = {}
        self._wrr: dict[Any, list[int]] = {}

    def _pick(self, rr_key: Any, targets: Iterable[Target]) -> Route:
        """Round-robin over routable targets; the caller holds the lock. Counts in-flight."""
        world = self.world
        candidates = [
            t
            for t in targets
            if (inst := world.instances.get(t.id)) is not None
            and inst.state == "running"
            and inst.port
        ]
        routable = world.routable(candidates)
        if not routable:
            return Route(kind="none", status=503)
        index = self._rr.get(rr_key, -1) + 1
        self._rr[rr_key] = index
        target = routable[index % len(routable)]
        target.inflight += 1
        return Route(
            kind="forward",
            target=target,
            instance_id=target.id,
            port=world.instances[target.id].port,
        )

    def _choose_group(self, rule: Rule) -> str | None:
        pairs = self.world.rule_target_groups(rule)
        if len(pairs) == 1:
            return pairs[0][0]
        weighted = [(arn, w) for arn, w in pairs if w > 0]
        if not weighted:
            return None
        if len(weighted) == 1:
            return weighted[0][0]
        # Smooth weighted round-robin: exact shares over any window, no bursts to one group.
        key = (rule.arn, tuple(weighted))
        current = self._wrr.get(key)
        if current is None:
            if len(self._wrr) > 1000:
                self._wrr.clear()
            current = self._wrr[key] = [0] * len(weighted)
        total = 0
        for i, (_, w) in enumerate(weighted):
            current[i] += w
            total += w
        best = max(range(len(weighted)), key=current.__getitem__)
        current[best] -= total
        return weighted[best][0]

    def elbv2(
        self, lb_arn: str, listener_arn: str, request: web.BaseRequest | None, port: int
    ) -> Route:
        """The route of a request (None: a TCP connection) through an ELBv2 listener."""
        world = self.world
        with world.lock:
            lb = world.load_balancers.get(lb_arn)
            listener = lb.listeners.get(listener_arn) if lb else None
            if listener is None or not listener.rules:
                return Route(kind="none", status=503)
            rule = listener.default_rule
            if request is not None:
                rule = choose_rule(listener.rules, rule, request)
            action = terminal_action(rule)
            if action is None:
                return Route(kind="none", status=503)
            if action["Type"] == "fixed-response":
                cfg = action.get("FixedResponseConfig") or {}
                return Route(
                    kind="fixed",
                    status=int(cfg.get("StatusCode", 200)),
                    body=cfg.get("MessageBody", ""),
                    content_type=cfg.get("ContentType", "text/plain"),
                )
            if action["Type"] == "redirect":
                cfg = action.get("RedirectConfig") or {}
                status = 301 if cfg.get("StatusCode", "HTTP_301") == "HTTP_301" else 302
                location = redirect_location(cfg, request, port) if request is not None else ""
                return Route(kind="redirect", status=status, location=location)
            tg_arn = self._choose_group(rule)
            tg = world.target_groups.get(tg_arn) if tg_arn else None
            if tg is None:
                return Route(kind="none", status=503, tg=tg_arn)
            route = self._pick(tg.arn, list(tg.targets.values()))
            route.tg = tg.arn
            return route

    def classic(self, name: str) -> Route:
        """The route of a request or connection through a classic load balancer."""
        world = self.world
        with world.lock:
            clb = world.classic_lbs.get(name)
            if clb is None:
                return Route(kind="none", status=503)
            return self._pick(("classic", name), list(clb.instances.values()))

    def release(self, route: Route) -> None:
        """The routed request or connection is over: the target's in-flight count drops."""
        if route.target is not None:
            with self.world.lock:
                route.target.inflight -= 1
