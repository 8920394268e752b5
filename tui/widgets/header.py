"""The header: where we are, what runs, how fresh the view is."""

from __future__ import annotations

from datetime import datetime

from cutover.backend.core.verdict import verdict
from cutover.backend.model import Snapshot
from cutover.backend.present.status_text import short_revision
from cutover.backend.present.verdict_text import key_text, timer_text
from cutover.tui.widgets.common import TextStatic, ago
from rich.text import Text


def revisions(previous: str | None, current: str | None) -> str:
    """`v1 -> v2`; `v2 (no earlier revision known)` when CodeDeploy names none before."""
    if not current:
        return "revision not reported"
    if not previous:
        return f"{short_revision(current)} (no earlier revision known)"
    return f"{short_revision(previous)} -> {short_revision(current)}"


LEVEL_STYLES = {
    "OUTAGE": "bold white on red",
    "DEGRADED": "bold black on yellow",
    "SAFE": "bold black on green",
    "UNKNOWN": "bold white on grey37",
}

# Room kept for the why before the wait is left out of the line.
WHY_AT_LEAST = 45
WHY_STYLES = {"OUTAGE": "bold red", "DEGRADED": "yellow", "SAFE": "green", "UNKNOWN": "dim"}


def verdict_text(snap: Snapshot, now: datetime, width: int) -> Text:
    """One line: the level as a badge, why with the numbers, the key to press and what
    happens when the running wait ends. Too long for the width, the why is cut; with less
    than WHY_AT_LEAST left for it, the wait goes instead (the banner counts it down too);
    never the level or the key."""
    v = verdict(snap)
    key = key_text(v)
    timer = timer_text(v, now, snap.sandbox_rate or 1.0)
    fixed = len(v.level) + 3 + (len(key) + 3 if key else 0)
    why = v.why
    if timer and width - fixed - len(timer) - 3 < min(len(why), WHY_AT_LEAST):
        timer = None
    room = width - fixed - (len(timer) + 3 if timer else 0)
    if len(why) > room:
        why = why[: max(8, room) - 1] + "…"
    style = LEVEL_STYLES[v.level]
    out = Text()
    out.append(f" {v.level} ", style=style)
    out.append(f" {why}", style=WHY_STYLES[v.level])
    if key:
        out.append(" · ")
        out.append(key, style="bold")
    if timer:
        out.append(f" · {timer}")
    out.truncate(width, overflow="ellipsis")
    return out


class DashboardHeader(TextStatic):
    """Target, account/region/endpoint, deployment, revision, the verdict, data age, STALE and
    SANDBOX."""

    DEFAULT_CSS = """
    DashboardHeader { height: auto; max-height: 6; padding: 0 1; background: $boost; }
    """

    def show(
        self,
        snap: Snapshot | None,
        now: datetime,
        *,
        received: datetime | None,
        stale_error: str | None,
        sandbox: bool,
        target_name: str,
        refreshing_for: float | None = None,
        pinned: str | None = None,
    ) -> None:
        """Render from the snapshot; `received` is the server time of the last good one;
        `refreshing_for` the real seconds a slow refresh has been running."""
        line1 = Text()
        # The endpoint's own word (its x-cutover-sandbox header) counts as much as having
        # started it here: a sandbox window never looks like a production one.
        rate = snap.sandbox_rate if snap is not None else None
        if sandbox or rate is not None:
            fast = f"x{rate:g} " if rate and rate != 1.0 else ""
            line1.append(f" SANDBOX {fast}", style="bold black on yellow")
            line1.append(" ")
        line1.append(target_name, style="bold")
        if snap is not None:
            line1.append(f"  {snap.application}/{snap.deployment_group}")
            # What was not read is left out, not shown as `?`.
            where = [f"account {snap.account}"] if snap.account else []
            if snap.region:
                where.append(snap.region)
            if snap.endpoint_url:
                where.append(f"endpoint {snap.endpoint_url}")
            line1.append("  " + "  ".join(where), style="dim")
            if snap.read_only:
                line1.append("  READ-ONLY", style="bold magenta")
        line2 = Text()
        dep = snap.deployment if snap else None
        if snap is None:
            line2.append("connecting…", style="dim")
        elif dep is None:
            line2.append("no deployment in this group yet", style="dim")
        else:
            color = {"Succeeded": "green", "Failed": "red", "Stopped": "red", "Ready": "yellow"}
            if pinned is not None:
                # Pinned, the group may move on without this screen: say it is not following.
                line2.append("pinned ", style="bold magenta")
            line2.append(dep.id, style="bold")
            line2.append("  ")
            line2.append(dep.status, style=f"bold {color.get(dep.status, 'cyan')}")
            line2.append(f" ({dep.phase})")
            line2.append(f"  {revisions(dep.previous_revision, dep.revision)}")
            if dep.rollback_of:
                line2.append(f"  rollback of {dep.rollback_of}", style="magenta")
        width = max(20, (self.size.width or 80) - 2)
        line3 = Text()
        if received is not None:
            line3.append(f"updated {ago(received, now)}", style="dim")
        if stale_error:
            line3.append("  STALE", style="bold white on red")
            line3.append(f" {stale_error}", style="red")
        if refreshing_for is not None:
            # Retries on a throttling or slow AWS can hold a refresh for tens of seconds: say
            # so, instead of an age that only grows.
            line3.append(
                f"  refreshing for {refreshing_for:.0f} s (AWS slow or throttling)",
                style="bold yellow",
            )
        lines = [line1, line2]
        if line2.cell_len + 2 + line3.cell_len <= width:
            # The age shares the deployment's line when it fits: the verdict's line costs no
            # row of a 24-row terminal.
            line2.append("  ")
            line2.append_text(line3)
            line3 = Text()
        if snap is not None:
            lines.append(verdict_text(snap, now, width))
        if line3:
            lines.append(line3)
        self.set_text(Text("\n").join(lines))
