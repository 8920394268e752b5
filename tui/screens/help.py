"""Help: every key and what it does (the actions' keys from the catalogue)."""

from __future__ import annotations

from cutover.backend.actions.catalogue import BY_PLACE
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Cutover watches one CodeDeploy deployment group, following its current deployment, and"
    " acts on it only when you confirm."
)
KEYS: tuple[tuple[str, str], ...] = (
    *((a.key, a.keys_help) for a in BY_PLACE),
    ("enter", "details of the instance under the cursor (events, diagnostics, log tail, health)"),
    ("tab", "move between the Original and Replacement tables"),
    ("o", "instances trouble first (failed, unhealthy, draining, initial, in progress) or by id"),
    ("g", "pin one deployment of the group (the first row follows the group again)"),
    ("ctrl+p", "command palette (every action is there too)"),
    ("?", "this help"),
    ("q", "quit"),
)
OUTRO = """\
Dimmed keys do not apply now: pressed, they say why, and so does the line above the footer.
Times are the server's: countdowns cannot be fooled by a skewed laptop clock. On a sandbox
(SANDBOX in the header) its clock runs fast; ages and countdowns are shown in real time.
Escape closes this screen."""


def help_text(
    keys_help: tuple[tuple[str, str], ...] = KEYS, intro: str = INTRO, outro: str = OUTRO
) -> Group:
    """The keys as a two-column grid: a long line wraps under its own text, not the keys."""
    keys = Table.grid(padding=(0, 1))
    keys.add_column(no_wrap=True, style="bold")
    keys.add_column()
    for key, text in keys_help:
        keys.add_row(key, text)
    return Group(
        Text("Cutover keys", style="bold"), Text(), Text(intro), Text(), keys, Text(), Text(outro)
    )


class HelpScreen(ModalScreen[None]):
    """Key reference; any of escape, ? or q closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]
    DEFAULT_CSS = """
    /* Opaque: a translucent modal makes the compositor repaint the dashboard under it,
       which costs more than the 100 ms a keypress may take. */
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 96; height: auto; max-height: 100%; border: thick $primary;
        padding: 1 2; background: $surface;
    }
    HelpScreen #help-text { height: auto; }
    """

    def __init__(self, content: Group | None = None) -> None:
        super().__init__()
        self.content = content  # another screen's keys (the overview's); the dashboard's else

    def compose(self) -> ComposeResult:
        # Taller than a short terminal, the help scrolls rather than losing its last lines.
        with VerticalScroll(can_focus=False):
            yield Static(self.content or help_text(), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
