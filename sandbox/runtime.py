"""Run a sandbox: the API endpoint, the data plane and the control API, on a background loop.

`Sandbox` is what `cutover sandbox`, the dashboard and the tests start. It owns one asyncio
loop in a daemon thread; everything it starts binds to 127.0.0.1 only and `stop()` closes all
of it. Clients reach it only over HTTP, exactly as they reach AWS. The control API's routes
live in `cutover.sandbox.control.server`, the world's summary in `cutover.sandbox.summary`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any

from cutover.sandbox import services
from cutover.sandbox.cloudwatch import live as cloudwatch
from cutover.sandbox.control.server import ControlApi
from cutover.sandbox.dataplane import DataPlane, LoadGenerator
from cutover.sandbox.dataplane.metrics import RequestMetrics
from cutover.sandbox.faults import Faults
from cutover.sandbox.imds import MetadataService
from cutover.sandbox.scenario import Scenario, build_world
from cutover.sandbox.wire import WireServer
from cutover.sandbox.world import HEALTHY, World

log = logging.getLogger("cutover.sandbox")
# Each part's stop at most (real seconds): four parts stay inside stop()'s 30 s.
PART_STOP_LIMIT = 5.0

HOST = "127.0.0.1"
ACCESS_KEY = "AKIASANDBOXEXAMPLE01"
SECRET_KEY = "sandbox-secret-key-not-a-real-secret"


class SandboxError(Exception):
    """The sandbox could not start; str() is one line saying why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


