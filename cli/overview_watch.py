"""While a group's dashboard is open from the overview, the overview keeps an eye on the other
groups: every `every` seconds a thread reads the overview's rows (a tick costs what the active
deployments cost, so this stays light), and when another group starts waiting for the reroute
approval the dashboard rings its bell and says which group, with Escape back to the overview.

The deployments rung for are the overview's own set, so coming back does not ring again for
them; the open group's own wait is the dashboard's to ring for, and is marked rung here
without a word. The rows last read are handed back, so the overview shows them at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from cutover.backend.model import OverviewRow
from cutover.tui.overview_app import newly_waiting, waiting_words

log = logging.getLogger("cutover")
EVERY = 10.0  # seconds between two reads while a dashboard is open


class Rows(Protocol):
    def rows(self) -> list[OverviewRow]: ...


class OverviewWatch:
    def __init__(
        self,
        overview: Rows,
        rang: set[str],
        open_group: tuple[str, str, str],
        *,
        every: float = EVERY,
    ) -> None:
        self.overview = overview
        self.rang = rang
        self.open_group = open_group
        self.every = every
        self.rows: list[OverviewRow] | None = None  # the last read, for the overview
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, app: Any) -> None:
        """Watch for `app` (a running dashboard: `call_from_thread`, `bell`, `notify`)."""
        self._thread = threading.Thread(
            target=self._run, args=(app,), name="cutover-overview-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self, app: Any) -> None:
        while not self._stop.wait(self.every):
            try:
                rows = self.overview.rows()
            except Exception:  # the dashboard must not notice the overview failing
                log.exception("the overview's watch failed")
                continue
            self.rows = rows
            if not app.is_running:  # not yet (or no longer): ring at the next read
                continue
            mine = [r for r in rows if r.key == self.open_group]
            newly_waiting(mine, self.rang)  # the dashboard rings for its own group
            others = [r for r in rows if r.key != self.open_group]
            for row in newly_waiting(others, self.rang):
                if self._stop.is_set():
                    return
                try:
                    app.call_from_thread(_ring, app, waiting_words(row))
                except Exception:  # the dashboard has just closed
                    return


def _ring(app: Any, words: str) -> None:
    app.bell()
    app.notify(f"{words}: Escape goes back to the overview", severity="warning", timeout=60)
