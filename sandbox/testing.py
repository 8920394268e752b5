"""The sandbox as a pytest plugin, so every test tier and the bench scripts start sandboxes,
make boto3 clients and wait on conditions the same way.

Tests load it with `pytest_plugins = ["cutover.sandbox.testing"]` (tests/conftest.py). It
gives:

- `sandbox`: a sandbox for one test, `shared_sandbox`: one for a whole test file; both of the
  scenario and settings of the closest `@pytest.mark.sandbox(scenario, **settings)` (a
  module's `pytestmark` for the shared one), or the default scenario at TIME_SCALE;
- `sandbox_factory`: starts any number of sandboxes in one test, `factory(scenario, ...)`;
- `clients`: boto3 clients for `sandbox`, `clients("codedeploy")`;

and, for fixtures of their own and for bench scripts, the plain helpers `start_sandbox`,
`running_sandbox`, `aws_client`, `control`, `wait_for` and `free_port`. Every sandbox started
here is stopped when its test (or file) ends, passed or failed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config
from cutover.sandbox.control.client import ControlClient
from cutover.sandbox.runtime import Sandbox, free_port
from cutover.sandbox.scenario import load_scenario

__all__ = [
    "REGION",
    "TIME_SCALE",
    "aws_client",
    "control",
    "endpoint_of",
    "free_port",
    "running_sandbox",
    "start_sandbox",
    "wait_for",
]

#: Sandbox seconds per real second unless a test says otherwise: a minute of the default
#: scenario's health checks passes in one second.
TIME_SCALE = 60
REGION = "us-east-1"

T = TypeVar("T")


def start_sandbox(
    scenario: str = "default",
    *,
    time_scale: float = TIME_SCALE,
    wait_healthy: float | None = 30,
    **settings: Any,
) -> Sandbox:
    """A started sandbox of `scenario` (a bundled name or a YAML path) on a free port, its
    listeners on free ports too; `wait_healthy` real seconds for its targets to settle."""
    settings.setdefault("port", 0)
    settings.setdefault("free_listener_ports", True)
    sb = Sandbox(load_scenario(scenario), time_scale=time_scale, **settings)
    try:
        if wait_healthy is None:
            sb.start()
        else:
            sb.start(wait_healthy=wait_healthy)
    except BaseException:
        sb.stop()
        raise
    return sb


@contextlib.contextmanager
def running_sandbox(scenario: str = "default", **settings: Any) -> Iterator[Sandbox]:
    """`start_sandbox`, stopped on the way out."""
    sb = start_sandbox(scenario, **settings)
    try:
        yield sb
    finally:
        sb.stop()


def endpoint_of(where: Sandbox | str | Mapping[str, str]) -> str:
    """The endpoint URL of a sandbox, given as itself, as its URL, or as the environment
    `cutover sandbox` prints for its clients."""
    if isinstance(where, Sandbox):
        return where.endpoint_url
    if isinstance(where, str):
        return where
    return where["AWS_ENDPOINT_URL"]


def aws_client(
    where: Sandbox | str | Mapping[str, str],
    service: str,
    *,
    region: str = REGION,
    config: Config | None = None,
    session: boto3.session.Session | None = None,
) -> Any:
    """A boto3 client of `service` for a sandbox (see `endpoint_of`), signing with throwaway
    keys: the sandbox takes any SigV4-shaped signature."""
    return (session or boto3).client(
        service,
        endpoint_url=endpoint_of(where),
        region_name=region,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=config,
    )


def control(where: Sandbox | str | Mapping[str, str]) -> ControlClient:
    """The control API of a sandbox (see `endpoint_of`)."""
    return ControlClient(endpoint_of(where))


def wait_for(
    condition: Callable[[], T], timeout: float = 20.0, what: str = "condition", every: float = 0.02
) -> T:
    """Poll `condition` every `every` real seconds until it returns something truthy, and
    return that; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def _from_marker(request: pytest.FixtureRequest) -> Sandbox:
    marker = request.node.get_closest_marker("sandbox")
    args, kwargs = (marker.args, marker.kwargs) if marker else ((), {})
    return start_sandbox(*args, **kwargs)


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox for this test, as `@pytest.mark.sandbox(scenario, **settings)` says."""
    sb = _from_marker(request)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def shared_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """One sandbox for every test of a file, as the file's `pytestmark` sandbox marker says.
    Tests that change it undo what they change."""
    sb = _from_marker(request)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """`factory(scenario, **settings)` starts a sandbox (as `start_sandbox`); all of them
    stop when the test ends."""
    started: list[Sandbox] = []

    def factory(scenario: str = "default", **settings: Any) -> Sandbox:
        sb = start_sandbox(scenario, **settings)
        started.append(sb)
        return sb

    try:
        yield factory
    finally:
        for sb in started:
            sb.stop()


@pytest.fixture
def clients(sandbox: Sandbox) -> Callable[..., Any]:
    """`clients(service, **options)`: a boto3 client for this test's sandbox."""
    return lambda service, **options: aws_client(sandbox, service, **options)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox(scenario='default', **settings): the scenario and Sandbox settings "
        "(time_scale, load_rps, ...) of the `sandbox` and `shared_sandbox` fixtures",
    )