class Sandbox:
    """A running local cloud built from a scenario.

    Use as a context manager or call `start()` / `stop()`. After `start()` returns, the
    endpoint answers AWS calls at `endpoint_url`, every listener proxy is bound, and (unless
    `wait_healthy=0`) every Auto Scaling group is at its desired capacity with healthy targets.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        port: int = 0,
        time_scale: float | None = None,
        load_rps: float = 0.0,
        free_listener_ports: bool = False,
    ) -> None:
        self.scenario = scenario
        self.requested_port = port
        if free_listener_ports:
            scenario.remap_listener_ports([free_port() for _ in scenario.listener_ports()])
        self.world: World = build_world(scenario, time_scale=time_scale)
        self.metrics = RequestMetrics()
        self.world.metrics = self.metrics
        # Host counts are sampled from the start, not from the first CloudWatch call.
        cloudwatch.attach(self.world)
        self.faults = Faults(self.world)
        self.load_rps = load_rps
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wire: WireServer | None = None
        self.dataplane: DataPlane | None = None
        self.load: LoadGenerator | None = None
        self.imds = MetadataService(
            self.world, access_key=ACCESS_KEY, secret_key=SECRET_KEY, tokens=scenario.imds_tokens
        )
        # The CodeDeploy agent runs the hooks of revisions that are local directories.
        self.agent: Any = None
        if scenario.codedeploy.bundles:
            from cutover.sandbox.codedeploy import engine
            from cutover.sandbox.codedeploy.agent import AppspecHooks

            self.agent = AppspecHooks(
                scenario.codedeploy.bundles,
                endpoint_url=lambda: self.endpoint_url,
                imds_url=self.imds_url,
            )
            engine.configure(self.world, hooks=self.agent)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        services.load_all()

    # ----- life cycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.wire.port if self.wire else 0

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def imds_base_url(self) -> str:
        """The metadata service; instance `i-...` is answered under `<base>i-.../`."""
        return self.imds.base_url

    def imds_url(self, instance_id: str) -> str:
        """The AWS_EC2_METADATA_SERVICE_ENDPOINT of a process on that instance."""
        return self.imds.url(instance_id)

    def identity(self) -> str:
        """The `x-cutover-sandbox` header: a sandbox, and its clock's rate (sandbox seconds
        per real second), read per answer since a test may change the rate."""
        return f"sandbox; clock-rate={self.world.clock.time_scale:g}"

    def env(self) -> dict[str, str]:
        """The environment a client needs to reach this sandbox with boto3 or the AWS CLI."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": self.world.region,
            "AWS_DEFAULT_REGION": self.world.region,
        }

    def start(self, *, wait_healthy: float = 60.0) -> Sandbox:
        """Start everything; raises SandboxError (one line) if a port is busy or boot fails."""
        if self.requested_port and not port_is_free(self.requested_port):
            raise SandboxError(f"port {self.requested_port} is in use (choose another with --port)")
        for label, port in self.scenario.listener_ports():
            if not port_is_free(port):
                raise SandboxError(
                    f"port {port} for listener {label} is in use"
                    " (stop what uses it, or pass --free-ports)"
                )
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run_loop, args=(ready,), name="cutover-sandbox", daemon=True
        )
        self._thread.start()
        ready.wait()
        # Booting is a server per instance: the huge scenario's 2,000 take tens of seconds on
        # a busy machine, as long as the fleet is given to settle.
        fleet = sum(g.desired for g in self.scenario.auto_scaling_groups)
        boot = max(30.0, wait_healthy, 0.1 * fleet)
        try:
            self.call(self._start_async(), timeout=boot)
        except TimeoutError:
            self.stop()
            raise SandboxError(
                f"the sandbox did not start within {boot:.0f} s (every instance is a server:"
                " a busy machine starts a big scenario slowly; try again)"
            ) from None
        except OSError as exc:
            self.stop()
            raise SandboxError(
                f"cannot listen on {HOST}:{self.requested_port}: {exc.strerror}"
            ) from None
        except Exception:
            self.stop()
            raise
        if wait_healthy:
            self.wait_until_settled(wait_healthy)
        if self.load_rps > 0:
            # After the fleet settles, so the load measures the app, not the boot.
            self.call(self._start_load())
        return self

    def _run_loop(self, ready: threading.Event) -> None:
        assert self.loop is not None
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run a coroutine on the sandbox's loop from another thread and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start_async(self) -> None:
        self.wire = WireServer(
            self._handle,
            clock=self.world.now,
            on_request=self.faults.on_request,
            served=services.served,
            drop_answer=self.faults.drop_answer,
            identity=self.identity,
        )
        ControlApi(self).add_routes(self.wire.app)
        await self.wire.start(HOST, self.requested_port)
        await self.imds.start(HOST)
        self.dataplane = DataPlane(self.world, self.metrics)
        await self.dataplane.start()

    async def _start_load(self) -> None:
        self.load = LoadGenerator(self.world, self.load_rps, skip=self.scenario.unloaded())
        await self.load.start()

    async def _stop_async(self) -> None:
        if self.agent is not None:
            # Hook scripts first: they call the servers stopped below.
            with self.world.lock:
                self.agent.close()
        for part in (self.load, self.dataplane, self.imds, self.wire):
            if part is not None:
                try:
                    # Bounded: a part that hangs (seen rarely on a loaded machine, cause not
                    # yet found) must not keep the rest running; the log names it.
                    await asyncio.wait_for(part.stop(), PART_STOP_LIMIT)
                except TimeoutError:
                    log.error(
                        "stopping %s took over %s s; left", type(part).__name__, PART_STOP_LIMIT
                    )
                except Exception:  # keep stopping the rest; the log keeps the details
                    log.exception("stopping %s failed", type(part).__name__)

    def stop(self) -> None:
        """Stop every server the sandbox started. Safe to call more than once."""
        if self._stopped.is_set() or self.loop is None:
            if self.agent is not None and self.loop is None:
                self.agent.close()  # never started: only its deployment root to remove
            return
        self._stopped.set()
        try:
            if self.loop.is_running():
                self.call(self._stop_async(), timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            if self._thread is not None:
                self._thread.join(10)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_until_settled(self, timeout: float) -> bool:
        """Wait (real seconds) until groups are at desired capacity and targets are healthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.settled():
                return True
            time.sleep(0.05)
        return False

    def settled(self) -> bool:
        w = self.world
        with w.lock:
            for asg in w.asgs.values():
                in_service = [m for m in asg.members.values() if m.lifecycle_state == "InService"]
                if len(in_service) != asg.desired or len(asg.members) != asg.desired:
                    return False
            for tg in w.target_groups.values():
                if not w.load_balancers_of(tg):
                    continue
                if any(w.effective_state(tg, t)[0] != HEALTHY for t in tg.targets.values()):
                    return False
            for clb in w.classic_lbs.values():
                if any(w.classic_state(clb, t)[0] != "InService" for t in clb.instances.values()):
                    return False
            return True

    def _handle(self, service: str, operation: str, params: dict) -> dict:
        return services.dispatch(self.world, service, operation, params)
