"""The command palette: the actions that apply to this group's deployment style, from the
catalogue, and the dashboard's other commands.

An action that cannot run now stays listed, dimmed, with the reason it cannot (the words
`cutover status` prints under Actions), and choosing it says so again. Marked rather than
hidden: in an incident the entry a person looks for ("Roll back") must not vanish without a
word, and the reason is what tells them what to do instead; this is what the footer does
with a dimmed key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Protocol

from cutover.backend.actions.catalogue import applying
from cutover.backend.model import Snapshot
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content


class PaletteHost(Protocol):
    """The app, as the palette sees it."""

    read_only: bool
    snapshot: Snapshot | None

    def request_action(self, action: str) -> None: ...

    def why_not(self, action: str) -> str | None: ...

    def open_picker(self) -> None: ...

    def refresh_now(self) -> None: ...

    def action_help(self) -> None: ...


class CutoverCommands(Provider):
    """The actions that apply to the group's deployment style; read-only mode leaves only
    the harmless commands."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], Any], str, bool]]:
        """(title, callback, help, runs now) for each command."""
        app: PaletteHost = self.app  # type: ignore[assignment]
        if not app.read_only:
            for entry in applying(app.snapshot):
                reason = app.why_not(entry.name)
                if reason is None:
                    help_text = f"{entry.palette_help} ({entry.key})"
                else:
                    help_text = f"not now ({entry.key}): {reason}"
                run = partial(app.request_action, entry.name)
                yield entry.title, run, help_text, reason is None
        yield "Pick a deployment", app.open_picker, "recent deployments of the group (g)", True
        yield "Refresh now", app.refresh_now, "poll AWS now", True
        yield "Help", app.action_help, "keys (?)", True

    async def discover(self) -> Hits:
        for title, callback, text, runs in self._commands():
            shown = title if runs else Content.styled(f"{title} (not now)", "dim")
            yield DiscoveryHit(shown, callback, text=title, help=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, text, runs in self._commands():
            score = matcher.match(title)
            if score > 0:
                shown = matcher.highlight(title)
                if not runs:
                    shown = (shown + " (not now)").stylize("dim")
                yield Hit(score, shown, callback, text=title, help=text)
