"""The data plane: real instance servers, listener proxies, health checks, draining, load.

Each test builds a small world directly, runs a DataPlane on an event loop in a background
thread and talks to it over real loopback sockets. Time scales are high and health-check
settings small, so every state change takes about a second of real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import aiohttp
import pytest
from cutover.sandbox.dataplane import DataPlane, LoadGenerator
from cutover.sandbox.testing import free_port, wait_for
from cutover.sandbox.world import (
    ClassicLoadBalancer,
    HealthCheck,
    Instance,
    Listener,
    LoadBalancer,
    Rule,
    TargetGroup,
    World,
)

pytestmark = pytest.mark.timeout(60)

AZS = ("us-east-1a", "us-east-1b")


# ----- helpers --------------------------------------------------------------------------------


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def get(
    port: int, path: str = "/", headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"x" if method == "POST" else None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode()
    finally:
        conn.close()


class LoopThread:
    """An event loop in a daemon thread, like the sandbox runner uses."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 20.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def pending_tasks(self) -> list[asyncio.Task]:
        async def others() -> list[asyncio.Task]:
            await asyncio.sleep(0.05)  # let just-closed transports finish their callbacks
            return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

        return self.run(others())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    lt = LoopThread()
    try:
        yield lt
    finally:
        lt.close()


@pytest.fixture
def plane(loop_thread: LoopThread) -> Iterator[Callable[..., DataPlane]]:
    """Start a DataPlane on the loop thread; every one is stopped and checked afterwards."""
    started: list[DataPlane] = []

    def start(world: World, **kwargs: Any) -> DataPlane:
        dp = DataPlane(world, **kwargs)
        loop_thread.run(dp.start())
        started.append(dp)
        return dp

    try:
        yield start
    finally:
        for dp in started:
            loop_thread.run(dp.stop())
        assert loop_thread.pending_tasks() == []


def health_check(**overrides: Any) -> HealthCheck:
    settings = dict(
        path="/health", interval=5, timeout=2, healthy_threshold=2, unhealthy_threshold=2
    )
    settings.update(overrides)
    return HealthCheck(**settings)


def add_target_group(
    world: World,
    name: str,
    *,
    protocol: str = "HTTP",
    check_protocol: str = "HTTP",
    delay: int = 300,
    **hc: Any,
) -> TargetGroup:
    tg = TargetGroup(
        arn=world.arn("elasticloadbalancing", f"targetgroup/{name}/{world.new_id('', 16)}"),
        name=name,
        protocol=protocol,
        port=80,
        vpc_id=world.vpc_id,
        health_check=health_check(protocol=check_protocol, **hc),
        attributes={"deregistration_delay.timeout_seconds": str(delay)},
    )
    world.target_groups[tg.arn] = tg
    return tg


def forward(*groups: tuple[TargetGroup, int]) -> list[dict]:
    return [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": tg.arn, "Weight": w} for tg, w in groups]
            },
        }
    ]


def add_load_balancer(
    world: World, name: str, default: TargetGroup, *, type: str = "application"
) -> tuple[LoadBalancer, Listener]:
    short = "app" if type == "application" else "net"
    lb = LoadBalancer(
        arn=world.arn(
            "elasticloadbalancing", f"loadbalancer/{short}/{name}/{world.new_id('', 16)}"
        ),
        name=name,
        type=type,
        scheme="internet-facing",
        dns_name=world.dns_name(name, type),
        vpc_id=world.vpc_id,
        azs=list(AZS),
        subnets={az: world.subnet_for(az) for az in AZS},
        created=world.now(),
    )
    listener_arn = lb.arn.replace(":loadbalancer/", ":listener/") + "/" + world.new_id("", 16)
    listener = Listener(
        arn=listener_arn,
        lb_arn=lb.arn,
        port=free_port(),
        protocol="HTTP" if type == "application" else "TCP",
        rules=[
            Rule(
                arn=listener_arn + "/default",
                priority="default",
                conditions=[],
                actions=forward((default, 1)),
            )
        ],
    )
    lb.listeners[listener.arn] = listener
    world.load_balancers[lb.arn] = lb
    return lb, listener


