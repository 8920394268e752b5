"""The main screen: the truth about one deployment, and the keys that act on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import cast

from cutover.backend.actions.catalogue import (
    BY_BINDING,
    BY_PLACE,
    CATALOGUE,
    IN_PLACE,
    style_of,
)
from cutover.backend.model import Check, Snapshot
from cutover.backend.present.verdict_text import metrics_line
from cutover.tui.host import DashboardHost
from cutover.tui.widgets.bake import BakeLine
from cutover.tui.widgets.banner import Banner
from cutover.tui.widgets.common import TextStatic
from cutover.tui.widgets.environment import EnvironmentPanel
from cutover.tui.widgets.gates import GatesView
from cutover.tui.widgets.header import DashboardHeader
from cutover.tui.widgets.instance_table import InstanceTable
from cutover.tui.widgets.leftovers import LeftoversPanel
from cutover.tui.widgets.lifecycle import Lifecycle
from cutover.tui.widgets.preview import PreviewPanel
from cutover.tui.widgets.table_layout import SharedIds
from cutover.tui.widgets.timeline import Timeline
from cutover.tui.widgets.traffic import TrafficBar
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer

# Below this width the Original and Replacement panels stack. Side by side, each gets half the
# width less its border: at 110 columns that is 53, which holds a shortened instance id, the AZ,
# the lifecycle status and a health state with its reason or drain countdown; narrower, the
# health column (the one that decides an approval) would be cut.
STACK_BELOW = 110


class DashboardScreen(Screen[None]):
    """Renders whatever Snapshot the app hands it; never calls AWS itself."""

    # The catalogue's keys, in its order; each runs `action_<binding>` (made below). Priority:
    # the app takes them as it reads them, before it hands the keys after them on, so a burst
    # such as `d` and a revision reaches the prompt `d` opens (see Acting.open_action).
    BINDINGS = [
        *(
            Binding(
                a.key,
                a.binding,
                a.label,
                id=f"dashboard.{a.binding}",
                show=a.in_footer,
                priority=True,
            )
            for a in BY_PLACE
        ),
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
        yield BakeLine(id="bake")
        # What decides the next key (header, banner, why-line, footer) stays put; the fleets,
        # gates and timeline scroll between them when the terminal is too short for all.
        with VerticalScroll(id="body", can_focus=False):
            with Horizontal(id="panels"):
                yield EnvironmentPanel("Original", id="original")
                yield EnvironmentPanel("Replacement", id="replacement")
                yield EnvironmentPanel("Fleet (in-place)", id="fleet")
            yield LeftoversPanel(id="leftovers")
            yield PreviewPanel(id="preview")
            with Horizontal(id="bottom"):
                yield GatesView(id="gates")
                yield Timeline(id="timeline")
        yield TextStatic(id="why")
        yield Footer()

    def on_mount(self) -> None:
        shared = SharedIds()
        for table in self.query("#original InstanceTable, #replacement InstanceTable"):
            cast(InstanceTable, table).share_ids(shared)
        self._arrange()
        self.cutover.render_view()

    def on_resize(self, event: Resize) -> None:
        self._arrange()
        self.cutover.render_view()

    def _arrange(self) -> None:
        """Side by side when both fleets' health columns fit, else one above the other."""
        stacked = self.size.width < STACK_BELOW
        panels = self.query_one("#panels")
        panels.set_class(stacked, "-stacked")
        self.query_one("#bottom").set_class(stacked, "-stacked")
        # Narrow, the footer drops its padding and the palette hint (ctrl+p still opens it, and
        # the help screen says so), so every key, help and quit included, still shows.
        footer = self.query_one(Footer)
        footer.compact = self.size.width < 120
        footer.show_command_palette = self.size.width >= 100
        if not stacked:
            for panel in panels.children:
                panel.styles.height = None  # back to the stylesheet's share of the width
            if panels.children[0] is not self.query_one("#original"):
                panels.move_child(self.query_one("#original"), before=0)

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
        if entry.name == "cleanup" and not snap.unowned:
            return False  # its key is named only beside what it cleans up
        if entry.name == "preview" and snap.preview is None:
            return False  # only a target with a preview target group has the key
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
            pinned=self.cutover.deployment_id,
        )
        self.query_one(Banner).show(
            snap,
            now,
            self.cutover.failures,
            pinned=self.cutover.deployment_id,
            effect=self.cutover.effect_line,
        )
        self.query_one(Lifecycle).show(snap, now)
        in_place = style_of(snap) == IN_PLACE
        if in_place and snap is not None:
            self.query_one(TrafficBar).show_fleet(snap.fleet)
        else:
            self.query_one(TrafficBar).show(
                snap.traffic if snap else None,
                self.size.width,
                metrics_line(snap) if snap else None,
            )
        self.query_one(BakeLine).show(snap.bake if snap else None)
        self.query_one("#original").display = not in_place
        self.query_one("#replacement").display = not in_place
        self.query_one("#fleet").display = in_place
        leftovers = self.query_one(LeftoversPanel)
        # Blue/green: shown only while something is not owned by any deployment.
        unowned = not in_place and snap is not None and bool(snap.unowned)
        leftovers.display = in_place or unowned
        if in_place or unowned:
            leftovers.show(snap, blue_green=unowned)
        preview = self.query_one(PreviewPanel)
        preview.display = not in_place and snap is not None and snap.preview is not None
        preview.show(snap)
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
        if self.query_one("#panels").has_class("-stacked"):
            self._fit_stacked(snap)
        self.query_one(GatesView).show(snap.gates if snap else (), snap.notes if snap else ())
        self.query_one(Timeline).show(self.cutover.events, now)
        self.query_one("#why", TextStatic).set_text(self._why(snap))
        # Whether the gates panel is in view depends on the layout this refresh causes (the
        # header's height moves with its verdict line): say it again once that is done.
        self.call_after_refresh(self._rewhy, snap)

    def _fit_stacked(self, snap: Snapshot | None) -> None:
        """Stacked panels are as tall as their rows (a few instances need no half screen),
        and never taller than the scrolling area, so a big fleet scrolls inside its table."""
        panels = self.query_one("#panels")
        # The replacement first while it has instances: its health decides the approval, and
        # on a short terminal the first panel is the one seen without scrolling.
        live = snap is not None and snap.replacement is not None and snap.replacement.instances
        first = self.query_one("#replacement" if live else "#original")
        if panels.children[0] is not first:
            panels.move_child(first, before=0)
        room = max(8, self.query_one("#body").size.height)
        for role in ("original", "replacement", "fleet"):
            env = getattr(snap, role, None) if snap is not None else None
            rows = len(env.instances) if env is not None else 1
            # border 2, summary 1, sparklines 2, column header 1, a horizontal scrollbar 1
            self.query_one(f"#{role}").styles.height = min(room, max(1, rows) + 7)

    def _why(self, snap: Snapshot | None) -> Text:
        """What the footer cannot say: the gates' verdict while their panel is out of view
        (a short terminal), and why dimmed keys are dimmed. One line each, cut with `…`."""
        if snap is None or self.cutover.read_only:
            return Text("read-only: mutating keys are off" if self.cutover.read_only else "")
        width = max(20, self.size.width - 2)  # less the padding
        out = Text(no_wrap=True, overflow="ellipsis")
        if snap.gates and not self._gates_in_view():
            out.append_text(gates_verdict(snap.gates))
        dimmed = [
            (entry.key, snap.action(entry.name).reason)
            for entry in BY_PLACE
            if not snap.action(entry.name).passed and style_of(snap) in entry.explain
        ]
        if dimmed:
            if out:
                out.append("\n")
            # Every reason starts on screen: the line is shared, short ones whole.
            rooms = shares([len(r) for _, r in dimmed], width - 5 * len(dimmed))
            for i, ((key, reason), room) in enumerate(zip(dimmed, rooms, strict=True)):
                if i:
                    out.append("  ")
                out.append(f"{key}: ", style="bold")
                room = max(8, room)
                out.append(reason if len(reason) <= room else reason[: room - 1] + "…", "dim")
        return out

    def _rewhy(self, snap: Snapshot | None) -> None:
        if self.is_mounted and snap is self.cutover.snapshot:
            self.query_one("#why", TextStatic).set_text(self._why(snap))

    def _gates_in_view(self) -> bool:
        """The gates panel is wholly on screen (not scrolled off or below the fold)."""
        gates = self.query_one(GatesView)
        body = self.query_one("#body")
        return gates.display and body.region.contains_region(gates.region)

    def action_picker(self) -> None:
        self.cutover.open_picker()

    @on(EnvironmentPanel.InstanceChosen)
    def _instance(self, event: EnvironmentPanel.InstanceChosen) -> None:
        self.cutover.open_instance(event.instance_id)


