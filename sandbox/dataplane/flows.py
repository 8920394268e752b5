"""TCP flows through a Network Load Balancer's (or a classic TCP listener's) proxy: each
connection is piped to the target the router picks and counted as NewFlowCount, its bytes as
ProcessedBytes when it closes, and the open ones sampled as ActiveFlowCount."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from cutover.sandbox.world import World

from .metrics import RequestMetrics
from .routing import Route, Router
from .servers import HOST, MIN_IDLE_TIMEOUT

RouteFn = Callable[[web.BaseRequest | None], Route]


class Flows:
    """Open TCP flows by (load balancer, target group) of one data plane."""

    def __init__(self, world: World, metrics: RequestMetrics, router: Router) -> None:
        self.world = world
        self.metrics = metrics
        self.router = router
        self._active: dict[tuple[str, str | None], int] = {}
        self._groups: set[str] = set()  # target groups that ever had a TCP flow

    async def serve(
        self,
        tasks: set[asyncio.Task],
        route_fn: RouteFn,
        lb_key: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """One client connection, from accept to close; `tasks` is its proxy's live flows."""
        task = asyncio.current_task()
        if task is not None:
            tasks.add(task)
        try:
            await self._proxy(route_fn, lb_key, reader, writer)
        except asyncio.CancelledError:
            # Only the proxy's close() cancels flows. Ending normally matters: asyncio's stream
            # protocol asks the finished task for its exception, which re-raises a
            # cancellation as an "exception in callback" log line.
            pass
        finally:
            if task is not None:
                tasks.discard(task)

    async def _proxy(
        self,
        route_fn: RouteFn,
        lb_key: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        route = route_fn(None)
        upstream_writer: asyncio.StreamWriter | None = None
        moved = 0
        flow_key = (lb_key, route.tg)
        try:
            if route.kind != "forward":
                return
            self._opened(flow_key, route)
            try:
                upstream_reader, upstream_writer = await asyncio.wait_for(
                    asyncio.open_connection(HOST, route.port),
                    timeout=max(self.world.clock.real(10), MIN_IDLE_TIMEOUT),
                )
            except (OSError, TimeoutError):
                # A target that refuses: the client's connection is reset, as NLB does.
                writer.transport.abort()
                return
            sent, received = await asyncio.gather(
                _pump(reader, upstream_writer), _pump(upstream_reader, writer)
            )
            moved = sent + received
        finally:
            if route.kind == "forward":
                self._closed(flow_key, route, moved)
            for w in (writer, upstream_writer):
                if w is not None:
                    w.close()

    def _opened(self, flow_key: tuple[str, str | None], route: Route) -> None:
        self._active[flow_key] = self._active.get(flow_key, 0) + 1
        if route.tg is not None:
            self._groups.add(route.tg)
        self.metrics.record_flow(
            lb=flow_key[0],
            tg=route.tg,
            target=route.instance_id,
            new=True,
            ts=self.world.clock.elapsed(),
        )

    def _closed(self, flow_key: tuple[str, str | None], route: Route, moved: int) -> None:
        self.router.release(route)
        left = self._active.get(flow_key, 1) - 1
        if left > 0:
            self._active[flow_key] = left
        else:
            self._active.pop(flow_key, None)
        if moved:
            self.metrics.record_flow(
                lb=flow_key[0],
                tg=route.tg,
                target=route.instance_id,
                new=False,
                nbytes=moved,
                ts=self.world.clock.elapsed(),
            )

    def sample(self, tcp_lbs: set[str]) -> None:
        """One ActiveFlowCount sample per load balancer in `tcp_lbs` and per target group that
        ever had a flow."""
        # ActiveFlowCount is a level, not an event: sample it on every pass.
        if not tcp_lbs:
            return
        ts = self.world.clock.elapsed()
        per_lb = dict.fromkeys(tcp_lbs, 0)
        per_tg = dict.fromkeys(self._groups, 0)
        for (lb, tg), n in self._active.items():
            per_lb[lb] = per_lb.get(lb, 0) + n
            if tg is not None:
                per_tg[tg] = per_tg.get(tg, 0) + n
        for lb, n in per_lb.items():
            self.metrics.sample_active("lb", lb, n, ts=ts)
        for tg, n in per_tg.items():
            self.metrics.sample_active("tg", tg, n, ts=ts)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Copy bytes until EOF, then half-close the other side; returns the bytes moved."""
    moved = 0
    try:
        while data := await reader.read(65536):
            writer.write(data)
            moved += len(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
    except (OSError, RuntimeError):
        # One side reset: make sure the other side's copy ends too.
        writer.transport.abort()
    return moved
