"""The command palette: the actions that apply to this group's deployment style, from the
catalogue, and the dashboard's other commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Protocol

from cutover.backend.actions.catalogue import applying
from cutover.backend.model import Snapshot
from textual.command import DiscoveryHit, Hit, Hits, Provider


class PaletteHost(Protocol):
    """The app, as the palette sees it."""

    read_only: bool
    snapshot: Snapshot | None

    def request_action(self, action: str) -> None: ...

    def open_picker(self) -> None: ...

    def refresh_now(self) -> None: ...

    def action_help(self) -> None: ...


class CutoverCommands(Provider):
    """The actions that apply to the group's deployment style; read-only mode leaves only
    the harmless commands."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], Any], str]]:
        app: PaletteHost = self.app  # type: ignore[assignment]
        if not app.read_only:
            for entry in applying(app.snapshot):
                help_text = f"{entry.palette_help} ({entry.key})"
                yield entry.title, partial(app.request_action, entry.name), help_text
        yield "Pick a deployment", app.open_picker, "recent deployments of the group (g)"
        yield "Refresh now", app.refresh_now, "poll AWS now"
        yield "Help", app.action_help, "keys (?)"

    async def discover(self) -> Hits:
        for title, callback, text in self._commands():
            yield DiscoveryHit(title, callback, help=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=text)