def launch(world: World, n: int, revision: str = "v1") -> list[Instance]:
    return [world.launch_instance(az=AZS[i % 2], revision=revision) for i in range(n)]


def alb_world(
    n: int = 2, *, time_scale: float = 20, delay: int = 300, **hc: Any
) -> tuple[World, LoadBalancer, Listener, TargetGroup, list[Instance]]:
    world = World(time_scale=time_scale)
    tg = add_target_group(world, "web-tg", delay=delay, **hc)
    lb, listener = add_load_balancer(world, "web-alb", tg)
    instances = launch(world, n)
    for inst in instances:
        world.register(tg, inst.id)
    return world, lb, listener, tg, instances


def states(world: World, tg: TargetGroup) -> dict[str, tuple[str, str | None]]:
    with world.lock:
        return {t.id: world.effective_state(tg, t)[:2] for t in tg.targets.values()}


def all_healthy(world: World, tg: TargetGroup, count: int | None = None) -> bool:
    s = states(world, tg)
    return (count is None or len(s) == count) and all(st == "healthy" for st, _ in s.values())


# ----- instance servers -----------------------------------------------------------------------


def test_instances_get_real_servers_that_follow_their_state(plane) -> None:
    world = World(time_scale=20)
    a, b = launch(world, 2)
    assert a.state == "pending" and a.port == 0
    dp = plane(world)
    # One reconcile pass has run by the time start() returns.
    assert a.state == "running" and a.port and b.port and a.port != b.port

    status, headers, body = get(a.port)
    assert status == 200
    assert body == f"{a.id} v1 us-east-1a\n"
    assert headers["X-Instance-Id"] == a.id and headers["X-Revision"] == "v1"
    assert get(a.port, "/health")[0] == 200
    assert get(a.port, "/any/path?x=1", method="POST")[0] == 200
    started = time.monotonic()
    assert get(a.port, "/work?ms=150")[0] == 200
    assert time.monotonic() - started >= 0.15

    # The revision is read per request (a deployment changes it).
    a.revision = "v2"
    assert get(a.port)[1]["X-Revision"] == "v2"

    # Faults are read per request.
    a.fault.unhealthy = True
    assert get(a.port)[0] == 503
    a.fault.unhealthy = False
    a.fault.error_rate = 1.0
    assert get(a.port)[0] == 500
    assert get(a.port, "/health", {"User-Agent": "ELB-HealthChecker/2.0"})[0] == 200
    assert get(a.port, "/health", {"User-Agent": "ELB-HealthChecker/1.0"})[0] == 200
    a.fault.error_rate = 0.0
    a.fault.slow_ms = 200
    started = time.monotonic()
    assert get(a.port)[0] == 200
    assert time.monotonic() - started >= 0.2
    a.fault.slow_ms = 0

    # Down: the server stops listening while the instance stays running; then comes back.
    port = a.port
    a.fault.down = True
    wait_for(lambda: refused(port), what="server down")
    assert a.state == "running"
    a.fault.down = False
    wait_for(lambda: not refused(a.port), what="server back")
    assert get(a.port)[0] == 200

    # Stop, start, terminate.
    old = a.port
    world.stop_instance(a)
    wait_for(lambda: a.state == "stopped", what="stopped")
    assert a.port == 0 and refused(old)
    world.start_instance(a)
    wait_for(lambda: a.state == "running", what="running again")
    assert get(a.port)[1]["X-Instance-Id"] == a.id
    old = b.port
    world.terminate_instance(b)
    wait_for(lambda: b.state == "terminated", what="terminated")
    assert refused(old)
    assert dp.instance_port(b.id) is None


