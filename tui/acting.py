"""The dashboard's action flow: check, ask what is needed, plan, confirm, execute, report.

Planning is pure and instant, except where the catalogue says it reads AWS (the way back from
a finished deployment): that one is planned off the event loop. Every execute runs in a
thread worker; its outcome comes back as an ActionDone message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from cutover.backend.actions import Outcome, Plan
from cutover.backend.actions.catalogue import BLUE_GREEN, CATALOGUE, style_of
from cutover.backend.actions.catalogue import action as catalogue_action
from cutover.backend.model import Snapshot
from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.revision import RevisionScreen
from cutover.tui.screens.shift import ShiftScreen
from textual.message import Message
from textual.widget import AwaitMount

log = logging.getLogger("cutover.tui")

# How each outcome's state reads in the notification's title. AWS taking a call is not its
# effect: "done" is kept for when the effect is seen (watch_effect says so then).
VERDICTS = {
    "done": "accepted by AWS",
    "not-done": "not done",
    "failed": "refused by AWS",
    "unknown": "OUTCOME UNKNOWN",
}


@dataclass
class ActionDone(Message):
    """A confirmed (or refused) plan went through `Controller.execute`."""

    outcome: Outcome


class Acting:
    """The action half of CutoverApp (a mixin: it uses the app's controller, observer,
    snapshot, screens and workers)."""

    def why_not(self, action: str) -> str | None:
        """Why `action` cannot run from here now, in the words `cutover status` prints under
        Actions (the availability check's reason), or None when it can."""
        snap = self.snapshot
        if self.read_only or self.controller is None:
            return "read-only: nothing can be changed from here"
        if snap is None:
            return "no data yet; wait for the first refresh"
        style = style_of(snap)
        if style not in catalogue_action(action).styles:
            kind = "blue/green" if style == BLUE_GREEN else "in-place"
            return f"{action} does not apply to this group's {kind} deployments"
        check = snap.action(action)
        return None if check.passed else check.reason

    def explain_key(self, action: str) -> None:
        """A catalogue key no binding took (its key dimmed or hidden): say why, never nothing.
        Only the dashboard's keys: a dialog on top owns the keyboard."""
        if len(self.screen_stack) != 1:
            return
        reason = self.why_not(action)
        if reason is None:
            # The footer lagged behind a snapshot that now allows it.
            self.request_action(action)
        else:
            self.notify(reason, title=f"{action}: not now", severity="warning")

    def request_action(self, action: str) -> AwaitMount | None:
        """A key or a command: check, ask what is needed, plan, confirm, execute.

        Returns the mounting of the dialog it opened, if it opened one at once (see
        `open_action`)."""
        reason = self.why_not(action)
        if reason is not None:
            self.notify(reason, title=f"{action}: not now", severity="warning")
            return None
        snap = self.snapshot
        assert snap is not None
        asks = catalogue_action(action).asks
        if "revision" in asks:
            return self.push_screen(
                RevisionScreen(snap.last_good_revision or snap.target_revision),
                lambda revision: self._plan(action, revision=revision) if revision else None,
            )
        if "reroute" in asks:
            weighted = any(len(lw.weights) >= 2 for lw in snap.listeners)
            return self.push_screen(ShiftScreen(weighted), partial(self._reroute_chosen, action))
        return self._plan(action)

    async def open_action(self, action: str) -> None:
        """A key: as `request_action`, but the keys typed after it reach the dialog it opens.

        A terminal hands over a burst of keys at once (a fast typist, a paste): `d`, ctrl+u
        and a revision can all be queued before the prompt has mounted its input, and keys
        that reach a dialog with nothing focused are dropped. Holding this key's handling
        until the dialog is mounted, then focusing it at once (not later, as Textual's own
        auto-focus does), keeps the rest of the burst in order and in the dialog."""
        mounting = self.request_action(action)
        if mounting is None:
            return
        await mounting
        dialog = self.screen
        first = next(iter(dialog.focus_chain), None)
        if first is not None and dialog.focused is None:
            dialog.set_focus(first)

    def _reroute_chosen(self, action: str, choice: tuple[int | None, str | None] | None) -> None:
        if choice is not None:
            percent, move = choice
            self._plan(action, replacement_percent=percent, move=move)

    def _plan(self, action: str, **kwargs: Any) -> AwaitMount | None:
        """Plan from the snapshot on screen; off the event loop when planning reads AWS, so
        keys keep answering while AWS does."""
        assert self.controller is not None and self.snapshot is not None
        controller, snap = self.controller, self.snapshot
        if not catalogue_action(action).plan_reads_aws(snap):
            try:
                plan = controller.plan(action, snap, **kwargs)
            except Exception as exc:
                log.exception("plan failed")
                self.notify(f"could not plan {action}: {exc}", severity="error")
                return None
            return self._planned(plan, snap)

        def work() -> None:
            try:
                plan = controller.plan(action, snap, **kwargs)
            except Exception as exc:
                log.exception("plan failed")
                self.call_from_thread(
                    self.notify, f"could not plan {action}: {exc}", severity="error"
                )
                return
            self.call_from_thread(self._planned, plan, snap)

        self.run_worker(work, thread=True, name=f"plan:{action}", exit_on_error=False)
        return None

    def _planned(self, plan: Plan, made_from: Snapshot) -> AwaitMount | None:
        if plan.refused is not None:
            self.notify(plan.refused, title=f"{plan.action} refused", severity="error", timeout=8)
            # execute() sends nothing for a refused plan but keeps the audit record.
            self._shown_refusals.add(plan.id)
            self._run_execute(plan)
            return None
        screen = ConfirmScreen(plan, made_from)
        mounting = self.push_screen(screen, partial(self._confirmed, plan))
        if self.snapshot is not None and self.snapshot is not made_from:
            # Planning read AWS while polling went on: hold the plan against the newest.
            screen.against(self.snapshot)
        return mounting

    def tell_dialogs(self, snap: Snapshot) -> None:
        """A new snapshot while dialogs are open: a confirmation holds its plan against it."""
        for screen in self.screen_stack[1:]:
            if isinstance(screen, ConfirmScreen):
                screen.against(snap)

    def _confirmed(self, plan: Plan, ok: bool | None) -> None:
        if not ok:
            self.notify("cancelled; nothing was sent", severity="information")
            self.run_worker(
                partial(self._refuse, plan), thread=True, name="audit", exit_on_error=False
            )
            return
        self.notify(f"sending {plan.action}…", timeout=2)
        self._run_execute(plan)

    def _refuse(self, plan: Plan) -> None:
        assert self.controller is not None
        try:
            self.controller.refuse(plan, "cancelled at the confirmation screen")
        except Exception:
            log.exception("audit of a cancelled plan failed")

    def _run_execute(self, plan: Plan) -> None:
        self.run_worker(
            partial(self._execute, plan),
            thread=True,
            name=f"action:{plan.action}",
            group="action",
            exit_on_error=False,
        )

    def _execute(self, plan: Plan) -> None:
        """Worker thread: the one call, re-checked against a fresh snapshot, audited."""
        assert self.controller is not None and self.observer is not None
        observer, previous = self.observer, self.snapshot

        def fresh() -> Snapshot:
            return observer.snapshot(deployment_id=plan.deployment_id, previous=previous)

        try:
            outcome = self.controller.execute(plan, fresh)
        except Exception as exc:
            # execute() records its intent before sending and turns every AWS answer into an
            # Outcome: reaching here means a bug, and what was sent is in the audit log.
            log.exception("execute failed")
            outcome = Outcome(
                plan,
                False,
                f"unexpected error ({exc}); the audit log says whether anything was sent,"
                " and the next refresh reads the state again",
                error_code="Internal",
                state="unknown",
            )
        self.post_message(ActionDone(outcome))

    def on_action_done(self, message: ActionDone) -> None:
        outcome = message.outcome
        if outcome.plan.id in self._shown_refusals:
            self._shown_refusals.discard(outcome.plan.id)
            return  # a refusal already shown when it was planned
        ids = f" (request {', '.join(outcome.request_ids)})" if outcome.request_ids else ""
        code = f" [{outcome.error_code}]" if outcome.error_code and not outcome.ok else ""
        self.notify(
            f"{outcome.message}{code}{ids}",
            title=f"{outcome.plan.action}: {VERDICTS.get(outcome.state, 'not sent')}",
            severity="information" if outcome.ok else "error",
            timeout=30 if outcome.state == "unknown" else 10,
        )
        if outcome.audit_error:
            self.notify(outcome.audit_error, title="audit log", severity="error", timeout=30)
        new_id = outcome.result.get("deploymentId") if outcome.ok else None
        if new_id:
            self.deployment_id = None  # what we just started is the group's current: follow
        if outcome.ok:
            self.watch_effect(outcome.plan.action, new_id or outcome.plan.deployment_id)
        self.refresh_now()


def _key_handler(action: str) -> Any:
    def handler(self: Acting, event: object) -> None:
        self.explain_key(action)

    handler.__doc__ = f"The {action} key when its binding is dimmed or hidden: say why."
    return handler


# Textual calls the app's `key_<key>` for a key no binding handled, which is what happens to a
# dimmed (or, read-only or of the other deployment style, hidden) key: each says why instead
# of nothing.
for _entry in CATALOGUE:
    setattr(Acting, f"key_{_entry.key}", _key_handler(_entry.name))
