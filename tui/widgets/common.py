"""Small formatting helpers shared by the widgets: countdowns and ages on the server's clock."""

from __future__ import annotations

from datetime import datetime

import humanize
from rich.text import Text
from textual.widgets import Static


def countdown(deadline: datetime | None, now: datetime) -> str:
    """`12m 30s left`, or `passed 3 minutes ago`; empty when there is no deadline."""
    if deadline is None:
        return ""
    seconds = int((deadline - now).total_seconds())
    if seconds <= 0:
        return f"passed {humanize.naturaldelta(-seconds)} ago"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m left"
    if minutes:
        return f"{minutes}m {secs:02d}s left"
    return f"{secs}s left"


def ago(when: datetime | None, now: datetime) -> str:
    """`3 seconds ago` (humanize), `-` when unknown."""
    if when is None:
        return "-"
    delta = now - when
    if delta.total_seconds() < 0:
        return "just now"
    return humanize.naturaltime(delta)


class TextStatic(Static):
    """A Static that repaints only when its text really changed.

    The dashboard re-renders every second for the countdowns; most regions do not change,
    and an unneeded update costs a layout pass on the event loop that keypresses wait for.
    """

    _shown: Text | str | None = None

    def set_text(self, text: Text | str) -> None:
        """Show `text`; a plain string is shown as it is, never parsed as markup (it may be
        AWS's own words, with square brackets)."""
        if text != self._shown:
            self._shown = text
            self.update(literal(text))


def literal(value: object) -> object:
    """A string as a Text (Textual reads a plain string as markup); anything else as it is."""
    return Text(value) if isinstance(value, str) else value
