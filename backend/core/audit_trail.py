"""The actions taken from this machine on a deployment, from the audit log: each action's
intent record (the plan as confirmed, the gates, an override) joined with its outcome record
by their shared attempt, for the report. Pure: the records are the audit log's dicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Action:
    """One action taken from this machine, its intent and outcome records joined."""

    action: str
    outcome: str
    time: str  # the server's time of its first record (ISO 8601)
    caller: str | None
    deployment_id: str | None
    plan: tuple[str, ...]
    gates: tuple[dict[str, Any], ...]
    override: bool
    message: str | None
    error_code: str | None
    request_id: str | None
    resolved_by: str | None


def actions(
    records: Iterable[dict[str, Any]],
    deployment_ids: Sequence[str],
    *,
    application: str | None,
    deployment_group: str | None,
    region: str | None,
    endpoint: str | None,
) -> list[Action]:
    """The audit log's actions on these deployments of this group (the deploy that created
    one included), at this endpoint and region, oldest first. An intent with no outcome
    reads `no outcome recorded`."""
    wanted = set(deployment_ids)
    mine = [
        r
        for r in records
        if r.get("application") == application
        and r.get("deployment_group") == deployment_group
        and r.get("region") in (None, region)
        and _same_endpoint(r.get("endpoint"), endpoint)
    ]
    attempts = {r["attempt"] for r in mine if r.get("attempt") and r.get("deployment_id") in wanted}
    groups: dict[str, list[dict[str, Any]]] = {}
    for n, r in enumerate(mine):
        if r.get("attempt") in attempts:
            groups.setdefault(r["attempt"], []).append(r)
        elif r.get("deployment_id") in wanted:
            groups[f"#{n}"] = [r]
    return sorted((_joined(rs) for rs in groups.values()), key=lambda a: a.time)


def _joined(records: list[dict[str, Any]]) -> Action:
    intent = next((r for r in records if r.get("outcome") == "intent"), None)
    ends = [r for r in records if r.get("outcome") != "intent"]
    last = ends[-1] if ends else None
    first = intent or records[0]
    told = last or first
    return Action(
        action=str(first.get("action")),
        outcome=str(last.get("outcome")) if last else "no outcome recorded",
        time=str(first.get("server_time") or ""),
        caller=first.get("caller"),
        deployment_id=next(
            (r.get("deployment_id") for r in records if r.get("deployment_id")), None
        ),
        plan=tuple(first.get("plan") or ()),
        gates=tuple(first.get("gates") or ()),
        override=any(r.get("override") for r in records),
        message=told.get("message") if last else None,
        error_code=told.get("error_code") if last else None,
        request_id=told.get("request_id") if last else None,
        resolved_by=told.get("resolved_by") if last else None,
    )


def _same_endpoint(recorded: str | None, custom: str | None) -> bool:
    # Without a custom endpoint the audit records AWS's regional one; with one, that one.
    if custom:
        return recorded == custom
    return not recorded or ".amazonaws.com" in recorded
