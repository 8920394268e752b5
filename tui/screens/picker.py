"""The deployment picker: recent deployments of the group; choosing one pins it, and the first
row goes back to following the group (its current deployment, whoever starts the next)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cutover.backend.model import DeploymentSummary
from cutover.backend.present.status_text import short_revision
from cutover.tui.widgets.common import ago
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


class PickerScreen(ModalScreen[str | None]):
    """Loads the list in a thread worker (AWS may be slow); dismisses with the chosen id."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical {
        width: 110; height: 80%; border: thick $primary; padding: 0 1; background: $surface;
    }
    PickerScreen DataTable { height: 1fr; }
    """

    def __init__(
        self, load: Callable[[], list[DeploymentSummary]], now: Callable[[], datetime]
    ) -> None:
        super().__init__()
        self._load = load
        self._now = now

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Recent deployments (Enter pins one or follows the group; Escape cancels): loading…"
            )
            table: DataTable[str] = DataTable(cursor_type="row")
            table.add_columns("deployment", "status", "revision", "creator", "created", "ended")
            yield table

    def on_mount(self) -> None:
        self._fetch()

    @work(thread=True, exit_on_error=False, name="picker")
    def _fetch(self) -> None:
        try:
            rows = self._load()
        except Exception as exc:  # shown, never raised: the dashboard must stay up
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._fill, rows)

    def _failed(self, error: str) -> None:
        self.query_one(Static).update(Text(f"Could not list deployments: {error}"))

    def _fill(self, rows: list[DeploymentSummary]) -> None:
        now = self._now()
        self.query_one(Static).update(
            "Recent deployments (Enter pins one, or follows the group; Escape cancels)"
        )
        table = self.query_one(DataTable)
        follow = ("follow the group", "its current deployment, whoever starts the next one")
        table.add_row(Text(follow[0], style="bold"), Text(follow[1]), "", "", "", "", key="follow")
        for d in rows:
            status = d.status + (f" ({d.error_code})" if d.error_code else "")
            cells = (
                d.id,
                status,
                short_revision(d.revision),
                (d.creator or "-"),
                ago(d.create_time, now),
                ago(d.complete_time, now),
            )
            table.add_row(*(Text(c) for c in cells), key=d.id)
        table.focus()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
