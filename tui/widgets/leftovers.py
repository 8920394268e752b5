"""In-place leftovers: what an interrupted deployment or its hooks left out of shape."""

from __future__ import annotations

from cutover.backend.model import Leftover, Snapshot
from cutover.tui.widgets.common import TextStatic
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

COLUMNS = ("kind", "resource", "detail")
_STYLE = {
    "standby": "yellow",
    "out-of-service": "bold red",
    "min-size": "yellow",
    "suspended": "yellow",
}


def row_key(lo: Leftover) -> str:
    """Stable across snapshots while the leftover is the same (not its wording)."""
    return "|".join(str(part) for part in lo.key)


class LeftoversPanel(Vertical):
    """One row per leftover, updated by key; a summary line says "No leftovers" or why the
    check waits (a deployment running) and which key repairs."""

    DEFAULT_CSS = """
    LeftoversPanel { border: round $warning; height: auto; max-height: 10; }
    LeftoversPanel > .leftovers-summary { height: 1; padding: 0 1; }
    LeftoversPanel DataTable { height: auto; max-height: 7; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Leftovers"
        self._shown: dict[str, Leftover] = {}

    def compose(self) -> ComposeResult:
        yield TextStatic(classes="leftovers-summary")
        table: DataTable[Text | str] = DataTable(cursor_type="row", show_header=False)
        for name in COLUMNS:
            table.add_column(name, key=name)
        yield table

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def show(self, snap: Snapshot | None) -> None:
        summary = self.query_one(".leftovers-summary", TextStatic)
        found = snap.leftovers if snap is not None else None
        if snap is None:
            text = Text("not checked yet", style="dim")
        elif found is None:
            text = Text(snap.leftovers_note or "not checked", style="dim")
        elif not found:
            text = Text("No leftovers", style="green")
        else:
            text = Text(f"{len(found)} leftover(s)", style="bold yellow")
            text.append("  f repairs them (shows the plan first)", style="dim")
        wanted = {row_key(lo): lo for lo in found or ()}
        table = self.table
        table.display = bool(wanted)
        # No rows: one line, without the box (the app's stylesheet), so it names itself.
        self.set_class(not wanted, "-empty")
        summary.set_text(Text.assemble(("Leftovers: ", "bold"), text) if not wanted else text)
        with self.app.batch_update():
            for key in list(table.rows):
                if key.value not in wanted:
                    table.remove_row(key)
                    self._shown.pop(key.value or "", None)
            for key, lo in wanted.items():
                if self._shown.get(key) == lo and key in table.rows:
                    continue
                self._shown[key] = lo
                cells = (
                    Text(lo.kind, style=_STYLE.get(lo.kind, "")),
                    Text(lo.resource),
                    Text(lo.detail),
                )
                if key in table.rows:
                    for col, value in zip(COLUMNS, cells, strict=True):
                        table.update_cell(key, col, value)
                else:
                    table.add_row(*cells, key=key)
