"""One instance: lifecycle events with diagnostics and log tail, health everywhere."""

from __future__ import annotations

from datetime import datetime

from cutover.backend.model import Instance
from cutover.tui.widgets.common import ago
from cutover.tui.widgets.rows import health_text
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def instance_text(inst: Instance, role: str, now: datetime) -> Text:
    """Everything known about one instance, in reading order."""
    out = Text(f"{inst.id}", style="bold")
    where = "  ".join(x for x in (role, inst.az, inst.instance_type) if x)
    out.append(f"  {where}  EC2 {inst.ec2_state or 'state not reported'}")
    out.append(f"\nAuto Scaling: {inst.asg_name or '-'} ({inst.asg_lifecycle or '-'})")
    out.append(f"\nCodeDeploy: {inst.lifecycle_status or '-'}, label {inst.label or '-'}")
    out.append(f", revision {inst.revision or '-'}, launched {ago(inst.launch_time, now)}")
    out.append("\n\nHealth\n", style="bold")
    for h in inst.health:
        out.append("  ")
        out.append_text(health_text((h,), now, names=True))
        if h.description:
            out.append(f"  {h.description}", style="dim")
        out.append("\n")
    if not inst.health:
        out.append("  not registered with any target group or load balancer\n", style="dim")
    out.append("\nLifecycle events\n", style="bold")
    for ev in inst.events:
        style = {"Succeeded": "green", "Failed": "bold red", "InProgress": "cyan"}.get(
            ev.status, "dim"
        )
        out.append(f"  {ev.name:<22}", style="bold" if ev.status == "Failed" else "")
        out.append(f"{ev.status:<11}", style=style)
        if ev.start:
            out.append(f" started {ago(ev.start, now)}", style="dim")
        out.append("\n")
        if ev.status != "Succeeded" and (ev.error_code or ev.message):
            out.append(f"      {ev.error_code or ''} {ev.script_name or ''}: {ev.message or ''}\n")
        if ev.log_tail:
            for line in ev.log_tail.splitlines()[-10:]:
                out.append(f"      | {line}\n", style="dim")
    if not inst.events:
        out.append("  none reported\n", style="dim")
    return out


class InstanceScreen(ModalScreen[None]):
    """Details of one instance as of the snapshot it was opened from."""

    BINDINGS = [Binding("escape,q,enter", "close", "Close", id="instance.close")]
    DEFAULT_CSS = """
    InstanceScreen { align: center middle; }
    InstanceScreen > VerticalScroll {
        width: 110; height: 90%; border: thick $primary; padding: 0 1; background: $surface;
    }
    """

    def __init__(self, inst: Instance, role: str, now: datetime) -> None:
        super().__init__()
        self.text = instance_text(inst, role, now)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.text, id="instance-text")

    def action_close(self) -> None:
        self.dismiss(None)
