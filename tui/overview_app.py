"""OverviewApp: every deployment group of every source, most urgent first.

Enter ends this app with the chosen row as its return value; the command line then runs the
group's dashboard (CutoverApp, built around one target and its state: its timeline, watched
actions, bell) and, when that one ends with Escape, this app again with the cursor on the
same group. Two apps one after the other, not a CutoverApp that switches targets: the
dashboard keeps every guarantee it has for one group, and none of its state can leak from one
group to the next.

Polling runs `Overview.rows()` in a thread worker that re-arms itself when done, as the
dashboard's does: the event loop only renders. A source's error shows on its rows (stale).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from cutover.backend.model import OverviewRow
from cutover.tui.screens.help import HelpScreen, help_text
from cutover.tui.screens.overview import OverviewScreen, group_name
from cutover.tui.widgets.common import at_rate, countdown
from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

log = logging.getLogger("cutover.tui")

KEYS = (
    ("enter", "open the group's dashboard (escape there comes back here, on the same group)"),
    ("/", "filter the groups by name (escape clears the filter)"),
    ("r", "list the groups again now (new groups, the last hour's failures)"),
    ("?", "this help"),
    ("q", "quit"),
)
INTRO = (
    "Every deployment group of every source, most urgent first: the reason is in words, with"
    " the countdown of what a group waits for. The bell rings once when a group starts waiting"
    " for approval."
)
OUTRO = """\
Ages and countdowns are real time (a sandbox's clock runs fast). A source that cannot be read
keeps its last rows, marked stale with the reason. Escape closes this screen."""


class RowsSource(Protocol):
    def rows(self) -> list[OverviewRow]: ...
    def refresh_inventory(self) -> None: ...


@dataclass
class RowsReady(Message):
    rows: list[OverviewRow]
    error: str | None = None


def newly_waiting(rows: Sequence[OverviewRow], rang: set[str]) -> list[OverviewRow]:
    """The rows whose deployment started waiting for the reroute approval since `rang` (the
    deployments already rung for) was last updated; adds them to it."""
    out = []
    for r in rows:
        d = r.deployment
        if d is None or d.waiting_for != "reroute-approval" or d.status != "Ready":
            continue
        if d.id not in rang:
            rang.add(d.id)
            out.append(r)
    return out


def waiting_words(row: OverviewRow) -> str:
    d = row.deployment
    return f"{group_name(row)} is waiting for approval ({d.id if d else '?'})"


class OverviewApp(App[OverviewRow | None]):
    """The overview. `overview` may be None for tests that `feed()` rows; `now` replaces the
    clock (frozen in snapshot tests); `select` is the group the cursor starts on."""

    CSS_PATH = "app.tcss"
    TITLE = "Cutover: overview"
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="overview.help"),
        Binding("r", "inventory", "Relist", id="overview.inventory"),
        Binding("q", "quit", "Quit", id="overview.quit"),
    ]

    def __init__(
        self,
        overview: RowsSource | None = None,
        *,
        interval: float = 2.0,
        now: Callable[[], datetime] | None = None,
        select: tuple[str, str, str] | None = None,
        rows: Sequence[OverviewRow] = (),
        rang: set[str] | None = None,
    ) -> None:
        super().__init__()
        self.overview = overview
        self.interval = interval
        self._now = now
        self.rows: list[OverviewRow] = list(rows)
        self.select = select
        self.error: str | None = None
        self.rang = rang if rang is not None else set()  # deployments the bell rang for
        self.waiting_line: str | None = None
        self._read_at = time.monotonic()  # when `rows` were read (real time)
        self._fetching = False

    def get_default_screen(self) -> Screen[Any]:
        return OverviewScreen(select=self.select)

    @property
    def screen_overview(self) -> OverviewScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, OverviewScreen)
        return screen

    def on_mount(self) -> None:
        self.set_interval(1.0, self.render_view)
        self.render_view()
        if self.overview is not None:
            self._poll()

    def now(self) -> datetime:
        """The servers' time now, with its rate: the rows' server time plus the real seconds
        since they were read, times the sandbox's clock rate."""
        if self._now is not None:
            return at_rate(self._now(), self._rate())
        times = [r.server_time for r in self.rows if r.server_time is not None]
        if not times:
            return datetime.now().astimezone()
        rate = self._rate() or 1.0
        moment = max(times) + timedelta(seconds=(time.monotonic() - self._read_at) * rate)
        return at_rate(moment, rate)

    def _rate(self) -> float | None:
        rates = [r.sandbox_rate for r in self.rows if r.sandbox_rate]
        return max(rates) if rates else None

    # ----- polling -----

    def _poll(self) -> None:
        if self._fetching or not self.screen_stack:
            return
        self._fetching = True
        self.run_worker(self._fetch, thread=True, name="overview", exit_on_error=False)

    def _fetch(self) -> None:
        assert self.overview is not None
        try:
            self.post_message(RowsReady(self.overview.rows()))
        except Exception as exc:  # never crash the screen: keep the rows, say why
            log.exception("overview failed")
            self.post_message(RowsReady([], f"unexpected error: {exc}"))

    def on_rows_ready(self, message: RowsReady) -> None:
        self._fetching = False
        if message.error:
            self.error = message.error
        else:
            self.error = None
            self.feed(message.rows)
        self.set_timer(self.interval, self._poll)

    def feed(self, rows: Sequence[OverviewRow]) -> None:
        """Show rows (the poller's or a test's); ring once per deployment that starts waiting
        for approval."""
        self.rows = list(rows)
        self._read_at = time.monotonic()
        for r in newly_waiting(self.rows, self.rang):
            self.waiting_line = waiting_words(r)
            self.bell()
        self.render_view()

    def banner(self, now: datetime) -> Text:
        groups = [r for r in self.rows if r.application]
        sources = len({r.source for r in self.rows})
        text = Text(f"{len(groups)} deployment group(s) in {sources} source(s), most urgent first")
        rate = self._rate()
        if rate:
            text.append(f"  SANDBOX clock x{rate:g}, times in real time", style="bold yellow")
        if self.error:
            text.append(f"\nrefresh failed: {self.error}", style="bold red")
        # A source that cannot be read, said once above its rows (they are dimmed).
        stale = {r.source: r.stale for r in self.rows if r.stale}
        for r in self.rows:
            if not r.stale:
                stale.pop(r.source, None)
        for source, reason in stale.items():
            text.append(f"\nSTALE {source}: {reason}", style="bold red")
        waiting = [
            r
            for r in self.rows
            if r.deployment is not None
            and r.deployment.waiting_for == "reroute-approval"
            and r.deployment.status == "Ready"
        ]
        if waiting:
            first = waiting[0]
            left = countdown(first.deployment.deadline if first.deployment else None, now)
            more = f" (and {len(waiting) - 1} more)" if len(waiting) > 1 else ""
            text.append(
                f"\nWAITING FOR APPROVAL: {group_name(first)}{more}"
                + (f", {left}" if left else ""),
                style="bold reverse yellow",
            )
        return text

    def render_view(self) -> None:
        if not self.screen_stack or not self.screen_overview.is_mounted:
            return
        try:
            now = self.now()
            self.screen_overview.show(self.rows, now, self.banner(now))
        except Exception:  # a rendering bug must not take the overview down
            log.exception("overview render failed")

    # ----- keys -----

    def open_group(self, row: OverviewRow) -> None:
        self.exit(row)

    def action_inventory(self) -> None:
        if self.overview is not None:
            self.overview.refresh_inventory()
            self.notify("listing the groups again")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_text(KEYS, INTRO, OUTRO)))
