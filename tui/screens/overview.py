"""The overview screen: one line per deployment group, in the backend's attention order.

A DataTable, not the line-based instance table: the overview has one row per group (a dozen
to a few hundred), not per instance, so rebuilding its rows each second costs little, and the
DataTable brings the cursor, scrolling and Enter for free. Columns give way from the right
when the terminal is narrow; the reason and the group's name are never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cutover.backend.model import OverviewRow
from cutover.backend.present.overview import style_words
from cutover.tui.widgets.common import TextStatic, ago, countdown
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

# (column id, header); the first two are always shown, the others while they fit.
COLUMNS = (
    ("why", "attention"),
    ("group", "application/group"),
    ("stale", "stale"),
    ("where", "account/region"),
    ("traffic", "traffic o/r"),
    ("health", "healthy o/r"),
    ("alarms", "alarms"),
    ("status", "latest"),
    ("age", "started"),
    ("deployment", "deployment"),
    ("style", "style"),
)
GAP = 2  # DataTable's cell padding, both sides
MIN_SHOWN = 8  # a column cut narrower than this is left out


def group_name(row: OverviewRow) -> str:
    return f"{row.application}/{row.deployment_group}" if row.application else f"[{row.source}]"


def why(row: OverviewRow, now: datetime) -> str:
    """The rank and reason in words, with the wait's countdown in real time."""
    rank = row.attention.rank if row.attention else "-"
    reason = row.attention.reason if row.attention else "not ranked"
    d = row.deployment
    if d is not None and d.waiting_for and d.deadline is not None:
        reason += f", {countdown(d.deadline, now)}"
    return f"{rank} {reason}"


def cells(row: OverviewRow, now: datetime) -> dict[str, str]:
    d = row.deployment
    status = dep = age = ""
    if d is not None:
        phase = f" ({d.phase})" if d.phase != d.status.lower() else ""
        status = f"{d.status}{phase}"
        dep, age = d.id, ago(d.create_time, now)
    elif row.application:
        status = "none yet"
    t = row.traffic
    return {
        "why": why(row, now),
        "group": group_name(row),
        "where": f"{row.account or '?'} {row.region or '?'}",
        "status": status,
        "deployment": dep,
        "age": age,
        "traffic": f"{t.original_percent:.0f}/{t.replacement_percent:.0f}" if t else "",
        # o(riginal), r(eplacement), f(leet), as the traffic column's o/r
        "health": " ".join(f"{h.role[0]} {h.healthy}/{h.total}" for h in row.health),
        "alarms": ",".join(row.alarms),
        "style": style_words(row) if row.application else "",
        "stale": row.stale or "",
    }


def shown_columns(
    table: list[dict[str, str]], width: int, many_sources: bool
) -> list[tuple[str, int | None]]:
    """The columns that fit `width`, each with its width (None: as wide as its text):
    attention and group always, then each in order while it fits whole; the first that does
    not is cut to what is left when that is worth showing (an empty column is left out)."""
    out: list[tuple[str, int | None]] = []
    used = 0
    group = max([len(COLUMNS[1][1])] + [len(r["group"]) for r in table]) + GAP
    for key, head in COLUMNS:
        if key == "where" and not many_sources:
            continue
        natural = max([len(head)] + [len(r[key]) for r in table])
        if key == "why" and natural + GAP + group > width:
            # Too narrow for the reason and the name side by side: the reason wraps.
            out.append((key, max(MIN_SHOWN, width - group - GAP)))
            used += width - group
            continue
        if key not in ("why", "group"):
            if not any(r[key] for r in table):
                continue
            if used + natural + GAP > width:
                room = width - used - GAP
                if room >= MIN_SHOWN:
                    out.append((key, room))
                break
        out.append((key, None))
        used += natural + GAP
    return out


class OverviewScreen(Screen[None]):
    """Every group; Enter opens one, / filters by name."""

    DEFAULT_CSS = """
    OverviewScreen #overview-banner { height: auto; padding: 0 1; }
    OverviewScreen #filter { height: 3; display: none; }
    OverviewScreen #overview-table { height: 1fr; }
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
        self._columns: list[str] = []

    def compose(self) -> ComposeResult:
        yield TextStatic(id="overview-banner")
        yield Input(placeholder="filter by name (Enter keeps it, Escape clears)", id="filter")
        yield DataTable(id="overview-table", cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        # The rows the app already holds (coming back from a group) show at once.
        self.call_after_refresh(self.app.render_view)  # type: ignore[attr-defined]

    @property
    def table(self) -> DataTable:
        return self.query_one("#overview-table", DataTable)

    def show(self, rows: Sequence[OverviewRow], now: datetime, banner: Text | str) -> None:
        """Redraw from `rows` (attention order) at `now`; the cursor stays on its group."""
        self.query_one("#overview-banner", TextStatic).set_text(banner)
        table = self.table
        if self.shown and table.row_count and self.select is None:
            at = min(table.cursor_row, len(self.shown) - 1)
            self.select = self.shown[at].key
        self.rows = list(rows)
        needle = self.filter.lower()
        self.shown = [r for r in self.rows if needle in group_name(r).lower()]
        texts = [cells(r, now) for r in self.shown]
        many = len({r.source for r in self.rows}) > 1
        columns = shown_columns(texts, max(20, self.size.width - 2), many)
        if columns != self._columns:
            table.clear(columns=True)
            for key, width in columns:
                table.add_column(dict(COLUMNS)[key], key=key, width=width)
            self._columns = columns
        else:
            table.clear()
        why_width = dict(columns).get("why")
        for row, text in zip(self.shown, texts, strict=True):
            style = "bold red" if row.attention and row.attention.rank == 0 else ""
            height = -(-len(text["why"]) // why_width) if why_width else 1
            cut = [
                Text(text[k], style=style, no_wrap=k != "why", overflow="ellipsis")
                for k, _ in columns
            ]
            table.add_row(*cut, height=max(1, height))
        keys = [r.key for r in self.shown]
        if self.select in keys:
            table.move_cursor(row=keys.index(self.select), animate=False)
        if self.rows:  # before the first rows, the group to go to is kept for them
            self.select = None

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
