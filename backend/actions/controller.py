"""Every mutating call Cutover makes, in one place, from every front end.

`Controller.plan(name, snapshot, ...)` first asks the snapshot's own availability check for the
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
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from cutover.backend import audit as audit_outcomes
from cutover.backend.actions.plan import ApiCall, Outcome, Plan, planned_from
from cutover.backend.actions.readback import DONE, NOT_DONE, UNKNOWN, Intent, read_back
from cutover.backend.actions.shift import plan_move, plan_weights
from cutover.backend.audit import AuditLog, AuditRecord
from cutover.backend.aws.errors import describe_aws_error
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import Leftover, PendingAction, Snapshot

__all__ = ["MUTATING", "ActionRefused", "ApiCall", "Controller", "Outcome", "Plan"]

MUTATING = ("deploy", "approve", "terminate-original", "stop", "rollback", "shift", "repair")
# Actions whose confirmation asks for a typed word (the deployment id's last four characters,
# or the deployment group's name when there is no deployment), not just `y`.
TYPED_CONFIRMATION = ("terminate-original", "rollback", "shift")
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
        self._caller = caller
        self._caller_arn: str | None = None
        self._sent: dict[str, Outcome | None] = {}
        self._lock = threading.Lock()

    # ----- identity ------------------------------------------------------------------------

    def caller_arn(self) -> str | None:
        if self._caller_arn is None:
            try:
                if self._caller is not None:
                    self._caller_arn = self._caller()
                else:
                    ident = self.session.client("sts").get_caller_identity()
                    self._caller_arn = ident.get("Arn")
            except (ClientError, BotoCoreError):
                return None
        return self._caller_arn

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
        """The plan for `action` on what `snap` shows; refused plans say why.

        Refused whenever the snapshot's availability check for the action refuses (a gate
        failure only unless `override_gates`)."""
        if action not in MUTATING:
            raise ValueError(f"unknown action {action}")
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
        builder = getattr(self, "_plan_" + action.replace("-", "_"))
        plan: Plan = builder(
            base,
            snap,
            revision=revision,
            replacement_percent=replacement_percent,
            move=move,
            override_gates=override_gates,
        )
        check = snap.action(action)
        if not check.passed and not (check.overridable and override_gates):
            hint = (
                " (pass --override-gates to act anyway; it is audited)" if check.overridable else ""
            )
            plan = replace(plan, refused=check.reason + hint, calls=(), override=False)
        if plan.refused is None and plan.confirm_token is None:
            plan = replace(plan, **_confirmation(plan, snap))
        return plan

    def _deployment(self, snap: Snapshot) -> tuple[str | None, str | None]:
        d = snap.deployment
        return (d.id, d.status) if d else (None, None)

    def _about(self, base: Plan, snap: Snapshot, summary: str) -> Plan:
        """`base` for the deployment on screen (`{id}` in the summary names it), remembering
        its status for execute()."""
        dep_id, status = self._deployment(snap)
        return replace(
            base, summary=summary.format(id=dep_id), deployment_id=dep_id, expect_status=status
        )

    def _plan_deploy(self, base: Plan, snap: Snapshot, *, revision: str | None, **_: Any) -> Plan:
        where = f"{snap.application}/{snap.deployment_group}"
        if snap.deployment is not None and snap.deployment.active:
            return replace(
                base,
                summary=f"Start a deployment of {where}",
                refused=f"deployment {snap.deployment.id} is still {snap.deployment.status}; "
                "CodeDeploy allows one active deployment per group",
            )
        params: dict[str, Any] = {
            "applicationName": snap.application,
            "deploymentGroupName": snap.deployment_group,
            "description": "Started with Cutover",
        }
        if revision:
            try:
                params["revision"] = parse_revision(revision)
            except ValueError as exc:
                return replace(base, summary="Start a deployment", refused=str(exc))
            label = revision
        else:
            label = "the group's last revision"
        return replace(
            base,
            summary=f"Start a deployment of {label} to {where}",
            calls=(ApiCall("codedeploy", "create_deployment", params),),
            changes=(
                "a replacement fleet is provisioned and the revision installed on it"
                if _is_blue_green(snap)
                else "instances are updated in place, batch by batch",
            ),
            parameters={"revision": revision},
            expect={"kind": "deploy"},
        )

    def _plan_approve(self, base: Plan, snap: Snapshot, *, override_gates: bool, **_: Any) -> Plan:
        base = self._about(base, snap, "Approve the traffic reroute of {id}")
        dep_id = base.deployment_id
        if snap.deployment is None or snap.deployment.waiting_for != "reroute-approval":
            return replace(base, refused=_not_waiting(snap, "waiting for reroute approval"))
        gates = snap.gates
        failed = [g for g in gates if not g.passed]
        if failed and not override_gates:
            return replace(base, gates=gates, refused="; ".join(g.reason for g in failed))
        return replace(
            base,
            calls=(
                ApiCall(
                    "codedeploy",
                    "continue_deployment",
                    {"deploymentId": dep_id, "deploymentWaitType": "READY_WAIT"},
                ),
            ),
            changes=(
                "replacement instances are registered with the load balancers",
                "original instances are deregistered and drain once replacements are healthy",
            ),
            gates=gates,
            override=bool(failed),
            parameters={"override_gates": override_gates},
            expect={"kind": "approve"},
        )

    def _plan_terminate_original(
        self, base: Plan, snap: Snapshot, *, override_gates: bool, **_: Any
    ) -> Plan:
        base = self._about(base, snap, "Terminate the original instances of {id} now")
        dep_id = base.deployment_id
        if snap.deployment is None or snap.deployment.waiting_for != "termination":
            return replace(base, refused=_not_waiting(snap, "in its termination wait"))
        gates = snap.gates
        failed = [g for g in gates if not g.passed]
        if failed and not override_gates:
            return replace(base, gates=gates, refused="; ".join(g.reason for g in failed))
        originals = [i.id for i in snap.original.instances] if snap.original else []
        return replace(
            base,
            calls=(
                ApiCall(
                    "codedeploy",
                    "continue_deployment",
                    {"deploymentId": dep_id, "deploymentWaitType": "TERMINATION_WAIT"},
                ),
            ),
            changes=(
                f"{len(originals)} original instance(s) terminated: {', '.join(originals)}",
                "after this, the only way back is a new deployment of the previous revision",
            ),
            gates=gates,
            override=bool(failed),
            parameters={"override_gates": override_gates},
            expect={"kind": "terminate-original"},
        )

    def _plan_stop(self, base: Plan, snap: Snapshot, **_: Any) -> Plan:
        base = self._about(base, snap, "Stop {id} without rolling back")
        dep_id = base.deployment_id
        if snap.deployment is None or not snap.deployment.active:
            return replace(base, refused=_not_waiting(snap, "in progress"))
        return replace(
            base,
            calls=(
                ApiCall(
                    "codedeploy",
                    "stop_deployment",
                    {"deploymentId": dep_id, "autoRollbackEnabled": False},
                ),
            ),
            changes=("the deployment stops where it is; traffic stays as it is now",),
            expect={"kind": "stop", "rollback": False},
        )

    def _plan_rollback(self, base: Plan, snap: Snapshot, **_: Any) -> Plan:
        dep = snap.deployment
        dep_id, status = self._deployment(snap)
        base = replace(
            base, summary=f"Roll back {dep_id}", deployment_id=dep_id, expect_status=status
        )
        if dep is None:
            return replace(base, refused="there is no deployment to roll back")
        if dep.active:
            return replace(
                base,
                summary=f"Stop {dep_id} and roll back",
                calls=(
                    ApiCall(
                        "codedeploy",
                        "stop_deployment",
                        {"deploymentId": dep_id, "autoRollbackEnabled": True},
                    ),
                ),
                changes=(
                    "CodeDeploy starts a rollback deployment",
                    "traffic goes back to the original instances; the replacement fleet is removed"
                    if dep.style == "BLUE_GREEN"
                    else "the previous revision is deployed again",
                ),
                expect={"kind": "rollback", "rollback": True},
            )
        if dep.rollback_of or dep.rolled_back_by:
            return replace(base, refused=snap.action("rollback").reason)
        try:
            found = self._last_good(snap, dep.id, dep.create_time, dep.revision_location)
        except (ClientError, BotoCoreError) as exc:
            return replace(
                base,
                refused="could not read the group's earlier deployments to find the revision"
                f" to go back to: {describe_aws_error(exc)}",
            )
        if found is None:
            return replace(
                base,
                refused=f"no deployment of {snap.application}/{snap.deployment_group} succeeded"
                f" before {dep_id} with another revision: there is nothing to go back to",
            )
        good_id, location, label = found
        params = {
            "applicationName": snap.application,
            "deploymentGroupName": snap.deployment_group,
            "revision": location,
            "description": f"Redeploy of {label} (from {good_id}), the revision before {dep_id};"
            " started with Cutover",
        }
        return replace(
            base,
            summary=f"Redeploy {label}, the last revision that succeeded before {dep_id}",
            calls=(ApiCall("codedeploy", "create_deployment", params),),
            changes=(
                f"{dep_id} has finished ({dep.status}), so the way back is a new deployment",
                f"the revision deployed is {label}: deployment {good_id} succeeded with it, the"
                f" last before {dep_id} ({dep.revision or 'unknown revision'})",
            ),
            parameters={"revision": label, "from_deployment": good_id},
            expect={"kind": "redeploy"},
        )

    def _last_good(
        self,
        snap: Snapshot,
        dep_id: str,
        created: datetime | None,
        bad_revision: dict | None,
    ) -> tuple[str, dict, str] | None:
        """(deployment id, revision, label) of the group's last deployment that succeeded
        before `dep_id` with another revision, from CodeDeploy's own history."""
        from cutover.backend.core.revisions import revision_label

        cd = self.session.client("codedeploy")
        kwargs: dict[str, Any] = {
            "applicationName": snap.application,
            "deploymentGroupName": snap.deployment_group,
            "includeOnlyStatuses": ["Succeeded"],
        }
        if created is not None:
            kwargs["createTimeRange"] = {"end": created}
        ids: list[str] = []
        for page in cd.get_paginator("list_deployments").paginate(**kwargs):
            ids += [i for i in page.get("deployments", []) if i != dep_id]
        infos: list[dict] = []
        for start in range(0, len(ids), 25):
            got = cd.batch_get_deployments(deploymentIds=ids[start : start + 25])
            infos += got.get("deploymentsInfo", [])
        infos = [
            d
            for d in infos
            if d.get("status") == "Succeeded"
            and d.get("revision")
            and d.get("revision") != bad_revision
            and (created is None or d.get("createTime") is None or d["createTime"] < created)
        ]
        if not infos:
            return None
        best = max(infos, key=lambda d: d.get("createTime") or datetime.min.replace(tzinfo=UTC))
        revision = best["revision"]
        return best["deploymentId"], revision, revision_label(revision) or "the revision"

    def _plan_shift(
        self,
        base: Plan,
        snap: Snapshot,
        *,
        replacement_percent: int | None,
        move: str | None,
        **_: Any,
    ) -> Plan:
        dep_id, status = self._deployment(snap)
        base = replace(base, deployment_id=dep_id, expect_status=status)
        if (replacement_percent is None) == (move is None):
            return replace(
                base, summary="Reroute by hand", refused="give a replacement share or a move"
            )
        if replacement_percent is not None:
            return plan_weights(base, snap, replacement_percent)
        return plan_move(base, snap, move or "")

    def _plan_repair(self, base: Plan, snap: Snapshot, **_: Any) -> Plan:
        plan = plan_repair(base, snap)
        return replace(
            plan, expect={"kind": "repair", "leftovers": [lo.text() for lo in plan.leftovers]}
        )

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
                    changed = _changed(plan, current)
                    if changed:
                        plan = replace(plan, refused=changed)
            if plan.refused is not None:
                return self._refused(plan, plan.refused)
            attempt = uuid.uuid4().hex
            try:
                self._record(plan, audit_outcomes.INTENT, attempt=attempt, intent=True)
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
            self._record(plan, audit_outcomes.REFUSED, message=message)
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
            self._record(
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
        self._record(replace(plan, refused=reason), outcome, message=reason)

    # ----- intents nobody recorded an outcome for ------------------------------------------------

    def settle(self, snap: Snapshot) -> Snapshot:
        """`snap` with the actions sent from here whose outcome nobody recorded (Ctrl-C, a
        crash): each read back against `snap`; a clear answer is recorded as its outcome."""
        try:
            pending = self.audit.pending(
                application=snap.application,
                deployment_group=snap.deployment_group,
                region=snap.region,
                endpoint=self.endpoint,
                account=snap.account,
            )
        except OSError:
            return snap
        out = []
        for r in pending:
            try:
                written = datetime.fromisoformat(r.get("local_time") or "")
                age = (datetime.now(UTC) - written).total_seconds()
            except ValueError:
                age = 0.0
            intent = Intent(
                r.get("action") or "",
                r.get("deployment_id"),
                r.get("planned_from") or {},
                r.get("expect") or {},
                age,
            )
            verdict, evidence = read_back(intent, snap)
            if verdict != UNKNOWN:
                try:
                    self._record_settled(r, verdict, evidence, snap)
                except OSError:
                    verdict = UNKNOWN
            out.append(
                PendingAction(
                    action=intent.action,
                    attempt=r.get("attempt") or "",
                    summary=(r.get("plan") or [intent.action])[0],
                    sent_at=r.get("server_time") or "",
                    plan=tuple(r.get("plan") or ()),
                    verdict=verdict,
                    evidence=evidence,
                    deployment_id=intent.deployment_id,
                )
            )
        return replace(snap, pending=tuple(out))

    def _record_settled(self, r: dict, verdict: str, evidence: str, snap: Snapshot) -> None:
        when = snap.server_time.isoformat()
        self.audit.append(
            AuditRecord(
                action=r.get("action") or "",
                outcome=audit_outcomes.DONE if verdict == DONE else audit_outcomes.NOT_DONE,
                target=r.get("target") or self.target.name,
                server_time=when,
                caller=self.caller_arn(),
                account=r.get("account"),
                region=r.get("region"),
                endpoint=r.get("endpoint"),
                application=r.get("application"),
                deployment_group=r.get("deployment_group"),
                deployment_id=r.get("deployment_id"),
                plan_id=r.get("plan_id"),
                attempt=r.get("attempt"),
                message=f"outcome not recorded when sent; the state read at {when} shows"
                f" {evidence}",
                resolved_by=f"state read again at {when}: {evidence}",
            )
        )

    def _record(
        self,
        plan: Plan,
        outcome: str,
        *,
        attempt: str | None = None,
        intent: bool = False,
        message: str | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        deployment_id: str | None = None,
        rejected: bool = False,
        resolved_by: str | None = None,
    ) -> None:
        self.audit.append(
            AuditRecord(
                action=plan.action,
                outcome=outcome,
                target=self.target.name,
                server_time=self.session.clock.now().isoformat(),
                caller=self.caller_arn(),
                account=plan.account,
                region=plan.region,
                endpoint=plan.endpoint,
                application=plan.application or self.target.application,
                deployment_group=plan.deployment_group or self.target.deployment_group,
                deployment_id=deployment_id or plan.deployment_id,
                parameters=plan.parameters,
                gates=[
                    {"name": g.name, "passed": g.passed, "reason": g.reason} for g in plan.gates
                ],
                override=plan.override,
                plan_id=plan.id,
                calls=[c.text() for c in plan.calls],
                request_id=request_id,
                error_code=error_code,
                message=message,
                rejected=rejected,
                attempt=attempt,
                plan=plan.lines() if intent else [],
                planned_from=plan.planned_from if intent else {},
                expect=plan.expect if intent else {},
                resolved_by=resolved_by,
            )
        )


# ----- helpers ----------------------------------------------------------------------------------


def parse_revision(text: str) -> dict[str, Any]:
    """A CodeDeploy revision from `s3://bucket/key.zip` or `github:owner/repo@commit`."""
    if text.startswith("s3://"):
        url = urlparse(text)
        key = url.path.lstrip("/")
        if not url.netloc or not key:
            raise ValueError(f"--revision: '{text}' needs a bucket and a key (s3://bucket/key.zip)")
        ext = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
        bundle = {"zip": "zip", "tar": "tar", "tgz": "tgz", "gz": "tgz", "yaml": "YAML"}.get(ext)
        if bundle is None:
            raise ValueError(f"--revision: '{text}' must end in .zip, .tar or .tgz")
        return {
            "revisionType": "S3",
            "s3Location": {"bucket": url.netloc, "key": key, "bundleType": bundle},
        }
    if text.startswith("github:") and "@" in text:
        repo, commit = text[len("github:") :].rsplit("@", 1)
        if "/" not in repo or not commit:
            raise ValueError(f"--revision: '{text}' must look like github:owner/repo@commit")
        return {
            "revisionType": "GitHub",
            "gitHubLocation": {"repository": repo, "commitId": commit},
        }
    raise ValueError(
        f"--revision: '{text}' is not a revision (s3://bucket/key.zip or github:owner/repo@commit)"
    )


def _confirmation(plan: Plan, snap: Snapshot) -> dict[str, str]:
    """What a person types to confirm: `y`, or for the irreversible and the traffic-moving a
    word they must read off the screen."""
    if plan.action not in TYPED_CONFIRMATION:
        return {"confirm_token": "y"}
    if plan.deployment_id:
        return {
            "confirm_token": plan.deployment_id[-4:],
            "confirm_hint": f"the end of {plan.deployment_id}",
        }
    group = snap.deployment_group or plan.target
    return {"confirm_token": group, "confirm_hint": "the deployment group's name"}


def _is_blue_green(snap: Snapshot) -> bool:
    return (snap.deployment is not None and snap.deployment.style == "BLUE_GREEN") or (
        snap.original is not None
    )


def _not_waiting(snap: Snapshot, wanted: str) -> str:
    d = snap.deployment
    if d is None:
        return f"no deployment of {snap.application}/{snap.deployment_group} is {wanted}"
    return f"deployment {d.id} is not {wanted} (it is {d.status}, {d.phase})"


def _changed(plan: Plan, current: Snapshot) -> str | None:
    """Why the plan no longer fits the state as it is now, or None."""
    look = "; look again before acting"
    if plan.account and current.account and plan.account != current.account:
        return (
            f"the credentials now reach account {current.account}, not {plan.account} where"
            f" the plan was made{look}"
        )
    if plan.region and current.region and plan.region != current.region:
        return f"the region is now {current.region}, not {plan.region}{look}"
    if plan.action == "repair":
        return _leftovers_changed(plan, current)
    before = plan.planned_from
    if plan.expect.get("kind") in ("deploy", "redeploy"):
        if current.latest_deployment != before.get("latest_deployment"):
            return (
                f"a deployment started since the plan was made: the group's latest is now"
                f" {current.latest_deployment} (was {before.get('latest_deployment')}){look}"
            )
    elif plan.deployment_id is not None or current.deployment is not None:
        d = current.deployment
        if (d.id if d else None) != plan.deployment_id:
            now = f"{d.id} ({d.status})" if d else "none"
            return (
                "the deployment changed since the plan was made: planned for"
                f" {plan.deployment_id or 'no deployment'}, now {now}{look}"
            )
        if d is not None and plan.expect_status is not None and d.status != plan.expect_status:
            return (
                f"deployment {d.id} changed since the plan was made: it was"
                f" {plan.expect_status}, it is now {d.status}{look}"
            )
    kind = plan.expect.get("kind")
    if kind == "weights":
        now = planned_from(current)
        for rule in plan.expect.get("weights", {}):
            if now["weights"].get(rule) != before.get("weights", {}).get(rule) or now[
                "actions"
            ].get(rule) != before.get("actions", {}).get(rule):
                return f"the listener's actions or weights changed since the plan was made{look}"
    if kind == "move":
        sources = set(plan.expect.get("sources", []))
        then = {r for r in before.get("registered", []) if r.split("@", 1)[1] in sources}
        now_reg = {r for r in planned_from(current)["registered"] if r.split("@", 1)[1] in sources}
        if then != now_reg:
            return f"the registrations changed since the plan was made{look}"
    check = current.action(plan.action)
    if not check.passed and not (check.overridable and plan.override):
        return check.reason
    return None


def _done_message(plan: Plan, result: dict[str, Any]) -> str:
    if plan.expect.get("kind") in ("deploy", "redeploy"):
        return f"deployment {result.get('deploymentId', '?')} started"
    if plan.action in ("stop", "rollback"):
        status = result.get("status")
        return f"{plan.summary}: {status or 'requested'}" + (
            f" ({result['statusMessage']})" if result.get("statusMessage") else ""
        )
    return f"{plan.summary}: done"


# ----- repair -----------------------------------------------------------------------------------


def plan_repair(base: Plan, snap: Snapshot) -> Plan:
    """The calls that put an in-place group's leftovers right, in this order: ExitStandby per
    Auto Scaling group, RegisterTargets per target group, RegisterInstancesWithLoadBalancer per
    classic LB, UpdateAutoScalingGroup MinSize, ResumeProcesses, the groups' record tags
    deleted, the instances' `cutover:hook:out` deleted. Refused with the reason when a
    deployment is running, nothing is left over, or Auto Scaling could not take the instances
    back (MaxSize)."""
    where = f"{snap.application}/{snap.deployment_group}"
    base = replace(
        base,
        summary=f"Repair what an interrupted deployment left behind in {where}",
        seen_at=snap.server_time.isoformat(),
    )
    running = snap.active_deployment or (
        snap.deployment.id if snap.deployment is not None and snap.deployment.active else None
    )
    if running:
        return replace(
            base,
            refused=f"deployment {running} is running: leftovers are checked and repaired when"
            " it ends",
        )
    if snap.leftovers is None:
        return replace(base, refused=snap.leftovers_note or "the leftovers were not checked")
    leftovers = snap.leftovers
    if not leftovers:
        return replace(base, refused="no leftovers: nothing to repair")
    calls: list[ApiCall] = []
    changes: list[str] = []

    standby: dict[str, list[Leftover]] = {}
    for lo in leftovers:
        if lo.kind == "standby" and lo.asg_name:
            standby.setdefault(lo.asg_name, []).append(lo)
    for asg, members in standby.items():
        entering = [lo.resource for lo in members if lo.detail.startswith("entering")]
        if entering:
            return replace(
                base,
                refused=f"{', '.join(entering)} still entering Standby in {asg}: wait until it"
                " is in Standby, then repair",
            )
        desired, most = members[0].asg_desired, members[0].asg_max
        if desired is not None and most is not None and desired + len(members) > most:
            return replace(
                base,
                refused=f"{asg}: taking {len(members)} instance(s) out of Standby needs desired"
                f" capacity {desired + len(members)}, above MaxSize {most}; raise MaxSize first",
            )
        ids = [lo.resource for lo in members]
        calls.append(
            ApiCall(
                "autoscaling",
                "exit_standby",
                {"AutoScalingGroupName": asg, "InstanceIds": ids},
            )
        )
        changes.append(
            f"{', '.join(ids)} leave Standby and rejoin {asg} (desired capacity +{len(ids)});"
            " Auto Scaling registers them with the group's load balancers"
        )

    by_tg: dict[str, tuple[str, list[Leftover]]] = {}
    by_clb: dict[str, list[Leftover]] = {}
    for lo in leftovers:
        if lo.kind != "out-of-service":
            continue
        if lo.target_group:
            if not lo.target_group_arn:
                return replace(base, refused=f"target group {lo.target_group} was not found")
            by_tg.setdefault(lo.target_group, (lo.target_group_arn, []))[1].append(lo)
        elif lo.classic_lb:
            by_clb.setdefault(lo.classic_lb, []).append(lo)
    for tg, (arn, items) in by_tg.items():
        targets = [{"Id": lo.resource, **({"Port": lo.port} if lo.port else {})} for lo in items]
        calls.append(
            ApiCall("elbv2", "register_targets", {"TargetGroupArn": arn, "Targets": targets})
        )
        names = ", ".join(lo.resource + (f":{lo.port}" if lo.port else "") for lo in items)
        changes.append(f"{names} registered in target group {tg} (serve once healthy)")
    for clb, items in by_clb.items():
        ids = list(dict.fromkeys(lo.resource for lo in items))
        calls.append(
            ApiCall(
                "elb",
                "register_instances_with_load_balancer",
                {"LoadBalancerName": clb, "Instances": [{"InstanceId": i} for i in ids]},
            )
        )
        changes.append(
            f"{', '.join(ids)} registered with classic load balancer {clb} (serve once healthy)"
        )

    group_tags: list[dict[str, Any]] = []
    for lo in leftovers:
        if lo.kind == "min-size" and lo.asg_name and not lo.stale and lo.min_size is not None:
            calls.append(
                ApiCall(
                    "autoscaling",
                    "update_auto_scaling_group",
                    {"AutoScalingGroupName": lo.asg_name, "MinSize": lo.min_size},
                )
            )
            changes.append(f"{lo.asg_name}: MinSize back to {lo.min_size} ({lo.detail})")
        elif lo.kind == "min-size" and lo.asg_name and lo.stale:
            # Never the recorded value over one someone set since: only the record goes.
            changes.append(
                f"{lo.asg_name}: MinSize not changed ({lo.detail}); only its record"
                f" {lo.record_tag} is deleted"
            )
    for lo in leftovers:
        if lo.kind == "suspended" and lo.asg_name and lo.processes:
            calls.append(
                ApiCall(
                    "autoscaling",
                    "resume_processes",
                    {"AutoScalingGroupName": lo.asg_name, "ScalingProcesses": list(lo.processes)},
                )
            )
            changes.append(f"{lo.asg_name}: {', '.join(lo.processes)} resumed")
    for lo in leftovers:
        if lo.kind in ("min-size", "suspended") and lo.asg_name and lo.record_tag:
            group_tags.append(
                {
                    "ResourceId": lo.asg_name,
                    "ResourceType": "auto-scaling-group",
                    "Key": lo.record_tag,
                }
            )
    if group_tags:
        calls.append(ApiCall("autoscaling", "delete_tags", {"Tags": group_tags}))
        changes.append(
            "the hooks' records deleted: "
            + ", ".join(f"{t['Key']} on {t['ResourceId']}" for t in group_tags)
        )
    marked = list(
        dict.fromkeys(
            lo.resource
            for lo in leftovers
            if lo.kind in ("standby", "out-of-service") and lo.tagged
        )
    )
    if marked:
        calls.append(
            ApiCall(
                "ec2",
                "delete_tags",
                {"Resources": marked, "Tags": [{"Key": "cutover:hook:out"}]},
            )
        )
        changes.append(
            f"cutover:hook:out deleted from {', '.join(marked)} (the hooks' mark that they"
            " took the instance out)"
        )
    if standby or by_tg or by_clb:
        # The interrupted deployment may have stopped the application (ApplicationStop ran,
        # ApplicationStart did not): the load balancer then keeps the instance unhealthy,
        # which is safe, and the next deployment starts it again.
        changes.append(
            "instances serve again only once they pass health checks; one whose application"
            " the interrupted deployment stopped stays unhealthy until a deployment runs on it"
        )
    return replace(
        base,
        calls=tuple(calls),
        changes=tuple(changes),
        leftovers=leftovers,
        parameters={"leftovers": [lo.text() for lo in leftovers]},
    )


def _leftovers_changed(plan: Plan, current: Snapshot) -> str | None:
    running = current.active_deployment or (
        current.deployment.id
        if current.deployment is not None and current.deployment.active
        else None
    )
    if running:
        return f"deployment {running} started since the plan was made; look again before acting"
    if current.leftovers is None:
        return f"the leftovers could not be checked again: {current.leftovers_note}"
    planned = {lo.key for lo in plan.leftovers}
    now = {lo.key for lo in current.leftovers}
    if planned != now:
        gone = [lo.text() for lo in plan.leftovers if lo.key not in now]
        new = [lo.text() for lo in current.leftovers if lo.key not in planned]
        what = []
        if gone:
            what.append("no longer there: " + "; ".join(gone))
        if new:
            what.append("new: " + "; ".join(new))
        return (
            "the leftovers changed since the plan was made ("
            + " / ".join(what)
            + "); look again before acting"
        )
    return None
