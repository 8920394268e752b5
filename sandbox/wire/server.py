"""The HTTP endpoint: aiohttp in front of the Codec and one service-agnostic handler."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from .calls import Call, DecodeError, RawRequest, RawResponse
from .codec import Codec
from .errors import ApiError, Throttled
from .models import SERVED_SERVICES

log = logging.getLogger("cutover.sandbox")

Handler = Callable[[str, str, dict], "Awaitable[dict] | dict"]
"""(service, operation, params) -> output dict shaped like boto3's return value."""

RequestHook = Callable[[str, str], "Awaitable[None] | None"]
"""(service, operation) -> None; may sleep, or raise Throttled / ApiError."""

DropHook = Callable[[str, str], bool]
"""(service, operation) -> True to lose the answer to a call already performed."""

# Room for large PutMetricData batches; AWS's own limit is 1 MB for most of these APIs.
_MAX_BODY = 16 * 1024 * 1024
# In-flight requests get this long to finish when the server stops.
_SHUTDOWN_GRACE = 2.0


def utcnow() -> datetime:
    """The real clock, as an aware UTC datetime."""
    return datetime.now(UTC)


def http_date(moment: datetime) -> str:
    """RFC 7231 IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``); naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


# On every answer of a sandbox (never AWS): what it is and how fast its clock runs, e.g.
# `sandbox; clock-rate=20`. A client reads it from the response it already gets (botocore's
# response headers), so any endpoint that is a sandbox can say so, whoever started it.
IDENTITY_HEADER = "x-cutover-sandbox"


class WireServer:
    """A local AWS endpoint: decodes each request into (service, operation, params), calls the
    handler, and answers in the request's own wire protocol.

    Guarantees: every response carries ``x-amzn-RequestId`` (a fresh uuid4, also in the body
    where the protocol puts one) and a ``Date`` header from ``clock``; nothing raised by a
    request escapes into aiohttp; only ``ApiError``/``Throttled`` become 4xx/503 answers, and
    any other handler exception a logged 500 (which clients retry).

    Only what the engineer's own tools send gets through (``Codec.check_authentication``):
    calls signed as the AWS SDKs and CLI sign them, reads also by presigned URL, and no call
    that changes something other than a signed POST. Every request, to any route of ``app``
    (the caller's too), must name the endpoint by a loopback name and its port in its Host
    header, else 421: a web page that rebinds its own name to 127.0.0.1 sends its own name.

    ``on_request(service, operation)`` runs before the handler for every routed, served call; it
    may sleep (latency) or raise Throttled / ApiError. ``served(service, operation)`` says
    whether the handler implements an operation; False answers a non-retryable 400 naming it.
    ``identity()``, when given, is sent in the ``x-cutover-sandbox`` header of every answer.
    ``drop_answer(service, operation)`` runs once a call has been answered; True closes the
    connection instead of sending the answer (the call took effect, the client never hears).
    """

    def __init__(
        self,
        handler: Handler,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_request: RequestHook | None = None,
        served: Callable[[str, str], bool] = lambda s, o: True,
        drop_answer: DropHook | None = None,
        identity: Callable[[], str] | None = None,
    ) -> None:
        self._handler = handler
        self._identity = identity
        self._drop_answer = drop_answer
        self._clock = clock
        self._on_request = on_request
        self._served = served
        self.codec = Codec(SERVED_SERVICES)
        self.app = web.Application(client_max_size=_MAX_BODY, middlewares=[self._check_host])
        # Explicit routes, not a catch-all, so routes the caller adds (/_sandbox/...) still match.
        self.app.router.add_route("POST", "/", self._handle)
        self.app.router.add_route("GET", "/", self._handle)
        self.app.router.add_route("POST", "/service/{svc}/operation/{op}", self._handle)
        self._runner: web.AppRunner | None = None
        self._site: web.SockSite | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._resume_at = 0.0
        self._resume_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (0 before start); unchanged across pause()."""
        return self._port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host`` only (port 0 picks a free one) and return the bound port.

        Raises OSError when the address is taken."""
        if self._runner is not None:
            raise RuntimeError("WireServer already started")
        sock = _listen_socket(host, port)
        runner = web.AppRunner(
            self.app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_GRACE
        )
        try:
            await runner.setup()
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner, self._site = runner, site
        self._host, self._port = host, sock.getsockname()[1]
        return self._port

    async def stop(self) -> None:
        """Stop listening, let in-flight requests finish (briefly) and close. Idempotent."""
        if self._resume_task is not None:
            self._resume_task.cancel()
            try:
                await self._resume_task
            except asyncio.CancelledError:
                pass
            self._resume_task = None
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def pause(self, seconds: float) -> None:
        """Become unreachable for ``seconds``: stop listening at once (new connections are
        refused) and close kept-alive connections once their in-flight request is answered;
        then listen again on the same port, in the background. Returns as soon as the listener
        is closed. Pausing while paused moves the resume time."""
        if self._runner is None:
            raise RuntimeError("WireServer is not started")
        loop = asyncio.get_running_loop()
        self._resume_at = loop.time() + max(0.0, seconds)
        if self._site is not None:
            site, self._site = self._site, None
            await site.stop()
            server = self._runner.server
            if server is not None:
                for connection in server.connections:
                    # Idle kept-alive connections must go now, or clients keep reaching us
                    # through them; a busy one closes after its response is written.
                    if getattr(connection, "_request_in_progress", False):
                        connection.close()
                    else:
                        connection.force_close()
        if self._resume_task is None or self._resume_task.done():
            self._resume_task = asyncio.create_task(self._resume_later())

    async def _resume_later(self) -> None:
        loop = asyncio.get_running_loop()
        while self._runner is not None:
            if (delay := self._resume_at - loop.time()) > 0:
                await asyncio.sleep(delay)
                continue
            try:
                sock = _listen_socket(self._host, self._port)
            except OSError as exc:
                log.warning("sandbox endpoint cannot listen again on %s: %s", self._port, exc)
                await asyncio.sleep(0.1)
                continue
            site = web.SockSite(self._runner, sock)
            try:
                await site.start()
            except BaseException:
                sock.close()
                raise
            if self._resume_at > loop.time():
                # pause() was called again while the listener was starting.
                await site.stop()
                continue
            self._site = site
            return

    @web.middleware
    async def _check_host(self, request: web.Request, handler: Any) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if loopback_host(host, self._port):
            return await handler(request)
        message = (
            f"This endpoint answers only requests addressed to 127.0.0.1:{self._port}, "
            f"localhost:{self._port} or [::1]:{self._port}, not {host!r}"
        )
        if request.path.startswith("/_sandbox"):
            return web.json_response({"error": message}, status=421)
        raw = RawRequest(
            request.method, request.path, request.raw_path.partition("?")[2], request.headers, b""
        )
        error = ApiError("MisdirectedRequest", message, 421)
        return self._to_http(
            self.codec.encode_error(self.codec.protocol_of(raw), None, error, str(uuid.uuid4()))
        )

    async def _handle(self, request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        service: str | None = None
        operation = ""
        protocol = "query"
        try:
            raw = RawRequest(
                method=request.method,
                path=request.path,
                query_string=request.raw_path.partition("?")[2],
                headers=request.headers,
                body=b"",
            )
            protocol = self.codec.protocol_of(raw)
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge as exc:
                raise ApiError(
                    "RequestEntityTooLarge", "The request body is too large", 413
                ) from exc
            raw = RawRequest(raw.method, raw.path, raw.query_string, raw.headers, body)
            call = self.codec.decode(raw)
            protocol, service, operation = call.protocol, call.service, call.operation
            self.codec.check_authentication(raw, call)
            response = await self._dispatch(call, request_id)
        except DecodeError as exc:
            response = self.codec.encode_error(exc.protocol, exc.service, exc.error, request_id)
        except (ApiError, Throttled) as exc:
            response = self.codec.encode_error(protocol, service, exc, request_id)
        except Exception as exc:
            log.exception(
                "sandbox endpoint failed on %s:%s (request %s)", service, operation, request_id
            )
            response = self.codec.encode_error(protocol, service, exc, request_id)
        drop = self._drop_answer
        if service is not None and request.transport and drop and drop(service, operation):
            # A lost answer: the call took effect, the connection closes with no response.
            request.transport.close()
        return self._to_http(response)

    async def _dispatch(self, call: Call, request_id: str) -> RawResponse:
        if not self._served(call.service, call.operation):
            raise self.codec.unserved(call)
        if self._on_request is not None:
            hooked: Any = self._on_request(call.service, call.operation)
            if inspect.isawaitable(hooked):
                await hooked
        self.codec.check_required(call)
        result: Any = self._handler(call.service, call.operation, call.params)
        if inspect.isawaitable(result):
            result = await result
        return self.codec.encode_result(call, result, request_id)

    def _to_http(self, response: RawResponse) -> web.Response:
        headers = dict(response.headers)
        try:
            headers["Date"] = http_date(self._clock())
        except Exception:
            log.exception("sandbox clock failed; Date header from the real clock")
            headers["Date"] = http_date(utcnow())
        if self._identity is not None:
            headers[IDENTITY_HEADER] = self._identity()
        return web.Response(status=response.status, body=response.body, headers=headers)


_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def loopback_host(host: str, port: int) -> bool:
    """Whether a Host header names a loopback address and `port` (no port: 80, as HTTP
    clients leave out the default)."""
    host = host.strip().lower()
    if host.startswith("["):
        name, bracket, rest = host.partition("]")
        name += bracket
    else:
        name, colon, rest = host.partition(":")
        rest = colon + rest
    if name not in _LOOPBACK_NAMES:
        return False
    if not rest:
        return port == 80
    given = re.fullmatch(r":([0-9]{1,5})", rest)
    return given is not None and int(given.group(1)) == port


def _listen_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":
            # Lets pause() listen again on the same port right away; on Linux this does not
            # allow two listeners on one port, so a busy port still raises.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
