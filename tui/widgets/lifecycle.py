"""The lifecycle steps of a deployment, with progress and countdowns: blue/green phases, or
for in-place the lifecycle events of the instance(s) CodeDeploy is working on."""

from __future__ import annotations

from datetime import datetime

from cutover.backend.model import Deployment, Instance, Snapshot
from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS
from cutover.tui.widgets.common import TextStatic, countdown
from rich.text import Text

STEPS = (
    ("provisioning", "provision"),
    ("installing", "install"),
    ("ready", "ready for reroute"),
    ("rerouting", "reroute"),
    ("termination-wait", "termination wait"),
    ("terminating", "terminate"),
)
_INDEX = {phase: i for i, (phase, _) in enumerate(STEPS)}
# Narrow terminals: the same steps in fewer cells, so the line of steps stays one line.
NARROW = {"ready for reroute": "ready", "termination wait": "term wait"}
NARROW_BELOW = 100


class Lifecycle(TextStatic):
    """One line of steps (done, current, to come) and one of progress and deadlines."""

    DEFAULT_CSS = """
    Lifecycle { height: auto; max-height: 4; padding: 0 1; }
    """

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # deployment id -> the furthest step seen while it ran, so a stopped deployment
        # keeps what finished (its events may not say all of it).
        self._reached: dict[str, int] = {}

    def show(self, snap: Snapshot | None, now: datetime) -> None:
        dep = snap.deployment if snap else None
        if dep is None:
            self.set_text(Text("no deployment", style="dim"))
            return
        in_place = dep.style == "IN_PLACE"
        width = self.content_size.width or 100
        narrow = width < NARROW_BELOW
        if dep.phase in _INDEX:
            self._reached[dep.id] = max(self._reached.get(dep.id, 0), _INDEX[dep.phase])
        if in_place:
            steps = _in_place_steps(snap, width)
        elif dep.rollback_of:
            steps = _rollback_steps(dep)
        elif dep.phase in ("failed", "stopped"):
            seen = max(self._reached.get(dep.id, 0), reached(snap))
            steps = _blue_green_steps(dep.phase, narrow=narrow, stopped_at=seen)
        else:
            steps = _blue_green_steps(dep.phase, narrow=narrow)
        info = Text()
        ov = dep.overview or {}
        total = sum(ov.values())
        if total:
            done = ov.get("Succeeded", 0)
            if in_place and dep.config_name:
                info.append(f"{dep.config_name}: ", style="dim")
            info.append(f"instances {done}/{total} succeeded")
            for key in ("Ready", "InProgress", "Pending", "Failed", "Skipped"):
                if ov.get(key):
                    info.append(f", {ov[key]} {key.lower()}")
        for timer in snap.timers if snap else ():
            name = "ready wait" if timer.name == "ready-wait" else "termination"
            info.append(f"   {name}: {countdown(timer.deadline, now)}", style="bold yellow")
        self.set_text(Text("\n").join([steps, info]))


def reached(snap: Snapshot | None) -> int:
    """The step a blue/green deployment had reached, from its instances' lifecycle events:
    where it stopped, when it stopped or failed."""
    dep = snap.deployment if snap else None
    repl = snap.replacement.instances if snap and snap.replacement else ()
    orig = snap.original.instances if snap and snap.original else ()
    step = 0
    if repl:
        step = 1
    if repl and all(
        any(e.name == "ValidateService" and e.status == "Succeeded" for e in i.events) for i in repl
    ):
        step = 2

    def started(insts: tuple[Instance, ...], names: tuple[str, ...]) -> bool:
        # Skipped is not started: a stop skips the events that never ran.
        ran = ("InProgress", "Succeeded", "Failed")
        return any(e.name in names and e.status in ran for i in insts for e in i.events)

    if started(repl, ALLOW_EVENTS) or started(orig, BLOCK_EVENTS):
        step = 3
    if dep is not None and dep.termination_wait_started:
        step = 4
    return step


def _rollback_steps(dep: Deployment) -> Text:
    """A rollback deployment: what it rolls back and how it went."""
    steps = Text(f"rollback of {dep.rollback_of}", style="bold")
    if dep.status == "Succeeded":
        steps.append("   ✓ ROLLED BACK", style="bold green")
    elif dep.status in ("Failed", "Stopped"):
        steps.append(f"   ✗ ROLLBACK {dep.status.upper()}", style="bold red")
    else:
        steps.append(f"   ▶ rolling back ({dep.status})", style="bold reverse")
    return steps


