"""Every mutating call Cutover makes, in one place.

An action goes: `Controller.plan(name, snapshot, ...)` checks the precondition against what is
on screen and returns a `Plan` a person can read (the exact API calls, what will change, the
gate results), or a refused plan saying why. `Controller.execute(plan)` re-checks the
precondition against a fresh snapshot (someone else may have moved the deployment), sends the
plan's calls once, and appends one audit record whatever happens. A plan that was already
sent is never sent again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from backend.audit import AuditLog, AuditRecord
from backend.config import TargetConfig
from backend.errors import describe_aws_error
from backend.model import Check, Leftover, ListenerWeights, Snapshot
from backend.session import AwsSession

MUTATING = ("deploy", "approve", "terminate-original", "stop", "rollback", "shift", "repair")
# Actions whose confirmation asks for the deployment id's last four characters, not just `y`.
TYPED_CONFIRMATION = ("terminate-original", "rollback", "shift")


@dataclass(frozen=True)
class ApiCall:
    service: str
    operation: str  # the boto3 method name, e.g. continue_deployment
    params: dict[str, Any]

    @property
    def api_name(self) -> str:
        return "".join(part.capitalize() for part in self.operation.split("_"))

    def text(self) -> str:
        """`codedeploy:ContinueDeployment deploymentId=d-… deploymentWaitType=READY_WAIT`"""
        args = " ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.service}:{self.api_name} {args}".rstrip()


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Plan:
    """What an action will do, for a person to confirm. `refused` set means it must not run."""

    action: str
    target: str
    summary: str
    deployment_id: str | None = None
    calls: tuple[ApiCall, ...] = ()
    changes: tuple[str, ...] = ()
    gates: tuple[Check, ...] = ()
    override: bool = False
    refused: str | None = None
    confirm_token: str | None = None  # what a person types to confirm ("y" or 4 characters)
    parameters: dict[str, Any] = field(default_factory=dict)
    # What the precondition saw; execute() compares it with a fresh snapshot.
    expect_status: str | None = None
    # repair: the leftovers the plan puts right, and when they were seen (part of the id, so
    # the same leftovers coming back after another failed deployment can be repaired again).
    leftovers: tuple[Leftover, ...] = ()
    seen_at: str | None = None

    @property
    def id(self) -> str:
        """Stable for the same action on the same deployment state with the same calls."""
        body = json.dumps(
            [self.action, self.target, self.deployment_id, self.expect_status]
            + [[c.service, c.operation, c.params] for c in self.calls]
            + ([self.seen_at] if self.seen_at else []),
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def lines(self) -> list[str]:
        """The plan in plain lines, for a terminal or a confirmation screen."""
        out = [self.summary]
        if self.refused:
            out.append(f"Refused: {self.refused}")
        for call in self.calls:
            out.append(f"  call: {call.text()}")
        for change in self.changes:
            out.append(f"  change: {change}")
        for gate in self.gates:
            mark = "pass" if gate.passed else ("OVERRIDDEN" if self.override else "FAIL")
            out.append(f"  gate {gate.name}: {mark}: {gate.reason}")
        return out


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    ok: bool
    message: str
    request_ids: tuple[str, ...] = ()
    error_code: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


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
        self._sent: dict[str, Outcome] = {}
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
        """The plan for `action` on what `snap` shows; refused plans say why."""
        if action not in MUTATING:
            raise ValueError(f"unknown action {action}")
        base = Plan(action=action, target=self.target.name, summary=action)
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
        if plan.refused is None and plan.confirm_token is None:
            token = "y"
            if action in TYPED_CONFIRMATION and plan.deployment_id:
                token = plan.deployment_id[-4:]
            plan = replace(plan, confirm_token=token)
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
        if snap.deployment is not None and snap.deployment.active:
            return replace(
                base,
                summary=f"Start a deployment of {snap.application}/{snap.deployment_group}",
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
            summary=f"Start a deployment of {label} to {snap.application}/{snap.deployment_group}",
            calls=(ApiCall("codedeploy", "create_deployment", params),),
            changes=(
                "a replacement fleet is provisioned and the revision installed on it"
                if _is_blue_green(snap)
                else "instances are updated in place, batch by batch",
            ),
            parameters={"revision": revision},
        )

    def _plan_approve(self, base: Plan, snap: Snapshot, *, override_gates: bool, **_: Any) -> Plan:
        base = self._about(base, snap, "Approve the traffic reroute of {id}")
        dep_id = base.deployment_id
        if snap.deployment is None or snap.deployment.waiting_for != "reroute-approval":
            return replace(base, refused=_not_waiting(snap, "waiting for reroute approval"))
        gates = snap.gates
        failed = [g for g in gates if not g.passed]
        if failed and not override_gates:
            return replace(
                base,
                gates=gates,
                refused="; ".join(g.reason for g in failed),
            )
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
        )

    def _plan_terminate_original(self, base: Plan, snap: Snapshot, **_: Any) -> Plan:
        base = self._about(base, snap, "Terminate the original instances of {id} now")
        dep_id = base.deployment_id
        if snap.deployment is None or snap.deployment.waiting_for != "termination":
            return replace(base, refused=_not_waiting(snap, "in its termination wait"))
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
        )

    def _plan_rollback(self, base: Plan, snap: Snapshot, **_: Any) -> Plan:
        dep = snap.deployment
        dep_id, status = self._deployment(snap)
        base = replace(base, deployment_id=dep_id, expect_status=status)
        check = snap.action("rollback")
        if dep is not None and dep.active and check.passed:
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
            )
        if dep is not None and not dep.active and dep.previous_revision_location:
            params = {
                "applicationName": snap.application,
                "deploymentGroupName": snap.deployment_group,
                "revision": dep.previous_revision_location,
                "description": f"Redeploy of the revision before {dep.id}, started with Cutover",
            }
            return replace(
                base,
                summary=f"Redeploy {dep.previous_revision} (the revision before {dep_id})",
                calls=(ApiCall("codedeploy", "create_deployment", params),),
                changes=(
                    "the originals are gone, so the way back is a new deployment of the "
                    "previous revision",
                ),
            )
        return replace(base, summary=f"Roll back {dep_id}", refused=check.reason)

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
            return _plan_weights(base, snap, replacement_percent)
        return _plan_move(base, snap, move or "")

    def _plan_repair(self, base: Plan, snap: Snapshot, **_: Any) -> Plan:
        return plan_repair(base, snap)

    # ----- execution --------------------------------------------------------------------------

    def execute(self, plan: Plan, fresh: Callable[[], Snapshot] | None = None) -> Outcome:
        """Send a confirmed plan once, audit it, and return what happened.

        Refused plans, plans whose precondition no longer holds on a fresh snapshot, and plans
        already sent are not sent; each is audited as refused.
        """
        with self._lock:
            if plan.id in self._sent or self.audit.executed(plan.id):
                previous = self._sent.get(plan.id)
                message = "this exact plan was already sent; it is not sent twice"
                self._record(plan, "refused", message=message)
                if previous is not None:
                    return replace(previous, ok=False, message=message, error_code="Duplicate")
                return Outcome(plan, False, message, error_code="Duplicate")
            if (
                plan.refused is None
                and fresh is not None
                and (plan.deployment_id or plan.action == "repair")
            ):
                try:
                    current = fresh()
                except Exception as exc:
                    reason = f"could not re-check the deployment before acting: {exc}"
                    plan = replace(plan, refused=reason)
                else:
                    changed = _changed(plan, current)
                    if changed:
                        plan = replace(plan, refused=changed)
            if plan.refused is not None:
                self._record(plan, "refused", message=plan.refused)
                return Outcome(plan, False, plan.refused)
            request_ids: list[str] = []
            result: dict[str, Any] = {}
            for index, call in enumerate(plan.calls):
                try:
                    response = getattr(self.session.client(call.service), call.operation)(
                        **call.params
                    )
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "Unknown")
                    meta = exc.response.get("ResponseMetadata", {})
                    rid = meta.get("RequestId")
                    message = describe_aws_error(exc)
                    outcome = Outcome(
                        plan,
                        False,
                        message,
                        tuple(request_ids + ([rid] if rid else [])),
                        code,
                    )
                    # A 4xx on the first call is AWS refusing it: nothing changed, and once
                    # the cause is fixed (a permission, say) a person may confirm it again.
                    # After a call went through, or on a 5xx, what happened is not known:
                    # never again.
                    status = int(meta.get("HTTPStatusCode") or 0)
                    rejected = index == 0 and 400 <= status < 500
                    if not rejected:
                        self._sent[plan.id] = outcome
                    self._record(
                        plan,
                        "failed",
                        message=message,
                        error_code=code,
                        request_id=rid,
                        rejected=rejected,
                    )
                    return outcome
                except BotoCoreError as exc:
                    message = describe_aws_error(exc)
                    outcome = Outcome(plan, False, message, tuple(request_ids), "Connection")
                    self._sent[plan.id] = outcome
                    self._record(plan, "failed", message=message, error_code="Connection")
                    return outcome
                rid = response.get("ResponseMetadata", {}).get("RequestId")
                if rid:
                    request_ids.append(rid)
                result = {k: v for k, v in response.items() if k != "ResponseMetadata"}
            message = _done_message(plan, result)
            outcome = Outcome(plan, True, message, tuple(request_ids), None, result)
            self._sent[plan.id] = outcome
            self._record(
                plan,
                "done",
                message=message,
                request_id=",".join(request_ids) or None,
                deployment_id=result.get("deploymentId"),
            )
            return outcome

    def refuse(self, plan: Plan, reason: str) -> None:
        """Audit a plan a person declined or a precondition refused before execute()."""
        outcome = "cancelled" if plan.refused is None else "refused"
        self._record(replace(plan, refused=reason), outcome, message=reason)

    def _record(
        self,
        plan: Plan,
        outcome: str,
        *,
        message: str | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        deployment_id: str | None = None,
        rejected: bool = False,
    ) -> None:
        self.audit.append(
            AuditRecord(
                action=plan.action,
                outcome=outcome,
                target=self.target.name,
                server_time=self.session.clock.now().isoformat(),
                caller=self.caller_arn(),
                application=self.target.application,
                deployment_group=self.target.deployment_group,
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
    """Why the plan no longer fits the deployment as it is now, or None."""
    if plan.action == "repair":
        return _leftovers_changed(plan, current)
    d = current.deployment
    if d is None or d.id != plan.deployment_id:
        now = f"{d.id} ({d.status})" if d else "none"
        return (
            f"the deployment changed since the plan was made: planned for {plan.deployment_id}, "
            f"now {now}; look again before acting"
        )
    if plan.expect_status is not None and d.status != plan.expect_status:
        return (
            f"deployment {d.id} changed since the plan was made: it was {plan.expect_status}, "
            f"it is now {d.status}; look again before acting"
        )
    if plan.action == "approve" and not plan.override:
        failed = [g for g in current.gates if not g.passed]
        if failed:
            return "; ".join(g.reason for g in failed)
    return None


def _done_message(plan: Plan, result: dict[str, Any]) -> str:
    if plan.action in ("deploy",) or (
        plan.action == "rollback" and plan.calls[0].operation == "create_deployment"
    ):
        return f"deployment {result.get('deploymentId', '?')} started"
    if plan.action == "stop" or plan.action == "rollback":
        status = result.get("status")
        return f"{plan.summary}: {status or 'requested'}" + (
            f" ({result['statusMessage']})" if result.get("statusMessage") else ""
        )
    return f"{plan.summary}: done"


def _plan_weights(base: Plan, snap: Snapshot, percent: int) -> Plan:
    base = replace(base, summary=f"Send {percent}% of traffic to the replacement")
    if not 0 <= percent <= 100:
        return replace(base, refused="the replacement share must be from 0 to 100")
    if not snap.listeners:
        return replace(
            base,
            refused="no listener of this group forwards to two target groups by weight; "
            "use a move instead",
        )
    calls = []
    changes = []
    for lw in snap.listeners:
        names = [n for n, _ in lw.weights]
        if len(names) != 2:
            continue
        original_tg, replacement_tg = _sides(snap, names)
        weights = {original_tg: 100 - percent, replacement_tg: percent}
        groups = [
            {"TargetGroupArn": arn, "Weight": weights[name]} for name, arn in _arns(snap, lw, names)
        ]
        action = {"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}
        if lw.is_default:
            calls.append(
                ApiCall(
                    "elbv2",
                    "modify_listener",
                    {"ListenerArn": lw.listener_arn, "DefaultActions": [action]},
                )
            )
        else:
            calls.append(
                ApiCall("elbv2", "modify_rule", {"RuleArn": lw.rule_arn, "Actions": [action]})
            )
        before = ", ".join(f"{n} {w}" for n, w in lw.weights)
        changes.append(
            f"{lw.load_balancer}:{lw.port}: {before} -> "
            f"{original_tg} {100 - percent}, {replacement_tg} {percent}"
        )
    if not calls:
        return replace(base, refused="no listener forwards to exactly two target groups")
    return replace(
        base,
        calls=tuple(calls),
        changes=tuple(changes),
        parameters={"replacement_percent": percent},
    )


def _sides(snap: Snapshot, names: list[str]) -> tuple[str, str]:
    """(original group, replacement group) of a weighted pair, by the environments the
    snapshot attached them to; else the listener's order (first is the original)."""
    original = snap.original.target_groups if snap.original else ()
    replacement = snap.replacement.target_groups if snap.replacement else ()
    for a, b in ((names[0], names[1]), (names[1], names[0])):
        if a in original or b in replacement:
            return a, b
    return names[0], names[1]


