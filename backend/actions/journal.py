"""The audit records the Controller writes: who acted, where, on what, and what became of it.

One record per step of an action (intent before sending, then its outcome; a refusal; a
cancellation; an outcome read back later for an intent nobody recorded an outcome for), each
naming the caller, the account, region, endpoint and group, and the plan's id. It also reads
back the intents whose outcome was never recorded, against the state as it is now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError
from cutover.backend import audit as audit_outcomes
from cutover.backend.actions.plan import Plan
from cutover.backend.actions.readback import DONE, UNKNOWN, Intent, read_back
from cutover.backend.audit import AuditLog, AuditRecord
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import PendingAction, Snapshot


class Journal:
    """Writes the controller's records to the audit log for one target."""

    def __init__(
        self,
        session: AwsSession,
        target: TargetConfig,
        audit: AuditLog,
        caller: Callable[[], str | None] | None = None,
    ) -> None:
        self.session = session
        self.target = target
        self.audit = audit
        self._caller = caller
        self._caller_arn: str | None = None

    def caller_arn(self) -> str | None:
        """Who acts (STS GetCallerIdentity, once); None when it cannot be read."""
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

    def read_back_pending(
        self, snap: Snapshot, endpoint: str | None
    ) -> tuple[PendingAction, ...] | None:
        """The intents written here for `snap`'s group whose outcome nobody recorded (Ctrl-C,
        a crash), each read back against `snap`; a clear answer is recorded as its outcome.
        None when the audit log cannot be read."""
        try:
            pending = self.audit.pending(
                application=snap.application,
                deployment_group=snap.deployment_group,
                region=snap.region,
                endpoint=endpoint,
                account=snap.account,
            )
        except OSError:
            return None
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
                    self.settled(r, verdict, evidence, snap)
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
        return tuple(out)

    def settled(self, r: dict, verdict: str, evidence: str, snap: Snapshot) -> None:
        """The outcome read back, at `snap`'s time, for intent record `r`."""
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

    def record(
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
        """One step of `plan`; the intent (`intent=True`) carries the plan, the state it was
        made from and what readback expects."""
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
