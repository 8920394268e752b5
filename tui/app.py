"""CutoverApp: the dashboard, its polling worker and the action flow.

Every AWS call runs in a thread worker; the event loop only renders. One named worker polls
and re-arms itself with `set_timer` when it finishes, so a slow AWS never piles calls up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from cutover.backend.actions import Controller, Outcome, Plan
from cutover.backend.aws.errors import THROTTLING_CODES
from cutover.backend.config import TargetConfig
from cutover.backend.model import Event, Snapshot
from cutover.backend.observe import ObserveError, Observer, diff
from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.dashboard import DashboardScreen
from cutover.tui.screens.help import HelpScreen
from cutover.tui.screens.instance import InstanceScreen
from cutover.tui.screens.picker import PickerScreen
from cutover.tui.screens.revision import RevisionScreen
from cutover.tui.screens.shift import ShiftScreen
from cutover.tui.widgets.timeline import KEEP as TIMELINE_KEEP
from textual import on
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.timer import Timer

log = logging.getLogger("cutover.tui")

MAX_BACKOFF = 30.0
# A refresh running longer than this (real seconds) is said to be running, in the header.
SLOW_REFRESH = 4.0
# The deployment under supervision is gone (an endpoint reset, a sandbox restarted).
GONE_CODES = ("DeploymentDoesNotExistException", "InvalidDeploymentIdException")

PALETTE: tuple[tuple[str, str, str], ...] = (
    ("approve", "Approve reroute", "ContinueDeployment READY_WAIT (r)"),
    ("terminate-original", "Terminate original now", "ends the termination wait (t)"),
    ("rollback", "Stop and roll back", "StopDeployment with auto rollback (b)"),
    ("stop", "Stop deployment", "StopDeployment, no rollback (s)"),
    ("deploy", "New deployment", "CreateDeployment (d)"),
    ("shift", "Reroute by hand", "listener weights or move an environment (m)"),
    ("repair", "Repair leftovers", "in-place: Standby, out of the load balancer, MinSize (f)"),
)


class CutoverCommands(Provider):
    """Every action in the command palette; read-only mode leaves only the harmless ones."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        app = self.app
        assert isinstance(app, CutoverApp)
        if not app.read_only:
            for name, title, text in PALETTE:
                yield title, partial(app.request_action, name), text
        yield "Pick a deployment", app.open_picker, "recent deployments of the group (g)"
        yield "Refresh now", app.refresh_now, "poll AWS now"
        yield "Help", app.action_help, "keys (?)"

    async def discover(self) -> Hits:
        for title, callback, text in self._commands():
            yield DiscoveryHit(title, callback, help=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=text)