def _blue_green_steps(phase: str, *, narrow: bool = False, stopped_at: int | None = None) -> Text:
    """The steps: done ✓, current ▶, to come ·; for a stopped or failed deployment, `stopped_at`
    is the step it was on (✗) and what came before it keeps its ✓."""
    steps = Text()
    current = _INDEX.get(phase, len(STEPS) if phase == "succeeded" else -1)
    failed = phase in ("failed", "stopped", "rolling-back")
    for i, (_, name) in enumerate(STEPS):
        label = NARROW.get(name, name) if narrow else name
        if i:
            steps.append(" " if narrow else " → ", style="dim")
        if failed and stopped_at is not None and i < stopped_at:
            steps.append(f"✓ {label}", style="green")
        elif failed and stopped_at is not None and i == stopped_at:
            steps.append(f"✗ {label}", style="bold red")
        elif failed:
            steps.append(label, style="dim")
        elif i < current:
            steps.append(f"✓ {label}", style="green")
        elif i == current:
            steps.append(f"▶ {label}", style="bold reverse")
        else:
            steps.append(f"· {label}", style="dim")
    if failed:
        steps.append(f"   {phase.upper()}", style="bold red")
    elif phase == "succeeded":
        steps.append("   SUCCEEDED", style="bold green")
    return steps


# Lifecycle events by the short names a person scans for (CodeDeploy's own names are long).
SHORT = {
    "BeforeBlockTraffic": "before block",
    "BlockTraffic": "block traffic",
    "AfterBlockTraffic": "after block",
    "ApplicationStop": "stop",
    "DownloadBundle": "download",
    "BeforeInstall": "before install",
    "Install": "install",
    "AfterInstall": "after install",
    "ApplicationStart": "start",
    "ValidateService": "validate",
    "BeforeAllowTraffic": "before allow",
    "AllowTraffic": "allow traffic",
    "AfterAllowTraffic": "after allow",
}


def _in_place_steps(snap: Snapshot | None, width: int = 100) -> Text:
    """`in place ▶ i-0abc: ✓ stop ✓ download ▶ before install · install …` for the batch."""
    dep = snap.deployment if snap else None
    fleet = snap.fleet if snap else None
    steps = Text("in place", style="bold")
    if dep is not None and dep.phase in ("succeeded", "failed", "stopped", "rolling-back"):
        style = "bold green" if dep.phase == "succeeded" else "bold red"
        steps.append(f"   {dep.phase.upper()}", style=style)
        stopped = next(
            (i for i in (fleet.instances if fleet else ()) if i.failed_event is not None), None
        )
        if stopped is not None and dep.phase != "succeeded":
            # Where it stopped: the instance that failed, with what finished before.
            steps.append("   ")
            steps.append(_events_line(stopped, width - 30))
        return steps
    flying = [
        i for i in (fleet.instances if fleet else ()) if i.id in (fleet.in_flight if fleet else ())
    ]
    if not flying:
        steps.append("   waiting for the next batch", style="dim")
        return steps
    steps.append(f"   ▶ {_events_line(flying[0], width - 14)}")
    if len(flying) > 1:
        steps.append(f"  (+{len(flying) - 1} more in this batch)", style="dim")
    return steps


def _events_line(inst: Instance, width: int = 100) -> Text:
    out = Text(f"{inst.id}:", style="bold")
    events = [ev for ev in inst.events if ev.status != "Skipped"]
    done = [ev for ev in events if ev.status == "Succeeded"]
    # Thirteen events with traffic control do not fit a line: the finished ones but the last
    # collapse into a count.
    full = sum(len(SHORT.get(ev.name, ev.name)) + 3 for ev in events)
    if full > width and len(done) > 1:
        out.append(f" ✓ {len(done) - 1} done", style="green")
        events = events[len(done) - 1 :]
    for ev in events:
        name = SHORT.get(ev.name, ev.name)
        if ev.status == "Succeeded":
            out.append(f" ✓ {name}", style="green")
        elif ev.status == "InProgress":
            out.append(f" ▶ {name}", style="bold reverse")
        elif ev.status == "Failed":
            out.append(f" ✗ {name}", style="bold red")
        else:
            out.append(f" · {name}", style="dim")
    return out
