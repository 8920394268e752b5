"""The sandbox's control API (`/_sandbox/...`) on the AWS endpoint: the summary of the world,
the faults (API, instance, deployment, alarm) switched on and off, and the load's statistics.

The endpoint (WireServer) checks the Host header of every request; every request that changes
something must say Content-Type: application/json, which a web page cannot send to another
origin without asking first (415 otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from cutover.sandbox import services
from cutover.sandbox.dataplane import LoadGenerator
from cutover.sandbox.faults import Faults
from cutover.sandbox.summary import Endpoints, summarize
from cutover.sandbox.wire import ApiError, WireServer
from cutover.sandbox.world import World, WorldError

ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Running(Endpoints, Protocol):
    """What the control API reaches of a running sandbox."""

    world: World
    faults: Faults
    loop: asyncio.AbstractEventLoop | None
    wire: WireServer | None
    load: LoadGenerator | None


class ControlApi:
    """The control API's routes over one running sandbox."""

    def __init__(self, sandbox: Running) -> None:
        self.sandbox = sandbox
        self.world = sandbox.world
        self.faults = sandbox.faults

    def add_routes(self, app: web.Application) -> None:
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
        return web.json_response(summarize(self.world, self.sandbox))

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
            assert self.sandbox.wire is not None
            # Answer first, then go dark: the caller learns the fault is set.
            asyncio.get_running_loop().call_later(0.05, self._go_dark, seconds)
        return web.json_response(self.faults.describe())

    def _go_dark(self, seconds: float) -> None:
        wire, loop = self.sandbox.wire, self.sandbox.loop
        assert wire is not None and loop is not None
        self.faults.unreachable_until = loop.time() + seconds

        async def dark() -> None:
            await wire.pause(seconds)
            await asyncio.sleep(seconds)
            self.faults.unreachable_until = None

        loop.create_task(dark())

    async def _control_instance_fault(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        unknown = set(body) - {"unhealthy", "down", "slow_ms", "error_rate", "unhealthy_path"}
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
        from cutover.sandbox.codedeploy import engine

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
        load = self.sandbox.load
        if load is None:
            return web.json_response({"running": False})
        return web.json_response({"running": True, **load.stats()})


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
