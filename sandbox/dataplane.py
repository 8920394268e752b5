"""Real traffic for the sandbox: instance servers, listener proxies, health checks, load.

`DataPlane` makes real sockets follow the `World`: every running instance is an aiohttp
server on 127.0.0.1, every listener a proxy on 127.0.0.1 at the listener's port, and every
target of a group in use is health-checked over HTTP (or TCP) with the results folded back
through `World.record_check`. Draining is real too: a draining target gets no new request or
connection, the proxies count each target's in-flight requests (open connections for a
network load balancer) in `Target.inflight`, and `World.tick` ends a drain as ELB does: a
target group's at the end of its deregistration delay, a classic load balancer's when that
count reaches zero or its connection-draining timeout runs out.

Everything runs on one asyncio loop and touches the world only under `world.lock`, so the API
services may mutate the world from another thread at any time. Nothing binds beyond loopback.

`LoadGenerator` sends a steady, open-loop stream of requests to every listener so the
dashboard has traffic to show and a reroute can be watched for errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import random
import re
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from cutover.sandbox.metrics import RequestMetrics
from cutover.sandbox.world import (
    ClassicLoadBalancer,
    HealthCheck,
    Instance,
    LoadBalancer,
    Rule,
    Target,
    World,
)
from multidict import CIMultiDict
from yarl import URL

log = logging.getLogger("cutover.sandbox")
# How long stopping waits for a group of servers to close before abandoning them.
CLOSE_TIMEOUT = 10.0

HOST = "127.0.0.1"
HEALTH_CHECKER_UA = "ELB-HealthChecker/2.0"
CLASSIC_HEALTH_CHECKER_UA = "ELB-HealthChecker/1.0"

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
MIN_IDLE_TIMEOUT = 1.0
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


# ----- small servers ------------------------------------------------------------------------


class _HttpServer:
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


@dataclass
class _InstanceServer:
    inst: Instance
    server: _HttpServer
    port: int


@dataclass
class _Proxy:
    key: tuple
    port: int
    mode: str  # "http" or "tcp"
    http: _HttpServer | None = None
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


@dataclass
class _Route:
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


# ----- listener rules -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    # ELB patterns know only * and ?; everything else (brackets included) is literal.
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rx, 0 if case_sensitive else re.IGNORECASE)


def _values(cond: dict, config: str) -> list:
    return list((cond.get(config) or {}).get("Values") or cond.get("Values") or [])


def _condition_matches(cond: dict, request: web.BaseRequest) -> bool:
    kind = cond.get("Field")
    if kind == "path-pattern":
        path = request.path
        return any(_glob(v, True).fullmatch(path) for v in _values(cond, "PathPatternConfig"))
    if kind == "host-header":
        host = (request.headers.get("Host") or "").rsplit(":", 1)[0]
        return any(_glob(v, False).fullmatch(host) for v in _values(cond, "HostHeaderConfig"))
    if kind == "http-request-method":
        return request.method in _values(cond, "HttpRequestMethodConfig")
    if kind == "http-header":
        cfg = cond.get("HttpHeaderConfig") or {}
        seen = request.headers.getall(cfg.get("HttpHeaderName", ""), [])
        return any(_glob(v, False).fullmatch(h) for v in cfg.get("Values") or [] for h in seen)
    if kind == "query-string":
        pairs = (cond.get("QueryStringConfig") or {}).get("Values") or []
        for pair in pairs:
            for k, v in request.query.items():
                key_ok = "Key" not in pair or _glob(pair["Key"], False).fullmatch(k)
                if key_ok and _glob(pair.get("Value", "*"), False).fullmatch(v):
                    return True
        return False
    if kind == "source-ip":
        peer = request.remote or ""
        try:
            addr = ipaddress.ip_address(peer)
            nets = [ipaddress.ip_network(v, strict=False) for v in _values(cond, "SourceIpConfig")]
        except ValueError:
            return False
        return any(addr in net for net in nets)
    return False


def _choose_rule(rules: list[Rule], default: Rule, request: web.BaseRequest) -> Rule:
    ordered = sorted(
        (r for r in rules if not r.is_default),
        key=lambda r: int(r.priority) if str(r.priority).isdigit() else 1 << 30,
    )
    for rule in ordered:
        if all(_condition_matches(c, request) for c in rule.conditions):
            return rule
    return default


def _terminal_action(rule: Rule) -> dict | None:
    actions = sorted(
        enumerate(rule.actions), key=lambda pair: int(pair[1].get("Order", pair[0] + 1))
    )
    for _, action in actions:
        if action.get("Type") in ("forward", "fixed-response", "redirect"):
            return action
    return None


def _redirect_location(cfg: dict, request: web.BaseRequest, listener_port: int) -> str:
    host = (request.headers.get("Host") or HOST).rsplit(":", 1)[0]
    values = {
        "protocol": "http",
        "host": host,
        "port": str(listener_port),
        "path": request.path.lstrip("/"),
        "query": request.query_string,
    }

    def fill(text: str) -> str:
        for k, v in values.items():
            text = text.replace("#{" + k + "}", v)
        return text

    protocol = fill(cfg.get("Protocol", "#{protocol}")).lower()
    out_host = fill(cfg.get("Host", "#{host}"))
    port = fill(cfg.get("Port", "#{port}"))
    path = fill(cfg.get("Path", "/#{path}"))
    query = fill(cfg.get("Query", "#{query}"))
    location = f"{protocol}://{out_host}:{port}{path if path.startswith('/') else '/' + path}"
    return location + (f"?{query}" if query else "")


def _elb_page(status: int) -> web.Response:
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


# ----- the data plane -----------------------------------------------------------------------


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
        self.errors: list[str] = []  # one line per listener port that could not be bound
        self._rng = random.Random(seed)
        self._instances: dict[str, _InstanceServer] = {}
        self._proxies: dict[tuple, _Proxy] = {}
        self._bind_failed: dict[tuple, int] = {}  # proxy key -> port that would not bind
        self._checks: dict[tuple, tuple[Target, asyncio.Task]] = {}
        self._rr: dict[Any, int] = {}
        self._wrr: dict[Any, list[int]] = {}
        self._active_flows: dict[tuple[str, str | None], int] = {}
        self._flow_groups: set[str] = set()  # target groups that ever had a TCP flow
        self._session: aiohttp.ClientSession | None = None
        self._hc_session: aiohttp.ClientSession | None = None
        self._loop_task: asyncio.Task | None = None
        self._reconcile_lock: asyncio.Lock | None = None
        self._running = False

    # ----- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Reconcile once, then keep reconciling in the background. Idempotent."""
        if self._running:
            return
        self._running = True
        self._bind_failed.clear()  # a port that was busy last time may be free now
        self._reconcile_lock = asyncio.Lock()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=CLIENT_KEEPALIVE),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            trust_env=False,
        )
        self._hc_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=CLIENT_KEEPALIVE),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
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
            tasks = [task for _, task in self._checks.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._checks.clear()
            # Proxies first, so no new request reaches an instance being closed; each group in
            # parallel and bounded, so one connection that will not close cannot hold up the
            # sandbox's stop (aiohttp waits up to a minute for handlers by default).
            await self._close_all(
                [(p.close(), f"proxy on port {p.port}") for p in self._proxies.values()]
            )
            self._proxies.clear()
            await self._close_all(
                [
                    (srv.server.close(), f"instance {srv.inst.id}")
                    for srv in self._instances.values()
                ]
            )
            self._instances.clear()
            for session in (self._session, self._hc_session):
                if session is not None:
                    await session.close()
            self._session = self._hc_session = None

    async def _close_quietly(self, closing: Awaitable[None], what: str) -> None:
        try:
            await closing
        except Exception:
            log.exception("closing %s failed", what)

    async def _close_all(
        self, closings: list[tuple[Awaitable[None], str]], timeout: float = CLOSE_TIMEOUT
    ) -> None:
        tasks = [asyncio.ensure_future(self._close_quietly(c, what)) for c, what in closings]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning(
                "%d server(s) did not close within %.0f s; abandoned", len(pending), timeout
            )
            await asyncio.gather(*pending, return_exceptions=True)

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
        out = {}
        for key, proxy in self._proxies.items():
            label = key[1] if key[0] == "elbv2" else f"{key[1]}:{key[2]}"
            out[label] = proxy.port
        return out

    def proxy_port(self, listener_arn: str) -> int | None:
        """The port a listener's proxy is bound to, or None when it is not bound."""
        for key, proxy in self._proxies.items():
            if key[0] == "elbv2" and key[1] == listener_arn:
                return proxy.port
        return None

    def instance_port(self, instance_id: str) -> int | None:
        """The port an instance's server listens on right now, or None when it is closed."""
        srv = self._instances.get(instance_id)
        return srv.port if srv else None

    # ----- reconcile --------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """One pass: tick the world, then bring proxies, servers and checks in line with it."""
        assert self._reconcile_lock is not None
        async with self._reconcile_lock:
            if not self._running:
                return
            self.world.tick()
            # Proxies first: their ports were chosen up front, instance ports are any free port.
            await self._reconcile_proxies()
            await self._reconcile_instances()
            self._reconcile_checks()
            self._sample_flows()

    async def _reconcile_instances(self) -> None:
        world = self.world
        with world.lock:
            snapshot = [
                (inst, inst.state, inst.fault.down, inst.port) for inst in world.instances.values()
            ]
        present = {inst.id for inst, *_ in snapshot}
        for inst_id in [i for i in self._instances if i not in present]:
            await self._close_instance(inst_id)
        for inst, state, down, port in snapshot:
            srv = self._instances.get(inst.id)
            if srv is not None and srv.inst is not inst:
                await self._close_instance(inst.id)
                srv = None
            # A pending instance always gets a server (that is how it learns its port); a
            # running one keeps it unless its "down" fault is set.
            want = state == "pending" or (state == "running" and not down)
            if want and srv is None:
                srv = await self._open_instance(inst, port)
                if srv is None:
                    continue
            elif not want and srv is not None:
                await self._close_instance(inst.id)
                srv = None
            with world.lock:
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

    async def _open_instance(self, inst: Instance, port: int) -> _InstanceServer | None:
        server = _HttpServer(functools.partial(self._serve_instance, inst))
        # Coming back from a "down" fault: keep the same port if it is still free.
        for candidate in (port, 0) if port else (0,):
            try:
                bound = await server.start(candidate)
            except OSError as exc:
                if candidate == 0:
                    log.error("instance %s: cannot listen on %s: %s", inst.id, HOST, exc)
                    return None
                server = _HttpServer(functools.partial(self._serve_instance, inst))
                continue
            srv = _InstanceServer(inst=inst, server=server, port=bound)
            self._instances[inst.id] = srv
            return srv
        return None

    async def _close_instance(self, inst_id: str) -> None:
        srv = self._instances.pop(inst_id, None)
        if srv is not None:
            await self._close_quietly(srv.server.close(), f"instance {inst_id}")

    async def _reconcile_proxies(self) -> None:
        world = self.world
        desired: dict[tuple, tuple[int, str]] = {}
        with world.lock:
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
        for key in list(self._proxies):
            proxy = self._proxies[key]
            if desired.get(key) != (proxy.port, proxy.mode):
                del self._proxies[key]
                await self._close_quietly(proxy.close(), f"proxy on port {proxy.port}")
        for key in [k for k in self._bind_failed if k not in desired]:
            del self._bind_failed[key]
        for key, (port, mode) in desired.items():
            if key in self._proxies or self._bind_failed.get(key) == port:
                continue
            try:
                self._proxies[key] = await self._open_proxy(key, port, mode)
                self._bind_failed.pop(key, None)
            except OSError as exc:
                self._bind_failed[key] = port
                what = f"listener {key[1]}" if key[0] == "elbv2" else f"{key[1]}:{key[2]}"
                message = f"cannot listen on {HOST}:{port} for {what}: {exc.strerror or exc}"
                log.error("data plane: %s", message)
                self.errors.append(message)

    async def _open_proxy(self, key: tuple, port: int, mode: str) -> _Proxy:
        proxy = _Proxy(key=key, port=port, mode=mode)
        if key[0] == "elbv2":
            listener_arn, lb_arn = key[1], key[2]

            def route(request: web.BaseRequest | None) -> _Route:
                return self._route_elbv2(lb_arn, listener_arn, request, port)

            lb_key = lb_arn
        else:
            clb_name = key[1]

            def route(request: web.BaseRequest | None) -> _Route:
                return self._route_classic(clb_name)

            lb_key = clb_name
        if mode == "http":
            proxy.http = _HttpServer(functools.partial(self._serve_proxy, route, lb_key, key, port))
            await proxy.http.start(port)
        else:
            proxy.tcp = await asyncio.start_server(
                functools.partial(self._serve_flow, proxy, route, lb_key), HOST, port
            )
        return proxy

    def _reconcile_checks(self) -> None:
        world = self.world
        desired: dict[tuple, Target] = {}
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

    def _sample_flows(self) -> None:
        # ActiveFlowCount is a level, not an event: sample it on every pass.
        tcp_lbs = {
            p.key[2] if p.key[0] == "elbv2" else p.key[1]
            for p in self._proxies.values()
            if p.mode == "tcp"
        }
        if not tcp_lbs:
            return
        ts = self.world.clock.elapsed()
        per_lb = dict.fromkeys(tcp_lbs, 0)
        per_tg = dict.fromkeys(self._flow_groups, 0)
        for (lb, tg), n in self._active_flows.items():
            per_lb[lb] = per_lb.get(lb, 0) + n
            if tg is not None:
                per_tg[tg] = per_tg.get(tg, 0) + n
        for lb, n in per_lb.items():
            self.metrics.sample_active("lb", lb, n, ts=ts)
        for tg, n in per_tg.items():
            self.metrics.sample_active("tg", tg, n, ts=ts)

    # ----- instance servers -------------------------------------------------------------------

    async def _serve_instance(self, inst: Instance, request: web.BaseRequest) -> web.Response:
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
        if fault.unhealthy:
            return web.Response(status=503, text=f"{inst.id} unhealthy\n", headers=headers)
        if not inst.app_running:
            return web.Response(status=503, text=f"{inst.id} stopped\n", headers=headers)
        if not checker and fault.error_rate > 0 and self._rng.random() < fault.error_rate:
            return web.Response(status=500, text=f"{inst.id} error\n", headers=headers)
        return web.Response(text=f"{inst.id} {inst.revision} {inst.az}\n", headers=headers)

    # ----- routing ----------------------------------------------------------------------------

    def _pick(self, rr_key: Any, targets: Iterable[Target]) -> _Route:
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
            return _Route(kind="none", status=503)
        index = self._rr.get(rr_key, -1) + 1
        self._rr[rr_key] = index
        target = routable[index % len(routable)]
        target.inflight += 1
        return _Route(
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

    def _route_elbv2(
        self, lb_arn: str, listener_arn: str, request: web.BaseRequest | None, port: int
    ) -> _Route:
        world = self.world
        with world.lock:
            lb = world.load_balancers.get(lb_arn)
            listener = lb.listeners.get(listener_arn) if lb else None
            if listener is None or not listener.rules:
                return _Route(kind="none", status=503)
            rule = listener.default_rule
            if request is not None:
                rule = _choose_rule(listener.rules, rule, request)
            action = _terminal_action(rule)
            if action is None:
                return _Route(kind="none", status=503)
            if action["Type"] == "fixed-response":
                cfg = action.get("FixedResponseConfig") or {}
                return _Route(
                    kind="fixed",
                    status=int(cfg.get("StatusCode", 200)),
                    body=cfg.get("MessageBody", ""),
                    content_type=cfg.get("ContentType", "text/plain"),
                )
            if action["Type"] == "redirect":
                cfg = action.get("RedirectConfig") or {}
                status = 301 if cfg.get("StatusCode", "HTTP_301") == "HTTP_301" else 302
                location = _redirect_location(cfg, request, port) if request is not None else ""
                return _Route(kind="redirect", status=status, location=location)
            tg_arn = self._choose_group(rule)
            tg = world.target_groups.get(tg_arn) if tg_arn else None
            if tg is None:
                return _Route(kind="none", status=503, tg=tg_arn)
            route = self._pick(tg.arn, list(tg.targets.values()))
            route.tg = tg.arn
            return route

    def _route_classic(self, name: str) -> _Route:
        world = self.world
        with world.lock:
            clb = world.classic_lbs.get(name)
            if clb is None:
                return _Route(kind="none", status=503)
            return self._pick(("classic", name), list(clb.instances.values()))

    def _release(self, route: _Route) -> None:
        if route.target is not None:
            with self.world.lock:
                route.target.inflight -= 1

    # ----- HTTP proxy -------------------------------------------------------------------------

    def _lb_object(self, key: tuple) -> LoadBalancer | ClassicLoadBalancer | None:
        with self.world.lock:
            if key[0] == "elbv2":
                return self.world.load_balancers.get(key[2])
            return self.world.classic_lbs.get(key[1])

    async def _serve_proxy(
        self,
        route_fn: Callable[[web.BaseRequest | None], _Route],
        lb_key: str,
        proxy_key: tuple,
        listener_port: int,
        request: web.BaseRequest,
    ) -> web.StreamResponse:
        route = route_fn(request)
        if route.kind != "forward":
            return self._answer_locally(route, lb_key)
        try:
            return await self._forward(request, route, lb_key, proxy_key, listener_port)
        finally:
            self._release(route)

    def _answer_locally(self, route: _Route, lb_key: str) -> web.Response:
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
            resp = _elb_page(route.status)
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
        route: _Route,
        lb_key: str,
        proxy_key: tuple,
        listener_port: int,
    ) -> web.StreamResponse:
        assert self._session is not None
        loop = asyncio.get_running_loop()
        idle = idle_timeout_real(self.world, self._lb_object(proxy_key))
        headers: CIMultiDict[str] = CIMultiDict()
        connection_tokens = {
            t.strip().lower() for t in request.headers.get("Connection", "").split(",")
        }
        for name, value in request.headers.items():
            lower = name.lower()
            if lower not in HOP_BY_HOP and lower not in connection_tokens:
                headers.add(name, value)
        peer = request.remote or HOST
        forwarded = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
        headers["X-Forwarded-Proto"] = "http"
        headers["X-Forwarded-Port"] = str(listener_port)
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
                out_headers = CIMultiDict(
                    (k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP
                )
                length = upstream.content_length
                if request.method == "HEAD" or (length is not None and length <= BUFFER_LIMIT):
                    data = await upstream.read()
                    nbytes += len(data)
                    resp = web.Response(status=status, body=data, headers=out_headers)
                else:
                    resp = web.StreamResponse(status=status, headers=out_headers)
                    if length is not None:
                        resp.content_length = length
                    await resp.prepare(request)
                    try:
                        async for chunk in upstream.content.iter_any():
                            await resp.write(chunk)
                            nbytes += len(chunk)
                        await resp.write_eof()
                    except (aiohttp.ClientError, OSError, TimeoutError):
                        # Headers are gone already: all we can do is cut the connection.
                        if request.transport is not None:
                            request.transport.close()
        except TimeoutError:
            status, elb, resp = 504, True, _elb_page(504)
        except (aiohttp.ClientError, OSError):
            status, elb, resp = 502, True, _elb_page(502)
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

    # ----- TCP proxy --------------------------------------------------------------------------

    async def _serve_flow(
        self,
        proxy: _Proxy,
        route_fn: Callable[[web.BaseRequest | None], _Route],
        lb_key: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            proxy.flows.add(task)
        try:
            await self._proxy_flow(route_fn, lb_key, reader, writer)
        except asyncio.CancelledError:
            # Only _Proxy.close() cancels flows. Ending normally matters: asyncio's stream
            # protocol asks the finished task for its exception, which re-raises a
            # cancellation as an "exception in callback" log line.
            pass
        finally:
            if task is not None:
                proxy.flows.discard(task)

    async def _proxy_flow(
        self,
        route_fn: Callable[[web.BaseRequest | None], _Route],
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
            self._active_flows[flow_key] = self._active_flows.get(flow_key, 0) + 1
            if route.tg is not None:
                self._flow_groups.add(route.tg)
            self.metrics.record_flow(
                lb=lb_key,
                tg=route.tg,
                target=route.instance_id,
                new=True,
                ts=self.world.clock.elapsed(),
            )
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
                self._release(route)
                left = self._active_flows.get(flow_key, 1) - 1
                if left > 0:
                    self._active_flows[flow_key] = left
                else:
                    self._active_flows.pop(flow_key, None)
                if moved:
                    self.metrics.record_flow(
                        lb=lb_key,
                        tg=route.tg,
                        target=route.instance_id,
                        new=False,
                        nbytes=moved,
                        ts=self.world.clock.elapsed(),
                    )
            for w in (writer, upstream_writer):
                if w is not None:
                    w.close()

    # ----- health checks ----------------------------------------------------------------------

    def _check_plan(self, key: tuple, target: Target) -> tuple[HealthCheck, int, str] | None:
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

    async def _check_loop(self, key: tuple, target: Target) -> None:
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
            with self.world.lock:
                if self._check_plan(key, target) is not None:
                    self.world.record_check(hc, target, ok, reason, code)
            delay = max(0.0, started + interval - loop.time())

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
        assert self._hc_session is not None
        path = hc.path or "/"
        if not path.startswith("/"):
            path = "/" + path
        try:
            async with self._hc_session.get(
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


# ----- load generator -----------------------------------------------------------------------


class _ListenerStats:
    __slots__ = (
        "client_errors",
        "dropped",
        "error_kinds",
        "errors",
        "latencies",
        "ok",
        "port",
        "seen",
        "sent",
    )

    def __init__(self, port: int) -> None:
        self.port = port
        self.sent = 0
        self.ok = 0
        self.errors = 0
        self.client_errors = 0
        self.dropped = 0
        self.error_kinds: dict[str, int] = {}
        self.latencies: list[float] = []  # a reservoir sample, milliseconds
        self.seen = 0  # latencies offered to the reservoir


class LoadGenerator:
    """Steady open-loop HTTP load on every listener of the world.

    Each listener (ELBv2 and classic; network load balancers get HTTP over their TCP proxy)
    receives `rps` requests per real second on 127.0.0.1 at the listener's port, one every
    1/rps seconds whether or not earlier ones have answered. Without `paths`, about
    `work_share` of requests are `/work?ms=N` (N in `work_ms`, capped at half the load
    balancer's idle timeout so they never time out) and the rest `/`; with `paths`, each
    request picks one of them at random. At most `max_inflight` requests are outstanding;
    sends beyond that are counted as dropped. Listeners appearing or vanishing in the world
    are picked up within half a second.
    """

    def __init__(
        self,
        world: World,
        rps: float,
        *,
        paths: list[str] | None = None,
        work_share: float = 0.03,
        work_ms: tuple[int, int] = (500, 2000),
        max_inflight: int = 256,
        timeout: float = 10.0,
        reservoir: int = 2000,
        seed: int | None = None,
    ) -> None:
        if rps <= 0:
            raise ValueError("rps must be positive")
        self.world = world
        self.rps = float(rps)
        self.paths = list(paths) if paths else None
        self.work_share = work_share
        self.work_ms = work_ms
        self.max_inflight = max_inflight
        self.timeout = timeout
        self.reservoir = reservoir
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._listeners: dict[str, _ListenerStats] = {}
        self._instances: dict[str, dict[str, int]] = {}
        self._senders: dict[tuple[str, int], asyncio.Task] = {}
        self._requests: set[asyncio.Task] = set()
        self._manager: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None
        self._work_cap_ms: dict[str, float] = {}

    async def start(self) -> None:
        """Begin sending; returns at once. Idempotent."""
        if self._manager is not None:
            return
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.max_inflight, keepalive_timeout=CLIENT_KEEPALIVE
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        self._sync_listeners()
        self._manager = asyncio.get_running_loop().create_task(self._manage(), name="load")

    async def stop(self, grace: float = 3.0) -> None:
        """Stop sending, give outstanding requests `grace` real seconds, then cancel them."""
        tasks = [t for t in (self._manager, *self._senders.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._manager = None
        self._senders.clear()
        if self._requests:
            _, pending = await asyncio.wait(list(self._requests), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def stats(self) -> dict[str, Any]:
        """Counts so far, JSON-ready.

        Top level: rps, running, in_flight and totals (sent, ok, errors, client_errors,
        dropped). `listeners` maps "lb-name:port" to the same counts plus `error_kinds`
        (HTTP status or exception name -> count) and `latency_ms` (median, p99, samples).
        `instances` maps each instance id that answered (X-Instance-Id) to ok / errors.
        ok is a 2xx/3xx answer; errors are 5xx answers and failed requests; client_errors
        are 4xx answers.
        """
        with self._lock:
            listeners = {}
            totals = {"sent": 0, "ok": 0, "errors": 0, "client_errors": 0, "dropped": 0}
            for label, s in self._listeners.items():
                lat = sorted(s.latencies)
                entry = {
                    "port": s.port,
                    "sent": s.sent,
                    "ok": s.ok,
                    "errors": s.errors,
                    "client_errors": s.client_errors,
                    "dropped": s.dropped,
                    "error_kinds": dict(s.error_kinds),
                    "latency_ms": {
                        "median": _quantile(lat, 0.5),
                        "p99": _quantile(lat, 0.99),
                        "samples": s.seen,
                    },
                }
                listeners[label] = entry
                for k in totals:
                    totals[k] += entry[k]
            return {
                "rps": self.rps,
                "running": self._manager is not None,
                "in_flight": len(self._requests),
                **totals,
                "listeners": listeners,
                "instances": {k: dict(v) for k, v in self._instances.items()},
            }

    def _sync_listeners(self) -> None:
        world = self.world
        wanted: dict[tuple[str, int], float] = {}
        with world.lock:
            for lb in world.load_balancers.values():
                cap = idle_timeout_real(world, lb) * 500.0
                for listener in lb.listeners.values():
                    wanted[(f"{lb.name}:{listener.port}", int(listener.port))] = cap
            for clb in world.classic_lbs.values():
                cap = idle_timeout_real(world, clb) * 500.0
                for entry in clb.listeners:
                    port = int(entry["LoadBalancerPort"])
                    wanted[(f"{clb.name}:{port}", port)] = cap
        for key in [k for k in self._senders if k not in wanted]:
            self._senders.pop(key).cancel()
        loop = asyncio.get_running_loop()
        for key, cap in wanted.items():
            self._work_cap_ms[key[0]] = cap
            if key not in self._senders:
                with self._lock:
                    self._listeners.setdefault(key[0], _ListenerStats(key[1])).port = key[1]
                self._senders[key] = loop.create_task(self._send_loop(*key), name=f"load {key}")

    async def _manage(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                self._sync_listeners()
            except Exception:
                log.exception("load generator: listener refresh failed")

    def _path(self, label: str) -> str:
        if self.paths:
            return self._rng.choice(self.paths)
        if self._rng.random() < self.work_share:
            lo, hi = self.work_ms
            ms = min(self._rng.randint(lo, hi), int(self._work_cap_ms.get(label, hi)))
            return f"/work?ms={ms}"
        return "/"

    async def _send_loop(self, label: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self.rps
        next_at = loop.time()
        while True:
            next_at += interval
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                # The loop was stalled for a while: resume the schedule instead of bursting.
                next_at = loop.time()
            stats = self._listeners[label]
            with self._lock:
                stats.sent += 1
                if len(self._requests) >= self.max_inflight:
                    stats.dropped += 1
                    continue
            task = loop.create_task(self._one(stats, port, self._path(label)))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)

    async def _one(self, stats: _ListenerStats, port: int, path: str) -> None:
        assert self._session is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        status: int | None = None
        instance: str | None = None
        kind: str | None = None
        try:
            async with self._session.get(
                f"http://{HOST}:{port}{path}",
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,
            ) as resp:
                await resp.read()
                status = resp.status
                instance = resp.headers.get("X-Instance-Id")
        except TimeoutError:
            kind = "Timeout"
        except (aiohttp.ClientError, OSError) as exc:
            kind = type(exc).__name__
        elapsed_ms = (loop.time() - started) * 1000.0
        with self._lock:
            if status is not None and status < 400:
                stats.ok += 1
            elif status is not None and status < 500:
                stats.client_errors += 1
            else:
                stats.errors += 1
                kind = kind or str(status)
                stats.error_kinds[kind] = stats.error_kinds.get(kind, 0) + 1
            if status is not None:
                stats.seen += 1
                if len(stats.latencies) < self.reservoir:
                    stats.latencies.append(elapsed_ms)
                else:
                    slot = self._rng.randrange(stats.seen)
                    if slot < self.reservoir:
                        stats.latencies[slot] = elapsed_ms
            if instance:
                counts = self._instances.setdefault(instance, {"ok": 0, "errors": 0})
                if status is not None and status < 400:
                    counts["ok"] += 1
                elif status is not None and status >= 500:
                    counts["errors"] += 1


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 3)