class CutoverApp(App[None]):
    """The dashboard for one target.

    `observer`/`controller` may be None for tests that `feed()` snapshots by hand; `now`
    replaces the server clock (frozen in snapshot tests); `poll=False` starts no worker.
    """

    CSS_PATH = "app.tcss"
    TITLE = "Cutover"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]
    COMMANDS = App.COMMANDS | {CutoverCommands}

    @dataclass
    class SnapshotReady(Message):
        """The polling worker read a new snapshot."""

        snapshot: Snapshot

    @dataclass
    class RefreshFailed(Message):
        """The polling worker could not read a snapshot; the last one stays, marked stale."""

        error: str
        code: str | None

    @dataclass
    class ActionDone(Message):
        """A confirmed (or refused) plan went through `Controller.execute`."""

        outcome: Outcome

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
    ) -> None:
        super().__init__()
        self.target = target
        self.observer = observer
        self.controller = controller
        self.sandbox = sandbox
        self.read_only = target.read_only if read_only is None else read_only
        if now is None and observer is not None:
            now = observer.session.clock.now
        self._now = now or (lambda: datetime.now().astimezone())
        self.polling = poll and observer is not None
        self.deployment_id = deployment_id
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
        """The server's time (or the injected clock)."""
        return self._now()

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

    # ----- polling -----

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        # Textual timers cannot take 0 seconds.
        self._timer = self.set_timer(max(delay, 0.01), self._poll_tick, name="poll")

    def _poll_tick(self) -> None:
        self._timer = None
        if self._fetching or not self.screen_stack:
            return  # busy, or shutting down
        if isinstance(self.screen, ModalScreen):
            # Nobody is looking at the dashboard, and the plan on the modal is what counts.
            self._arm(self.interval)
            return
        self._fetching = True
        self._fetch_started = time.monotonic()
        self.run_worker(self._fetch, thread=True, name="poll", group="poll", exit_on_error=False)

    def _fetch(self) -> None:
        """Worker thread: one snapshot, posted back as a message."""
        assert self.observer is not None
        try:
            snap = self.observer.snapshot(deployment_id=self.deployment_id, previous=self.snapshot)
            if self.controller is not None:
                # Actions sent from here whose outcome nobody recorded: read back and shown.
                snap = self.controller.settle(snap)
        except ObserveError as exc:
            self.post_message(self.RefreshFailed(str(exc), exc.aws_code))
        except Exception as exc:  # never crash the app: log it, show it, keep polling
            log.exception("snapshot failed")
            self.post_message(self.RefreshFailed(f"unexpected error: {exc}", None))
        else:
            self.post_message(self.SnapshotReady(snap))

    def _fetched(self, throttled: bool) -> None:
        self._fetching = False
        self._fetch_started = None
        if throttled:
            self.interval = min(MAX_BACKOFF, self.interval * 2)
        else:
            self.interval = self.base_interval
        if self.polling:
            self._arm(0 if self._again else self.interval)
        self._again = False

    def refresh_now(self) -> None:
        """Poll at once (or right after the poll in flight)."""
        if not self.polling:
            return
        if self._fetching:
            self._again = True
        else:
            self._arm(0)

    @on(SnapshotReady)
    def _snapshot_ready(self, message: SnapshotReady) -> None:
        self.feed(message.snapshot)
        self._fetched(False)

    @on(RefreshFailed)
    def _refresh_failed(self, message: RefreshFailed) -> None:
        if message.error != self.stale_error:
            self.notify(message.error, title="Refresh failed", severity="error", timeout=6)
        if message.code in GONE_CODES and self.deployment_id is not None:
            # Polling a deployment that no longer exists would stay stale forever: say so,
            # and show what the group holds now.
            gone, self.deployment_id = self.deployment_id, None
            self.notify(
                f"deployment {gone} no longer exists (was the endpoint reset?); showing the"
                " group's latest deployment",
                title="Deployment gone",
                severity="warning",
                timeout=15,
            )
            self._again = True
        self.stale_error = message.error
        self.render_view()
        self._fetched(message.code in THROTTLING_CODES)

    def feed(self, snap: Snapshot) -> None:
        """Show a snapshot (the poller's, or a test's): timeline, bell, view, key states."""
        if not self.screen_stack:
            return  # a late message while the app shuts down
        previous = self.snapshot
        if previous is not None:
            same = (previous.deployment and previous.deployment.id) == (
                snap.deployment and snap.deployment.id
            )
            try:
                events = diff(previous, snap) if same else []
            except Exception:  # a timeline glitch must not cost the view
                log.exception("diff failed")
                events = []
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
        dep = snap.deployment
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

    # ----- actions -----

    def request_action(self, action: str) -> None:
        """A key or a command: check, ask what is needed, plan, confirm, execute."""
        snap = self.snapshot
        if self.read_only or self.controller is None:
            self.notify("read-only: nothing can be changed from here", severity="warning")
            return
        if snap is None:
            self.notify("no data yet; wait for the first refresh", severity="warning")
            return
        check = snap.action(action)
        if not check.passed:
            self.notify(check.reason, title=f"{action}: not now", severity="warning")
            return
        if action == "deploy":
            self.push_screen(
                RevisionScreen(snap.target_revision),
                lambda revision: self._plan(action, revision=revision) if revision else None,
            )
        elif action == "shift":
            weighted = any(len(lw.weights) >= 2 for lw in snap.listeners)
            self.push_screen(ShiftScreen(weighted), self._shift_chosen)
        else:
            self._plan(action)

    def _shift_chosen(self, choice: tuple[int | None, str | None] | None) -> None:
        if choice is not None:
            percent, move = choice
            self._plan("shift", replacement_percent=percent, move=move)

    def _plan(self, action: str, **kwargs: Any) -> None:
        """Plan from the snapshot on screen. Planning is pure and instant, except the way back
        from a finished deployment, which reads the group's history: that one is planned off
        the event loop, so keys keep answering while AWS does."""
        assert self.controller is not None and self.snapshot is not None
        controller, snap = self.controller, self.snapshot
        dep = snap.deployment
        if not (action == "rollback" and dep is not None and not dep.active):
            try:
                plan = controller.plan(action, snap, **kwargs)
            except Exception as exc:
                log.exception("plan failed")
                self.notify(f"could not plan {action}: {exc}", severity="error")
                return
            self._planned(plan)
            return

        def work() -> None:
            try:
                plan = controller.plan(action, snap, **kwargs)
            except Exception as exc:
                log.exception("plan failed")
                self.call_from_thread(
                    self.notify, f"could not plan {action}: {exc}", severity="error"
                )
                return
            self.call_from_thread(self._planned, plan)

        self.run_worker(work, thread=True, name=f"plan:{action}", exit_on_error=False)

    def _planned(self, plan: Plan) -> None:
        if plan.refused is not None:
            self.notify(plan.refused, title=f"{plan.action} refused", severity="error", timeout=8)
            # execute() sends nothing for a refused plan but keeps the audit record.
            self._shown_refusals.add(plan.id)
            self._run_execute(plan)
            return
        self.push_screen(ConfirmScreen(plan), partial(self._confirmed, plan))

    def _confirmed(self, plan: Plan, ok: bool | None) -> None:
        if not ok:
            self.notify("cancelled; nothing was sent", severity="information")
            self.run_worker(
                partial(self._refuse, plan), thread=True, name="audit", exit_on_error=False
            )
            return
        self.notify(f"sending {plan.action}…", timeout=2)
        self._run_execute(plan)

    def _refuse(self, plan: Plan) -> None:
        assert self.controller is not None
        try:
            self.controller.refuse(plan, "cancelled at the confirmation screen")
        except Exception:
            log.exception("audit of a cancelled plan failed")

    def _run_execute(self, plan: Plan) -> None:
        self.run_worker(
            partial(self._execute, plan),
            thread=True,
            name=f"action:{plan.action}",
            group="action",
            exit_on_error=False,
        )

    def _execute(self, plan: Plan) -> None:
        """Worker thread: the one call, re-checked against a fresh snapshot, audited."""
        assert self.controller is not None and self.observer is not None
        observer, previous = self.observer, self.snapshot

        def fresh() -> Snapshot:
            return observer.snapshot(deployment_id=plan.deployment_id, previous=previous)

        try:
            outcome = self.controller.execute(plan, fresh)
        except Exception as exc:
            # execute() records its intent before sending and turns every AWS answer into an
            # Outcome: reaching here means a bug, and what was sent is in the audit log.
            log.exception("execute failed")
            outcome = Outcome(
                plan,
                False,
                f"unexpected error ({exc}); the audit log says whether anything was sent,"
                " and the next refresh reads the state again",
                error_code="Internal",
                state="unknown",
            )
        self.post_message(self.ActionDone(outcome))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        outcome = message.outcome
        if outcome.plan.id in self._shown_refusals:
            self._shown_refusals.discard(outcome.plan.id)
            return  # a refusal already shown when it was planned
        ids = f" (request {', '.join(outcome.request_ids)})" if outcome.request_ids else ""
        code = f" [{outcome.error_code}]" if outcome.error_code and not outcome.ok else ""
        verdict = {
            "done": "done",
            "not-done": "not done",
            "failed": "refused by AWS",
            "unknown": "OUTCOME UNKNOWN",
        }.get(outcome.state, "not sent")
        self.notify(
            f"{outcome.message}{code}{ids}",
            title=f"{outcome.plan.action}: {verdict}",
            severity="information" if outcome.ok else "error",
            timeout=30 if outcome.state == "unknown" else 10,
        )
        if outcome.audit_error:
            self.notify(outcome.audit_error, title="audit log", severity="error", timeout=30)
        new_id = outcome.result.get("deploymentId") if outcome.ok else None
        if new_id:
            self.deployment_id = new_id  # supervise what we just started
        self.refresh_now()

    # ----- other screens -----

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def open_picker(self) -> None:
        if self.observer is None:
            self.notify("no AWS connection", severity="warning")
            return
        observer = self.observer
        self.push_screen(
            PickerScreen(lambda: observer.recent_deployments(20), self.now), self._picked
        )

    def _picked(self, deployment_id: str | None) -> None:
        if deployment_id:
            self.deployment_id = deployment_id
            self.notify(f"supervising {deployment_id}")
            self.refresh_now()

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
