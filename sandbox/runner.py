"""Run a sandbox: the API endpoint, the data plane and the control API, on a background loop.

`Sandbox` is what `cutover sandbox`, the dashboard and the tests start. It owns one asyncio
loop in a daemon thread; everything it starts binds to 127.0.0.1 only and `stop()` closes all
of it. Clients reach it only over HTTP, exactly as they reach AWS.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web
from cutover.sandbox import services
from cutover.sandbox.cloudwatch import live as cloudwatch
from cutover.sandbox.dataplane import DataPlane, LoadGenerator
from cutover.sandbox.dataplane.metrics import RequestMetrics
from cutover.sandbox.faults import Faults
from cutover.sandbox.imds import MetadataService
from cutover.sandbox.scenario import Scenario, build_world
from cutover.sandbox.wire import ApiError, WireServer
from cutover.sandbox.world import HEALTHY, World, WorldError

log = logging.getLogger("cutover.sandbox")

HOST = "127.0.0.1"
ACCESS_KEY = "AKIASANDBOXEXAMPLE01"
SECRET_KEY = "sandbox-secret-key-not-a-real-secret"

ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
            from cutover.sandbox import engine
            from cutover.sandbox.agent import AppspecHooks

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
        try:
            self.call(self._start_async())
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
        )
        self._add_control_routes(self.wire.app)
        await self.wire.start(HOST, self.requested_port)
        await self.imds.start(HOST)
        self.dataplane = DataPlane(self.world, self.metrics)
        await self.dataplane.start()

    async def _start_load(self) -> None:
        self.load = LoadGenerator(self.world, self.load_rps)
        await self.load.start()

    async def _stop_async(self) -> None:
        if self.agent is not None:
            # Hook scripts first: they call the servers stopped below.
            with self.world.lock:
                self.agent.close()
        for part in (self.load, self.dataplane, self.imds, self.wire):
            if part is not None:
                try:
                    await part.stop()
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

    # ----- requests -------------------------------------------------------------------------------

    def _handle(self, service: str, operation: str, params: dict) -> dict:
        return services.dispatch(self.world, service, operation, params)

    def _add_control_routes(self, app: web.Application) -> None:
        """The control API. Its Host header is checked by the endpoint (WireServer); every
        request that changes something must say Content-Type: application/json, which a web
        page cannot send to another origin without asking first (415 otherwise)."""
        get, post, delete = app.router.add_get, app.router.add_post, app.router.add_delete
        get("/_sandbox", self._control_summary)
        get("/_sandbox/faults", self._control_faults)
        post("/_sandbox/faults/api", _json_only(self._control_api_fault))
        post("/_sandbox/faults/instance/{instance_id}", _json_only(self._control_instance_fault))
        delete("/_sandbox/faults", _json_only(self._control_clear))
        delete("/_sandbox/faults/instance/{instance_id}", _json_only(self._control_clear))
        get("/_sandbox/load", self._control_load)
        post("/_sandbox/faults/deployment", _json_only(self._control_deployment_fault))
        post("/_sandbox/faults/alarm/{name}", _json_only(self._control_alarm))

    async def _json_body(self, request: web.Request) -> dict:
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"error": "the body is not JSON"}', content_type="application/json"
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text='{"error": "the body must be a JSON object"}', content_type="application/json"
            )
        return body

    @staticmethod
    def _bad(message: str) -> web.Response:
        return web.json_response({"error": message}, status=400)

    async def _control_summary(self, request: web.Request) -> web.Response:
        return web.json_response(summarize(self.world, self))

    async def _control_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.describe())

    async def _control_api_fault(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        unknown = set(body) - {
            "throttle",
            "latency_ms",
            "services",
            "operations",
            "unreachable_s",
            "deny",
            "deny_operations",
            "drop_response",
            "drop_operations",
        }
        if unknown:
            return self._bad(f"unknown API fault field(s): {', '.join(sorted(unknown))}")
        try:
            self.faults.set_api(
                throttle_rate=_opt(body, "throttle", float),
                latency_ms=_opt(body, "latency_ms", int),
                services=body.get("services"),
                operations=body.get("operations"),
                deny=body.get("deny"),
                deny_operations=body.get("deny_operations"),
                drop_response=_opt(body, "drop_response", int),
                drop_operations=body.get("drop_operations"),
            )
            seconds = _opt(body, "unreachable_s", float)
        except (TypeError, ValueError) as exc:
            return self._bad(str(exc))
        if seconds:
            if not 0 < seconds <= 3600:
                return self._bad("unreachable_s must be from 0 to 3600 seconds")
            assert self.wire is not None
            # Answer first, then go dark: the caller learns the fault is set.
            asyncio.get_running_loop().call_later(0.05, self._go_dark, seconds)
        return web.json_response(self.faults.describe())

    def _go_dark(self, seconds: float) -> None:
        assert self.wire is not None and self.loop is not None
        self.faults.unreachable_until = self.loop.time() + seconds

        async def dark() -> None:
            assert self.wire is not None
            await self.wire.pause(seconds)
            await asyncio.sleep(seconds)
            self.faults.unreachable_until = None

        self.loop.create_task(dark())

    async def _control_instance_fault(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        unknown = set(body) - {"unhealthy", "down", "slow_ms", "error_rate"}
        if unknown:
            return self._bad(f"unknown instance fault field(s): {', '.join(sorted(unknown))}")
        try:
            self.faults.set_instance(request.match_info["instance_id"], **body)
        except (TypeError, ValueError) as exc:
            return self._bad(str(exc))
        return web.json_response(self.faults.describe())

    async def _control_clear(self, request: web.Request) -> web.Response:
        instance_id = request.match_info.get("instance_id")
        try:
            self.faults.clear(instance_id)
        except Exception as exc:
            return self._bad(str(getattr(exc, "message", exc)))
        return web.json_response(self.faults.describe())

    async def _control_deployment_fault(self, request: web.Request) -> web.Response:
        from cutover.sandbox import engine

        body = await self._json_body(request)
        allowed = {
            "fail_hook",
            "kill_at",
            "instance_id",
            "exit_code",
            "times",
            "unhealthy_replacements",
        }
        unknown = set(body) - allowed
        if unknown:
            return self._bad(f"unknown deployment fault field(s): {', '.join(sorted(unknown))}")
        kinds = [k for k in ("fail_hook", "kill_at", "unhealthy_replacements") if k in body]
        if len(kinds) != 1:
            return self._bad("give exactly one of fail_hook, kill_at, unhealthy_replacements")
        faults = engine.state(self.world).faults
        instance_id = body.get("instance_id")
        try:
            if instance_id is not None:
                self.world.instance(str(instance_id))
            times = int(body.get("times", 1))
            if "fail_hook" in body:
                faults.fail_hook(
                    str(body["fail_hook"]),
                    instance_id,
                    exit_code=int(body.get("exit_code", 1)),
                    times=times,
                )
            elif "kill_at" in body:
                faults.kill_instance(str(body["kill_at"]), instance_id, times=times)
            else:
                faults.make_replacements_unhealthy(bool(body["unhealthy_replacements"]))
        except WorldError as exc:
            return self._bad(exc.message)
        except (TypeError, ValueError) as exc:
            return self._bad(str(exc))
        return web.json_response(self.faults.describe())

    async def _control_alarm(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        state = body.get("state", "ALARM")
        if state not in ("OK", "ALARM", "INSUFFICIENT_DATA"):
            return self._bad("state must be OK, ALARM or INSUFFICIENT_DATA")
        name = request.match_info["name"]
        reason = str(body.get("reason") or f"Set to {state} by the sandbox's fault switch")
        try:
            services.dispatch(
                self.world,
                "cloudwatch",
                "SetAlarmState",
                {"AlarmName": name, "StateValue": state, "StateReason": reason},
            )
        except ApiError as exc:
            return self._bad(f"{exc.message} ({exc.code})")
        return web.json_response({"alarm": name, "state": state})

    async def _control_load(self, request: web.Request) -> web.Response:
        if self.load is None:
            return web.json_response({"running": False})
        return web.json_response({"running": True, **self.load.stats()})


def _json_only(handler: ControlHandler) -> ControlHandler:
    """`handler`, answering 415 instead to a request that is not Content-Type:
    application/json. Bodiless ones too: a bare POST sets an alarm to ALARM."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            given = request.headers.get("Content-Type") or "none"
            return web.json_response(
                {
                    "error": "the control API takes requests that change something only with "
                    f"Content-Type: application/json (this one: {given})"
                },
                status=415,
            )
        return await handler(request)

    return guarded


