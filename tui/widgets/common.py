"""Small formatting helpers shared by the widgets: countdowns and ages on the server's clock.

Ages and countdowns are said in real time. On AWS the server's clock runs at real speed; a
sandbox's may run faster (x20: an hour's termination wait in three minutes), and "updated 34
seconds ago" for data 1.7 s old, or "53m 58s left" for a wait that ends in under three real
minutes, would mislead a person. So the `now` the app hands the widgets carries its clock's
rate (`ServerNow`), and every duration between two server moments is divided by it. Clock
times (`at 15:32:10 UTC`) stay the server's, as its API reports them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import humanize
from rich.text import Text
from textual.widgets import Static


class ServerNow(datetime):
    """The server's time now, and `rate`: server seconds per real second (1 on AWS)."""

    rate: float = 1.0


def at_rate(moment: datetime, rate: float | None) -> datetime:
    """`moment` as a ServerNow whose clock runs at `rate` (as it is when the rate is 1)."""
    if not rate or rate == 1.0:
        return moment
    out = ServerNow.fromtimestamp(moment.timestamp(), moment.tzinfo)
    out.rate = rate
    return out


def real(delta: timedelta, now: datetime) -> timedelta:
    """A span of the server's clock measured against `now`, in real time."""
    return delta / getattr(now, "rate", 1.0)


def countdown(deadline: datetime | None, now: datetime) -> str:
    """`12m 30s left`, or `passed 3 minutes ago` (real time); empty when there is no
    deadline."""
    if deadline is None:
        return ""
    seconds = int(real(deadline - now, now).total_seconds())
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
    """`3 seconds ago` (humanize, real time), `-` when unknown."""
    if when is None:
        return "-"
    delta = real(now - when, now)
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
