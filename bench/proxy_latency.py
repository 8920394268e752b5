"""How much latency the sandbox's ALB proxy adds to a request.

Starts a world with one Application Load Balancer and four instances, waits until every
target is healthy, then sends N sequential `GET /` requests (one keep-alive connection)
straight to an instance server and N through the listener proxy, and prints the median
and p99 of each and the difference.

    .venv/bin/python bench/proxy_latency.py [N]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

import aiohttp
from cutover.sandbox.dataplane import DataPlane
from cutover.sandbox.testing import free_port
from cutover.sandbox.world import HealthCheck, Listener, LoadBalancer, Rule, TargetGroup, World


def build_world() -> tuple[World, Listener, TargetGroup]:
    world = World(time_scale=60)
    tg = TargetGroup(
        arn=world.arn("elasticloadbalancing", "targetgroup/bench-tg/0000000000000001"),
        name="bench-tg",
        protocol="HTTP",
        port=80,
        vpc_id=world.vpc_id,
        health_check=HealthCheck(interval=5, timeout=2, healthy_threshold=2),
        attributes={"deregistration_delay.timeout_seconds": "30"},
    )
    world.target_groups[tg.arn] = tg
    lb = LoadBalancer(
        arn=world.arn("elasticloadbalancing", "loadbalancer/app/bench/0000000000000001"),
        name="bench",
        type="application",
        scheme="internet-facing",
        dns_name=world.dns_name("bench", "application"),
        vpc_id=world.vpc_id,
        azs=["us-east-1a", "us-east-1b"],
        subnets={},
        created=world.now(),
    )
    arn = lb.arn.replace(":loadbalancer/", ":listener/") + "/0000000000000001"
    listener = Listener(
        arn=arn,
        lb_arn=lb.arn,
        port=free_port(),
        protocol="HTTP",
        rules=[
            Rule(
                arn=arn + "/default",
                priority="default",
                conditions=[],
                actions=[{"Type": "forward", "TargetGroupArn": tg.arn}],
            )
        ],
    )
    lb.listeners[arn] = listener
    world.load_balancers[lb.arn] = lb
    for i in range(4):
        inst = world.launch_instance(az=("us-east-1a", "us-east-1b")[i % 2])
        world.register(tg, inst.id)
    return world, listener, tg


async def measure(session: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        async with session.get(url) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        out.append((time.perf_counter() - started) * 1000.0)
    return out


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def main(n: int) -> None:
    world, listener, tg = build_world()
    plane = DataPlane(world)
    await plane.start()
    try:
        deadline = time.monotonic() + 10
        while not (tg.targets and all(t.state == "healthy" for t in tg.targets.values())):
            if time.monotonic() > deadline:
                raise SystemExit("targets did not become healthy")
            await asyncio.sleep(0.05)
        instance = next(iter(world.instances.values()))
        async with aiohttp.ClientSession() as session:
            # Warm both paths (connections, code paths) before measuring.
            await measure(session, f"http://127.0.0.1:{instance.port}/", 200)
            await measure(session, f"http://127.0.0.1:{listener.port}/", 200)
            direct = summary(await measure(session, f"http://127.0.0.1:{instance.port}/", n))
            proxied = summary(await measure(session, f"http://127.0.0.1:{listener.port}/", n))
        print(f"{n} sequential GET / over one keep-alive connection, 4 healthy targets")
        print(f"{'':14}{'median ms':>10}{'p99 ms':>10}")
        print(f"{'direct':14}{direct[0]:>10.3f}{direct[1]:>10.3f}")
        print(f"{'through ALB':14}{proxied[0]:>10.3f}{proxied[1]:>10.3f}")
        print(f"{'added':14}{proxied[0] - direct[0]:>10.3f}{proxied[1] - direct[1]:>10.3f}")
    finally:
        await plane.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
