"""The preview: the replacement instances' health in the preview target group (the load
balancer's own checks, behind a test listener), and the address to send them requests.

Shown only for a target whose config names a preview target group."""

from __future__ import annotations

from cutover.backend.model import Snapshot
from cutover.tui.widgets.common import TextStatic
from rich.text import Text

_STATE_STYLE = {"healthy": "green", "unhealthy": "bold red", "initial": "yellow"}


class PreviewPanel(TextStatic):
    """Where the preview is (target group, test listener, address), then one line per
    replacement instance: its state there with ELB's reason, or that it is not registered."""

    DEFAULT_CSS = """
    PreviewPanel { border: round $accent; height: auto; padding: 0 1; }
    """

    def show(self, snap: Snapshot | None) -> None:
        pv = snap.preview if snap is not None else None
        if snap is None or pv is None:
            return
        self.border_title = f"Preview {pv.target_group}"
        out = Text()
        if pv.listener:
            out.append("test listener ", style="dim")
            out.append(pv.listener, style="bold")
        if pv.health_path:
            out.append(f"  health check {pv.health_path}", style="dim")
        if pv.address:
            # A line of its own: the address is what a person copies.
            out.append("\ncurl " if out else "curl ", style="dim")
            out.append(f"http://{pv.address}/", style="bold cyan")
        if pv.problem:
            out.append(("\n" if out else "") + pv.problem, style="yellow")
        env = snap.replacement
        ids = sorted(i.id for i in env.instances) if env is not None else []
        registered = [i for i in ids if i in pv.registered]
        for iid in ids:
            h = pv.health_of(iid)
            if h is None or not h.registered:
                if registered:
                    out.append(f"\n{iid}  not registered", style="yellow")
                continue
            detail = ": ".join(x for x in (h.reason, h.description) if x)
            out.append(f"\n{iid}  ")
            out.append(h.state, style=_STATE_STYLE.get(h.state, "yellow"))
            if detail:
                out.append(f"  {detail}", style="dim")
        others = [t.name for t in pv.targets if t.registered and t.name not in ids]
        if others:
            out.append(f"\nalso registered: {', '.join(others)}", style="yellow")
        if not registered and pv.problem is None:
            check = snap.action("preview")
            if check.passed:
                out.append("\np: ", style="bold")
                out.append("register the replacements here to have the load balancer check them")
            elif not others:
                out.append(f"\n{check.reason}", style="dim")
        self.set_text(out)