def test_stop_leaves_nothing_listening(loop_thread: LoopThread) -> None:
    world, _lb, listener, _tg, instances = alb_world(2)
    dp = DataPlane(world)
    loop_thread.run(dp.start())
    try:
        ports = [i.port for i in instances] + [listener.port]
        assert dp.proxy_port(listener.arn) == listener.port
        assert not any(refused(p) for p in ports)
    finally:
        loop_thread.run(dp.stop())
    loop_thread.run(dp.stop())  # idempotent
    assert all(refused(p) for p in ports)
    assert loop_thread.pending_tasks() == []


def test_busy_listener_port_is_reported(plane, caplog) -> None:
    world, _lb, listener, _tg, _ = alb_world(1)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", listener.port))
        busy.listen()
        with caplog.at_level(logging.ERROR, logger="cutover.sandbox"):
            dp = plane(world)
        assert dp.proxy_port(listener.arn) is None
        assert len(dp.errors) == 1 and str(listener.port) in dp.errors[0]
        assert any(str(listener.port) in r.getMessage() for r in caplog.records)


# ----- health checks ------------------------------------------------------------------------


def test_health_checks_drive_target_state(plane) -> None:
    # time_scale 20, interval 5 s: a check every 0.25 real seconds.
    world, _lb, _listener, tg, (a, b) = alb_world(
        2, interval=5, timeout=2, healthy_threshold=3, unhealthy_threshold=2
    )
    assert states(world, tg)[a.id] == ("initial", "Elb.RegistrationInProgress")
    seen: list[tuple[str, str | None]] = []
    started = time.monotonic()
    plane(world)

    def watch() -> bool:
        state = states(world, tg)[a.id]
        if not seen or seen[-1] != state:
            seen.append(state)
        return state[0] == "healthy"

    wait_for(watch, 5, "healthy")
    took = time.monotonic() - started
    assert ("initial", "Elb.InitialHealthChecking") in seen
    # Three passes, one every 0.25 s, the first one promptly: about half a second.
    assert 0.4 <= took <= 1.5, took
    wait_for(lambda: all_healthy(world, tg), 3, "both healthy")

    def becomes(reason: str, within: float) -> None:
        started = time.monotonic()
        wait_for(lambda: states(world, tg)[a.id] == ("unhealthy", reason), within + 1, reason)
        # Two failures: within about unhealthy_threshold x interval.
        assert time.monotonic() - started <= within + 0.5
        assert states(world, tg)[b.id][0] == "healthy"

    def recovers() -> None:
        a.fault.__init__()
        wait_for(lambda: states(world, tg)[a.id][0] == "healthy", 3, "healthy again")

    a.fault.unhealthy = True
    becomes("Target.ResponseCodeMismatch", 0.5)
    with world.lock:
        assert "503" in tg.targets[(a.id, 80)].description
    recovers()
    a.fault.slow_ms = 600  # beyond the (floored) 0.2 s timeout
    becomes("Target.Timeout", 0.5 + 0.6)
    recovers()
    a.fault.down = True
    becomes("Target.FailedHealthChecks", 0.5)
    recovers()


def test_unused_targets_are_not_checked(plane) -> None:
    world = World(time_scale=20)
    tg = add_target_group(world, "idle-tg")
    (inst,) = launch(world, 1)
    world.register(tg, inst.id)
    plane(world)
    time.sleep(0.5)  # ten sandbox seconds in which nothing may happen: no condition to wait on
    assert states(world, tg)[inst.id] == ("unused", "Target.NotInUse")
    with world.lock:
        assert not tg.targets[(inst.id, 80)].checked


