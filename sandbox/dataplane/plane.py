"""`DataPlane`: the real sockets that follow a `World`, reconciled every tenth of a second.

One pass ticks the world, then brings the listener proxies, the instance servers and the
health checks in line with it (proxies first: their ports were chosen up front, an instance's
port is any free one). Everything runs on one asyncio loop and touches the world only under
`world.lock`, so the API services may mutate the world from another thread at any time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from cutover.sandbox.world import World

from .health import HealthChecker
from .instances import InstanceServers
from .metrics import RequestMetrics
from .proxy import ListenerProxies
from .routing import Router

log = logging.getLogger("cutover.sandbox")


class DataPlane:
    """Real servers, proxies and health checks that follow a `World`.

    `start()` and `stop()` run on the event loop that will host every server. After
    `start()` returns, one reconcile pass has run: instance servers are up, each listener's
    proxy is bound (or its failure is in `errors`), and the loop keeps everything in step
    with the world every `reconcile_interval` real seconds.
    """

    def __init__(
        self,
        world: World,
        metrics: RequestMetrics | None = None,
        *,
        reconcile_interval: float = 0.1,
        seed: int | None = None,
    ) -> None:
        self.world = world
        self.metrics = metrics if metrics is not None else RequestMetrics(world.clock)
        if self.metrics.clock is None:
            self.metrics.clock = world.clock
        self.reconcile_interval = reconcile_interval
        # One random stream for check jitter and injected 5xx answers, reproducible by seed.
        rng = random.Random(seed)
        self._proxies = ListenerProxies(world, self.metrics, Router(world))
        self._instances = InstanceServers(world, rng)
        self._health = HealthChecker(world, rng, reconcile_interval)
        self._loop_task: asyncio.Task | None = None
        self._reconcile_lock: asyncio.Lock | None = None
        self._running = False

    @property
    def errors(self) -> list[str]:
        """One line per listener port that could not be bound."""
        return self._proxies.errors

    # ----- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Reconcile once, then keep reconciling in the background. Idempotent."""
        if self._running:
            return
        self._running = True
        self._reconcile_lock = asyncio.Lock()
        self._proxies.open()
        self._health.open()
        await self.reconcile()
        self._loop_task = asyncio.get_running_loop().create_task(
            self._run(), name="cutover-dataplane-reconcile"
        )

    async def stop(self) -> None:
        """Close every server, proxy, health check and session. Idempotent."""
        if not self._running:
            return
        self._running = False
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        assert self._reconcile_lock is not None
        async with self._reconcile_lock:
            await self._health.stop()
            # Proxies first, so no new request reaches an instance being closed; each group in
            # parallel and bounded, so one connection that will not close cannot hold up the
            # sandbox's stop (aiohttp waits up to a minute for handlers by default).
            await self._proxies.close()
            await self._instances.close()
            await self._proxies.close_session()
            await self._health.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_interval)
            try:
                await self.reconcile()
            except Exception:
                log.exception("data plane reconcile failed")

    # ----- helpers for callers and tests --------------------------------------------------

    def listener_ports(self) -> dict[str, int]:
        """Bound proxy ports by listener ARN (ELBv2) or "name:port" (classic)."""
        return self._proxies.ports()

    def proxy_port(self, listener_arn: str) -> int | None:
        """The port a listener's proxy is bound to, or None when it is not bound."""
        return self._proxies.port(listener_arn)

    def instance_port(self, instance_id: str) -> int | None:
        """The port an instance's server listens on right now, or None when it is closed."""
        return self._instances.port(instance_id)

    # ----- reconcile --------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """One pass: tick the world, then bring proxies, servers and checks in line with it."""
        assert self._reconcile_lock is not None
        async with self._reconcile_lock:
            if not self._running:
                return
            self.world.tick()
            # Proxies first: their ports were chosen up front, instance ports are any free port.
            await self._proxies.reconcile()
            await self._instances.reconcile()
            self._health.reconcile()
            self._proxies.sample_flows()
