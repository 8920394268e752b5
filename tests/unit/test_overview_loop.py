"""`cutover dashboard --all`: the overview, then the chosen group's dashboard, then (Escape
there) the overview again on the same group, until the overview is quit. The two apps' `run`
are replaced: what is checked is which target each one is opened on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from cutover.cli import dashboard
from cutover.cli.commands import overview_sources
from cutover.cli.parser import parse_args
from cutover.tui.app import CutoverApp
from cutover.tui.overview_app import OverviewApp

from tests.e2e.overview_fakes import estate


def test_enter_opens_the_group_and_escape_comes_back_on_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    args = parse_args(
        ["dashboard", "--all", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"]
    )
    name = overview_sources(args)[0].name
    rows = [replace(r, source=name) for r in estate()]
    chosen = [rows[2], None]  # api/api-prod, then q on the overview
    selects: list[Any] = []
    opened: list[tuple[str | None, str | None, bool]] = []

    def overview_run(self: OverviewApp) -> Any:
        selects.append(self.select)
        self.rows = rows
        return chosen.pop(0)

    def dashboard_run(self: CutoverApp) -> Any:
        opened.append((self.target.application, self.target.deployment_group, self.back))
        return "back"

    monkeypatch.setattr(OverviewApp, "run", overview_run)
    monkeypatch.setattr(CutoverApp, "run", dashboard_run)
    code = dashboard.run(args)
    assert code == 0
    assert opened == [("api", "api-prod", True)]
    assert selects == [None, (name, "api", "api-prod")]
