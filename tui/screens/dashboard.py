"""The main screen: the truth about one deployment, and the keys that act on it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cutover.backend.model import Snapshot
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

if TYPE_CHECKING:
    from cutover.tui.app import CutoverApp

# Screen action -> the action name in Snapshot.actions / Controller.plan.
MUTATING_KEYS: dict[str, str] = {
    "approve": "approve",
    "terminate": "terminate-original",
    "rollback": "rollback",
    "stop": "stop",
    "deploy": "deploy",
    "shift": "shift",
    "repair": "repair",
}
# Blue/green-only actions: an in-place deployment has no reroute to approve or move by hand
# and no original fleet to terminate.
IN_PLACE_HIDDEN = ("approve", "terminate-original", "shift")
KEY_OF = {
    "approve": "r",
    "terminate": "t",
    "rollback": "b",
    "stop": "s",
    "deploy": "d",
    "shift": "m",
    "repair": "f",
}


class DashboardScreen(Screen[None]):
    """Renders whatever Snapshot the app hands it; never calls AWS itself."""

    BINDINGS = [
        Binding("r", "approve", "Approve", id="dashboard.approve"),
        Binding("t", "terminate", "Terminate", id="dashboard.terminate"),
        Binding("b", "rollback", "Roll back", id="dashboard.rollback"),
        Binding("s", "stop", "Stop", id="dashboard.stop"),
        Binding("d", "deploy", "Deploy", id="dashboard.deploy"),
        Binding("m", "shift", "Reroute", id="dashboard.shift"),
        Binding("f", "repair", "Repair", id="dashboard.repair"),
        Binding("g", "picker", "Pick", id="dashboard.picker"),
    ]

    @property
    def cutover(self) -> CutoverApp:
        return self.app  # type: ignore[return-value]

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
        """Read-only removes mutating keys; a key that does not apply now is dimmed."""
        name = MUTATING_KEYS.get(action)
        if name is None:
            return True
        if self.cutover.read_only:
            return False
        snap = self.cutover.snapshot
        if name == "repair" and not _in_place(snap):
            return False  # only in-place groups have leftovers: no key at all elsewhere
        if name in IN_PLACE_HIDDEN and _in_place(snap):
            return False  # no reroute and no original fleet in place: no key at all
        if snap is None:
            return None
        return True if snap.action(name).passed else None

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
        in_place = _in_place(snap)
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
        shown = ("approve", "terminate", "deploy")
        if _in_place(snap):
            # In-place has no reroute or originals: the repair key's reason matters more.
            shown = ("repair", "deploy")
        for action, name in MUTATING_KEYS.items():
            check = snap.action(name)
            if not check.passed and action in shown:
                if out:
                    out.append("  ")
                out.append(f"{KEY_OF[action]}: ", style="bold")
                out.append(check.reason[:70], style="dim")
        return out

    def action_approve(self) -> None:
        self.cutover.request_action("approve")

    def action_terminate(self) -> None:
        self.cutover.request_action("terminate-original")

    def action_rollback(self) -> None:
        self.cutover.request_action("rollback")

    def action_stop(self) -> None:
        self.cutover.request_action("stop")

    def action_deploy(self) -> None:
        self.cutover.request_action("deploy")

    def action_shift(self) -> None:
        self.cutover.request_action("shift")

    def action_repair(self) -> None:
        self.cutover.request_action("repair")

    def action_picker(self) -> None:
        self.cutover.open_picker()

    @on(EnvironmentPanel.InstanceChosen)
    def _instance(self, event: EnvironmentPanel.InstanceChosen) -> None:
        self.cutover.open_instance(event.instance_id)


def _in_place(snap: Snapshot | None) -> bool:
    return snap is not None and snap.fleet is not None and snap.original is None
