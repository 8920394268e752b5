"""Events between snapshots (observe.diff), newest first, with relative times."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime

from cutover.backend.model import Event
from cutover.tui.widgets.common import TextStatic, ago
from cutover.tui.widgets.rows import short_id
from rich.text import Text

KEEP = 200
INDENT = 18  # the time (7), the kind (9) and their spaces: where an event's text starts
_ID = re.compile(r"\bi-[0-9a-f]{17}\b")
# Lines shown at most; the panel's height in the stylesheet leaves room for these.
SHOWN = 8


def middle_cut(text: str, width: int) -> str:
    """`text` in `width` cells, cut in the middle: an event says what at its start (the
    instance) and how it ended at its end (`-> healthy`), so both ends stay."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


def fold(text: str, width: int, lines: int = 2) -> list[str]:
    """`text` in at most `lines` lines of `width`: whole instance ids while they fit (the
    details screen and the audit name them whole), shortened as in the tables when not;
    wrapped at spaces; what is still too long cut in the middle of its last line."""
    if len(text) > width:
        text = _ID.sub(lambda m: short_id(m.group(0)), text)
    pieces = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)
    if len(pieces) > lines:
        rest = " ".join(pieces[lines - 1 :])
        pieces = [*pieces[: lines - 1], middle_cut(rest, width)]
    return pieces or [""]


def short_ago(text: str) -> str:
    """`2 seconds ago` as `2s ago`: the time column is read at a glance, and narrow."""
    for long, short in (
        ("a second", "1s"),
        ("a minute", "1m"),
        ("an hour", "1h"),
        (" seconds", "s"),
        (" minutes", "m"),
        (" hours", "h"),
        (" days", "d"),
        ("a day", "1d"),
    ):
        text = text.replace(long, short)
    return text


class Timeline(TextStatic):
    """The newest events that fit; times relative to the server clock."""

    DEFAULT_CSS = """
    Timeline { padding: 0 1; border: round $secondary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Timeline"

    _last: tuple[list[Event], datetime] | None = None

    def on_resize(self) -> None:
        # Lines are cut to the panel's width: a new width cuts them again.
        if self._last is not None:
            self.show(*self._last)

    def show(self, events: list[Event], now: datetime) -> None:
        self._last = (events, now)
        out = Text(no_wrap=True, overflow="ellipsis")
        shown = list(reversed(events))[:SHOWN]
        # Nothing to say takes one line, without the box (the app's stylesheet).
        self.set_class(not shown, "-empty")
        if not shown:
            out.append("Timeline: no changes seen yet", style="dim")
        width = self.content_size.width or 80
        room = max(8, width - INDENT)
        used = 0
        for ev in shown:
            # The time and the kind always show; the text wraps once beneath them, then
            # gives way in the middle. Events are dropped whole, oldest first.
            pieces = fold(ev.text, room)
            if used and used + len(pieces) > SHOWN:
                break
            for j, piece in enumerate(pieces):
                if used:
                    out.append("\n")
                used += 1
                if j:
                    out.append(" " * INDENT + piece)
                    continue
                out.append(f"{short_ago(ago(ev.time, now)):>7} ", style="dim")
                out.append(f"{ev.kind:<9} ", style="cyan")
                out.append(piece)
        self.set_text(out)