def _opt(body: dict, key: str, kind: type) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{key} must be a number")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number") from None


def summarize(world: World, sandbox: Sandbox | None = None) -> dict:
    """A JSON-ready picture of the world: load balancers with their ports, groups, instances."""
    with world.lock:
        out: dict[str, Any] = {
            "region": world.region,
            "account_id": world.account_id,
            "time_scale": world.clock.time_scale,
            "clock": world.now().isoformat(),
            "load_balancers": [],
            "classic_load_balancers": [],
            "target_groups": [],
            "auto_scaling_groups": [],
            "instances": [],
        }
        if sandbox is not None:
            out["endpoint_url"] = sandbox.endpoint_url
            if sandbox.imds.port:
                out["imds_base_url"] = sandbox.imds_base_url
                out["imds_tokens"] = "required" if sandbox.imds.tokens_required else "optional"
        for lb in world.load_balancers.values():
            out["load_balancers"].append(
                {
                    "name": lb.name,
                    "type": lb.type,
                    "dns_name": lb.dns_name,
                    "listeners": [
                        {
                            "port": ls.port,
                            "protocol": ls.protocol,
                            "url": f"http://{lb.dns_name}:{ls.port}/"
                            if ls.protocol == "HTTP"
                            else f"tcp://127.0.0.1:{ls.port}",
                            "forward": [
                                {
                                    "target_group": world.target_groups[arn].name
                                    if arn in world.target_groups
                                    else arn,
                                    "weight": weight,
                                }
                                for arn, weight in world.rule_target_groups(ls.default_rule)
                            ],
                        }
                        for ls in lb.listeners.values()
                    ],
                }
            )
        for clb in world.classic_lbs.values():
            out["classic_load_balancers"].append(
                {
                    "name": clb.name,
                    "dns_name": clb.dns_name,
                    "ports": [ls["LoadBalancerPort"] for ls in clb.listeners],
                    "instances": {
                        t.id: world.classic_state(clb, t)[0] for t in clb.instances.values()
                    },
                }
            )
        for tg in world.target_groups.values():
            out["target_groups"].append(
                {
                    "name": tg.name,
                    "arn": tg.arn,
                    "targets": {
                        f"{t.id}:{t.port}": world.effective_state(tg, t)[0]
                        for t in tg.targets.values()
                    },
                }
            )
        for asg in world.asgs.values():
            out["auto_scaling_groups"].append(
                {
                    "name": asg.name,
                    "min": asg.min_size,
                    "max": asg.max_size,
                    "desired": asg.desired,
                    "instances": {m.instance_id: m.lifecycle_state for m in asg.members.values()},
                    "suspended": sorted(asg.suspended),
                }
            )
        deploy = world.deploy
        out["applications"] = []
        if deploy is not None:
            for app in deploy.applications.values():
                groups = []
                for (app_name, _), grp in deploy.groups.items():
                    if app_name != app.name:
                        continue
                    style = grp.spec.get("deploymentStyle", {})
                    groups.append(
                        {
                            "name": grp.name,
                            "type": style.get("deploymentType", "IN_PLACE"),
                            "traffic": style.get("deploymentOption", "WITHOUT_TRAFFIC_CONTROL"),
                            "config": grp.spec.get("deploymentConfigName"),
                            "auto_scaling_groups": [
                                a["name"] for a in grp.spec.get("autoScalingGroups", [])
                            ],
                            "last_attempted": grp.last_attempted,
                        }
                    )
                out["applications"].append({"name": app.name, "deployment_groups": groups})
        for inst in world.instances.values():
            out["instances"].append(
                {
                    "id": inst.id,
                    "state": inst.state,
                    "az": inst.az,
                    "revision": inst.revision,
                    "group": inst.asg_name,
                    "url": f"http://127.0.0.1:{inst.port}/" if inst.port else None,
                    "fault": inst.fault.describe() if inst.fault.active() else None,
                }
            )
            if sandbox is not None and sandbox.imds.port:
                out["instances"][-1]["metadata_url"] = sandbox.imds_url(inst.id)
        return out
