"""What every part of the data plane shares: loopback, timeouts, one small aiohttp server, and
the pages a load balancer answers with itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from cutover.sandbox.world import ClassicLoadBalancer, LoadBalancer, World

log = logging.getLogger("cutover.sandbox")

HOST = "127.0.0.1"
# How long stopping waits for a group of servers to close before abandoning them.
CLOSE_TIMEOUT = 10.0

# Real seconds an idle keep-alive connection stays open. Whoever reuses pooled connections
# must give up on them sooner than the server closes them, or a request can land on a socket
# the server is closing and fail with a spurious 502.
SERVER_KEEPALIVE = 75.0
CLIENT_KEEPALIVE = 15.0
# Real seconds a closing server gives requests still being handled before cutting them.
SHUTDOWN_GRACE = 0.1
# A real-time floor under scaled timeouts: at a high time scale a 5-second health-check
# timeout is a few milliseconds, which a busy event loop would miss for no fault of the target.
MIN_CHECK_TIMEOUT = 0.2
# A check that timed out against an instance with no fault slowing it is tried once more with
# this long (real seconds): its answer was not late, the sandbox's own loop was (a busy
# machine stalls it for longer than a scaled timeout), and that is not the target's failure.
STALL_RETRY_TIMEOUT = 2.0
MIN_IDLE_TIMEOUT = 1.0

TCP_PROTOCOLS = frozenset({"TCP", "TLS", "UDP", "TCP_UDP", "SSL"})


def idle_timeout_real(world: World, lb: LoadBalancer | ClassicLoadBalancer | None) -> float:
    """Real seconds a proxy waits on a silent target before answering 504.

    The load balancer's idle timeout (60 sandbox seconds unless its attributes say otherwise)
    scaled by the clock, never below MIN_IDLE_TIMEOUT real seconds.
    """
    seconds = 60.0
    attrs = getattr(lb, "attributes", None) or {}
    if isinstance(lb, ClassicLoadBalancer):
        settings = attrs.get("ConnectionSettings") or {}
        seconds = float(settings.get("IdleTimeout", seconds))
    elif "idle_timeout.timeout_seconds" in attrs:
        seconds = float(attrs["idle_timeout.timeout_seconds"])
    return max(world.clock.real(seconds), MIN_IDLE_TIMEOUT)


class HttpServer:
    """One low-level aiohttp server on 127.0.0.1."""

    def __init__(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]):
        # Handlers are cancelled when their client goes away, so that a request nobody waits
        # for (a health check that timed out, a client that hung up) cannot outlive stop().
        self._runner = web.ServerRunner(
            web.Server(
                handler,
                handler_cancellation=True,
                access_log=None,
                keepalive_timeout=SERVER_KEEPALIVE,
            ),
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_GRACE,
        )
        self.port = 0

    async def start(self, port: int) -> int:
        """Listen on `port` (0: any free port); returns the port. Raises OSError if busy."""
        await self._runner.setup()
        try:
            site = web.TCPSite(self._runner, HOST, port)
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self.port = self._runner.addresses[0][1]
        return self.port

    async def close(self) -> None:
        await self._runner.cleanup()


def elb_page(status: int) -> web.Response:
    """The HTML error page a load balancer answers with itself (502, 503, 504)."""
    reason = {
        502: "Bad Gateway",
        503: "Service Temporarily Unavailable",
        504: "Gateway Time-out",
    }.get(status, "Error")
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(
        status=status, text=body, content_type="text/html", headers={"Server": "awselb/2.0"}
    )


async def close_quietly(closing: Awaitable[None], what: str) -> None:
    """Await a close; a failure is logged, never raised (stopping goes on)."""
    try:
        await closing
    except Exception:
        log.exception("closing %s failed", what)


async def close_all(
    closings: list[tuple[Awaitable[None], str]], timeout: float = CLOSE_TIMEOUT
) -> None:
    """Close servers in parallel, abandoning those still open after `timeout` real seconds."""
    tasks = [asyncio.ensure_future(close_quietly(c, what)) for c, what in closings]
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        log.warning("%d server(s) did not close within %.0f s; abandoned", len(pending), timeout)
        await asyncio.gather(*pending, return_exceptions=True)
