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


def test_plain_cutover_at_an_endpoint_names_no_group_so_opens_the_overview(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """`cutover` in a terminal where `cutover sandbox`'s export lines were pasted: no group is
    named, so it opens the overview of that endpoint (as plain `cutover` does on its own
    sandbox)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    opened: list[str] = []

    def overview_run(self: OverviewApp) -> Any:
        opened.append("overview")
        return None

    def dashboard_run(self: CutoverApp) -> Any:
        opened.append(f"{self.target.application}/{self.target.deployment_group}")
        return None

    monkeypatch.setattr(OverviewApp, "run", overview_run)
    monkeypatch.setattr(CutoverApp, "run", dashboard_run)
    assert dashboard.run(parse_args([])) == 0
    assert opened == ["overview"]
    # A group named is that group's dashboard, as before.
    opened.clear()
    assert dashboard.run(parse_args(["--application", "web", "--deployment-group", "w"])) == 0
    assert opened == ["web/w"]
