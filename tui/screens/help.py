"""Help: every key and what it does (the actions' keys from the catalogue)."""

from __future__ import annotations

from cutover.backend.actions.catalogue import BY_PLACE
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = (
    """\
Cutover watches one CodeDeploy deployment group and acts on it only when you confirm.

"""
    + "".join(f"  {a.key:<7}{a.keys_help}\n" for a in BY_PLACE)
    + """\
  enter  details of the instance under the cursor (events, diagnostics, log tail, health)
  tab    move between the Original and Replacement tables
  g      pick a deployment of the group to supervise
  ctrl+p command palette (every action is there too)
  ?      this help          q  quit

Dimmed keys do not apply now; the line above the footer says why.
Times are the server's: countdowns cannot be fooled by a skewed laptop clock.
Escape closes this screen.
"""
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
    HelpScreen > Vertical {
        width: 96; height: auto; border: thick $primary; padding: 1 2; background: $surface;
    }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Cutover keys[/b]\n\n" + HELP.replace("[", r"\["), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
