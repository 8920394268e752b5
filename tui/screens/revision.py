"""Ask for the revision of a new deployment."""

from __future__ import annotations

from cutover.tui.widgets.inorder import InOrderInput
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class RevisionScreen(ModalScreen[str | None]):
    """Dismisses with the revision typed (default pre-filled), or None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="revision.cancel")]
    DEFAULT_CSS = """
    RevisionScreen { align: center middle; }
    RevisionScreen > Vertical {
        width: 100%; max-width: 90; height: auto; border: thick $primary; padding: 1 2;
        background: $surface;
    }
    """

    def __init__(self, default: str | None) -> None:
        super().__init__()
        self.default = default or ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "New deployment: the revision (s3://bucket/key.zip or github:owner/repo@commit)."
                "\nEnter goes on to the plan; Escape cancels."
            )
            yield InOrderInput(value=self.default, id="revision")

    @on(Input.Submitted, "#revision")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
