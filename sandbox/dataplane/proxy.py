"""Listener proxies: one per listener, on 127.0.0.1 at the listener's own port.

HTTP listeners (Application Load Balancers, classic HTTP listeners) forward each request to
the target the router picks, adding the X-Forwarded-* headers, or answer it themselves (fixed
responses, redirects, 502/503/504 pages); TCP listeners (Network Load Balancers, classic TCP
listeners) hand each connection to `flows.Flows`. Every answer is counted in the request
metrics the CloudWatch service reads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from cutover.sandbox.world import ClassicLoadBalancer, LoadBalancer, World
from multidict import CIMultiDict
from yarl import URL

from .flows import Flows
from .metrics import RequestMetrics
from .routing import Route, Router
from .servers import (
    CLIENT_KEEPALIVE,
    HOST,
    TCP_PROTOCOLS,
    HttpServer,
    close_all,
    close_quietly,
    elb_page,
    idle_timeout_real,
)

log = logging.getLogger("cutover.sandbox")

# Proxied responses up to this size are read whole (faster); larger ones are streamed.
BUFFER_LIMIT = 64 * 1024

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
        "Expect",
    )
)

# A proxy's key: ("elbv2", listener ARN, load balancer ARN) or ("classic", name, port).
ProxyKey = tuple
RouteFn = Callable[[web.BaseRequest | None], Route]


@dataclass
class _Proxy:
    key: ProxyKey
    port: int
    mode: str  # "http" or "tcp"
    http: HttpServer | None = None
    tcp: asyncio.Server | None = None
    flows: set[asyncio.Task] = field(default_factory=set)

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.tcp is not None:
            self.tcp.close()
            for task in list(self.flows):
                task.cancel()
            if self.flows:
                await asyncio.gather(*self.flows, return_exceptions=True)
            await self.tcp.wait_closed()


def _wanted(world: World) -> dict[ProxyKey, tuple[int, str]]:
    """(port, mode) of every listener in the world; the caller holds the lock."""
    desired: dict[ProxyKey, tuple[int, str]] = {}
    for lb in world.load_balancers.values():
        mode = "tcp" if lb.type == "network" else "http"
        for listener in lb.listeners.values():
            desired[("elbv2", listener.arn, lb.arn)] = (int(listener.port), mode)
    for clb in world.classic_lbs.values():
        for entry in clb.listeners:
            proto = str(entry.get("Protocol", "HTTP")).upper()
            port = int(entry["LoadBalancerPort"])
            mode = "tcp" if proto in TCP_PROTOCOLS else "http"
            desired[("classic", clb.name, port)] = (port, mode)
    return desired


class ListenerProxies:
    """Every listener's proxy, kept in step with the world by `reconcile`.

    `errors` holds one line per listener port that could not be bound; such a port is not
    tried again until its listener changes or the data plane restarts.
    """

    def __init__(self, world: World, metrics: RequestMetrics, router: Router) -> None:
        self.world = world
        self.metrics = metrics
        self.router = router
        self.flows = Flows(world, metrics, router)
        self.errors: list[str] = []
        self._proxies: dict[ProxyKey, _Proxy] = {}
        self._bind_failed: dict[ProxyKey, int] = {}  # proxy key -> port that would not bind
        self._session: aiohttp.ClientSession | None = None

    # ----- life cycle -------------------------------------------------------------------------

    def open(self) -> None:
        self._bind_failed.clear()  # a port that was busy last time may be free now
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=CLIENT_KEEPALIVE),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            trust_env=False,
        )

    async def close(self) -> None:
        """Close every proxy, in parallel and bounded (see servers.close_all)."""
        await close_all([(p.close(), f"proxy on port {p.port}") for p in self._proxies.values()])
        self._proxies.clear()

    async def close_session(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def ports(self) -> dict[str, int]:
        """Bound proxy ports by listener ARN (ELBv2) or "name:port" (classic)."""
        out = {}
        for key, proxy in self._proxies.items():
            label = key[1] if key[0] == "elbv2" else f"{key[1]}:{key[2]}"
            out[label] = proxy.port
        return out

    def port(self, listener_arn: str) -> int | None:
        for key, proxy in self._proxies.items():
            if key[0] == "elbv2" and key[1] == listener_arn:
                return proxy.port
        return None

    def sample_flows(self) -> None:
        """Sample ActiveFlowCount of every load balancer with a TCP listener."""
        tcp_lbs = {
            p.key[2] if p.key[0] == "elbv2" else p.key[1]
            for p in self._proxies.values()
            if p.mode == "tcp"
        }
        self.flows.sample(tcp_lbs)

    async def reconcile(self) -> None:
        """Bind a proxy for each new listener; close those whose listener changed or went."""
        with self.world.lock:
            desired = _wanted(self.world)
        for key in list(self._proxies):
            proxy = self._proxies[key]
            if desired.get(key) != (proxy.port, proxy.mode):
                del self._proxies[key]
                await close_quietly(proxy.close(), f"proxy on port {proxy.port}")
        for key in [k for k in self._bind_failed if k not in desired]:
            del self._bind_failed[key]
        for key, (port, mode) in desired.items():
            if key in self._proxies or self._bind_failed.get(key) == port:
                continue
            try:
                self._proxies[key] = await self._open(key, port, mode)
                self._bind_failed.pop(key, None)
            except OSError as exc:
                self._bind_failed[key] = port
                what = f"listener {key[1]}" if key[0] == "elbv2" else f"{key[1]}:{key[2]}"
                message = f"cannot listen on {HOST}:{port} for {what}: {exc.strerror or exc}"
                log.error("data plane: %s", message)
                self.errors.append(message)

    async def _open(self, key: ProxyKey, port: int, mode: str) -> _Proxy:
        proxy = _Proxy(key=key, port=port, mode=mode)
        if key[0] == "elbv2":
            listener_arn, lb_arn = key[1], key[2]

            def route(request: web.BaseRequest | None) -> Route:
                return self.router.elbv2(lb_arn, listener_arn, request, port)

            lb_key = lb_arn
        else:
            clb_name = key[1]

            def route(request: web.BaseRequest | None) -> Route:
                return self.router.classic(clb_name)

            lb_key = clb_name
        if mode == "http":
            proxy.http = HttpServer(functools.partial(self._serve, route, lb_key, key, port))
            await proxy.http.start(port)
        else:
            proxy.tcp = await asyncio.start_server(
                functools.partial(self.flows.serve, proxy.flows, route, lb_key), HOST, port
            )
        return proxy

    # ----- HTTP -------------------------------------------------------------------------------

    def _lb_object(self, key: ProxyKey) -> LoadBalancer | ClassicLoadBalancer | None:
        with self.world.lock:
            if key[0] == "elbv2":
                return self.world.load_balancers.get(key[2])
            return self.world.classic_lbs.get(key[1])

    async def _serve(
        self,
        route_fn: RouteFn,
        lb_key: str,
        proxy_key: ProxyKey,
        listener_port: int,
        request: web.BaseRequest,
    ) -> web.StreamResponse:
        route = route_fn(request)
        if route.kind != "forward":
            return self._answer_locally(route, lb_key)
        try:
            return await self._forward(request, route, lb_key, proxy_key, listener_port)
        finally:
            self.router.release(route)

    def _answer_locally(self, route: Route, lb_key: str) -> web.Response:
        if route.kind == "fixed":
            resp = web.Response(
                status=route.status,
                body=route.body.encode(),
                headers={"Content-Type": route.content_type, "Server": "awselb/2.0"},
            )
        elif route.kind == "redirect":
            resp = web.Response(
                status=route.status, headers={"Location": route.location, "Server": "awselb/2.0"}
            )
        else:
            resp = elb_page(route.status)
        self.metrics.record(
            lb=lb_key,
            tg=route.tg,
            target=None,
            status=resp.status,
            latency=None,
            elb_generated=True,
            ts=self.world.clock.elapsed(),
        )
        return resp

    async def _forward(
        self,
        request: web.BaseRequest,
        route: Route,
        lb_key: str,
        proxy_key: ProxyKey,
        listener_port: int,
    ) -> web.StreamResponse:
        assert self._session is not None
        loop = asyncio.get_running_loop()
        idle = idle_timeout_real(self.world, self._lb_object(proxy_key))
        headers = _upstream_headers(request, listener_port)
        url = URL(f"http://{HOST}:{route.port}{request.raw_path}", encoded=True)
        status = 502
        latency: float | None = None
        nbytes = 0
        elb = True
        resp: web.StreamResponse
        started = loop.time()
        try:
            body = await request.read() if request.body_exists else None
            nbytes += len(body or b"")
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=idle, sock_read=idle)
            async with self._session.request(
                request.method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=timeout,
            ) as upstream:
                # Real seconds: the time scale compresses waits, not how fast an app answers.
                latency = loop.time() - started
                status = upstream.status
                elb = False
                resp, relayed = await _relay(request, upstream)
                nbytes += relayed
        except TimeoutError:
            status, elb, resp = 504, True, elb_page(504)
        except (aiohttp.ClientError, OSError):
            status, elb, resp = 502, True, elb_page(502)
        self.metrics.record(
            lb=lb_key,
            tg=route.tg,
            target=route.instance_id,
            status=status,
            latency=latency,
            elb_generated=elb,
            nbytes=nbytes,
            ts=self.world.clock.elapsed(),
        )
        return resp


def _upstream_headers(request: web.BaseRequest, listener_port: int) -> CIMultiDict[str]:
    """The request's end-to-end headers and the X-Forwarded-* ones a load balancer adds."""
    headers: CIMultiDict[str] = CIMultiDict()
    connection = request.headers.get("Connection", "")
    connection_tokens = {t.strip().lower() for t in connection.split(",")}
    for name, value in request.headers.items():
        lower = name.lower()
        if lower not in HOP_BY_HOP and lower not in connection_tokens:
            headers.add(name, value)
    peer = request.remote or HOST
    forwarded = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
    headers["X-Forwarded-Proto"] = "http"
    headers["X-Forwarded-Port"] = str(listener_port)
    return headers


async def _relay(
    request: web.BaseRequest, upstream: aiohttp.ClientResponse
) -> tuple[web.StreamResponse, int]:
    """The client's response to the target's answer, and the body bytes relayed.

    A small answer is read whole; a large one is streamed, and a target failing mid-stream
    cuts the client's connection (its headers are gone already)."""
    out_headers = CIMultiDict(
        (k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
    )
    length = upstream.content_length
    if request.method == "HEAD" or (length is not None and length <= BUFFER_LIMIT):
        data = await upstream.read()
        return web.Response(status=upstream.status, body=data, headers=out_headers), len(data)
    resp = web.StreamResponse(status=upstream.status, headers=out_headers)
    if length is not None:
        resp.content_length = length
    await resp.prepare(request)
    relayed = 0
    try:
        async for chunk in upstream.content.iter_any():
            await resp.write(chunk)
            relayed += len(chunk)
        await resp.write_eof()
    except (aiohttp.ClientError, OSError, TimeoutError):
        if request.transport is not None:
            request.transport.close()
    return resp, relayed