def test_classic_load_balancer_goes_in_service_and_proxies(plane) -> None:
    world = World(time_scale=20)
    port = free_port()
    clb = ClassicLoadBalancer(
        name="classic-web",
        dns_name=world.dns_name("classic-web", "classic"),
        azs=list(AZS),
        subnets=[world.subnet_for(az) for az in AZS],
        vpc_id=world.vpc_id,
        created=world.now(),
        listeners=[
            {
                "Protocol": "HTTP",
                "LoadBalancerPort": port,
                "InstanceProtocol": "HTTP",
                "InstancePort": 80,
            }
        ],
        health_check=health_check(healthy_threshold=2),
        health_target="HTTP:80/health",
        attributes={"ConnectionDraining": {"Enabled": True, "Timeout": 300}},
    )
    world.classic_lbs[clb.name] = clb
    instances = launch(world, 2)
    for inst in instances:
        world.register_classic(clb, inst.id)

    def classic_states() -> list[str]:
        with world.lock:
            return [world.classic_state(clb, t)[0] for t in clb.instances.values()]

    assert classic_states() == ["OutOfService", "OutOfService"]
    plane(world)
    wait_for(lambda: classic_states() == ["InService", "InService"], 5, "InService")
    seen = Counter(get(port)[1]["X-Instance-Id"] for _ in range(10))
    assert seen == {instances[0].id: 5, instances[1].id: 5}


# ----- the HTTP proxy -----------------------------------------------------------------------


def test_proxy_spreads_requests_over_healthy_targets(plane) -> None:
    world, lb, listener, tg, instances = alb_world(3)
    dp = plane(world)
    wait_for(lambda: all_healthy(world, tg, 3), 5, "healthy")
    seen = Counter(get(listener.port)[1]["X-Instance-Id"] for _ in range(30))
    assert seen == {i.id: 10 for i in instances}
    status, headers, body = get(listener.port, "/submit?x=1", method="POST")
    assert status == 200 and body.split()[0] == headers["X-Instance-Id"]
    # Every request counted, by load balancer, group and instance.
    totals = dp.metrics.totals("lb", lb.arn)
    assert totals["RequestCount"] == 31
    assert totals["HTTPCode_Target_2XX_Count"] == 31
    assert dp.metrics.totals("tg", tg.arn)["RequestCount"] == 31
    assert dp.metrics.totals("target", instances[0].id)["RequestCount"] in (10, 11)
    assert totals["TargetResponseTime"] > 0
    points = dp.metrics.query("lb", lb.arn, "RequestCount", 0, 1e9, 60, "Sum")
    assert sum(v for _, v in points) == 31


def test_weighted_forwarding_between_two_groups(plane) -> None:
    world, _lb, listener, blue, _ = alb_world(2)
    green = add_target_group(world, "green-tg")
    green_instances = launch(world, 2, revision="v2")
    for inst in green_instances:
        world.register(green, inst.id)
    with world.lock:
        listener.default_rule.actions = forward((blue, 80), (green, 20))
    plane(world)
    wait_for(lambda: all_healthy(world, blue, 2) and all_healthy(world, green, 2), 5, "healthy")

    async def burst(n: int) -> Counter:
        async with aiohttp.ClientSession() as session:

            async def one() -> str:
                async with session.get(f"http://127.0.0.1:{listener.port}/") as resp:
                    assert resp.status == 200
                    return resp.headers["X-Revision"]

            return Counter(await asyncio.gather(*(one() for _ in range(n))))

    revisions = asyncio.run(burst(500))
    assert abs(revisions["v1"] - 400) <= 40 and revisions["v1"] + revisions["v2"] == 500
    with world.lock:
        listener.default_rule.actions = forward((blue, 0), (green, 999))
    assert asyncio.run(burst(50)) == {"v2": 50}
    with world.lock:
        listener.default_rule.actions = forward((green, 0))  # a single group, any weight
    assert asyncio.run(burst(10)) == {"v2": 10}