def _arns(snap: Snapshot, lw: ListenerWeights, names: list[str]) -> list[tuple[str, str]]:
    mapping = dict(lw.arns) | dict(snap.target_group_arns)
    return [(n, mapping.get(n, n)) for n in names]


def _plan_move(base: Plan, snap: Snapshot, move: str) -> Plan:
    choices = ("replacement-in", "replacement-out", "original-in", "original-out")
    base = replace(base, summary=f"Move an environment: {move}")
    if move not in choices:
        return replace(base, refused=f"--move must be one of {', '.join(choices)}")
    role, direction = move.split("-")
    env = snap.replacement if role == "replacement" else snap.original
    if env is None or not env.instances:
        return replace(base, refused=f"there is no {role} environment to move")
    tg_arns = dict(snap.target_group_arns)
    calls = []
    for tg in snap.target_groups:
        targets = [
            {"Id": i.id} for i in env.instances if i.ec2_state in (None, "running", "pending")
        ]
        if not targets:
            continue
        op = "register_targets" if direction == "in" else "deregister_targets"
        calls.append(
            ApiCall("elbv2", op, {"TargetGroupArn": tg_arns.get(tg, tg), "Targets": targets})
        )
    for clb in snap.classic_load_balancers:
        instances = [{"InstanceId": i.id} for i in env.instances]
        op = (
            "register_instances_with_load_balancer"
            if direction == "in"
            else "deregister_instances_from_load_balancer"
        )
        calls.append(ApiCall("elb", op, {"LoadBalancerName": clb, "Instances": instances}))
    if not calls:
        return replace(
            base, refused="the group has no load balancer to move instances in or out of"
        )
    verb = "registered with" if direction == "in" else "deregistered from"
    lbs = ", ".join(snap.target_groups + snap.classic_load_balancers)
    return replace(
        base,
        calls=tuple(calls),
        changes=(f"{len(env.instances)} {role} instance(s) {verb} {lbs}",),
        parameters={"move": move},
    )


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
