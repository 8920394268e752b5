"""Original % against replacement %, and what the split is based on."""

from __future__ import annotations

from cutover.backend.core.revisions import revision_mix
from cutover.backend.model import Environment, Traffic
from cutover.tui.widgets.common import TextStatic
from rich.text import Text


class TrafficBar(TextStatic):
    """A two-colour bar: original (blue) on the left, replacement (green) on the right."""

    DEFAULT_CSS = """
    TrafficBar { height: auto; max-height: 3; padding: 0 1; }
    """

    def show(self, traffic: Traffic | None, width: int, figures: str | None = None) -> None:
        """`figures`: what no environment owns alone (a target group both fleets pass through,
        a load balancer's own 5xx), on a line of its own."""
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
        lines = [line, basis]
        if figures:
            room = max(10, width - 2)
            cut = figures if len(figures) <= room else figures[: room - 1] + "…"
            lines.append(Text(cut, style="cyan"))
        self.set_text(Text("\n").join(lines))

    def show_fleet(self, fleet: Environment | None) -> None:
        """In-place: how many instances serve now, and where (no split between fleets)."""
        if fleet is None or not fleet.instances:
            self.set_text(Text("traffic: no instances", style="dim"))
            return
        total = len(fleet.instances)
        serving = fleet.healthy_count
        where = sorted({h.name for i in fleet.instances for h in i.health})
        line = Text("serving: ", style="bold")
        line.append(
            f"{serving} of {total} instances", style="bold" if serving == total else "bold yellow"
        )
        if where:
            line.append(f"  healthy in {', '.join(where)}", style="dim")
        else:
            line.append("  (no load balancer known for this group)", style="dim")
        out = total - serving
        basis = Text(
            f"{out} out of service or not healthy" if out else "every instance in service",
            style="dim",
        )
        mix = revision_mix([i.revision for i in fleet.instances])
        if mix:
            basis.append(f"; revisions {mix}", style="bold yellow")
        self.set_text(Text("\n").join([line, basis]))