def test_listener_rules_choose_by_path_and_host(plane) -> None:
    world, _lb, listener, web, _ = alb_world(1)
    api = add_target_group(world, "api-tg")
    (api_instance,) = launch(world, 1, revision="api")
    world.register(api, api_instance.id)
    with world.lock:
        listener.rules += [
            Rule(
                arn=listener.arn + "/api",
                priority="20",
                conditions=[{"Field": "path-pattern", "Values": ["/api/*", "/v?/items"]}],
                actions=forward((api, 1)),
            ),
            Rule(
                arn=listener.arn + "/admin",
                priority="5",
                conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["admin.*"]}}],
                actions=[
                    {
                        "Type": "fixed-response",
                        "FixedResponseConfig": {
                            "StatusCode": "403",
                            "ContentType": "text/plain",
                            "MessageBody": "admins only",
                        },
                    }
                ],
            ),
        ]
    dp = plane(world)
    wait_for(lambda: all_healthy(world, web) and all_healthy(world, api), 5, "healthy")
    port = listener.port
    assert get(port, "/api/orders?id=3")[1]["X-Revision"] == "api"
    assert get(port, "/v2/items")[1]["X-Revision"] == "api"
    assert get(port, "/API/orders")[1]["X-Revision"] == "v1"  # patterns are case-sensitive
    assert get(port, "/")[1]["X-Revision"] == "v1"
    status, _, body = get(port, "/api/x", {"Host": "ADMIN.example.com"})
    assert (status, body) == (403, "admins only")  # priority 5 wins over 20
    assert dp.metrics.totals("lb", listener.lb_arn)["HTTPCode_ELB_4XX_Count"] == 1


def test_fail_open_then_503_without_targets(plane) -> None:
    world, lb, listener, tg, instances = alb_world(2)
    tg.health_check.matcher = "299"  # every check fails, ordinary requests still answer 200
    dp = plane(world)
    wait_for(
        lambda: (
            all(
                s == ("unhealthy", "Target.ResponseCodeMismatch")
                for s in states(world, tg).values()
            )
            and len(states(world, tg)) == 2
        ),
        5,
        "unhealthy",
    )
    seen = Counter()
    for _ in range(10):
        status, headers, _ = get(listener.port)
        assert status == 200
        seen[headers["X-Instance-Id"]] += 1
    assert seen == {i.id: 5 for i in instances}  # fails open to every target

    for inst in instances:
        world.deregister(tg, inst.id)
    status, headers, body = get(listener.port)
    assert status == 503 and headers["Server"] == "awselb/2.0" and "503" in body
    totals = dp.metrics.totals("lb", lb.arn)
    assert totals["HTTPCode_ELB_5XX_Count"] == 1 and totals["HTTPCode_ELB_503_Count"] == 1


def test_refused_target_is_502_and_silent_target_is_504(plane) -> None:
    # time_scale 60: the 60 s idle timeout is one real second.
    world, lb, listener, tg, (inst,) = alb_world(1, time_scale=60, enabled=False)
    dp = plane(world)
    assert get(listener.port)[0] == 200  # no checks: fails open to the running target
    inst.fault.slow_ms = 1500
    started = time.monotonic()
    assert get(listener.port)[0] == 504
    assert 0.9 <= time.monotonic() - started < 1.5
    inst.fault.slow_ms = 0
    inst.fault.down = True
    wait_for(lambda: refused(inst.port), what="down")
    assert get(listener.port)[0] == 502
    totals = dp.metrics.totals("lb", lb.arn)
    assert totals["HTTPCode_ELB_504_Count"] == 1 and totals["HTTPCode_ELB_502_Count"] == 1
    with world.lock:
        assert tg.targets[(inst.id, 80)].inflight == 0


# ----- draining: the property a cutover depends on ------------------------------------------


