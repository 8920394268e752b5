"""A table of instances that draws only the rows on screen (Textual's Line API).

A refresh hands the table its rows (already built, and reused while an instance does not
change); the table sorts them, remembers the widest cell per column, and repaints only when
what is on screen changed. Drawing costs the rows visible, never the size of the fleet. The
cursor is kept by instance id across refreshes and re-sorts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cutover.tui.widgets.rows import Row, columns, drain_key, ordered, short_id, short_keep
from cutover.tui.widgets.table_layout import GAP, MARK, Layout, SharedIds, fit, fits
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip


class InstanceTable(ScrollView, can_focus=True):
    """Rows of instances keyed by id, trouble first (or by id); `enter` chooses the row."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-1000000000)", "First", show=False),
        Binding("end", "cursor(1000000000)", "Last", show=False),
        Binding("enter", "select", "Details", show=False),
        # A view key, not an action: every instance table on the screen follows it.
        Binding("o", "toggle_order", "Order", show=False, id="instances.order"),
    ]
    COMPONENT_CLASSES = {
        "instance-table--header",
        "instance-table--cursor",
        "instance-table--cursor-blurred",
        "instance-table--odd",
    }
    DEFAULT_CSS = """
    InstanceTable { overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; }
    InstanceTable > .instance-table--header { text-style: bold; color: $text-muted; }
    InstanceTable > .instance-table--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; text-style: bold; }
    InstanceTable > .instance-table--cursor-blurred { background: $boost; }
    InstanceTable > .instance-table--odd { background: $surface-lighten-1 10%; }
    """

    class Selected(Message):
        """Enter (or a click on the row under the cursor): that instance's details."""

        def __init__(self, table: InstanceTable, instance_id: str) -> None:
            super().__init__()
            self.table = table
            self.instance_id = instance_id

        @property
        def control(self) -> InstanceTable:
            return self.table

    class OrderChanged(Message):
        """The table's order changed: trouble first, or by id."""

        def __init__(self, by_id: bool) -> None:
            super().__init__()
            self.by_id = by_id

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.by_id = False
        self._rows: list[Row] = []
        self._columns = columns(False)
        self._index: dict[str, int] = {}
        self._keep = 6
        self._cursor = 0
        self._cursor_id: str | None = None
        self._marked = False  # some row is in flight: the id column has room for MARK
        self._layout_key: tuple[object, ...] = ()
        self._layout_where: tuple[object, ...] = ()
        self._version = 0  # counts set_rows: a layout is good for one version of the rows
        self._layout = Layout((), None)
        self._drawn_key: tuple[object, ...] = ()
        self._drawn: list[Row] = []  # the rows on screen when last painted
        self._shared: SharedIds | None = None

    def share_ids(self, shared: SharedIds) -> None:
        """Shorten ids with the other tables of `shared` (see SharedIds)."""
        self._shared = shared
        shared.tables.append(self)

    @property
    def own_keep(self) -> int:
        """Trailing characters that keep this table's ids apart."""
        return self._keep

    # ----- data -----

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Show these rows (any order); repaint only if what is on screen changed."""
        self._rows = ordered(rows, by_id=self.by_id)
        self._columns = columns(bool(self._rows) and self._rows[0].fleet)
        self._version += 1
        self._index = {r.id: i for i, r in enumerate(self._rows)}
        self._marked = any(r.in_flight for r in self._rows)
        self._keep = short_keep(self._index)
        height = len(self._rows) + 1
        if self.virtual_size.height != height:
            self.virtual_size = Size(0, height)  # first: scrolling to the cursor is bound by it
        self._place_cursor()
        self._repaint_if_changed()

    def set_now(self, now: datetime) -> None:
        """The clock moved, the rows did not: only countdowns on screen need new cells."""
        top = int(self.scroll_y)
        for i, row in enumerate(self._visible(), start=top):
            if drain_key(row.inst, now) != drain_key(row.inst, row.now):
                self._rows[i] = Row(row.inst, now, fleet=row.fleet, in_flight=row.in_flight)
        self._version += 1
        self._repaint_if_changed()

    def set_order(self, by_id: bool) -> None:
        """Trouble first (False) or by id (True); the cursor stays on its instance."""
        if by_id != self.by_id:
            self.by_id = by_id
            self.set_rows(self._rows)
            self.post_message(self.OrderChanged(by_id))

    def _place_cursor(self) -> None:
        """The cursor stays on its instance; if that one is gone, on the same line."""
        if self._cursor_id in self._index:
            self._cursor = self._index[self._cursor_id]
        elif self._rows:
            self._cursor = min(self._cursor, len(self._rows) - 1)
            self._cursor_id = self._rows[self._cursor].id
        else:
            self._cursor, self._cursor_id = 0, None
        self._scroll_to_cursor()

    # ----- what tests and the panel read (the DataTable names, where they mean the same) -----

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> dict[str, int]:
        """Instance id -> its line (0 = the first row under the header)."""
        return self._index

    @property
    def row_ids(self) -> list[str]:
        return [r.id for r in self._rows]

    @property
    def cursor_id(self) -> str | None:
        return self._cursor_id

    def get_row_index(self, instance_id: str) -> int:
        return self._index[instance_id]

    def get_row_at(self, index: int) -> list[str]:
        """Every cell of a row as plain text, whole (shown or not), in column order."""
        row = self._rows[index]
        return [MARK + row.id if row.in_flight else row.id, *(c.plain for c in row.cells)]

    def get_row(self, instance_id: str) -> list[str]:
        return self.get_row_at(self._index[instance_id])

    def move_cursor(self, *, row: int) -> None:
        if not self._rows:
            return
        self._cursor = max(0, min(row, len(self._rows) - 1))
        self._cursor_id = self._rows[self._cursor].id
        self._scroll_to_cursor()
        self._repaint_if_changed()

    def shown_text(self) -> list[str]:
        """The lines as drawn now (header first): what a person sees of this table."""
        return [self.render_line(y).text.rstrip() for y in range(self.size.height)]

    # ----- keys and mouse -----

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(row=self._cursor + delta)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 2))

    def action_select(self) -> None:
        if self._cursor_id is not None:
            self.post_message(self.Selected(self, self._cursor_id))

    def action_toggle_order(self) -> None:
        # One view for the screen: the Original and Replacement tables side by side must
        # not be in two orders.
        by_id = not self.by_id
        for table in self.screen.query(InstanceTable):
            table.set_order(by_id)

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_offset.y) + event.y - 1
        if event.y < 1 or index >= len(self._rows):
            return
        if index == self._cursor:
            self.action_select()
        else:
            self.move_cursor(row=index)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self._cursor < top:
            top = self._cursor
        elif self._cursor >= top + visible:
            top = self._cursor - visible + 1
        if top != int(self.scroll_y):
            self.set_scroll(None, top)

    # ----- drawing -----

    def _visible(self) -> list[Row]:
        top = int(self.scroll_y)
        return self._rows[top : top + max(0, self.size.height - 1)]

    def layout_now(self) -> Layout:
        """Columns sized to the rows on screen: the widest cell of each, the header's name
        at least. (Sizing to every row would build the cells of rows nobody sees.)"""
        width = self.scrollable_content_region.width
        where = (self._version, int(self.scroll_y), self.size.height, width)
        if where == self._layout_where:
            return self._layout
        self._layout_where = where
        visible = self._visible()
        natural = [len(c) for c in self._columns]
        for r in visible:
            natural[0] = max(natural[0], len(r.id) + (len(MARK) if r.in_flight else 0))
            for i, cell in enumerate(r.cells, start=1):
                natural[i] = max(natural[i], cell.cell_len)
        whole = fits(natural, width)
        keep, others_short = self._keep, False
        if self._shared is not None:
            keep, others_short = self._share(not whole)
        key = (tuple(natural), keep, self._marked, width, others_short)
        if key != self._layout_key:
            short = len(short_id("i-" + "0" * 17, keep)) + len(MARK) * self._marked
            widths = fit(natural, short, width, whole=whole and not others_short)
            self._layout_key = key
            self._layout = Layout(widths, None if widths[0] >= natural[0] else keep)
        return self._layout

    def _share(self, short: bool) -> tuple[int, bool]:
        """Tell the other tables whether this one cuts ids; the tail length and whether
        another one does."""
        assert self._shared is not None
        shared, me = self._shared, id(self)
        if short != (me in shared.short):
            if short:
                shared.short.add(me)
            else:
                shared.short.discard(me)
            for other in shared.tables:
                if other is not self:
                    other.relayout()
        return shared.keep, bool(shared.short - {me})

    def relayout(self) -> None:
        """Size the columns again at the next paint (another table changed its ids)."""
        self._layout_where = ()
        self.refresh()

    def _repaint_if_changed(self) -> None:
        """Compare the rows on screen with the ones drawn there: most refreshes change rows
        nobody sees, or nothing, and those cost no paint. A row that draws the same is kept
        (with its cells) in place of the new one."""
        top = int(self.scroll_y)
        visible = self._visible()
        changed = len(visible) != len(self._drawn)
        for i, (new, old) in enumerate(zip(visible, self._drawn, strict=False)):
            if new is old:
                continue
            if new.id == old.id and new.same_as(old):
                self._rows[top + i] = old
            else:
                changed = True
        self._drawn = self._visible()
        key = (self.layout_now(), self._cursor, top, self.has_focus)
        if changed or key != self._drawn_key:
            self._drawn_key = key
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = self.layout_now()
        if y == 0:
            style = base + self.get_component_rich_style("instance-table--header")
            cells = [Text(name) for name in self._columns]
            return self._strip(cells, layout, width, style)
        index = int(self.scroll_y) + y - 1
        if index >= len(self._rows):
            return Strip.blank(width, base)
        row = self._rows[index]
        style = base
        if index % 2:
            style += self.get_component_rich_style("instance-table--odd")
        over = None
        if index == self._cursor:
            name = "instance-table--cursor" if self.has_focus else "instance-table--cursor-blurred"
            over = self.get_component_rich_style(name)
            style += over
        iid = row.id if layout.keep is None else short_id(row.id, layout.keep)
        first = Text.assemble((MARK, "bold cyan"), (iid, "bold")) if row.in_flight else Text(iid)
        return self._strip([first, *row.cells], layout, width, style, over)

    def _strip(
        self,
        cells: list[Text],
        layout: Layout,
        width: int,
        style: Style,
        over: Style | None = None,
    ) -> Strip:
        """One line: the cells cut to their widths, the row's style under each cell's own,
        and the cursor's (`over`) above both so the cursor reads the same on every row."""
        line = Text(no_wrap=True, end="")
        for cell, w in zip(cells, layout.widths, strict=True):
            if not w:
                continue
            if line:
                line.append(" " * GAP)
            piece = cell.copy()
            piece.truncate(w, overflow="ellipsis", pad=True)
            line.append_text(piece)
        segments = []
        for text, seg_style, control in line.render(self.app.console):
            full = style + seg_style if seg_style else style
            segments.append(Segment(text, full + over if over else full, control))
        return Strip(segments).crop_extend(0, width, style)
