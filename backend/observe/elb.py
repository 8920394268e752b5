"""Elastic Load Balancing reads: the group's target groups and classic load balancers (their
settings cached), the health in each, and the listener rules that forward to the group.

For hook-managed in-place groups it also reads the load balancers outside the group's own
where the instances serve (named by their `cutover:hook:home` tags and the Auto Scaling
groups' attachments).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from cutover.backend.core.facts import Classic, TargetGroup
from cutover.backend.model import ListenerWeights, Serving
from cutover.backend.observe.calls import Calls, Parts, chunks, pages


class LoadBalancerReads:
    """ELB's answers for one deployment group, with the settings that do not move cached."""

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._tg_cache: dict[str, TargetGroup] = {}  # by name
        self._clb_cache: dict[str, Classic] = {}
        self._listeners: dict[str, list[str]] = {}  # LB ARN -> listener ARNs
        self._relevant_listeners: set[str] | None = None  # the ones that forward to the group
        self._listener_meta: dict[str, tuple[str, int]] = {}  # listener ARN -> (LB name, port)
        self._sources_key: tuple | None = None
        # Load balancers outside the group's own, by target group name or ARN / classic name.
        self._extra_tg_cache: dict[str, TargetGroup] = {}
        self._extra_clb_cache: dict[str, Classic] = {}
        self._extra_missing: set[str] = set()

    def missing(self, key: str) -> bool:
        """Whether an outside target group or classic LB was found not to exist."""
        return key in self._extra_missing

    def static(
        self, tg_names: list[str], clb_names: list[str], parts: Parts
    ) -> tuple[list[TargetGroup], list[Classic]]:
        key = (tuple(tg_names), tuple(clb_names))
        if key != self._sources_key:
            # The group's load balancers changed (or this is the first look): forget the cache.
            self._tg_cache = {k: v for k, v in self._tg_cache.items() if k in tg_names}
            self._clb_cache = {k: v for k, v in self._clb_cache.items() if k in clb_names}
            self._relevant_listeners = None
            self._sources_key = key
        elb2 = self._calls.client("elbv2")
        missing = [n for n in tg_names if n not in self._tg_cache]
        if missing:

            def describe() -> None:
                found: list[dict] = []
                for chunk in chunks(missing, 20):
                    found += elb2.describe_target_groups(Names=list(chunk)).get("TargetGroups", [])
                for tg in found:
                    delay = _deregistration_delay(elb2, tg["TargetGroupArn"])
                    self._tg_cache[tg["TargetGroupName"]] = _target_group(tg, delay)

            self._calls.part(parts, "target-groups", "the target groups", describe, None)
            for name in missing:
                if name not in self._tg_cache and "target-groups" not in parts.unread:
                    with parts.lock:
                        parts.unread.append(f"health:{name}")
                        parts.notes.append(
                            f"target group {name} of the deployment group does not exist"
                        )
        clb_missing = [n for n in clb_names if n not in self._clb_cache]
        for name in clb_missing:
            got = self._classic(name, parts)
            if got is not None:
                self._clb_cache[name] = got
        tgs = [self._tg_cache[n] for n in tg_names if n in self._tg_cache]
        # A classic LB whose attributes failed is still asked for its health.
        clbs = [self._clb_cache.get(n) or Classic(n, None) for n in clb_names]
        return tgs, clbs

    def extra_sources(
        self, tg_keys: list[str], clb_names: list[str], parts: Parts
    ) -> tuple[list[TargetGroup], list[Classic]]:
        """Target groups (by name or ARN) and classic LBs outside the deployment group's own
        load balancers, described once and cached; one that does not exist is noted once."""
        tgs: list[TargetGroup] = []
        for key in tg_keys:
            if key in self._extra_missing:
                continue
            if key not in self._extra_tg_cache:
                got = self._calls.part(
                    parts,
                    f"health:{key}",
                    f"target group {key}",
                    lambda key=key: self._describe_outside(key),
                    None,
                )
                if got is None:
                    if f"health:{key}" not in parts.unread:
                        self._extra_missing.add(key)
                        with parts.lock:
                            parts.notes.append(f"target group {key} does not exist")
                    continue
                self._extra_tg_cache[key] = got
            tg = self._extra_tg_cache[key]
            if all(t.arn != tg.arn for t in tgs):
                tgs.append(tg)
        clbs: list[Classic] = []
        for name in clb_names:
            if name not in self._extra_clb_cache:
                got_clb = self._classic(name, parts)
                if got_clb is None:
                    clbs.append(Classic(name, None))
                    continue
                self._extra_clb_cache[name] = got_clb
            clbs.append(self._extra_clb_cache[name])
        return tgs, clbs

    def _classic(self, name: str, parts: Parts) -> Classic | None:
        """A classic load balancer's settings; None (and a note) when they could not be read."""
        elb = self._calls.client("elb")
        return self._calls.part(
            parts,
            f"attributes:{name}",
            f"classic load balancer {name}",
            lambda: _classic_attributes(elb, name),
            None,
        )

    def _describe_outside(self, key: str) -> TargetGroup | None:
        elb2 = self._calls.client("elbv2")
        found = describe_target_group(elb2, key)
        if found is None:
            return None
        delay = _deregistration_delay(elb2, found["TargetGroupArn"])
        return _target_group(found, delay)

    def tg_health(self, tg: TargetGroup, parts: Parts) -> list[dict] | None:
        elb2 = self._calls.client("elbv2")

        def read() -> list[dict]:
            got = elb2.describe_target_health(TargetGroupArn=tg.arn)
            return [
                {
                    "id": d["Target"]["Id"],
                    "port": d["Target"].get("Port"),
                    "state": (d.get("TargetHealth") or {}).get("State", "unknown"),
                    "reason": (d.get("TargetHealth") or {}).get("Reason"),
                    "description": (d.get("TargetHealth") or {}).get("Description"),
                }
                for d in got.get("TargetHealthDescriptions", [])
            ]

        return self._calls.part(
            parts, f"health:{tg.name}", f"target health in {tg.name}", read, None
        )

    def clb_health(self, clb: Classic, parts: Parts) -> list[dict] | None:
        elb = self._calls.client("elb")

        def read() -> list[dict]:
            got = elb.describe_instance_health(LoadBalancerName=clb.name)
            return [
                {
                    "id": s["InstanceId"],
                    "port": None,
                    "state": s.get("State", "Unknown"),
                    "reason": s.get("ReasonCode"),
                    "description": s.get("Description"),
                }
                for s in got.get("InstanceStates", [])
            ]

        return self._calls.part(
            parts, f"health:{clb.name}", f"instance health in {clb.name}", read, None
        )

    def rules(
        self, tgs: list[TargetGroup], parts: Parts
    ) -> tuple[list[ListenerWeights], list[Serving] | None]:
        """(the weighted rules, every listener that sends clients to the group's target
        groups); the second is None when the rules could not be read."""
        if not tgs:
            return [], None
        return self._calls.part(
            parts, "rules", "listener rules", lambda: self._rules(tgs), ([], None)
        )

    def _rules(self, tgs: list[TargetGroup]) -> tuple[list[ListenerWeights], list[Serving]]:
        elb2 = self._calls.client("elbv2")
        group_arns = {tg.arn for tg in tgs}
        names = {tg.arn: tg.name for tg in tgs}
        lb_arns = sorted({a for tg in tgs for a in tg.lb_arns})
        for lb in lb_arns:
            if lb not in self._listeners:
                got = elb2.describe_listeners(LoadBalancerArn=lb).get("Listeners", [])
                self._listeners[lb] = [ls["ListenerArn"] for ls in got]
                for ls in got:
                    self._listener_meta[ls["ListenerArn"]] = (
                        _name_from_arn(lb),
                        int(ls.get("Port") or 0),
                    )
        candidates = [ls for lb in lb_arns for ls in self._listeners.get(lb, [])]
        if self._relevant_listeners is not None:
            candidates = [ls for ls in candidates if ls in self._relevant_listeners]
        relevant: set[str] = set()
        out = []
        serving: dict[str, list[str]] = {}
        for ls in candidates:
            rules = [
                rule
                for got in pages(elb2, "describe_rules", ListenerArn=ls)
                for rule in got.get("Rules", [])
            ]
            for rule in rules:
                weights = _forward_weights(rule)
                if not any(arn in group_arns for arn, _ in weights):
                    continue
                relevant.add(ls)
                lb_name, port = self._listener_meta.get(ls, ("?", 0))
                into = serving.setdefault(f"{lb_name}:{port}", [])
                for arn, weight in weights:
                    name = names.get(arn)
                    if weight > 0 and name is not None and name not in into:
                        into.append(name)
                if len(weights) < 2:
                    continue
                out.append(
                    ListenerWeights(
                        load_balancer=lb_name,
                        port=port,
                        rule_arn=rule.get("RuleArn", ""),
                        listener_arn=ls,
                        weights=tuple(
                            (names.get(arn) or _name_from_arn(arn), w) for arn, w in weights
                        ),
                        is_default=bool(rule.get("IsDefault")),
                        arns=tuple(
                            (names.get(arn) or _name_from_arn(arn), arn) for arn, _ in weights
                        ),
                        actions=json.dumps(rule.get("Actions") or [], sort_keys=True),
                    )
                )
        if self._relevant_listeners is None:
            self._relevant_listeners = relevant
        out.sort(key=lambda w: (w.load_balancer, w.port, not w.is_default))
        return out, [Serving(k, tuple(v)) for k, v in sorted(serving.items())]


