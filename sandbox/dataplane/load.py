"""The load generator: a steady, open-loop stream of requests to every listener, so the
dashboard has traffic to show and a reroute can be watched for errors."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from typing import Any

import aiohttp
from cutover.sandbox.world import World

from .servers import CLIENT_KEEPALIVE, HOST, idle_timeout_real

log = logging.getLogger("cutover.sandbox")


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
    are picked up within half a second. Load balancers named in `skip` get none, and so do
    listeners named there as `name:port` (a test listener).
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
        skip: frozenset[str] = frozenset(),
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
        # Load balancers the scenario keeps out of the load (`load: false`), by name.
        self._skip = skip
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
                if lb.name in self._skip:
                    continue
                cap = idle_timeout_real(world, lb) * 500.0
                for listener in lb.listeners.values():
                    if f"{lb.name}:{listener.port}" in self._skip:
                        continue
                    wanted[(f"{lb.name}:{listener.port}", int(listener.port))] = cap
            for clb in world.classic_lbs.values():
                if clb.name in self._skip:
                    continue
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
