"""The bake verdict during the termination wait: ok, watch, bad or not enough data, with its
numbers and limits, the windows compared and their request counts, and the plain note that
the comparison is before vs after the reroute. Hidden in every other phase."""

from __future__ import annotations

from cutover.backend.core.bake import NOTE
from cutover.backend.model import BakeVerdict
from cutover.backend.present.bake_text import bake_label, bake_windows
from cutover.tui.widgets.common import TextStatic
from rich.text import Text

STYLES = {"ok": "bold green", "watch": "bold yellow", "bad": "bold red"}


def bake_text(b: BakeVerdict) -> Text:
    text = Text(f"Bake {bake_label(b)}", style=STYLES.get(b.verdict, "bold"))
    text.append(f": {b.reason}\n")
    text.append(bake_windows(b), style="dim")
    if b.unmeasured:
        text.append(f" · not measured: {b.unmeasured}", style="dim")
    text.append(f" · {NOTE}", style="dim italic")
    return text


class BakeLine(TextStatic):
    DEFAULT_CSS = """
    BakeLine { height: auto; max-height: 4; padding: 0 1; display: none; }
    """

    def show(self, bake: BakeVerdict | None) -> None:
        self.display = bake is not None
        if bake is not None:
            self.set_text(bake_text(bake))
