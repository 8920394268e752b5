"""Snapshot tests of the overview at a laptop's 80x24 and at 140x45, fed a dozen groups (one
waiting for approval, one failed, one in progress with an alarm) at a frozen clock."""

from __future__ import annotations

from typing import Any

import pytest
from cutover.tui.overview_app import OverviewApp
from textual.pilot import Pilot

from tests.e2e.fakes import NOW
from tests.e2e.overview_fakes import estate


async def fed(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, OverviewApp)
    app.bell = lambda: None  # type: ignore[method-assign]
    await pilot.pause()
    app.feed(estate())
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (140, 45)], ids=lambda s: "x".join(map(str, s)))
def test_overview(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(OverviewApp(now=lambda: NOW), terminal_size=size, run_before=fed)