def test_deregistering_under_load_loses_no_requests(plane) -> None:
    # A 20 s deregistration delay: one real second at this time scale.
    world, _lb, listener, tg, instances = alb_world(4, delay=20)
    plane(world)
    wait_for(lambda: all_healthy(world, tg, 4), 5, "healthy")
    leaving = {i.id for i in instances[:2]}
    url = f"http://127.0.0.1:{listener.port}"
    total, rate = 1200, 400.0
    results: list[tuple[float, int | str, str | None]] = []
    drain: dict[str, Any] = {}

    async def one(session: aiohttp.ClientSession, path: str) -> None:
        sent = time.monotonic()
        try:
            async with session.get(url + path) as resp:
                await resp.read()
                results.append((sent, resp.status, resp.headers.get("X-Instance-Id")))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            results.append((sent, type(exc).__name__, None))

    async def watch_drain() -> None:
        with world.lock:
            drain["inflight"] = {t.id: t.inflight for t in tg.targets.values() if t.id in leaving}
            for inst_id in leaving:
                world.deregister(tg, inst_id)
            drain["at"] = time.monotonic()
            drain["at_sandbox"] = world.clock.elapsed()
            drain["states"] = {
                t.id: world.effective_state(tg, t)[:2]
                for t in tg.targets.values()
                if t.id in leaving
            }
        while True:
            with world.lock:
                left = [t for t in tg.targets.values() if t.id in leaving]
                if left and "idle" not in drain and all(t.inflight == 0 for t in left):
                    drain["idle"] = world.clock.elapsed()
                    drain["idle_states"] = {world.effective_state(tg, t)[0] for t in left}
            if not left:
                break
            await asyncio.sleep(0.005)
        drain["gone"] = time.monotonic()
        drain["gone_sandbox"] = world.clock.elapsed()

    async def load() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:
            tasks = []
            watcher = None
            start = time.monotonic()
            for n in range(total):
                path = "/work?ms=300" if n % 10 == 5 else "/"
                tasks.append(asyncio.create_task(one(session, path)))
                if n == total // 2:
                    watcher = asyncio.create_task(watch_drain())
                await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.monotonic()))
            await asyncio.gather(*tasks)
            assert watcher is not None
            await asyncio.wait_for(watcher, 10)

    asyncio.run(load())

    assert len(results) == total
    errors = [r for r in results if r[1] != 200]
    assert errors == []
    # Requests were in flight on the leaving targets when they were deregistered.
    assert sum(drain["inflight"].values()) > 0, drain
    assert set(drain["states"].values()) == {("draining", "Target.DeregistrationInProgress")}
    # Their requests finished well within the delay, and they still read draining then: they
    # went away only once the 20 s deregistration delay (sandbox seconds) was over.
    assert drain["idle"] - drain["at_sandbox"] < 20, drain
    assert drain["idle_states"] == {"draining"}, drain
    assert 20 <= drain["gone_sandbox"] - drain["at_sandbox"] < 20 + 10, drain
    after = [r for r in results if r[0] > drain["at"]]
    assert len(after) > 400
    assert not [r for r in after if r[2] in leaving]
    before = Counter(r[2] for r in results if r[0] < drain["at"])
    assert set(before) == {i.id for i in instances}
    with world.lock:
        assert sorted(t.id for t in tg.targets.values()) == sorted(i.id for i in instances[2:])
        assert all(t.inflight == 0 for t in tg.targets.values())


# ----- network load balancer, load generator ------------------------------------------------


