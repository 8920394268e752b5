"""The header: where we are, what runs, how fresh the view is."""

from __future__ import annotations

from datetime import datetime

from cutover.backend.model import Snapshot
from cutover.backend.present.status_text import short_revision
from cutover.tui.widgets.common import TextStatic, ago
from rich.text import Text


def revisions(previous: str | None, current: str | None) -> str:
    """`v1 -> v2`; `v2 (no earlier revision known)` when CodeDeploy names none before."""
    if not current:
        return "revision not reported"
    if not previous:
        return f"{short_revision(current)} (no earlier revision known)"
    return f"{short_revision(previous)} -> {short_revision(current)}"


class DashboardHeader(TextStatic):
    """Target, account/region/endpoint, deployment, revision, data age, STALE and SANDBOX."""

    DEFAULT_CSS = """
    DashboardHeader { height: auto; max-height: 5; padding: 0 1; background: $boost; }
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
        self.set_text(Text("\n").join([line1, line2, line3]))
