"""The dashboard's polling: one named worker reads a snapshot and re-arms itself.

Every AWS call runs in a thread worker; the event loop only renders. The worker re-arms with
`set_timer` when it finishes, so a slow AWS never piles calls up; throttling doubles the
interval up to MAX_BACKOFF. Polling goes on while a dialog is open: the dashboard behind it
stays current, and a confirmation holds its plan against each new snapshot.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from cutover.backend.core.origin import started_by
from cutover.backend.model import Event, Snapshot
from cutover.backend.observe import ObserveError, diff
from textual.message import Message

log = logging.getLogger("cutover.tui")

MAX_BACKOFF = 30.0


def timeline_events(previous: Snapshot | None, snap: Snapshot) -> list[Event]:
    """What the timeline gains when `snap` follows `previous` (nothing across deployments:
    a new deployment starts its own story)."""
    if previous is None:
        return []
    if (previous.deployment and previous.deployment.id) != (snap.deployment and snap.deployment.id):
        return []
    try:
        return diff(previous, snap)
    except Exception:  # a timeline glitch must not cost the view
        log.exception("diff failed")
        return []


@dataclass
class SnapshotReady(Message):
    """The polling worker read a new snapshot."""

    snapshot: Snapshot
    # The timeline's events since `since`, worked out in the worker: at a thousand instances
    # per fleet the comparison costs more than drawing the screen, and belongs off the loop.
    events: list[Event] | None = None
    since: Snapshot | None = None
    # Following the group, it moved to another deployment: who or what started that one.
    origin: str | None = None


@dataclass
class RefreshFailed(Message):
    """The polling worker could not read a snapshot; the last one stays, marked stale."""

    error: str
    throttled: bool = False  # AWS refused for the request rate: poll less often
    gone: bool = False  # the deployment under supervision no longer exists


class Polling:
    """The polling half of CutoverApp (a mixin: it uses the app's observer, controller,
    timers and workers, and hands each snapshot to `feed`)."""

    def _arm(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        # Textual timers cannot take 0 seconds.
        self._timer = self.set_timer(max(delay, 0.01), self._poll_tick, name="poll")

    def _poll_tick(self) -> None:
        self._timer = None
        if self._fetching or not self.screen_stack:
            return  # busy, or shutting down
        self._fetching = True
        self._fetch_started = time.monotonic()
        self.run_worker(self._fetch, thread=True, name="poll", group="poll", exit_on_error=False)

    def _fetch(self) -> None:
        """Worker thread: one snapshot, posted back as a message."""
        assert self.observer is not None
        try:
            previous = self.snapshot
            snap = self.observer.snapshot(deployment_id=self.deployment_id, previous=previous)
            if self.controller is not None:
                # Actions sent from here whose outcome nobody recorded: read back and shown.
                snap = self.controller.settle(snap)
            events = timeline_events(previous, snap)
            origin = self._origin(previous, snap)
        except ObserveError as exc:
            self.post_message(RefreshFailed(str(exc), exc.throttled, exc.gone))
        except Exception as exc:  # never crash the app: log it, show it, keep polling
            log.exception("snapshot failed")
            self.post_message(RefreshFailed(f"unexpected error: {exc}"))
        else:
            self.post_message(SnapshotReady(snap, events, previous, origin))

    def _origin(self, previous: Snapshot | None, snap: Snapshot) -> str | None:
        """Worker thread: when the group's current deployment is another one than on screen,
        who or what started it (CodeDeploy's creator; the audit log where it was us)."""
        old = previous.deployment if previous else None
        dep = snap.deployment
        if old is None or dep is None or old.id == dep.id:
            return None
        records = self.controller.audit.records() if self.controller is not None else ()
        return started_by(dep.id, dep.creator, dep.rollback_of, records)

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

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        # Another snapshot shown meanwhile (a test's) means the events are against the wrong one.
        fresh = message.since is self.snapshot
        self.feed(message.snapshot, message.events if fresh else None, origin=message.origin)
        self.tell_dialogs(message.snapshot)
        self._fetched(False)

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        if message.error != self.stale_error:
            self.notify(message.error, title="Refresh failed", severity="error", timeout=6)
        if message.gone and self.deployment_id is not None:
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
        self._fetched(message.throttled)
