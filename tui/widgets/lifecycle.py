"""The lifecycle steps of a blue/green deployment, with progress and countdowns."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from backend.model import Snapshot
from tui.widgets.common import TextStatic, countdown

STEPS = (
    ("provisioning", "provision"),
    ("installing", "install"),
    ("ready", "ready for reroute"),
    ("rerouting", "reroute"),
    ("termination-wait", "termination wait"),
    ("terminating", "terminate"),
)
_INDEX = {phase: i for i, (phase, _) in enumerate(STEPS)}


class Lifecycle(TextStatic):
    """One line of steps (done, current, to come) and one of progress and deadlines."""

    DEFAULT_CSS = """
    Lifecycle { height: 2; padding: 0 1; }
    """

    def show(self, snap: Snapshot | None, now: datetime) -> None:
        dep = snap.deployment if snap else None
        steps = Text()
        if dep is None:
            self.set_text(Text("no deployment", style="dim"))
            return
        current = _INDEX.get(dep.phase, len(STEPS) if dep.phase == "succeeded" else -1)
        failed = dep.phase in ("failed", "stopped", "rolling-back")
        for i, (_, label) in enumerate(STEPS):
            if i:
                steps.append(" → ", style="dim")
            if failed:
                steps.append(label, style="dim")
            elif i < current:
                steps.append(f"✓ {label}", style="green")
            elif i == current:
                steps.append(f"▶ {label}", style="bold reverse")
            else:
                steps.append(f"· {label}", style="dim")
        if failed:
            steps.append(f"   {dep.phase.upper()}", style="bold red")
        elif dep.phase == "succeeded":
            steps.append("   SUCCEEDED", style="bold green")
        info = Text()
        ov = dep.overview or {}
        total = sum(ov.values())
        if total:
            done = ov.get("Succeeded", 0)
            info.append(f"instances {done}/{total} succeeded")
            for key in ("Ready", "InProgress", "Pending", "Failed", "Skipped"):
                if ov.get(key):
                    info.append(f", {ov[key]} {key.lower()}")
        for timer in snap.timers if snap else ():
            name = "ready wait" if timer.name == "ready-wait" else "termination"
            info.append(f"   {name}: {countdown(timer.deadline, now)}", style="bold yellow")
        self.set_text(Text("\n").join([steps, info]))
