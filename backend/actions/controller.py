"""Every mutating call Cutover makes, in one place, from every front end.

`Controller.plan(name, snapshot, ...)` hands the action to its planner in the catalogue (one
planner module per action family), then asks the snapshot's own availability check for the
action (the one that dims a key in the dashboard and that `status` prints): when it refuses,
the plan is refused with its reason, whatever front end asked. Only a failing readiness gate
can be overridden, with `override_gates`, and the override is audited. Otherwise the plan says
the exact calls, what changes, the gates, where it acts and the state it was made from.

`Controller.execute(plan, fresh)`:
1. refuses a plan already sent (its id covers account, region, endpoint, group and the state
   it was made from: a double keypress is caught, a new decision is not);
2. reads the state again (`fresh`) and refuses when it moved since the plan was made;
3. writes and fsyncs an intent record, and sends nothing when it cannot;
4. sends each call once, with no SDK retries;
5. an error answer (4xx) is AWS refusing: nothing of that call was done; no answer (a timeout,
   a closed connection) or a 5xx is "outcome unknown": it reads the state again and says what
   actually happened (`readback`);
6. records the outcome, with how it was learnt.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from cutover.backend import audit as audit_outcomes
from cutover.backend.actions import catalogue
from cutover.backend.actions.journal import Journal
from cutover.backend.actions.plan import Outcome, Plan, Request, planned_from
from cutover.backend.actions.readback import DONE, NOT_DONE, UNKNOWN, Intent, read_back
from cutover.backend.actions.recheck import changed
from cutover.backend.audit import AuditLog
from cutover.backend.aws.errors import describe_aws_error
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import Snapshot

# How long a lost answer is read back for before it is reported as unknown (real seconds).
READ_BACK_FOR = 8.0
READ_BACK_EVERY = 2.0


class ActionRefused(Exception):
    """The action may not run now; str() says why in plain words."""


class Controller:
    """Plans and performs actions for one target; one per target, shared by CLI and dashboard."""

    def __init__(
        self,
        session: AwsSession,
        target: TargetConfig,
        audit: AuditLog,
        *,
        read_only: bool = False,
        caller: Callable[[], str | None] | None = None,
    ) -> None:
        self.session = session
        self.target = target
        self.audit = audit
        self.read_only = read_only or target.read_only
        self.journal = Journal(session, target, audit, caller)
        self._sent: dict[str, Outcome | None] = {}
        self._lock = threading.Lock()

    # ----- where the calls go ---------------------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        """Where the calls go: the endpoint given, else AWS's regional endpoint."""
        try:
            return self.session.custom_endpoint or self.session.endpoint_url("codedeploy")
        except Exception:  # no region yet: the plan says "region unknown" instead
            return self.session.custom_endpoint

    # ----- planning --------------------------------------------------------------------------

    def plan(
        self,
        action: str,
        snap: Snapshot,
        *,
        revision: str | None = None,
        replacement_percent: int | None = None,
        move: str | None = None,
        override_gates: bool = False,
    ) -> Plan:
        """The plan for `action` on what `snap` shows, from the action's planner in the
        catalogue; refused plans say why.

        Refused whenever the snapshot's availability check for the action refuses (a gate
        failure only unless `override_gates`)."""
        entry = catalogue.action(action)
        base = Plan(
            action=action,
            target=self.target.name,
            summary=action,
            application=snap.application,
            deployment_group=snap.deployment_group,
            account=snap.account,
            region=snap.region,
            endpoint=self.endpoint,
            planned_from=planned_from(snap),
        )
        if self.read_only:
            return replace(base, refused="read-only mode: mutating actions are disabled")
        request = Request(revision, replacement_percent, move, override_gates)
        plan = entry.planner(base, snap, request, self.session)
        check = snap.action(action)
        if not check.passed and not (check.overridable and override_gates):
            hint = (
                " (pass --override-gates to act anyway; it is audited)" if check.overridable else ""
            )
            plan = replace(plan, refused=check.reason + hint, calls=(), override=False)
        if plan.refused is None and plan.confirm_token is None:
            plan = replace(plan, **_confirmation(plan, snap, typed=entry.confirm == "typed"))
        return plan

    # ----- execution --------------------------------------------------------------------------

    def execute(self, plan: Plan, fresh: Callable[[], Snapshot] | None = None) -> Outcome:
        """Send a confirmed plan once, audit it, and return what happened.

        Refused plans, plans whose precondition no longer holds on a fresh snapshot, plans
        already sent, and plans whose intent cannot be written to the audit log are not
        sent; each refusal is audited when the log can be written.
        """
        with self._lock:
            try:
                already = plan.id in self._sent or self.audit.executed(plan.id)
            except OSError as exc:
                message = (
                    f"nothing was sent: the audit log {self.audit.path} cannot be read"
                    f" ({exc.strerror or exc}), so whether this plan was sent before is unknown"
                )
                return Outcome(plan, False, message, error_code="AuditLogUnreadable")
            if plan.refused is None and already:
                previous = self._sent.get(plan.id)
                message = "this exact plan was already sent; it is not sent twice"
                return self._refused(plan, message, previous)
            if plan.refused is None and fresh is not None:
                try:
                    current = fresh()
                except Exception as exc:
                    plan = replace(
                        plan, refused=f"could not re-check the state before acting: {exc}"
                    )
                else:
                    moved = changed(plan, current)
                    if moved:
                        plan = replace(plan, refused=moved)
            if plan.refused is not None:
                return self._refused(plan, plan.refused)
            attempt = uuid.uuid4().hex
            try:
                self.journal.record(plan, audit_outcomes.INTENT, attempt=attempt, intent=True)
            except OSError as exc:
                message = (
                    f"nothing was sent: the audit log {self.audit.path} cannot be written"
                    f" ({exc.strerror or exc}); an action is sent only once its intent is"
                    " on disk"
                )
                return Outcome(plan, False, message, error_code="AuditLogUnwritable")
            self._sent[plan.id] = None
            outcome = self._send(plan, attempt, fresh)
            self._sent[plan.id] = outcome
            return outcome

    def _refused(self, plan: Plan, message: str, previous: Outcome | None = None) -> Outcome:
        plan = replace(plan, refused=plan.refused or message)
        audit_error = None
        try:
            self.journal.record(plan, audit_outcomes.REFUSED, message=message)
        except OSError as exc:
            audit_error = f"the refusal could not be written to {self.audit.path}: {exc}"
        if previous is not None:
            return replace(
                previous, ok=False, message=message, error_code="Duplicate", state="refused"
            )
        code = "Duplicate" if "already sent" in message else None
        return Outcome(plan, False, message, error_code=code, audit_error=audit_error)

    def _send(self, plan: Plan, attempt: str, fresh: Callable[[], Snapshot] | None) -> Outcome:
        request_ids: list[str] = []
        result: dict[str, Any] = {}
        started = time.monotonic()
        for index, call in enumerate(plan.calls):
            sent_before = f"; {index} earlier call(s) of the plan went through" if index else ""
            try:
                response = getattr(self.session.sender(call.service), call.operation)(**call.params)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "Unknown")
                meta = exc.response.get("ResponseMetadata", {})
                rid = meta.get("RequestId")
                status = int(meta.get("HTTPStatusCode") or 0)
                if 400 <= status < 500:
                    # AWS answered with a refusal: nothing of this call was done.
                    nothing = " Nothing was done." if index == 0 else ""
                    message = f"{describe_aws_error(exc)}{sent_before}.{nothing}"
                    return self._finish(
                        plan,
                        attempt,
                        audit_outcomes.FAILED,
                        message,
                        request_ids + ([rid] if rid else []),
                        code,
                        rejected=index == 0,
                    )
                lost = f"{call.api_name}: AWS answered with an error of its own ({code})"
                return self._lost(plan, attempt, fresh, lost, index, request_ids, started)
            except (EndpointConnectionError, ConnectTimeoutError) as exc:
                # No connection was made: the call never left this machine.
                nothing = " Nothing was sent." if index == 0 else ""
                return self._finish(
                    plan,
                    attempt,
                    audit_outcomes.FAILED,
                    f"{describe_aws_error(exc)}{sent_before}.{nothing}",
                    request_ids,
                    "Connection",
                    rejected=index == 0,
                )
            except BotoCoreError as exc:
                lost = f"{call.api_name}: no answer ({describe_aws_error(exc)})"
                return self._lost(plan, attempt, fresh, lost, index, request_ids, started)
            rid = response.get("ResponseMetadata", {}).get("RequestId")
            if rid:
                request_ids.append(rid)
            result = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        return self._finish(
            plan,
            attempt,
            audit_outcomes.DONE,
            _done_message(plan, result),
            request_ids,
            None,
            result=result,
        )

    def _lost(
        self,
        plan: Plan,
        attempt: str,
        fresh: Callable[[], Snapshot] | None,
        lost: str,
        index: int,
        request_ids: list[str],
        started: float,
    ) -> Outcome:
        """An answer lost (or a 5xx): read the state again and say what happened."""
        rest = len(plan.calls) - index - 1
        unsent = f"; the {rest} call(s) after it were not sent" if rest else ""
        intent = Intent(plan.action, plan.deployment_id, plan.planned_from, plan.expect)
        verdict, evidence = UNKNOWN, "the state could not be read again here"
        deadline = time.monotonic() + READ_BACK_FOR
        while fresh is not None:
            try:
                current = fresh()
            except Exception as exc:
                verdict, evidence = UNKNOWN, f"the state could not be read again: {exc}"
            else:
                aged = replace(intent, age_s=time.monotonic() - started)
                verdict, evidence = read_back(aged, current)
            if verdict != UNKNOWN or time.monotonic() >= deadline:
                break
            time.sleep(READ_BACK_EVERY)
        words = {
            DONE: "it took effect",
            NOT_DONE: "it did not take effect",
            UNKNOWN: "outcome unknown; read the state again before acting",
        }[verdict]
        message = f"{lost}{unsent}; the state read again shows {evidence}: {words}"
        state = {DONE: audit_outcomes.DONE, NOT_DONE: audit_outcomes.NOT_DONE}.get(
            verdict, audit_outcomes.UNKNOWN
        )
        return self._finish(
            plan,
            attempt,
            state,
            message,
            request_ids,
            "OutcomeReadBack" if verdict != UNKNOWN else "OutcomeUnknown",
            resolved_by=f"state read again: {evidence}",
        )

    def _finish(
        self,
        plan: Plan,
        attempt: str,
        state: str,
        message: str,
        request_ids: list[str],
        code: str | None,
        *,
        rejected: bool = False,
        result: dict[str, Any] | None = None,
        resolved_by: str | None = None,
    ) -> Outcome:
        audit_error = None
        try:
            self.journal.record(
                plan,
                state,
                attempt=attempt,
                message=message,
                error_code=code,
                request_id=",".join(request_ids) or None,
                deployment_id=(result or {}).get("deploymentId"),
                rejected=rejected,
                resolved_by=resolved_by,
            )
        except OSError as exc:
            # The calls went out: say so, and that the record of it is missing.
            audit_error = (
                f"the outcome could not be written to {self.audit.path} ({exc}); its intent"
                " is there, so `cutover status` shows it until the state is read again"
            )
        return Outcome(
            plan,
            state == audit_outcomes.DONE,
            message,
            tuple(request_ids),
            code,
            result or {},
            state=state,
            audit_error=audit_error,
        )

    def refuse(self, plan: Plan, reason: str) -> None:
        """Audit a plan a person declined or a precondition refused before execute()."""
        outcome = audit_outcomes.CANCELLED if plan.refused is None else audit_outcomes.REFUSED
        self.journal.record(replace(plan, refused=reason), outcome, message=reason)

    # ----- intents nobody recorded an outcome for ------------------------------------------------

    def settle(self, snap: Snapshot) -> Snapshot:
        """`snap` with the actions sent from here whose outcome nobody recorded (Ctrl-C, a
        crash): each read back against `snap`; a clear answer is recorded as its outcome."""
        pending = self.journal.read_back_pending(snap, self.endpoint)
        return snap if pending is None else replace(snap, pending=pending)


def _confirmation(plan: Plan, snap: Snapshot, *, typed: bool) -> dict[str, str]:
    """What a person types to confirm: `y`, or for the irreversible and the traffic-moving a
    word they must read off the screen."""
    if not typed:
        return {"confirm_token": "y"}
    if plan.deployment_id:
        return {
            "confirm_token": plan.deployment_id[-4:],
            "confirm_hint": f"the end of {plan.deployment_id}",
        }
    group = snap.deployment_group or plan.target
    return {"confirm_token": group, "confirm_hint": "the deployment group's name"}


def _done_message(plan: Plan, result: dict[str, Any]) -> str:
    if plan.expect.get("kind") in ("deploy", "redeploy"):
        return f"deployment {result.get('deploymentId', '?')} started"
    if plan.action in ("stop", "rollback"):
        status = result.get("status")
        return f"{plan.summary}: {status or 'requested'}" + (
            f" ({result['statusMessage']})" if result.get("statusMessage") else ""
        )
    return f"{plan.summary}: done"
