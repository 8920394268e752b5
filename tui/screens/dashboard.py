"""The main screen: the truth about one deployment, and the keys that act on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

from cutover.backend.actions.catalogue import (
    BY_BINDING,
    BY_PLACE,
    CATALOGUE,
    IN_PLACE,
    style_of,
)
from cutover.backend.model import Snapshot
from cutover.tui.host import DashboardHost
from cutover.tui.widgets.banner import Banner
from cutover.tui.widgets.common import TextStatic
from cutover.tui.widgets.environment import EnvironmentPanel
from cutover.tui.widgets.gates import GatesView
from cutover.tui.widgets.header import DashboardHeader
from cutover.tui.widgets.leftovers import LeftoversPanel
from cutover.tui.widgets.lifecycle import Lifecycle
from cutover.tui.widgets.timeline import Timeline
from cutover.tui.widgets.traffic import TrafficBar
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer


class DashboardScreen(Screen[None]):
    """Renders whatever Snapshot the app hands it; never calls AWS itself."""

    # The catalogue's keys, in its order; each runs `action_<binding>` (made below).
    BINDINGS = [
        *(Binding(a.key, a.binding, a.label, id=f"dashboard.{a.binding}") for a in BY_PLACE),
        Binding("g", "picker", "Pick", id="dashboard.picker"),
    ]

    @property
    def cutover(self) -> DashboardHost:
        return cast(DashboardHost, self.app)

    def compose(self) -> ComposeResult:
        yield DashboardHeader(id="header")
        yield Banner(id="banner")
        yield Lifecycle(id="lifecycle")
        yield TrafficBar(id="traffic")
        with Horizontal(id="panels"):
            yield EnvironmentPanel("Original", id="original")
            yield EnvironmentPanel("Replacement", id="replacement")
            yield EnvironmentPanel("Fleet (in-place)", id="fleet")
        yield LeftoversPanel(id="leftovers")
        with Horizontal(id="bottom"):
            yield GatesView(id="gates")
            yield Timeline(id="timeline")
        yield TextStatic(id="why")
        yield Footer()

    def on_mount(self) -> None:
        self.cutover.render_view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only removes mutating keys, and so does a deployment style the action does not
        apply to (in place has no reroute and no original fleet; only in place has
        leftovers); a key that does not apply now is dimmed."""
        entry = BY_BINDING.get(action)
        if entry is None:
            return True
        if self.cutover.read_only:
            return False
        snap = self.cutover.snapshot
        if style_of(snap) not in entry.styles:
            return False
        if snap is None:
            return None
        return True if snap.action(entry.name).passed else None

    def show(
        self,
        snap: Snapshot | None,
        now: datetime,
        *,
        stale_error: str | None,
        sandbox: bool,
        target_name: str,
        refreshing_for: float | None = None,
    ) -> None:
        """Render everything from one snapshot and the server's `now`; `refreshing_for` is how
        long (real seconds) a slow refresh has been running, when it is worth saying."""
        self.query_one(DashboardHeader).show(
            snap,
            now,
            received=snap.server_time if snap else None,
            stale_error=stale_error,
            refreshing_for=refreshing_for,
            sandbox=sandbox,
            target_name=target_name,
        )
        self.query_one(Banner).show(snap, now, self.cutover.failures)
        self.query_one(Lifecycle).show(snap, now)
        in_place = style_of(snap) == IN_PLACE
        if in_place and snap is not None:
            self.query_one(TrafficBar).show_fleet(snap.fleet)
        else:
            self.query_one(TrafficBar).show(snap.traffic if snap else None, self.size.width)
        self.query_one("#original").display = not in_place
        self.query_one("#replacement").display = not in_place
        self.query_one("#fleet").display = in_place
        leftovers = self.query_one(LeftoversPanel)
        leftovers.display = in_place
        if in_place:
            leftovers.show(snap)
        server_time = snap.server_time if snap else now
        if in_place and snap is not None:
            self.query_one("#fleet", EnvironmentPanel).show(snap.fleet, now, server_time)
        else:
            self.query_one("#original", EnvironmentPanel).show(
                snap.original if snap else None, now, server_time
            )
            self.query_one("#replacement", EnvironmentPanel).show(
                snap.replacement if snap else None, now, server_time
            )
        self.query_one(GatesView).show(snap.gates if snap else (), snap.notes if snap else ())
        self.query_one(Timeline).show(self.cutover.events, now)
        self.query_one("#why", TextStatic).set_text(self._why(snap))

    def _why(self, snap: Snapshot | None) -> Text:
        """Why dimmed keys are dimmed: the footer cannot say it, so this line does."""
        if snap is None or self.cutover.read_only:
            return Text("read-only: mutating keys are off" if self.cutover.read_only else "")
        out = Text()
        style = style_of(snap)
        for entry in BY_PLACE:
            check = snap.action(entry.name)
            if not check.passed and style in entry.explain:
                if out:
                    out.append("  ")
                out.append(f"{entry.key}: ", style="bold")
                out.append(check.reason[:70], style="dim")
        return out

    def action_picker(self) -> None:
        self.cutover.open_picker()

    @on(EnvironmentPanel.InstanceChosen)
    def _instance(self, event: EnvironmentPanel.InstanceChosen) -> None:
        self.cutover.open_instance(event.instance_id)


def _requester(name: str) -> Callable[[DashboardScreen], None]:
    def action(screen: DashboardScreen) -> None:
        screen.cutover.request_action(name)

    action.__doc__ = f"The {name} key: the app checks, asks, plans and confirms."
    return action


# One action method per catalogue entry: Textual runs `action_<binding>` for a key.
for _entry in CATALOGUE:
    setattr(DashboardScreen, f"action_{_entry.binding}", _requester(_entry.name))
