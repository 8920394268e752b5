"""Events between snapshots (observe.diff), newest first, with relative times."""

from __future__ import annotations

from datetime import datetime

from cutover.backend.model import Event
from cutover.tui.widgets.common import TextStatic, ago
from rich.text import Text

KEEP = 200


class Timeline(TextStatic):
    """The newest events that fit; times relative to the server clock."""

    DEFAULT_CSS = """
    Timeline { height: 1fr; padding: 0 1; border: round $secondary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Timeline"

    def show(self, events: list[Event], now: datetime) -> None:
        out = Text(no_wrap=True, overflow="ellipsis")
        shown = list(reversed(events))[: max(1, self.size.height or 8)]
        if not shown:
            out.append("no changes seen yet", style="dim")
        for i, ev in enumerate(shown):
            if i:
                out.append("\n")
            # One line per event, cut to the panel: a wrapped timeline is hard to scan.
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"{ago(ev.time, now):>15} ", style="dim")
            line.append(f"{ev.kind:<11}", style="cyan")
            line.append(ev.text)
            line.truncate(max(20, self.content_size.width or 80), overflow="ellipsis")
            out.append_text(line)
        self.set_text(out)
