"""The gates: pass or fail, with the reason a person can act on."""

from __future__ import annotations

from cutover.backend.model import Check
from cutover.tui.widgets.common import TextStatic
from rich.text import Text


class GatesView(TextStatic):
    """One line per gate; also the reasons dimmed keys are dimmed."""

    DEFAULT_CSS = """
    GatesView { padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "Gates"

    def show(self, gates: tuple[Check, ...], notes: tuple[str, ...] = ()) -> None:
        out = Text()
        # Nothing to say takes one line, without the box (the app's stylesheet).
        self.set_class(not gates and not notes, "-empty")
        if not gates:
            out.append("Gates: none (no deployment waiting)", style="dim")
        for i, gate in enumerate(gates):
            if i:
                out.append("\n")
            out.append(
                "PASS " if gate.passed else "FAIL ", style="green" if gate.passed else "bold red"
            )
            out.append(f"{gate.name}: ", style="bold")
            out.append(gate.reason)
        for note in notes[:3]:
            out.append(f"\nnote: {note}", style="yellow")
        self.set_text(out)
