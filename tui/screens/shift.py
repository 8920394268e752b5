"""Manual reroute: listener weight presets, or move an environment in or out."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

CHOICES: tuple[tuple[str, str], ...] = (
    ("pct:0", "replacement 0%   (all traffic to the original)"),
    ("pct:10", "replacement 10%"),
    ("pct:50", "replacement 50%"),
    ("pct:100", "replacement 100% (all traffic to the replacement)"),
    ("move:replacement-in", "register the replacement with the load balancers"),
    ("move:replacement-out", "deregister the replacement"),
    ("move:original-in", "register the original with the load balancers"),
    ("move:original-out", "deregister the original"),
)


class ShiftScreen(ModalScreen[tuple[int | None, str | None] | None]):
    """Dismisses with (replacement percent, None) or (None, move), or None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="shift.cancel")]
    DEFAULT_CSS = """
    ShiftScreen { align: center middle; }
    ShiftScreen > Vertical {
        width: 100%; max-width: 70; height: auto; border: thick $primary; padding: 1 2;
        background: $surface;
    }
    ShiftScreen OptionList { height: auto; }
    """

    def __init__(self, weighted: bool) -> None:
        super().__init__()
        # Weights need a listener that forwards to two target groups; without one, only
        # moving an environment in or out is possible, so only that is offered.
        self.choices = [c for c in CHOICES if weighted or not c[0].startswith("pct:")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Manual reroute: choose, then confirm the plan. Escape cancels.")
            yield OptionList(*(Option(text, id=key) for key, text in self.choices))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        self.dismiss((int(value), None) if kind == "pct" else (None, value))

    def action_cancel(self) -> None:
        self.dismiss(None)
