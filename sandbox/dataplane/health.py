"""The health checker: one task per target of every target group a load balancer uses and
per instance of every classic load balancer, probing over HTTP (or TCP) at the health check's
interval and folding each result into the world through `World.record_check`."""

from __future__ import annotations

import asyncio
import random

import aiohttp
from cutover.sandbox.world import HealthCheck, Target, World

from .servers import (
    CLIENT_KEEPALIVE,
    HOST,
    MIN_CHECK_TIMEOUT,
    STALL_RETRY_TIMEOUT,
    TCP_PROTOCOLS,
)

HEALTH_CHECKER_UA = "ELB-HealthChecker/2.0"
CLASSIC_HEALTH_CHECKER_UA = "ELB-HealthChecker/1.0"

# A check's key: ("tg", target group ARN, target key) or ("clb", classic name, instance id).
CheckKey = tuple


class HealthChecker:
    """Health-check tasks that follow the world; `reconcile` runs on the data plane's loop."""

    def __init__(self, world: World, rng: random.Random, reconcile_interval: float) -> None:
        self.world = world
        self._rng = rng
        self.reconcile_interval = reconcile_interval
        self._checks: dict[CheckKey, tuple[Target, asyncio.Task]] = {}
        self._session: aiohttp.ClientSession | None = None

    def open(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=CLIENT_KEEPALIVE),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )

    async def stop(self) -> None:
        """Cancel every check and close the checker's HTTP session."""
        tasks = [task for _, task in self._checks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._checks.clear()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _desired(self) -> dict[CheckKey, Target]:
        world = self.world
        desired: dict[CheckKey, Target] = {}
        with world.lock:

            def eligible(t: Target) -> bool:
                inst = world.instances.get(t.id)
                return not t.draining and inst is not None and inst.state in ("pending", "running")

            for tg in world.target_groups.values():
                if not tg.health_check.enabled or not world.load_balancers_of(tg):
                    continue
                for target in tg.targets.values():
                    if eligible(target):
                        desired[("tg", tg.arn, target.key)] = target
            for clb in world.classic_lbs.values():
                if not clb.health_check.enabled:
                    continue
                for target in clb.instances.values():
                    if eligible(target):
                        desired[("clb", clb.name, target.id)] = target
        return desired

    def reconcile(self) -> None:
        """Start a check for each target that needs one; cancel those that no longer do."""
        desired = self._desired()
        for key in list(self._checks):
            target, task = self._checks[key]
            if desired.get(key) is not target or task.done():
                task.cancel()
                del self._checks[key]
        loop = asyncio.get_running_loop()
        for key, target in desired.items():
            if key not in self._checks:
                task = loop.create_task(self._check_loop(key, target), name=f"health {key}")
                self._checks[key] = (target, task)

    def _check_plan(self, key: CheckKey, target: Target) -> tuple[HealthCheck, int, str] | None:
        """What to check now: (health check, real port, user agent); None ends the loop.

        Port 0 means skip this round (the instance is not running yet)."""
        world = self.world
        if key[0] == "tg":
            tg = world.target_groups.get(key[1])
            if tg is None or tg.targets.get(key[2]) is not target:
                return None
            hc, ua = tg.health_check, HEALTH_CHECKER_UA
        else:
            clb = world.classic_lbs.get(key[1])
            if clb is None or clb.instances.get(key[2]) is not target:
                return None
            hc, ua = clb.health_check, CLASSIC_HEALTH_CHECKER_UA
        if target.draining or not hc.enabled:
            return None
        inst = world.instances.get(target.id)
        if inst is None or inst.state not in ("pending", "running"):
            return None
        # The health check's port (traffic-port or a number) is logical: every port of an
        # instance is its one real server.
        port = inst.port if inst.state == "running" else 0
        return hc, port, ua

    async def _check_loop(self, key: CheckKey, target: Target) -> None:
        loop = asyncio.get_running_loop()
        clock = self.world.clock
        with self.world.lock:
            plan = self._check_plan(key, target)
        if plan is None:
            return
        # Check promptly after registration, but spread a fleet's checks over the interval.
        first_interval = clock.real(plan[0].interval)
        delay = self._rng.uniform(0.0, min(first_interval, 1.0) * 0.25)
        while True:
            if delay > 0:
                await asyncio.sleep(delay)
            with self.world.lock:
                plan = self._check_plan(key, target)
                if plan is not None:
                    hc, port, ua = plan
                    hc = HealthCheck(**vars(hc))  # a private copy: the API may edit it
            if plan is None:
                return
            interval = clock.real(hc.interval)
            if not port:
                delay = min(interval, self.reconcile_interval)
                continue
            started = loop.time()
            timeout = max(clock.real(hc.timeout), min(MIN_CHECK_TIMEOUT, interval * 0.9))
            ok, reason, code = await self._probe(hc, port, ua, timeout)
            if reason == "Target.Timeout" and not self._slowed(target):
                ok, reason, code = await self._probe(
                    hc, port, ua, max(STALL_RETRY_TIMEOUT, 4 * timeout)
                )
            with self.world.lock:
                if self._check_plan(key, target) is not None:
                    self.world.record_check(hc, target, ok, reason, code)
            delay = max(0.0, started + interval - loop.time())

    def _slowed(self, target: Target) -> bool:
        """Whether a fault makes the target's instance answer late (or not at all)."""
        with self.world.lock:
            inst = self.world.instances.get(target.id)
            return inst is None or inst.fault.slow_ms > 0 or inst.fault.down

    async def _probe(
        self, hc: HealthCheck, port: int, ua: str, timeout: float
    ) -> tuple[bool, str | None, int | None]:
        if hc.protocol.upper() in TCP_PROTOCOLS:
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
            except TimeoutError:
                return False, "Target.Timeout", None
            except OSError:
                return False, "Target.FailedHealthChecks", None
            writer.close()
            return True, None, None
        assert self._session is not None
        path = hc.path or "/"
        if not path.startswith("/"):
            path = "/" + path
        try:
            async with self._session.get(
                f"http://{HOST}:{port}{path}",
                headers={"User-Agent": ua},
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                await resp.read()
                code = resp.status
        except TimeoutError:
            return False, "Target.Timeout", None
        except (aiohttp.ClientError, OSError, ValueError):
            return False, "Target.FailedHealthChecks", None
        try:
            ok = hc.matches(code)
        except ValueError:
            ok = False
        if ok:
            return True, None, code
        return False, "Target.ResponseCodeMismatch", code
