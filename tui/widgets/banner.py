"""The banner: waiting for approval (with the countdown), or why a deployment failed; what an
action sent from here has not shown yet; and, pinned on one deployment, the group's current
one when it is another (a teammate's waiting in Ready, a rollback)."""

from __future__ import annotations

from datetime import datetime

from cutover.backend.actions.catalogue import BY_NAME
from cutover.backend.core.origin import CREATORS
from cutover.backend.model import Deployment, Snapshot
from cutover.tui.widgets.common import TextStatic, countdown
from rich.text import Text

_RANK = {"info": 0, "waiting": 1, "bad": 2}


def banner_text(
    snap: Snapshot | None,
    now: datetime,
    why: dict[str, str] | None = None,
    *,
    pinned: str | None = None,
    effect: str | None = None,
) -> tuple[str, Text] | None:
    """(css class, text) for the banner, or None when there is nothing to say.

    `why` maps deployment ids to the failure seen on them earlier, so a rollback deployment
    can still say what went wrong with the one it rolls back; `pinned` the deployment pinned
    on screen (None: following the group); `effect` what actions sent from here have not
    shown yet."""
    lines = [
        got
        for got in (
            _deployment_text(snap, now, why),
            _group_text(snap, now) if pinned else None,
            ("info", Text(effect)) if effect else None,
        )
        if got is not None
    ]
    if not lines:
        return None
    kind = max((k for k, _ in lines), key=_RANK.__getitem__)
    return kind, Text("\n").join(t for _, t in lines)


def _group_text(snap: Snapshot | None, now: datetime) -> tuple[str, Text] | None:
    """Pinned: the group's current deployment, when it is another one."""
    other = snap.group_deployment if snap else None
    if other is None:
        return None
    follow = " (g: follow the group)"
    if other.status == "Ready":
        text = Text(f"{other.id} is Ready in this group", style="bold")
        left = countdown(other.deadline, now)
        if left:
            text.append(f": {left}")
            if other.ready_action == "STOP_DEPLOYMENT":
                text.append(" (then it STOPS)")
        return "waiting", text.append(follow)
    by = f", started by {CREATORS.get(other.creator, other.creator)}" if other.creator else ""
    if other.active:
        return "info", Text(f"{other.id} is {other.status} in this group{by}{follow}")
    return "info", Text(f"the group's latest deployment is {other.id} ({other.status}{by}){follow}")


def _ready_text(snap: Snapshot, dep: Deployment, now: datetime) -> tuple[str, Text]:
    """Ready: press r and the countdown, or, while a gate fails, that it fails and which."""
    left = countdown(dep.deadline, now)
    action = "STOPS" if dep.ready_action == "STOP_DEPLOYMENT" else "continues"
    key = BY_NAME["approve"].key
    check = snap.action("approve")
    if not check.passed and check.overridable:
        # Not "press r": a gate fails, and which one decides what to do next.
        text = Text("Replacement ready, but a gate fails", style="bold")
        text.append(f" ({left}" + (f", then the deployment {action}" if left else "") + "): ")
        text.append(check.reason.removeprefix("a gate failed: "))
        return "bad", text
    text = Text(f"Replacement ready: press {key} to approve the reroute. {left}", style="bold")
    if left:
        text.append(f" (then the deployment {action})")
    return "waiting", text


def _deployment_text(
    snap: Snapshot | None, now: datetime, why: dict[str, str] | None
) -> tuple[str, Text] | None:
    unknown = [p for p in snap.pending if p.verdict == "unknown"] if snap else []
    if unknown:
        p = unknown[0]
        text = Text("Outcome unknown: ", style="bold")
        text.append(f"{p.summary} (sent {p.sent_at[11:19]}Z). ")
        calls = [line.strip().removeprefix("call: ") for line in p.plan if "call:" in line]
        if calls:
            text.append("Sent: " + "; ".join(calls) + ". ")
        text.append(f"Now: {p.evidence}")
        if len(unknown) > 1:
            text.append(f" (and {len(unknown) - 1} more: cutover status lists them)")
        return "bad", text
    dep = snap.deployment if snap else None
    if snap is None or dep is None:
        return None
    if dep.waiting_for == "reroute-approval" and dep.status == "Ready":
        return _ready_text(snap, dep, now)
    if dep.waiting_for == "termination":
        left = countdown(dep.deadline, now)
        check = snap.action("terminate-original")
        if not check.passed and check.overridable:
            # What decides the next key first (b, and the clock), then who fails the gate.
            text = Text("Traffic is on the replacement, but a gate fails", style="bold")
            text.append(f" (b rolls back; originals terminate: {left}): ")
            text.append(check.reason.removeprefix("a gate failed: "))
            return "bad", text
        bake = snap.bake
        if bake is not None and bake.verdict == "bad":
            # Offered, never done on its own: the engineer decides.
            key = BY_NAME["rollback"].key
            text = Text(f"Bake verdict BAD: {bake.reason}", style="bold")
            text.append(f". Originals terminate: {left}; {key} rolls back")
            text.append(" (nothing does on its own)")
            return "bad", text
        return "info", Text(f"Traffic is on the replacement. Originals terminate: {left} (t now)")
    if dep.rollback_of:
        verb = {
            "Succeeded": "Rolled back",
            "Failed": "ROLLBACK FAILED",
            "Stopped": "ROLLBACK STOPPED",
        }.get(dep.status, f"Rolling back ({dep.status})")
        text = Text(f"{verb}: {dep.rollback_of} by {dep.id}", style="bold")
        reason = (why or {}).get(dep.rollback_of) or dep.rollback_message
        if reason:
            text.append(f"; {reason}")
        if dep.status == "Succeeded":
            text.append("; the original revision serves again")
        elif dep.status in ("Failed", "Stopped") and dep.error_code:
            text.append(f"; the rollback {dep.status.lower()}: {dep.error_code}")
        return "bad", text
    if dep.status in ("Failed", "Stopped") or dep.rolled_back_by:
        text = Text(f"{dep.status}: ", style="bold")
        text.append(
            f"{dep.error_code or ''} {dep.error_message or ''}".strip() or "no reason given"
        )
        if dep.rolled_back_by:
            text.append(f"; rolled back by {dep.rolled_back_by}")
            other = snap.group_deployment
            if other is not None and other.id == dep.rolled_back_by:
                text.append(f" ({other.status})")
        for inst in snap.instances():
            ev = inst.failed_event
            if ev is not None:
                text.append(f"; {inst.id} failed at {ev.name}")
                if ev.message:
                    text.append(f": {ev.message}")
                break
        return "bad", text
    return None


class Banner(TextStatic):
    """Hidden unless there is something the on-call engineer must see."""

    DEFAULT_CSS = """
    Banner { height: auto; max-height: 3; padding: 0 1; display: none; }
    Banner.-waiting { display: block; background: $warning 40%; }
    Banner.-info { display: block; background: $primary 30%; }
    Banner.-bad { display: block; background: $error 50%; }
    """

    def show(
        self,
        snap: Snapshot | None,
        now: datetime,
        why: dict[str, str] | None = None,
        *,
        pinned: str | None = None,
        effect: str | None = None,
    ) -> None:
        got = banner_text(snap, now, why, pinned=pinned, effect=effect)
        self.set_class(got is not None and got[0] == "waiting", "-waiting")
        self.set_class(got is not None and got[0] == "info", "-info")
        self.set_class(got is not None and got[0] == "bad", "-bad")
        self.set_text(got[1] if got else "")
