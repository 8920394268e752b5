"""Rerouting by hand: listener weights, or moving an environment in or out.

Two rules a person at 3 a.m. cannot check by eye:
- A weight change sends the rule's whole action list back (ModifyListener and ModifyRule
  replace it) with only the forward's weights changed: authentication actions, their order,
  the forward's target-group stickiness and every other attribute are kept as ELB returned
  them. The plan shows the actions before and after.
- Nothing that would leave traffic with no healthy target: a weight on a target group with
  no healthy target, or moving an environment out when what stays has none, is refused,
  naming what would be left serving.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from typing import Any

from cutover.backend.actions.plan import ApiCall, Plan, Request, planned_from
from cutover.backend.aws.session import AwsSession
from cutover.backend.model import ListenerWeights, Snapshot, TargetHealth

MOVES = ("replacement-in", "replacement-out", "original-in", "original-out")


def plan_shift(base: Plan, snap: Snapshot, request: Request, _session: AwsSession) -> Plan:
    """A weight change (`request.replacement_percent`) or a move (`request.move`): one of
    the two, never both."""
    d = snap.deployment
    base = replace(base, deployment_id=d.id if d else None, expect_status=d.status if d else None)
    if (request.replacement_percent is None) == (request.move is None):
        return replace(
            base, summary="Reroute by hand", refused="give a replacement share or a move"
        )
    if request.replacement_percent is not None:
        return plan_weights(base, snap, request.replacement_percent)
    return plan_move(base, snap, request.move or "")


@dataclass(frozen=True)
class _Reweighed:
    """One listener rule's new weights: the call, what it changes, and what would be unsafe."""

    rule_arn: str
    call: ApiCall
    weights: dict[str, int]
    changes: tuple[str, ...]
    problems: tuple[str, ...]


def plan_weights(base: Plan, snap: Snapshot, percent: int) -> Plan:
    """ModifyListener / ModifyRule on every rule that splits two target groups by weight."""
    base = replace(base, summary=f"Send {percent}% of traffic to the replacement")
    if not 0 <= percent <= 100:
        return replace(base, refused="the replacement share must be from 0 to 100")
    if not snap.listeners:
        return replace(
            base,
            refused="no listener of this group forwards to two target groups by weight; "
            "use a move instead",
        )
    found = [r for lw in snap.listeners if (r := _reweigh(snap, lw, percent)) is not None]
    problems = [p for r in found for p in r.problems]
    if problems:
        return replace(base, refused="; ".join(problems))
    if not found:
        already = any(len(lw.weights) == 2 for lw in snap.listeners)
        return replace(
            base,
            refused=f"the weights are already {100 - percent}/{percent}: nothing to change"
            if already
            else "no listener forwards to exactly two target groups",
        )
    wanted = {r.rule_arn: r.weights for r in found}
    return replace(
        base,
        calls=tuple(r.call for r in found),
        changes=tuple(c for r in found for c in r.changes),
        parameters={"replacement_percent": percent},
        expect={"kind": "weights", "weights": wanted},
    )


def _reweigh(snap: Snapshot, lw: ListenerWeights, percent: int) -> _Reweighed | None:
    """The change to one rule, or None when it splits no pair or already has the weights."""
    names = [n for n, _ in lw.weights]
    if len(names) != 2:
        return None
    original_tg, replacement_tg = _sides(snap, names)
    weights = {original_tg: 100 - percent, replacement_tg: percent}
    if dict(lw.weights) == weights:
        return None
    by_arn = {arn: weights[name] for name, arn in _arns(snap, lw, names)}
    before = _actions(lw)
    after = with_weights(before, by_arn)
    where = f"{lw.load_balancer}:{lw.port}" + ("" if lw.is_default else " (rule)")
    problems = tuple(
        f"{where}: {name} would get {weight}% but {problem}"
        for name, weight in weights.items()
        if weight > 0 and (problem := _no_healthy(snap, name))
    )
    if lw.is_default:
        call = ApiCall(
            "elbv2", "modify_listener", {"ListenerArn": lw.listener_arn, "DefaultActions": after}
        )
    else:
        call = ApiCall("elbv2", "modify_rule", {"RuleArn": lw.rule_arn, "Actions": after})
    changes = (
        f"{where}: {', '.join(f'{n} {w}' for n, w in lw.weights)} -> "
        f"{original_tg} {100 - percent}, {replacement_tg} {percent}",
        f"{where} actions now: {describe_actions(before, snap)}",
        f"{where} actions after: {describe_actions(after, snap)}",
    )
    return _Reweighed(lw.rule_arn, call, weights, changes, problems)


