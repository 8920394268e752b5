"""Bad input to the sandbox's endpoint: every kind gets a clear answer (or a clean close when
there is no HTTP request to answer), and the endpoint keeps serving real callers afterwards.

Raw sockets, so the bytes are exactly what a broken client, a port scanner or a TLS client on
the wrong port would send; then boto3 must still work against the same endpoint.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlparse

import cbor2
import pytest
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client

CBOR_HEADERS = {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"}


pytestmark = pytest.mark.sandbox("default", time_scale=60)


@pytest.fixture(scope="module")
def sb(shared_sandbox: Sandbox) -> Sandbox:
    return shared_sandbox


def _address(sb: Sandbox) -> tuple[str, int]:
    url = urlparse(sb.endpoint_url)
    return url.hostname or "127.0.0.1", url.port or 80


def send(sb: Sandbox, data: bytes, *, close_write: bool = False, timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until the server closes or `timeout` passes. A `Host:
    127.0.0.1` header gets the endpoint's port, known only once it runs: the endpoint answers
    only requests that name it."""
    host, port = _address(sb)
    data = data.replace(b"\r\nHost: 127.0.0.1\r\n", f"\r\nHost: {host}:{port}\r\n".encode(), 1)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and not close_write:
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                length = _content_length(head)
                if length is not None and len(body) >= length:
                    break
        return b"".join(chunks)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return None


def request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


def status_of(response: bytes) -> int:
    first = response.split(b"\r\n", 1)[0].split()
    assert len(first) >= 2, f"no HTTP status line in {response[:80]!r}"
    return int(first[1])


def error_text(response: bytes) -> str:
    head, _, body = response.partition(b"\r\n\r\n")
    if b"cbor" in head.lower():
        return json.dumps(cbor2.loads(body), default=str)
    return body.decode(errors="replace")


def still_serving(sb: Sandbox) -> None:
    client = aws_client(sb, "sts")
    assert client.get_caller_identity()["Account"] == sb.world.account_id
    ec2 = aws_client(sb, "ec2")
    assert ec2.describe_instances()["Reservations"]


# Each case: raw bytes, and what a person reading the answer must find in it.
ANSWERED = [
    pytest.param(
        request("POST", "/", b"Action=DescribeNothing&Version=2016-11-15"),
        400,
        "InvalidAction",
        id="unknown-ec2-action",
    ),
    pytest.param(
        request("POST", "/", b"Action=DescribeInstances"),
        None,
        "",
        id="query-without-version",
    ),
    pytest.param(
        request("POST", "/", b"\x00\x01\x02\xff\xfe binary junk"),
        400,
        "",
        id="binary-body",
    ),
    pytest.param(
        request(
            "POST",
            "/",
            b'{"applicationName": 7}',
            {"X-Amz-Target": "CodeDeploy_20141006.GetApplication"},
        ),
        400,
        "",
        id="json-wrong-type",
    ),
    pytest.param(
        request(
            "POST",
            "/",
            b"[1, 2, 3]",
            {"X-Amz-Target": "CodeDeploy_20141006.GetApplication"},
        ),
        400,
        "",
        id="json-not-an-object",
    ),
    pytest.param(
        request(
            "POST",
            "/service/CodeDeploy_20141006/operation/GetApplication",
            cbor2.dumps([1, 2]),
            CBOR_HEADERS,
        ),
        400,
        "",
        id="cbor-not-a-map",
    ),
    pytest.param(
        request("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15&Action=x"),
        None,
        "",
        id="repeated-parameter",
    ),
    pytest.param(
        request("PUT", "/", b"Action=GetCallerIdentity&Version=2011-06-15"),
        None,
        "",
        id="wrong-method",
    ),
    pytest.param(
        request("GET", "/../../etc/passwd"),
        None,
        "",
        id="path-traversal",
    ),
    pytest.param(
        request("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15").replace(
            b"Content-Length: 43", b"Content-Length: 43\r\nContent-Type: text/xml"
        ),
        None,
        "",
        id="odd-content-type",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
        400,
        "",
        id="oversized-header",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n",
        400,
        "",
        id="bad-content-length",
    ),
    pytest.param(b"HELLO WORLD\r\n\r\n", 400, "", id="not-http"),
]


@pytest.mark.parametrize(("data", "status", "words"), ANSWERED)
def test_bad_requests_get_an_answer_and_the_endpoint_keeps_serving(
    sb: Sandbox, data: bytes, status: int | None, words: str
) -> None:
    response = send(sb, data)
    code = status_of(response)
    if status is None:
        # Odd but answerable: any clear 2xx/4xx, never a 5xx.
        assert code < 500, response[:300]
    else:
        assert code == status, response[:300]
    if code >= 400 and words:
        assert words in error_text(response)
    if b"HTTP/1.1 5" in response[:12]:
        pytest.fail(f"server error for bad input: {response[:300]!r}")
    still_serving(sb)


def test_oversized_body_is_refused_with_413(sb: Sandbox) -> None:
    body = b"Action=DescribeInstances&Version=2016-11-15&Pad=" + b"a" * (17 * 1024 * 1024)
    response = send(sb, request("POST", "/", body), timeout=20)
    assert status_of(response) == 413
    assert "too large" in error_text(response)
    still_serving(sb)


def test_declared_oversized_body_is_refused_before_it_is_sent(sb: Sandbox) -> None:
    head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999\r\n\r\n"
    response = send(sb, head + b"Action=", close_write=True, timeout=10)
    # Either a 413 at once, or a clean close: the server must not wait for a gigabyte.
    if response:
        assert status_of(response) == 413
    still_serving(sb)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(request("POST", "/", b"Action=GetCallerIdentity&Version")[:-10], id="short"),
        pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le", id="mid-header"),
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32), id="tls-hello"),
        pytest.param(b"", id="connect-and-close"),
    ],
)
def test_truncated_or_foreign_bytes_then_close(sb: Sandbox, data: bytes) -> None:
    response = send(sb, data, close_write=True, timeout=5)
    if response:
        assert status_of(response) < 500, response[:300]
    still_serving(sb)


def test_many_broken_clients_at_once_do_not_starve_real_ones(sb: Sandbox) -> None:
    """Twenty idle half-open connections and twenty junk senders while boto3 keeps working."""
    host, port = _address(sb)
    idle = [socket.create_connection((host, port), timeout=5) for _ in range(20)]
    try:
        for sock in idle:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=")
        errors: list[BaseException] = []

        def junk() -> None:
            try:
                send(sb, b"\xff" * 4096 + b"\r\n\r\n", close_write=True, timeout=3)
            except OSError as exc:  # a reset is an acceptable answer to junk
                errors.append(exc)

        threads = [threading.Thread(target=junk) for _ in range(20)]
        for t in threads:
            t.start()
        started = time.monotonic()
        still_serving(sb)
        assert time.monotonic() - started < 5
        for t in threads:
            t.join(10)
    finally:
        for sock in idle:
            sock.close()
    still_serving(sb)
