"""Original % against replacement %, and what the split is based on."""

from __future__ import annotations

from rich.text import Text

from backend.model import Traffic
from tui.widgets.common import TextStatic


class TrafficBar(TextStatic):
    """A two-colour bar: original (blue) on the left, replacement (green) on the right."""

    DEFAULT_CSS = """
    TrafficBar { height: 2; padding: 0 1; }
    """

    def show(self, traffic: Traffic | None, width: int) -> None:
        if traffic is None:
            self.set_text(Text("traffic: unknown", style="dim"))
            return
        label_o = f"original {traffic.original_percent:.0f}% "
        label_r = f" {traffic.replacement_percent:.0f}% replacement"
        bar_width = max(10, width - len(label_o) - len(label_r) - 4)
        total = traffic.original_percent + traffic.replacement_percent
        share = traffic.original_percent / total if total else 0
        left = round(bar_width * share)
        line = Text(label_o, style="bold")
        line.append("█" * left, style="blue")
        line.append("█" * (bar_width - left), style="green")
        line.append(label_r, style="bold")
        basis = Text(f"based on {traffic.basis}", style="dim")
        self.set_text(Text("\n").join([line, basis]))
