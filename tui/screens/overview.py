"""The overview screen: one line per deployment group, in the backend's attention order.

A DataTable (the cursor, scrolling and Enter for free) updated in place: each refresh (every
second, for the countdowns) replaces only the cells whose text changed, and adds or removes
rows at the end only when the number of groups shown changes (the inventory, the filter).
Row i always shows the i-th group in attention order, so a re-sort is a few cells rewritten,
not rows moved; the cursor follows its group, and the table scrolls only when that group
leaves the screen. The columns are laid out again (a rebuild) only when the width or the
widest text of a column changes. Under the table, the cursor's row in full (`detail`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cutover.backend.model import OverviewRow
from cutover.tui.screens.overview_cells import HEADERS, cells, detail, group_name, layout
from cutover.tui.widgets.common import TextStatic
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input
from textual.widgets.data_table import RowKey

__all__ = ["OverviewScreen", "group_name"]

Line = tuple[tuple[str, str], ...]  # per column shown: (text, style)


class OverviewScreen(Screen[None]):
    """Every group; Enter opens one, / filters by name."""

    DEFAULT_CSS = """
    OverviewScreen #overview-banner { height: auto; padding: 0 1; }
    OverviewScreen #filter { height: 3; display: none; }
    OverviewScreen #overview-table { height: 1fr; }
    OverviewScreen #overview-detail { height: auto; max-height: 4; padding: 0 1; }
    """
    AUTO_FOCUS = "#overview-table"
    BINDINGS = [
        Binding("enter", "open", "Open", id="overview.open"),
        Binding("slash", "filter", "Filter", id="overview.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="overview.clear"),
    ]

    def __init__(self, select: tuple[str, str, str] | None = None) -> None:
        super().__init__()
        self.rows: list[OverviewRow] = []
        self.shown: list[OverviewRow] = []
        self.filter = ""
        self.select = select  # the group the cursor goes to at the next redraw
        self._layout: list[tuple[str, int]] = []
        self._drawn: list[Line] = []  # what each table row shows, row i = shown[i]
        self._slots: list[RowKey] = []
        self._now: datetime | None = None

    def compose(self) -> ComposeResult:
        yield TextStatic(id="overview-banner")
        yield Input(placeholder="filter by name (Enter keeps it, Escape clears)", id="filter")
        yield DataTable(id="overview-table", cursor_type="row", zebra_stripes=False)
        yield TextStatic(id="overview-detail")
        yield Footer()

    def on_mount(self) -> None:
        # The rows the app already holds (coming back from a group) show at once.
        self.call_after_refresh(self.app.render_view)  # type: ignore[attr-defined]

    @property
    def table(self) -> DataTable:
        return self.query_one("#overview-table", DataTable)

    def show(
        self, rows: Sequence[OverviewRow], now: datetime, banner: Text | str, rebuild: bool = False
    ) -> None:
        """Show `rows` (attention order) at `now`; the cursor stays on its group. `rebuild`
        draws every row anew (what a refresh cost before the table was updated in place)."""
        self.query_one("#overview-banner", TextStatic).set_text(banner)
        table = self.table
        if self.shown and table.row_count and self.select is None:
            self.select = self.shown[min(table.cursor_row, len(self.shown) - 1)].key
        self.rows = list(rows)
        self._now = now
        needle = self.filter.lower()
        self.shown = [r for r in self.rows if needle in group_name(r).lower()]
        texts = [cells(r, now) for r in self.shown]
        many = len({r.source for r in self.rows}) > 1
        columns = layout(texts, max(20, self.size.width - 2), many)
        lines = [
            tuple((text[k], self._style(row)) for k, _ in columns)
            for row, text in zip(self.shown, texts, strict=True)
        ]
        if rebuild or columns != self._layout:
            self._rebuild(columns, lines)
        else:
            self._patch(lines)
        keys = [r.key for r in self.shown]
        if self.select in keys and table.cursor_row != keys.index(self.select):
            table.move_cursor(row=keys.index(self.select), animate=False)
        if self.rows:  # before the first rows, the group to go to is kept for them
            self.select = None
        self._show_detail()

    @staticmethod
    def _style(row: OverviewRow) -> str:
        if row.stale:
            return "dim"
        return "bold red" if row.attention and row.attention.rank == 0 else ""

    @staticmethod
    def _cell(text: str, style: str) -> Text:
        return Text(text, style=style, no_wrap=True, overflow="ellipsis")

    def _rebuild(self, columns: list[tuple[str, int]], lines: list[Line]) -> None:
        table = self.table
        table.clear(columns=True)
        for key, width in columns:
            table.add_column(HEADERS[key], key=key, width=width)
        self._layout = columns
        self._slots = [table.add_row(*(self._cell(*c) for c in line)) for line in lines]
        self._drawn = list(lines)

    def _patch(self, lines: list[Line]) -> None:
        """Rewrite the cells that changed; add or remove rows at the end."""
        table = self.table
        keys = [key for key, _ in self._layout]
        for i, (old, new) in enumerate(zip(self._drawn, lines, strict=False)):
            if old == new:
                continue
            for key, was, now in zip(keys, old, new, strict=True):
                if was != now:
                    table.update_cell(self._slots[i], key, self._cell(*now))
        for line in lines[len(self._drawn) :]:
            self._slots.append(table.add_row(*(self._cell(*c) for c in line)))
        while len(self._slots) > len(lines):
            table.remove_row(self._slots.pop())
        self._drawn = list(lines)

    def _show_detail(self) -> None:
        row = self.current()
        text = detail(row, self._now) if row is not None and self._now is not None else ""
        self.query_one("#overview-detail", TextStatic).set_text(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def current(self) -> OverviewRow | None:
        table = self.table
        if not self.shown or not table.row_count:
            return None
        return self.shown[min(table.cursor_row, len(self.shown) - 1)]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.current()
        if row is not None and row.application:
            self.app.open_group(row)  # type: ignore[attr-defined]

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter = event.value
        self.app.render_view()  # type: ignore[attr-defined]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.filter = ""
        self.table.focus()
        self.app.render_view()  # type: ignore[attr-defined]