def _actions(lw: ListenerWeights) -> list[dict[str, Any]]:
    """The rule's actions as read; a forward rebuilt from the weights when they were not."""
    if lw.actions:
        loaded = json.loads(lw.actions)
        if loaded:
            return loaded
    arns = dict(lw.arns)
    groups = [{"TargetGroupArn": arns.get(n, n), "Weight": w} for n, w in lw.weights]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


def with_weights(actions: list[dict[str, Any]], weights: dict[str, int]) -> list[dict[str, Any]]:
    """`actions` with the forward's weights set from {target group ARN: weight}; everything
    else as it was."""
    out = []
    for action in actions:
        a = copy.deepcopy(action)
        if a.get("Type") == "forward":
            cfg = a.get("ForwardConfig") or {
                "TargetGroups": [{"TargetGroupArn": a["TargetGroupArn"], "Weight": 1}]
            }
            cfg["TargetGroups"] = [
                {**g, "Weight": weights.get(g["TargetGroupArn"], g.get("Weight", 1))}
                for g in cfg.get("TargetGroups") or []
            ]
            a["ForwardConfig"] = cfg
            if len(cfg["TargetGroups"]) > 1:
                # ELB refuses TargetGroupArn beside a ForwardConfig of several groups.
                a.pop("TargetGroupArn", None)
        elif a.get("Type") == "authenticate-oidc":
            # DescribeRules does not return the client secret; without this flag
            # ModifyListener would need it again.
            cfg = a.setdefault("AuthenticateOidcConfig", {})
            if "ClientSecret" not in cfg:
                cfg["UseExistingClientSecret"] = True
        out.append(a)
    return out


def describe_actions(actions: list[dict[str, Any]], snap: Snapshot) -> str:
    """`1. authenticate-cognito (pool …), 2. forward web-blue 90, web-green 10, sticky 300 s`"""
    names = {arn: name for name, arn in snap.target_group_arns}
    parts = []
    for n, a in enumerate(sorted(actions, key=lambda x: x.get("Order", 0)), start=1):
        kind = a.get("Type", "?")
        if kind == "forward":
            cfg = a.get("ForwardConfig") or {}
            groups = cfg.get("TargetGroups") or [{"TargetGroupArn": a.get("TargetGroupArn")}]
            split = ", ".join(
                f"{names.get(g['TargetGroupArn'], g['TargetGroupArn'])} {g.get('Weight', 1)}"
                for g in groups
            )
            sticky = cfg.get("TargetGroupStickinessConfig") or {}
            stick = (
                f", stickiness {sticky.get('DurationSeconds', '?')} s"
                if sticky.get("Enabled")
                else ""
            )
            parts.append(f"{n}. forward {split}{stick}")
        elif kind.startswith("authenticate-"):
            cfg = a.get("AuthenticateOidcConfig") or a.get("AuthenticateCognitoConfig") or {}
            who = cfg.get("Issuer") or cfg.get("UserPoolArn") or ""
            parts.append(f"{n}. {kind}" + (f" ({who})" if who else ""))
        else:
            parts.append(f"{n}. {kind}")
    return ", ".join(parts) or "none"


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


def _readings(snap: Snapshot, source: str) -> list[tuple[str, TargetHealth]]:
    return [(i.id, h) for i in snap.instances() for h in i.health if h.name == source]


def _serving(h: TargetHealth) -> bool:
    return h.registered and h.state != "unused" and not h.draining


