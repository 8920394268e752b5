"""What the screens need from the app that hosts them, as a protocol.

The dashboard renders the app's state and hands keys back to it; naming only this much here,
below both, keeps the screens from importing the app (which imports the screens).
"""

from __future__ import annotations

from typing import Protocol

from cutover.backend.model import Event, Snapshot


class DashboardHost(Protocol):
    """The app, as the dashboard sees it."""

    read_only: bool
    snapshot: Snapshot | None
    # deployment id -> why it failed or stopped, as last seen (for the rollback banner)
    failures: dict[str, str]
    events: list[Event]
    deployment_id: str | None  # pinned; None follows the group

    @property
    def effect_line(self) -> str | None: ...

    def render_view(self) -> None: ...

    def request_action(self, action: str) -> object: ...

    async def open_action(self, action: str) -> None: ...

    def open_picker(self) -> None: ...

    def open_instance(self, instance_id: str) -> None: ...
