"""Real traffic for the sandbox: instance servers, listener proxies, health checks, load.

`DataPlane` (plane.py) makes real sockets follow the `World`: every running instance is an
aiohttp server on 127.0.0.1 (instances.py), every listener a proxy on 127.0.0.1 at the
listener's port (proxy.py, flows.py for TCP), routed by the listener's rules and weights
(rules.py, routing.py), and every target of a group in use is health-checked over HTTP (or
TCP) with the results folded back through `World.record_check` (health.py). Draining is real
too: a draining target gets no new request or connection, the proxies count each target's
in-flight requests (open connections for a network load balancer) in `Target.inflight`, and
`World.tick` ends a drain as ELB does: a target group's at the end of its deregistration
delay, a classic load balancer's when that count reaches zero or its connection-draining
timeout runs out. Every answer is counted in `RequestMetrics` (metrics.py), which the
CloudWatch service reads. Nothing binds beyond loopback.

`LoadGenerator` (load.py) sends a steady, open-loop stream of requests to every listener so
the dashboard has traffic to show and a reroute can be watched for errors.
"""

from __future__ import annotations

from .load import LoadGenerator
from .metrics import RequestMetrics
from .plane import DataPlane

__all__ = ["DataPlane", "LoadGenerator", "RequestMetrics"]