def _no_healthy(snap: Snapshot, source: str, leaving: set[str] = frozenset()) -> str | None:
    """Why `source` would have no healthy target once `leaving` are out, or None."""
    if f"health:{source}" in snap.unread:
        return f"the health of {source} could not be read just now (retry in a moment)"
    staying = [(iid, h) for iid, h in _readings(snap, source) if iid not in leaving]
    if any(h.healthy for _, h in staying):
        return None
    serving = [(iid, h) for iid, h in staying if _serving(h)]
    if not serving:
        return f"{source} would have no registered target left"
    left = ", ".join(
        f"{iid} {h.state}" + (f" ({h.reason})" if h.reason else "") for iid, h in serving[:5]
    )
    return f"{source} has no healthy target: only {left} would be left serving"


def plan_move(base: Plan, snap: Snapshot, move: str) -> Plan:
    """Register or deregister one environment's live instances with every target group and
    classic load balancer of the group; refused when moving out would leave one of them with
    no healthy target (a target group no listener gives weight is free to empty)."""
    base = replace(base, summary=f"Move an environment: {move}")
    if move not in MOVES:
        return replace(base, refused=f"--move must be one of {', '.join(MOVES)}")
    role, direction = move.split("-")
    env = snap.replacement if role == "replacement" else snap.original
    if env is None or not env.instances:
        return replace(base, refused=f"there is no {role} environment to move")
    live = [i for i in env.instances if i.ec2_state in (None, "running", "pending")]
    ids = {i.id for i in live}
    sources = [*snap.target_groups, *snap.classic_load_balancers]
    if direction == "out":
        problems = _out_problems(snap, sources, ids)
        if problems:
            return replace(
                base,
                refused=f"moving the {role} instances out would leave no healthy target: "
                + "; ".join(problems),
            )
    calls = _move_calls(snap, [i.id for i in live], into=direction == "in")
    if not sources:
        return replace(
            base, refused="the group has no load balancer to move instances in or out of"
        )
    if not calls:
        where = "registered with" if direction == "in" else "out of"
        return replace(
            base,
            refused=f"the {role} instances are already {where} {', '.join(sources)}:"
            " nothing to change",
        )
    verb = "registered with" if direction == "in" else "deregistered from"
    return replace(
        base,
        calls=tuple(calls),
        changes=(f"{len(live)} {role} instance(s) {verb} {', '.join(sources)}",),
        parameters={"move": move},
        expect={
            "kind": "move",
            "direction": direction,
            "instances": sorted(ids),
            "sources": sources,
        },
    )


def _out_problems(snap: Snapshot, sources: list[str], leaving: set[str]) -> list[str]:
    """What moving `leaving` out would leave with no healthy target."""
    # A target group every listener gives weight 0 gets no traffic: it may be emptied.
    idle = {
        tg
        for tg in snap.target_groups
        if any(tg in dict(w.weights) for w in snap.listeners)
        and all(dict(w.weights).get(tg, 0) == 0 for w in snap.listeners)
    }
    return [p for s in sources if s not in idle and (p := _no_healthy(snap, s, leaving=leaving))]


def _move_calls(snap: Snapshot, ids: list[str], *, into: bool) -> list[ApiCall]:
    """One call per target group and classic load balancer where some of `ids` are not
    already where the move puts them."""
    tg_arns = dict(snap.target_group_arns)
    calls = []
    for tg in snap.target_groups:
        health = dict(_readings(snap, tg))
        moving = [i for i in ids if into != (i in health and _serving(health[i]))]
        if moving:
            op = "register_targets" if into else "deregister_targets"
            targets = [{"Id": i} for i in moving]
            calls.append(
                ApiCall("elbv2", op, {"TargetGroupArn": tg_arns.get(tg, tg), "Targets": targets})
            )
    for clb in snap.classic_load_balancers:
        health = dict(_readings(snap, clb))
        moving = [i for i in ids if into != (i in health and _serving(health[i]))]
        if moving:
            op = (
                "register_instances_with_load_balancer"
                if into
                else "deregister_instances_from_load_balancer"
            )
            instances = [{"InstanceId": i} for i in moving]
            calls.append(ApiCall("elb", op, {"LoadBalancerName": clb, "Instances": instances}))
    return calls


def changed_since(plan: Plan, current: Snapshot) -> str | None:
    """Why a weight change or a move no longer fits the listeners or registrations as they
    are now (compared with what the plan was made from), or None."""
    look = "; look again before acting"
    before, kind = plan.planned_from, plan.expect.get("kind")
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
    return None
