"""Instance servers: every pending or running instance is an aiohttp server on 127.0.0.1.

Opening an instance's server is what moves it from pending to running (that is how it learns
its port); stopping and terminating end with the server closed. Instance faults (down,
unhealthy, slow, 5xx) and `/work?ms=N` shape each answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from dataclasses import dataclass

from aiohttp import web
from cutover.sandbox.world import Instance, World

from .servers import HOST, HttpServer, close_all, close_quietly

log = logging.getLogger("cutover.sandbox")


@dataclass
class _InstanceServer:
    inst: Instance
    server: HttpServer
    port: int


class InstanceServers:
    """The instances' servers, kept in step with the world by `reconcile`."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world = world
        self._rng = rng
        self._servers: dict[str, _InstanceServer] = {}

    def port(self, instance_id: str) -> int | None:
        srv = self._servers.get(instance_id)
        return srv.port if srv else None

    async def close(self) -> None:
        """Close every server, in parallel and bounded (see servers.close_all)."""
        await close_all(
            [(srv.server.close(), f"instance {srv.inst.id}") for srv in self._servers.values()]
        )
        self._servers.clear()

    async def reconcile(self) -> None:
        """Open and close servers as the instances' states and "down" faults say, then finish
        the transitions that wait on them (pending -> running, stopping -> stopped,
        shutting-down -> terminated)."""
        world = self.world
        with world.lock:
            snapshot = [
                (inst, inst.state, inst.fault.down, inst.port) for inst in world.instances.values()
            ]
        present = {inst.id for inst, *_ in snapshot}
        for inst_id in [i for i in self._servers if i not in present]:
            await self._close(inst_id)
        for inst, state, down, port in snapshot:
            srv = self._servers.get(inst.id)
            if srv is not None and srv.inst is not inst:
                await self._close(inst.id)
                srv = None
            # A pending instance always gets a server (that is how it learns its port); a
            # running one keeps it unless its "down" fault is set.
            want = state == "pending" or (state == "running" and not down)
            if want and srv is None:
                srv = await self._open(inst, port)
                if srv is None:
                    continue
            elif not want and srv is not None:
                await self._close(inst.id)
                srv = None
            with world.lock:
                _settle(inst, state, srv)

    async def _open(self, inst: Instance, port: int) -> _InstanceServer | None:
        server = HttpServer(functools.partial(self._serve, inst))
        # Coming back from a "down" fault: keep the same port if it is still free.
        for candidate in (port, 0) if port else (0,):
            try:
                bound = await server.start(candidate)
            except OSError as exc:
                if candidate == 0:
                    log.error("instance %s: cannot listen on %s: %s", inst.id, HOST, exc)
                    return None
                server = HttpServer(functools.partial(self._serve, inst))
                continue
            srv = _InstanceServer(inst=inst, server=server, port=bound)
            self._servers[inst.id] = srv
            return srv
        return None

    async def _close(self, inst_id: str) -> None:
        srv = self._servers.pop(inst_id, None)
        if srv is not None:
            await close_quietly(srv.server.close(), f"instance {inst_id}")

    async def _serve(self, inst: Instance, request: web.BaseRequest) -> web.Response:
        checker = request.headers.get("User-Agent", "").startswith("ELB-HealthChecker")
        delay = inst.fault.slow_ms / 1000.0
        if request.path == "/work":
            try:
                delay += min(max(float(request.query.get("ms", "0")), 0.0), 600_000.0) / 1000.0
            except ValueError:
                pass
        if request.body_exists:
            await request.read()
        if delay > 0:
            await asyncio.sleep(delay)
        # Read faults and revision now, not at arrival: both change while requests wait.
        fault = inst.fault
        headers = {"X-Instance-Id": inst.id, "X-Revision": inst.revision}
        if fault.unhealthy or (
            fault.unhealthy_path and request.path.startswith(fault.unhealthy_path)
        ):
            return web.Response(status=503, text=f"{inst.id} unhealthy\n", headers=headers)
        if not inst.app_running:
            return web.Response(status=503, text=f"{inst.id} stopped\n", headers=headers)
        if not checker and fault.error_rate > 0 and self._rng.random() < fault.error_rate:
            return web.Response(status=500, text=f"{inst.id} error\n", headers=headers)
        return web.Response(text=f"{inst.id} {inst.revision} {inst.az}\n", headers=headers)


def _settle(inst: Instance, state: str, srv: _InstanceServer | None) -> None:
    """Record the server's port, or finish a transition the closed server completes; the caller
    holds the lock. `state` is what the instance was before the server was opened or closed: a
    state changed by the API meanwhile is left for the next pass."""
    if srv is not None:
        inst.port = srv.port
        if inst.state == "pending":
            inst.state = "running"
    elif state == "stopping" and inst.state == "stopping":
        inst.state = "stopped"
        inst.port = 0
    elif state == "shutting-down" and inst.state == "shutting-down":
        inst.state = "terminated"
        inst.port = 0
