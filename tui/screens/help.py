"""Help: every key and what it does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
Cutover watches one CodeDeploy deployment group and acts on it only when you confirm.

  r      approve the reroute (ContinueDeployment READY_WAIT); needs y
  t      terminate the originals now (ends the termination wait); type the id's end
  b      stop and roll back; type the end of the deployment id
  s      stop the deployment without rolling back; needs y
  d      new deployment: asks for the revision (default: the group's target revision)
  m      manual reroute: listener weights 0/10/50/100, or move an environment in or out
  f      in-place: repair leftovers (Standby, out of its load balancer, MinSize); needs y
  enter  details of the instance under the cursor (events, diagnostics, log tail, health)
  tab    move between the Original and Replacement tables
  g      pick a deployment of the group to supervise
  ctrl+p command palette (every action is there too)
  ?      this help          q  quit

Dimmed keys do not apply now; the line above the footer says why.
Times are the server's: countdowns cannot be fooled by a skewed laptop clock.
Escape closes this screen.
"""


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