def shares(wants: list[int], total: int) -> list[int]:
    """Split `total` cells among texts that want `wants`: whoever wants less than an equal
    share gets what it wants, the rest split what is left."""
    out = [0] * len(wants)
    left = sorted(range(len(wants)), key=lambda i: wants[i])
    while left:
        share = total // len(left)
        i = left[0]
        if wants[i] > share:
            for j in left:
                out[j] = share
            break
        out[i] = wants[i]
        total -= wants[i]
        left.pop(0)
    return out


def gates_verdict(gates: tuple[Check, ...]) -> Text:
    """`Gates all 4 pass: capacity, ...` or `Gates 1 FAIL  alarms: web-tg-5xx in ALARM`."""
    out = Text("Gates ", style="bold")
    failing = [g for g in gates if not g.passed]
    if not failing:
        out.append(f"all {len(gates)} pass", style="green")
        out.append(": " + ", ".join(g.name for g in gates), style="dim")
        return out
    out.append(f"{len(failing)} FAIL", style="bold red")
    for gate in failing:
        out.append(f"  {gate.name}: ", style="bold")
        out.append(gate.reason)
    return out


def _requester(name: str) -> Callable[[DashboardScreen], Awaitable[None]]:
    async def action(screen: DashboardScreen) -> None:
        await screen.cutover.open_action(name)

    action.__doc__ = f"The {name} key: the app checks, asks, plans and confirms."
    return action


# One action method per catalogue entry: Textual runs `action_<binding>` for a key.
for _entry in CATALOGUE:
    setattr(DashboardScreen, f"action_{_entry.binding}", _requester(_entry.name))
