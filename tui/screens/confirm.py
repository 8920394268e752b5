"""The confirmation screen: the exact plan, and a deliberate answer.

Polling goes on behind it, and each new snapshot is held against the plan: when the controller
would now refuse the plan (another deployment, another status, the action no longer possible)
the screen says so at once and will not send; a phase that moved on while the plan still holds
is said, and the plan can still be sent.
"""

from __future__ import annotations

import math

from cutover.backend.actions import Plan
from cutover.backend.actions.catalogue import action as action_entry
from cutover.backend.actions.recheck import changed
from cutover.backend.model import Snapshot
from cutover.tui.widgets.inorder import InOrderInput
from rich.text import Text
from textual import events, on

# The clock Textual stamps events with (monotonic; another on Windows), to compare with it.
from textual._time import get_time
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
    ConfirmScreen #moved { margin-top: 1; display: none; }
    ConfirmScreen #moved.-shown { display: block; }
    ConfirmScreen Input { margin-top: 1; }
    """

    def __init__(self, plan: Plan, made_from: Snapshot | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.token = plan.confirm_token or "y"
        self.made_from = made_from
        # Why the controller would refuse the plan now, from the latest snapshot; None while
        # it still fits. Sending is off while this is set.
        self.stale: str | None = None
        self._latest: Snapshot | None = None
        # When the plan was first painted (Textual's clock). A `y` or Enter typed before then
        # (a burst such as `s` `y`, or a key pressed twice) was not an answer to this plan:
        # nobody had read it. Until painted, nothing typed sends.
        self.shown_at = math.inf

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
            yield Static(id="moved")
            yield Static(self._ask(), id="prompt")
            if self.token != "y":
                yield InOrderInput(placeholder=self.token, max_length=len(self.token), id="token")

    def _ask(self) -> Text:
        """The prompt: how to send, or, while the state has overtaken the plan, that sending
        is off and how to get a plan that fits."""
        if self.stale is not None:
            key = action_entry(self.plan.action).key
            return Text(
                f"Sending is off: the controller would refuse this plan now. Escape, then {key}"
                " for a plan from the state as it is.",
                "bold red",
            )
        if self.token == "y":
            return Text("Send it? y sends, n or Escape cancels.")
        hint = self.plan.confirm_hint or f"the end of {self.plan.deployment_id}"
        return Text(f"Type {self.token} ({hint}) and Enter to send; Escape cancels.")

    def on_mount(self) -> None:
        # The typed word goes straight into its field, never into the scrolling plan.
        for field in self.query(Input):
            field.focus()
        self.call_after_refresh(self._painted)
        if self._latest is not None:
            self.against(self._latest)

    def against(self, snap: Snapshot) -> None:
        """A new snapshot arrived behind the dialog: say at once whether the plan still fits
        the state it would be sent into (the controller's own re-check, run early)."""
        self._latest = snap
        if not self.is_mounted:
            return  # on_mount holds it
        was, self.stale = self.stale, changed(self.plan, snap)
        moved = self.query_one("#moved", Static)
        phase = self._phase_moved(snap)
        if self.stale is not None:
            moved.update(Text.assemble(("OUT OF DATE: ", "bold white on red"), (self.stale, "red")))
        elif phase:
            moved.update(Text(f"{phase}; the plan still applies.", "yellow"))
        moved.set_class(self.stale is not None or phase is not None, "-shown")
        if (was is None) != (self.stale is None):
            self.query_one("#prompt", Static).update(self._ask())

    def _phase_moved(self, snap: Snapshot) -> str | None:
        """`d-… moved on: installing -> ready` when the deployment's phase is not the one the
        plan was made in (its status unchanged, or `changed` would have said so)."""
        before = self.made_from.deployment if self.made_from is not None else None
        now = snap.deployment
        if before is None or now is None or before.id != now.id or before.phase == now.phase:
            return None
        return f"{now.id} moved on since the plan was made: {before.phase} -> {now.phase}"

    def _painted(self) -> None:
        self.shown_at = get_time()

    def _typed_unseen(self, typed_at: float) -> bool:
        """True (and said) when the confirming key was typed before the plan was on screen."""
        if typed_at >= self.shown_at:
            return False
        self.app.notify(
            "not sent: that key was typed before the plan was on screen. Read the plan, then"
            " answer again.",
            title=f"{self.plan.action}: typed ahead",
            severity="warning",
        )
        return True

    def _refuse_stale(self) -> bool:
        """True (and the line flashed) when sending is off because the state moved."""
        if self.stale is None:
            return False
        # Literal: the reason may carry AWS's words in brackets.
        self.app.notify(
            f"not sent: {self.stale}",
            title=f"{self.plan.action}: plan out of date",
            severity="warning",
            markup=False,
        )
        return True

    def on_key(self, event: events.Key) -> None:
        # A plain plan answers to one key; the typed-token kind goes through the Input.
        key = event.key
        if self.token == "y" and key in ("y", "Y"):
            event.stop()
            if not self._typed_unseen(event.time) and not self._refuse_stale():
                self.dismiss(True)
        elif self.token == "y" and key in ("n", "N"):
            event.stop()
            self.dismiss(False)

    @on(Input.Submitted, "#token")
    def _submitted(self, event: Input.Submitted) -> None:
        typed_at = getattr(event.input, "key_time", 0.0)
        if event.value.strip() == self.token:
            if not self._typed_unseen(typed_at) and not self._refuse_stale():
                self.dismiss(True)
        else:
            self.query_one("#prompt", Static).update(
                Text(f"That is not {self.token}. Type {self.token} and Enter, or Escape.", "red")
            )
            event.input.value = ""

    def action_cancel(self) -> None:
        self.dismiss(False)
