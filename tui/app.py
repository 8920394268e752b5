"""CutoverApp: the dashboard for one target, its state, and the screens it opens.

Polling (`polling`) and the action flow (`acting`) are the app's two halves, each in its own
module; every AWS call runs in a thread worker and the event loop only renders.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cutover.backend.actions import Controller
from cutover.backend.config import TargetConfig
from cutover.backend.core.effects import WATCHED, effect
from cutover.backend.model import Event, Snapshot
from cutover.backend.observe import Observer
from cutover.tui.acting import Acting
from cutover.tui.commands import CutoverCommands
from cutover.tui.polling import Polling, timeline_events
from cutover.tui.screens.dashboard import DashboardScreen
from cutover.tui.screens.help import KEYS, HelpScreen, help_text
from cutover.tui.screens.instance import InstanceScreen
from cutover.tui.screens.picker import PickerScreen
from cutover.tui.widgets.common import at_rate
from cutover.tui.widgets.timeline import KEEP as TIMELINE_KEEP
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer

log = logging.getLogger("cutover.tui")

# What the picker returns for "follow the group" (no deployment id starts with it).
FOLLOW = "follow"

# A refresh running longer than this (real seconds) is said to be running, in the header.
SLOW_REFRESH = 4.0


class CutoverApp(Polling, Acting, App[str | None]):
    """The dashboard for one target.

    `observer`/`controller` may be None for tests that `feed()` snapshots by hand; `now`
    replaces the server clock (frozen in snapshot tests); `poll=False` starts no worker.
    """

    CSS_PATH = "app.tcss"
    TITLE = "Cutover"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("escape", "back", "Overview", id="app.back"),
    ]
    COMMANDS = App.COMMANDS | {CutoverCommands}

    def __init__(
        self,
        target: TargetConfig,
        *,
        observer: Observer | None = None,
        controller: Controller | None = None,
        now: Callable[[], datetime] | None = None,
        sandbox: bool = False,
        poll: bool = True,
        deployment_id: str | None = None,
        read_only: bool | None = None,
        back: bool = False,
    ) -> None:
        super().__init__()
        # Opened from the overview: Escape ends this app with "back", and the overview opens
        # again on this group.
        self.back = back
        self.target = target
        self.observer = observer
        self.controller = controller
        self.sandbox = sandbox
        self.read_only = target.read_only if read_only is None else read_only
        if now is None and observer is not None:
            now = observer.session.clock.now
        self._now = now or (lambda: datetime.now().astimezone())
        self.polling = poll and observer is not None
        # The pinned deployment (`--deployment`, the picker); None follows the group: its
        # current deployment, whoever started it.
        self.deployment_id = deployment_id
        # Actions sent from here whose effect is not seen yet: [action, deployment, words,
        # the deployment on screen when it was sent].
        self.watches: list[list[str]] = []
        self.snapshot: Snapshot | None = None
        self.stale_error: str | None = None
        self.base_interval = max(0.5, target.poll_interval)
        self.interval = self.base_interval
        self._timer: Timer | None = None
        self._fetching = False
        self._fetch_started: float | None = None  # time.monotonic() of the poll in flight
        self._again = False
        self._rang: set[str] = set()  # deployments we rang the bell for
        # deployment id -> why it failed or stopped, as last seen (for the rollback banner)
        self.failures: dict[str, str] = {}
        self.events: list[Event] = []
        self._shown_refusals: set[str] = set()  # plan ids refused (and said so) when planned
        self._settled_seen: set[str] = set()  # attempts whose read-back outcome was shown

    def now(self) -> datetime:
        """The server's time (or the injected clock), carrying its rate when the endpoint is a
        sandbox with a fast clock, so ages and countdowns are said in real time."""
        snap = self.snapshot
        return at_rate(self._now(), snap.sandbox_rate if snap is not None else None)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """As App.notify, but literal by default: notifications carry AWS's own words, and
        `[DeploymentIsNotInReadyStateException]` must be shown, not parsed as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def get_default_screen(self) -> Screen[Any]:
        return DashboardScreen()

    @property
    def dashboard(self) -> DashboardScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, DashboardScreen)
        return screen

    def on_mount(self) -> None:
        self.title = f"Cutover: {self.target.name}"
        # Countdowns and ages move between polls: re-render from memory, no AWS call.
        self.set_interval(1.0, self.render_view)
        if self.polling:
            self._arm(0)
        # What exists now (botocore's service models, Textual's styles and widgets) lives as
        # long as the app. Left to the cyclic collector, every full collection walks it all on
        # the event loop (the p95 of a refresh); frozen, a collection walks only what came
        # since. Garbage is collected first so none is frozen; thawed again on unmount.
        gc.collect()
        gc.freeze()

    def on_unmount(self) -> None:
        # Another app in this process (a test suite runs hundreds) must be able to collect
        # what this one leaves.
        gc.unfreeze()

    def feed(
        self, snap: Snapshot, events: list[Event] | None = None, *, origin: str | None = None
    ) -> None:
        """Show a snapshot (the poller's, or a test's): timeline, bell, view, key states.
        `events` are the timeline's news since the snapshot on screen, when already known;
        `origin` who started the deployment the group moved on to."""
        if not self.screen_stack:
            return  # a late message while the app shuts down
        previous = self.snapshot
        dep, old = snap.deployment, previous.deployment if previous else None
        moved = None
        if dep is not None and old is not None and dep.id != old.id and origin:
            moved = f"now showing {dep.id} ({dep.status}), started by {origin}"
            self.notify(
                moved,
                title="The group moved on" if self.deployment_id is None else "Pinned",
                timeout=15,
            )
        if previous is not None:
            if events is None:
                events = timeline_events(previous, snap)
            if moved:
                # The notification goes; the timeline keeps who started what is on screen.
                events = [*events, Event(snap.server_time, "deployment", moved)]
            # Kept here, not in the widget: the timeline survives screens coming and going.
            self.events = (self.events + events)[-TIMELINE_KEEP:]
        self.snapshot = snap
        self.stale_error = None
        for p in snap.pending:
            if p.verdict != "unknown" and p.attempt not in self._settled_seen:
                self._settled_seen.add(p.attempt)
                words = "it took effect" if p.verdict == "done" else "it did not take effect"
                self.notify(
                    f"{p.summary} (sent {p.sent_at[11:19]}Z, outcome not recorded then): the"
                    f" state now shows {p.evidence}: {words}. Recorded in the audit log.",
                    title=f"{p.action}: outcome read back",
                    severity="information" if p.verdict == "done" else "warning",
                    timeout=20,
                )
        self._watch(snap)
        if dep is not None and (dep.error_code or dep.error_message):
            self.failures[dep.id] = f"{dep.error_code or ''} {dep.error_message or ''}".strip()
        waiting = (
            dep is not None and dep.status == "Ready" and dep.waiting_for == "reroute-approval"
        )
        if waiting and dep is not None and dep.id not in self._rang:
            # Once per deployment: a bell every poll would be noise at 3 a.m.
            self._rang.add(dep.id)
            self.bell()
        self.render_view()
        keys = tuple(snap.actions)
        mounted = bool(self.screen_stack) and self.dashboard.is_mounted
        if mounted and (previous is None or keys != tuple(previous.actions)):
            # Only when a key's state changed: the footer rebuilds itself on every refresh.
            self.dashboard.refresh_bindings()

    def render_view(self) -> None:
        """Re-render the dashboard from the last snapshot and the current server time."""
        if not self.screen_stack or not self.dashboard.is_mounted:
            return
        started = self._fetch_started
        running = time.monotonic() - started if started is not None else 0.0
        try:
            self.dashboard.show(
                self.snapshot,
                self.now(),
                stale_error=self.stale_error,
                sandbox=self.sandbox,
                target_name=self.target.name,
                refreshing_for=running if running >= SLOW_REFRESH else None,
            )
        except Exception:  # a rendering bug must not take the dashboard down
            log.exception("render failed")

    # ----- other screens -----

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.back
        return super().check_action(action, parameters)

    def action_back(self) -> None:
        self.exit("back")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            back = (("escape", "back to the overview, on this group"),) if self.back else ()
            self.push_screen(HelpScreen(help_text(KEYS + back) if back else None))

    def open_picker(self) -> None:
        if self.observer is None:
            self.notify("no AWS connection", severity="warning")
            return
        observer = self.observer
        self.push_screen(
            PickerScreen(lambda: observer.recent_deployments(20), self.now), self._picked
        )

    def _picked(self, deployment_id: str | None) -> None:
        if deployment_id == FOLLOW:
            self.follow_group()
        elif deployment_id:
            self.deployment_id = deployment_id
            self.notify(f'pinned {deployment_id}: g, then "follow the group", to follow again')
            self.refresh_now()

    def follow_group(self) -> None:
        """Unpin: show the group's current deployment, and move with it."""
        was, self.deployment_id = self.deployment_id, None
        if was is not None:
            self.notify(f"following the group (was pinned on {was})")
        self.refresh_now()

    # ----- done means done -----

    def watch_effect(self, action: str, deployment_id: str | None) -> None:
        """After `action` was accepted: say when its effect is seen (backend core.effects)."""
        if action in WATCHED and deployment_id:
            dep = self.snapshot.deployment if self.snapshot else None
            self.watches.append([action, deployment_id, "sent", dep.id if dep else ""])

    @property
    def effect_line(self) -> str | None:
        """What the banner says about actions whose effect is not seen yet."""
        if not self.watches:
            return None
        return "; ".join(f"{w[0]} sent, not seen yet: {w[2]}" for w in self.watches)

    def _watch(self, snap: Snapshot) -> None:
        for w in list(self.watches):
            action, acted, _, shown = w
            got = effect(action, acted, snap)
            dep = snap.deployment
            if got.watch == acted and dep is not None and dep.id != shown:
                # The group moved on to a third deployment: this screen cannot see the effect.
                self.watches.remove(w)
                self.notify(
                    f"{acted} is no longer shown (now {dep.id}); `cutover status --deployment"
                    f" {acted}` says how it ended",
                    title=f"{action}: no longer followed",
                    severity="warning",
                    timeout=20,
                )
                continue
            if got.watch and self.deployment_id == acted:
                # Pinned on what was stopped: CodeDeploy's rollback is the group's current
                # deployment now, and its outcome the one that counts.
                self.deployment_id = None
                self.refresh_now()
            if not got.done:
                w[2] = got.words
                continue
            self.watches.remove(w)
            ok = got.state == "observed"
            self.notify(
                got.words,
                title=f"{action}: {'done, seen' if ok else 'FAILED'}",
                severity="information" if ok else "error",
                timeout=20 if ok else 60,
            )

    def open_instance(self, instance_id: str) -> None:
        snap = self.snapshot
        if snap is None:
            return
        for role, env in (
            ("original", snap.original),
            ("replacement", snap.replacement),
            ("fleet", snap.fleet),
        ):
            for inst in env.instances if env else ():
                if inst.id == instance_id:
                    self.push_screen(InstanceScreen(inst, role, self.now()))
                    return
