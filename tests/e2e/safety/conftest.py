"""The safety tests' sandbox: one `cutover sandbox` per test file (default scenario, clock x100:
each 60-minute wait lasts 36 s), its faults cleared after every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cutover.sandbox.testing import control

from tests.e2e.sandbox_process import sandbox_process


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("safety")
    with sandbox_process(state, "--time-scale", "100") as (environ, _):
        yield environ


@pytest.fixture(autouse=True)
def no_faults(env: dict[str, str]) -> Iterator[None]:
    yield
    control(env).clear_faults()