def test_network_load_balancer_proxies_tcp(plane) -> None:
    world = World(time_scale=20)
    # A 10 s deregistration delay: half a real second at this time scale.
    tg = add_target_group(world, "tcp-tg", protocol="TCP", check_protocol="TCP", delay=10)
    nlb, listener = add_load_balancer(world, "net-lb", tg, type="network")
    instances = launch(world, 2)
    for inst in instances:
        world.register(tg, inst.id)
    dp = plane(world)
    wait_for(lambda: all_healthy(world, tg, 2), 5, "healthy over TCP checks")
    seen = Counter(get(listener.port)[1]["X-Instance-Id"] for _ in range(6))
    assert seen == {i.id: 3 for i in instances}  # one pick per connection
    wait_for(lambda: dp.metrics.totals("lb", nlb.arn).get("ProcessedBytes", 0) > 0, 2, "bytes")
    totals = dp.metrics.totals("lb", nlb.arn)
    assert totals["NewFlowCount"] == 6
    assert dp.metrics.totals("tg", tg.arn)["NewFlowCount"] == 6
    wait_for(lambda: "ActiveFlowCount" in dp.metrics.totals("lb", nlb.arn), 2, "flow samples")
    # The client closed each connection; the proxy notices within moments.
    wait_for(lambda: all(t.inflight == 0 for t in list(tg.targets.values())), 2, "flows closed")

    # A deregistered target drains: its open connection goes on, new ones go elsewhere.
    sock = socket.create_connection(("127.0.0.1", listener.port))
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = sock.recv(4096).decode()
        chosen = next(i.id for i in instances if i.id in reply)
        with world.lock:
            assert tg.targets[(chosen, 80)].inflight == 1
        world.deregister(tg, chosen)
        seen = Counter(get(listener.port)[1]["X-Instance-Id"] for _ in range(4))
        assert chosen not in seen
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert chosen in sock.recv(4096).decode()  # the open connection still reaches it
        with world.lock:
            assert tg.targets[(chosen, 80)].draining
    finally:
        sock.close()
    wait_for(lambda: (chosen, 80) not in tg.targets, 3, "drained after the delay")

    # No targets at all: the connection is closed.
    for inst in instances:
        world.deregister(tg, inst.id)
    wait_for(lambda: not tg.targets, 3, "all drained")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        get(listener.port)


def test_load_generator_counts_and_stops_cleanly(loop_thread: LoopThread, plane) -> None:
    world, _lb, listener, tg, instances = alb_world(2)
    plane(world)
    wait_for(lambda: all_healthy(world, tg, 2), 5, "healthy")
    load = LoadGenerator(world, 50, work_share=0.1, work_ms=(50, 100), seed=1)
    loop_thread.run(load.start())
    try:
        time.sleep(1.0)  # the rate under test: a second of 50 requests per second
    finally:
        loop_thread.run(load.stop())
    stats = load.stats()
    assert not stats["running"] and stats["in_flight"] == 0
    label = f"web-alb:{listener.port}"
    s = stats["listeners"][label]
    assert 40 <= s["sent"] <= 60, s
    assert s["errors"] == 0 and s["dropped"] == 0 and s["ok"] == s["sent"]
    assert (
        s["latency_ms"]["median"] is not None
        and s["latency_ms"]["p99"] >= s["latency_ms"]["median"]
    )
    assert set(stats["instances"]) == {i.id for i in instances}
    assert stats["sent"] == s["sent"]
    # stop() is idempotent and nothing is left running on the loop.
    loop_thread.run(load.stop())


def test_load_generator_counts_errors_and_drops(loop_thread: LoopThread, plane) -> None:
    world, _lb, listener, _tg, (inst,) = alb_world(1, enabled=False)
    plane(world)
    inst.fault.error_rate = 1.0
    load = LoadGenerator(world, 100, paths=["/work?ms=400"], max_inflight=5)
    loop_thread.run(load.start())
    label = f"web-alb:{listener.port}"

    def errors_and_drops() -> bool:
        counts = load.stats()["listeners"].get(label)
        return bool(counts and counts["dropped"] and counts["errors"])

    try:
        wait_for(errors_and_drops, 10, "errors and dropped requests")
    finally:
        loop_thread.run(load.stop())
    s = load.stats()["listeners"][label]
    assert s["dropped"] > 0
    assert s["errors"] == s["error_kinds"]["500"] > 0
    assert s["sent"] == s["ok"] + s["errors"] + s["client_errors"] + s["dropped"]
    with contextlib.suppress(KeyError):
        assert load.stats()["instances"][inst.id]["errors"] == s["errors"]