def _name_from_arn(arn: str) -> str:
    # targetgroup/NAME/ID and loadbalancer/app/NAME/ID both carry the name second to last.
    parts = arn.split(":")[-1].split("/")
    return parts[-2] if len(parts) >= 2 else arn


def _target_group(tg: dict, delay: int | None) -> TargetGroup:
    return TargetGroup(
        name=tg["TargetGroupName"],
        arn=tg["TargetGroupArn"],
        lb_arns=tuple(tg.get("LoadBalancerArns") or ()),
        delay=delay,
        health_check={
            k: tg.get(k)
            for k in (
                "HealthCheckPath",
                "HealthCheckIntervalSeconds",
                "HealthCheckTimeoutSeconds",
                "HealthyThresholdCount",
                "UnhealthyThresholdCount",
            )
        },
        port=tg.get("Port"),
    )


def _deregistration_delay(elb2: Any, arn: str) -> int | None:
    """A target group's deregistration delay in seconds (None when it does not say)."""
    attrs = elb2.describe_target_group_attributes(TargetGroupArn=arn).get("Attributes", [])
    return next(
        (int(a["Value"]) for a in attrs if a.get("Key") == "deregistration_delay.timeout_seconds"),
        None,
    )


def _classic_attributes(elb: Any, name: str) -> Classic:
    """A classic load balancer with its connection-draining timeout (None when off)."""
    got = elb.describe_load_balancer_attributes(LoadBalancerName=name)
    drain = (got.get("LoadBalancerAttributes") or {}).get("ConnectionDraining") or {}
    return Classic(name, drain.get("Timeout") if drain.get("Enabled") else None)


def _forward_weights(rule: dict) -> list[tuple[str, int]]:
    """(target group ARN, weight) of a rule's forward action."""
    for action in rule.get("Actions") or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        if groups:
            return [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups]
        if action.get("TargetGroupArn"):
            return [(action["TargetGroupArn"], 1)]
    return []


def describe_target_group(elb2: Any, key: str) -> dict[str, Any] | None:
    """The target group named by `key` (a name or an ARN) as DescribeTargetGroups gives it,
    or None when it does not exist."""
    ask = {"TargetGroupArns": [key]} if key.startswith("arn:") else {"Names": [key]}
    try:
        found = elb2.describe_target_groups(**ask).get("TargetGroups", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "TargetGroupNotFound":
            raise
        return None
    return found[0] if found else None
