"""The confirmation screen: the exact plan, and a deliberate answer."""

from __future__ import annotations

from cutover.backend.actions import Plan
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses True only on `y` (plain plans) or the typed token (risky ones); Escape is no."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 100%; max-width: 110; height: auto; max-height: 100%; border: thick $warning;
        padding: 0 1; background: $surface;
    }
    ConfirmScreen #plan-scroll { height: auto; max-height: 60vh; scrollbar-gutter: stable; }
    ConfirmScreen #plan { height: auto; }
    ConfirmScreen #prompt { margin-top: 1; text-style: bold; }
    ConfirmScreen Input { margin-top: 1; }
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan
        self.token = plan.confirm_token or "y"

    def compose(self) -> ComposeResult:
        with Vertical():
            text = Text()
            for i, line in enumerate(self.plan.lines()):
                if i:
                    text.append("\n")
                style = "bold" if i == 0 else ("red" if ": FAIL:" in line else "")
                text.append(line, style=style)
            # A plan taller than the screen scrolls; the prompt and the token stay in view.
            with VerticalScroll(id="plan-scroll", can_focus=False):
                yield Static(text, id="plan")
            if self.token == "y":
                yield Static("Send it? y sends, n or Escape cancels.", id="prompt")
            else:
                hint = self.plan.confirm_hint or f"the end of {self.plan.deployment_id}"
                yield Static(
                    Text(f"Type {self.token} ({hint}) and Enter to send; Escape cancels."),
                    id="prompt",
                )
                yield Input(placeholder=self.token, max_length=len(self.token), id="token")

    def on_mount(self) -> None:
        # The typed word goes straight into its field, never into the scrolling plan.
        for field in self.query(Input):
            field.focus()

    def on_key(self, event: object) -> None:
        # A plain plan answers to one key; the typed-token kind goes through the Input.
        key = getattr(event, "key", "")
        if self.token == "y" and key in ("y", "Y"):
            event.stop()
            self.dismiss(True)
        elif self.token == "y" and key in ("n", "N"):
            event.stop()
            self.dismiss(False)

    @on(Input.Submitted, "#token")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.token:
            self.dismiss(True)
        else:
            self.query_one("#prompt", Static).update(
                Text(f"That is not {self.token}. Type {self.token} and Enter, or Escape.", "red")
            )
            event.input.value = ""

    def action_cancel(self) -> None:
        self.dismiss(False)
