"""Leftovers: what an interrupted in-place deployment or its hooks left out of shape; for a
blue/green group, the capacity no deployment owns (a replacement fleet a stop left running,
instances serving that no deployment installed)."""

from __future__ import annotations

import textwrap

from cutover.backend.model import Leftover, Snapshot
from cutover.tui.widgets.common import TextStatic
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll

_STYLE = {
    "standby": "yellow",
    "out-of-service": "bold red",
    "min-size": "yellow",
    "suspended": "yellow",
    "replacement-fleet": "bold yellow",
    "unowned-instance": "bold red",
    "preview-registration": "yellow",
}


class LeftoversPanel(Vertical):
    """One entry per leftover: its kind and resource, then what is wrong, wrapped under
    itself (a detail names the deployment and the port; cut, it would hide which). A
    summary line says "No leftovers" or why the check waits (a deployment running) and
    which key repairs."""

    DEFAULT_CSS = """
    LeftoversPanel { border: round $warning; height: auto; max-height: 12; }
    LeftoversPanel > .leftovers-summary { height: 1; padding: 0 1; }
    LeftoversPanel > VerticalScroll { height: auto; max-height: 9; }
    LeftoversPanel .leftovers-list { padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Leftovers"
        self._found: tuple[Leftover, ...] = ()

    def compose(self) -> ComposeResult:
        yield TextStatic(classes="leftovers-summary")
        with VerticalScroll(can_focus=False):
            yield TextStatic(classes="leftovers-list")

    @property
    def count(self) -> int:
        """Leftovers on screen."""
        return len(self._found)

    def show(self, snap: Snapshot | None, *, blue_green: bool = False) -> None:
        """In place: the leftovers and `f`; blue/green: the unowned capacity and `c`."""
        summary = self.query_one(".leftovers-summary", TextStatic)
        self.border_title = "Unowned capacity" if blue_green else "Leftovers"
        title = "Unowned capacity: " if blue_green else "Leftovers: "
        found = (snap.unowned if blue_green else snap.leftovers) if snap is not None else None
        note = (snap.unowned_note if blue_green else snap.leftovers_note) if snap else None
        if snap is None:
            text = Text("not checked yet", style="dim")
        elif found is None:
            text = Text(note or "not checked", style="dim")
        elif not found:
            text = Text("none" if blue_green else "No leftovers", style="green")
        elif blue_green:
            text = Text(f"{len(found)} not owned by any deployment", style="bold yellow")
            if any(lo.kind == "replacement-fleet" for lo in found):
                text.append("  c removes the left fleet (shows the plan first)", style="dim")
            elif any(lo.kind == "preview-registration" for lo in found):
                text.append("  c deregisters them (shows the plan first)", style="dim")
        else:
            text = Text(f"{len(found)} leftover(s)", style="bold yellow")
            text.append("  f repairs them (shows the plan first)", style="dim")
        self._found = tuple(found or ())
        self.query_one(VerticalScroll).display = bool(self._found)
        # None: one line, without the box (the app's stylesheet), so it names itself.
        self.set_class(not self._found, "-empty")
        summary.set_text(Text.assemble((title, "bold"), text) if not found else text)
        self._draw()
        # Just shown, the panel has no width yet (and no Resize comes when it gets back the
        # one it had): draw again once laid out, or details wrap at a guessed width.
        self.call_after_refresh(self._draw)

    def on_resize(self) -> None:
        self._draw()  # details wrap to the width

    def _draw(self) -> None:
        width = (self.content_size.width or 80) - 2  # the list's padding
        self.query_one(".leftovers-list", TextStatic).set_text(entries(self._found, width))


def entries(found: tuple[Leftover, ...], width: int) -> Text:
    """`kind  resource  detail`, the details wrapped under themselves; when the kinds and
    resources leave the details too little room, each detail goes under its resource."""
    out = Text()
    if not found:
        return out
    kind_w = max(len(lo.kind) for lo in found)
    res_w = max(len(lo.resource) for lo in found)
    indent = kind_w + res_w + 4
    if width - indent < 30:
        indent = 2
    for i, lo in enumerate(found):
        if i:
            out.append("\n")
        out.append(f"{lo.kind:<{kind_w}}  ", style=_STYLE.get(lo.kind, ""))
        out.append(lo.resource, style="bold")
        lines = textwrap.wrap(lo.detail, max(10, width - indent)) or [""]
        if indent == 2:
            out.append("\n")
            out.append("\n".join("  " + line for line in lines))
        else:
            out.append(" " * (res_w - len(lo.resource) + 2))
            out.append(("\n" + " " * indent).join(lines))
    return out
