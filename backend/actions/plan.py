"""What an action will do, for a person to confirm: `Plan`, its calls, and what became of it.

A Plan names where it acts (account, region, endpoint, application, deployment group) and
the state it was made from (`planned_from`). Its `id` covers all of that and the exact calls:
the same plan from the same observation (a double keypress) has the same id and is never sent
twice, while a new decision made after the state moved (deploy, stop, deploy again; shift out,
in, out) has a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cutover.backend.model import Check, Leftover, Snapshot


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


def planned_from(snap: Snapshot) -> dict[str, Any]:
    """The state a plan is made from, as JSON: part of the plan's id, compared again before
    sending, and what `readback` compares with after a lost answer."""
    d = snap.deployment
    registered = sorted(
        f"{i.id}@{h.name}"
        for i in snap.instances()
        for h in i.health
        if h.registered and not h.draining and h.state != "unused"
    )
    out = {
        "observed_at": snap.server_time.isoformat(),
        "deployment": d.id if d else None,
        "status": d.status if d else None,
        "latest_deployment": snap.latest_deployment,
        "active_deployment": snap.active_deployment,
        "weights": {w.rule_arn: dict(w.weights) for w in snap.listeners},
        "actions": {
            w.rule_arn: hashlib.sha256(w.actions.encode()).hexdigest()[:16] for w in snap.listeners
        },
        "registered": registered,
    }
    if snap.preview is not None:
        # Only with a preview: the plans of every other group keep their ids.
        out["preview"] = list(snap.preview.registered)
    return out


@dataclass(frozen=True)
class Request:
    """What a person chose beyond the action itself: a dashboard dialog's answer, or a
    command's flags (--revision, --replacement, --move, --override-gates)."""

    revision: str | None = None
    replacement_percent: int | None = None
    move: str | None = None
    override_gates: bool = False


@dataclass(frozen=True)
class Plan:
    """What an action will do, for a person to confirm. `refused` set means it must not run."""

    action: str
    target: str
    summary: str
    deployment_id: str | None = None
    calls: tuple[ApiCall, ...] = ()
    changes: tuple[str, ...] = ()
    # What a person should know before confirming (e.g. an instance already unhealthy).
    warnings: tuple[str, ...] = ()
    gates: tuple[Check, ...] = ()
    override: bool = False
    refused: str | None = None
    confirm_token: str | None = None  # what a person types to confirm ("y" or a word)
    confirm_hint: str | None = None  # what the token is, e.g. "the end of d-ABCDEFGH1"
    parameters: dict[str, Any] = field(default_factory=dict)
    # What the precondition saw; execute() compares it with a fresh snapshot.
    expect_status: str | None = None
    # repair: the leftovers the plan puts right, and when they were seen.
    leftovers: tuple[Leftover, ...] = ()
    seen_at: str | None = None
    # Where it acts.
    application: str | None = None
    deployment_group: str | None = None
    account: str | None = None
    region: str | None = None
    endpoint: str | None = None
    planned_from: dict[str, Any] = field(default_factory=dict)
    # What the state shows once it took effect (for readback): {"kind": ..., ...}.
    expect: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The same for the same action, calls, place and planned-from state only."""
        body = json.dumps(
            {
                "action": self.action,
                "target": self.target,
                "where": [
                    self.account,
                    self.region,
                    self.endpoint,
                    self.application,
                    self.deployment_group,
                ],
                "deployment": [self.deployment_id, self.expect_status],
                "from": self.planned_from,
                "calls": [[c.service, c.operation, c.params] for c in self.calls],
                "seen_at": self.seen_at,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def where(self) -> str:
        """`account 123456789012, us-east-1, endpoint http://…` (what the plan acts on)."""
        parts = [
            f"{self.application}/{self.deployment_group}"
            if self.application and self.deployment_group
            else None,
            f"account {self.account}" if self.account else "account unknown",
            self.region or "region unknown",
            f"endpoint {self.endpoint}" if self.endpoint else None,
        ]
        return ", ".join(p for p in parts if p)

    def lines(self) -> list[str]:
        """The plan in plain lines, for a terminal or a confirmation screen."""
        out = [self.summary, f"  where: {self.where()}"]
        out += [f"  WARNING: {w}" for w in self.warnings]
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
    """What became of a plan. `state`: done | not-done | failed | unknown | refused."""

    plan: Plan
    ok: bool
    message: str
    request_ids: tuple[str, ...] = ()
    error_code: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    state: str = "refused"
    # Set when the outcome could not be written to the audit log after the calls went out.
    audit_error: str | None = None
