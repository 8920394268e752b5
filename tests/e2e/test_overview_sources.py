"""The overview on screen with two sandboxes as two sources (issue 16, "Done when"): when one
source's endpoint dies, its rows say stale with the reason and AWS's code, and the other
source's rows keep updating (a deployment started there shows on screen)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from cutover.backend.config import TargetConfig
from cutover.backend.observe.overview import Overview
from cutover.backend.observe.sources import Source
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client
from cutover.tui.overview_app import OverviewApp
from textual.widgets import DataTable

from tests.e2e.test_overview_screen import V2, _until, sync


def source(name: str, sb: Sandbox) -> Source:
    return Source(
        name, TargetConfig(name=name, region=sb.world.region, endpoint_url=sb.endpoint_url)
    )


def on_screen(app: OverviewApp) -> dict[tuple[str, str, str], str]:
    """Each group's row as the table shows it (its cells joined), by (source, app, group)."""
    screen = app.screen_overview
    table = screen.query_one(DataTable)
    if table.row_count != len(screen.shown):
        return {}
    return {
        row.key: " | ".join(str(c) for c in table.get_row_at(i))
        for i, row in enumerate(screen.shown)
    }


@pytest.mark.timeout(240)
@sync
async def test_a_source_whose_endpoint_dies_goes_stale_alone_on_screen(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    east = sandbox_factory("default", time_scale=150)
    west = sandbox_factory("inplace", time_scale=150)
    for key, value in east.env().items():
        if key != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    overview = Overview([source("east", east), source("west", west)])
    app = OverviewApp(overview, interval=0.3)
    try:
        async with app.run_test(size=(200, 60)) as pilot:

            def of(name: str) -> dict[tuple[str, str, str], str]:
                return {k: v for k, v in on_screen(app).items() if k[0] == name}

            await _until(pilot, lambda: bool(of("east")) and bool(of("west")), "both listed")
            assert not any("could not be read" in text for text in on_screen(app).values())
            await asyncio.to_thread(west.stop)

            def west_stale() -> bool:
                rows = of("west")
                return bool(rows) and all("could not be read" in t for t in rows.values())

            await _until(pilot, west_stale, "the west rows stale on screen")
            assert all("EndpointConnectionError" in t for t in of("west").values()), of("west")
            assert not any("could not be read" in t for t in of("east").values())
            banner = str(app.screen_overview.query_one("#overview-banner").render())
            assert "STALE west: could not be read" in banner and "STALE east" not in banner
            # The east source still updates: a deployment started there shows on screen.
            prod = ("east", "web", "web-prod")
            assert of("east")[prod].startswith("quiet")
            aws_client(east, "codedeploy").create_deployment(
                applicationName="web", deploymentGroupName="web-prod", revision=V2
            )

            def prod_moves() -> bool:
                return of("east").get(prod, "").startswith(("in progress", "approve?"))

            await _until(pilot, prod_moves, "the deployment shown")
            assert "could not be read" not in of("east")[prod]
            assert west_stale()
    finally:
        overview.close()
