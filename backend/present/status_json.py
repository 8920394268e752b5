"""`cutover status --json`: the stable, documented document made from a Snapshot.

docs/status-schema.json (JSON Schema draft 2020-12) describes it. Keys are only ever added
within a schema version; `schema_version` changes when anything is renamed or removed. Times are
ISO 8601 UTC strings from the server's clock; absent values are null, never missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cutover.backend.actions.catalogue import BY_NAME, NAMES
from cutover.backend.core.verdict import verdict
from cutover.backend.model import (
    Deployment,
    DeploymentSummary,
    Environment,
    Instance,
    Leftover,
    ListenerWeights,
    PendingAction,
    Preview,
    Snapshot,
)
from cutover.backend.present.bake_text import bake_document
from cutover.backend.present.verdict_text import verdict_line

SCHEMA_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _instance(inst: Instance) -> dict[str, Any]:
    failed = inst.failed_event
    return {
        "id": inst.id,
        "az": inst.az,
        "instance_type": inst.instance_type,
        "ec2_state": inst.ec2_state,
        "launch_time": _time(inst.launch_time),
        "asg_name": inst.asg_name,
        "asg_lifecycle": inst.asg_lifecycle,
        "label": inst.label,
        "revision": inst.revision,
        "lifecycle_status": inst.lifecycle_status,
        "current_event": inst.current_event,
        "failed_event": None
        if failed is None
        else {
            "name": failed.name,
            "error_code": failed.error_code,
            "script_name": failed.script_name,
            "message": failed.message,
            "log_tail": failed.log_tail,
        },
        "events": [
            {"name": e.name, "status": e.status, "start": _time(e.start), "end": _time(e.end)}
            for e in inst.events
        ],
        "health": {
            h.name: {
                "kind": h.kind,
                "state": h.state,
                "reason": h.reason,
                "description": h.description,
                "healthy": h.healthy,
                "draining": h.draining,
                "drain_deadline": _time(h.drain_deadline),
            }
            for h in inst.health
        },
    }


def _environment(env: Environment | None) -> dict[str, Any] | None:
    if env is None:
        return None
    return {
        "asg_name": env.asg_name,
        "desired": env.desired,
        "min_size": env.min_size,
        "max_size": env.max_size,
        "capacity": env.capacity,
        "healthy": env.healthy_count,
        "in_flight": list(env.in_flight),
        "instances": [_instance(i) for i in env.instances],
        "metrics": {f"{s.source}/{s.name}" if s.source else s.name: s.last for s in env.metrics},
    }


def status_document(snapshot: Snapshot) -> dict[str, Any]:
    """The `cutover status --json` document for a Snapshot: plain JSON types only (str, int,
    float, bool, None, list, dict), every documented key always present."""
    return {
        "schema_version": SCHEMA_VERSION,
        "server_time": _time(snapshot.server_time),
        "target": snapshot.target,
        "application": snapshot.application,
        "deployment_group": snapshot.deployment_group,
        "account": snapshot.account,
        "region": snapshot.region,
        "endpoint_url": snapshot.endpoint_url,
        "sandbox_clock_rate": snapshot.sandbox_rate,
        "style": snapshot.style,
        "read_only": snapshot.read_only,
        "verdict": _verdict(snapshot),
        "bake": bake_document(snapshot.bake),
        "deployment": _deployment(snapshot.deployment),
        "active_deployment": snapshot.active_deployment,
        "original": _environment(snapshot.original),
        "replacement": _environment(snapshot.replacement),
        "fleet": _environment(snapshot.fleet),
        "traffic": _traffic(snapshot),
        "timers": [
            {"name": t.name, "deadline": _time(t.deadline), "started": _time(t.started)}
            for t in snapshot.timers
        ],
        "gates": [{"name": g.name, "passed": g.passed, "reason": g.reason} for g in snapshot.gates],
        "actions": _actions(snapshot),
        "alarms": [{"name": a.name, "state": a.state, "reason": a.reason} for a in snapshot.alarms],
        "target_groups": list(snapshot.target_groups),
        "classic_load_balancers": list(snapshot.classic_load_balancers),
        "listeners": [_listener(w) for w in snapshot.listeners],
        "leftovers": None
        if snapshot.leftovers is None
        else [_leftover(lo) for lo in snapshot.leftovers],
        "leftovers_note": snapshot.leftovers_note,
        "unowned": None if snapshot.unowned is None else [_unowned(lo) for lo in snapshot.unowned],
        "unowned_note": snapshot.unowned_note,
        "preview": _preview(snapshot.preview),
        "automatic_deployment": _automatic(snapshot.automatic),
        "pending_actions": [_pending(p) for p in snapshot.pending],
        "notes": list(snapshot.notes),
        "api_calls": snapshot.api_calls,
        "elapsed_ms": snapshot.elapsed_ms,
    }


def _verdict(snapshot: Snapshot) -> dict[str, Any]:
    v = verdict(snapshot)
    return {
        "level": v.level,
        "why": v.why,
        "line": verdict_line(snapshot, cli=True),
        "action": v.action,
        "key": BY_NAME[v.action].key if v.action else None,
        "deadline": _time(v.deadline),
        "if_nobody_acts": v.if_nobody,
        "load_balancer_5xx_per_minute": dict(v.lb_5xx),
        "target_5xx_per_minute": dict(v.target_5xx),
        "unhealthy_instances": v.unhealthy,
        "alarms_in_alarm": list(v.alarms),
    }


def _deployment(dep: Deployment | None) -> dict[str, Any] | None:
    if dep is None:
        return None
    return {
        "id": dep.id,
        "status": dep.status,
        "phase": dep.phase,
        "waiting_for": dep.waiting_for,
        "deadline": _time(dep.deadline),
        "error_code": dep.error_code,
        "error_message": dep.error_message,
        "style": dep.style,
        "traffic_control": dep.traffic_control,
        "config_name": dep.config_name,
        "revision": dep.revision,
        "previous_revision": dep.previous_revision,
        "creator": dep.creator,
        "create_time": _time(dep.create_time),
        "start_time": _time(dep.start_time),
        "complete_time": _time(dep.complete_time),
        "overview": dict(dep.overview),
        "status_messages": list(dep.status_messages),
        "rollback_of": dep.rollback_of,
        "rolled_back_by": dep.rolled_back_by,
        "rollback_message": dep.rollback_message,
        "ready_action": dep.ready_action,
        "termination_action": dep.termination_action,
        "termination_wait_started": dep.termination_wait_started,
    }


def _traffic(snapshot: Snapshot) -> dict[str, Any] | None:
    if snapshot.traffic is None:
        return None
    return {
        "original_percent": snapshot.traffic.original_percent,
        "replacement_percent": snapshot.traffic.replacement_percent,
        "basis": snapshot.traffic.basis,
    }


def _actions(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    actions = {a.name: {"allowed": a.passed, "reason": a.reason} for a in snapshot.actions}
    for name in NAMES:
        actions.setdefault(name, {"allowed": False, "reason": "not available"})
    return actions


def _listener(w: ListenerWeights) -> dict[str, Any]:
    return {
        "load_balancer": w.load_balancer,
        "port": w.port,
        "is_default": w.is_default,
        "rule_arn": w.rule_arn,
        "weights": {tg: weight for tg, weight in w.weights},
    }


def _leftover(lo: Leftover) -> dict[str, Any]:
    return {
        "kind": lo.kind,
        "resource": lo.resource,
        "detail": lo.detail,
        "instance_id": lo.instance_id,
        "asg_name": lo.asg_name,
        "target_group": lo.target_group,
        "port": lo.port,
        "classic_load_balancer": lo.classic_lb,
        "min_size": lo.min_size,
        "processes": list(lo.processes),
        "record_left_behind": lo.stale,
    }


def _unowned(lo: Leftover) -> dict[str, Any]:
    return {
        "kind": lo.kind,
        "resource": lo.resource,
        "detail": lo.detail,
        "deployment_id": lo.deployment_id,
        "asg_name": lo.asg_name,
        "instance_ids": list(lo.instance_ids),
        "registered_in": [
            {"name": name, "instance_ids": list(ids)} for name, _, ids in lo.registered_in
        ],
    }


def _preview(pv: Preview | None) -> dict[str, Any] | None:
    if pv is None:
        return None
    return {
        "target_group": pv.target_group,
        "target_group_arn": pv.arn,
        "port": pv.port,
        "listener": pv.listener,
        "address": pv.address,
        "health_check_path": pv.health_path,
        "problem": pv.problem,
        "targets": [
            {
                "instance_id": t.name,
                "port": t.port,
                "state": t.state,
                "reason": t.reason,
                "description": t.description,
            }
            for t in pv.targets
        ],
    }


def _automatic(auto: DeploymentSummary | None) -> dict[str, Any] | None:
    if auto is None:
        return None
    return {
        "id": auto.id,
        "status": auto.status,
        "creator": auto.creator,
        "revision": auto.revision,
        "instances": list(auto.instances),
        "error_code": auto.error_code,
    }


def _pending(p: PendingAction) -> dict[str, Any]:
    return {
        "action": p.action,
        "summary": p.summary,
        "sent_at": p.sent_at,
        "deployment_id": p.deployment_id,
        "outcome": p.verdict,
        "evidence": p.evidence,
        "plan": list(p.plan),
    }
