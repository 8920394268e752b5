"""The Elastic Load Balancing metrics CloudWatch publishes, read from the proxies' counters.

Which (namespace, metric, dimensions) the sandbox publishes, where each one's data lives in
`world.metrics` (a RequestMetrics), the datapoints of a period range, the ListMetrics
catalogue, and the Healthy/UnHealthyHostCount samples taken every sandbox second.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from cutover.sandbox.world import HEALTHY, UNHEALTHY, World

from .state import State

ALB = "AWS/ApplicationELB"
NLB = "AWS/NetworkELB"
CLB = "AWS/ELB"

_TARGET_CODES = tuple(f"HTTPCode_Target_{c}XX_Count" for c in "2345")
_HOSTS = ("HealthyHostCount", "UnHealthyHostCount")
LB_METRICS = {
    ALB: (
        "RequestCount",
        *_TARGET_CODES,
        "HTTPCode_ELB_3XX_Count",
        "HTTPCode_ELB_4XX_Count",
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_ELB_502_Count",
        "HTTPCode_ELB_503_Count",
        "HTTPCode_ELB_504_Count",
        "TargetResponseTime",
        "ProcessedBytes",
    ),
    NLB: ("ActiveFlowCount", "NewFlowCount", "ProcessedBytes"),
}
TG_METRICS = {
    ALB: ("RequestCount", *_TARGET_CODES, "TargetResponseTime", *_HOSTS),
    NLB: _HOSTS,
}
# Classic names -> the names RequestMetrics records them under.
CLASSIC_METRICS = {
    "RequestCount": "RequestCount",
    **{f"HTTPCode_Backend_{c}XX": f"HTTPCode_Target_{c}XX_Count" for c in "2345"},
    "HTTPCode_ELB_4XX": "HTTPCode_ELB_4XX_Count",
    "HTTPCode_ELB_5XX": "HTTPCode_ELB_5XX_Count",
    "Latency": "TargetResponseTime",
    "HealthyHostCount": "HealthyHostCount",
    "UnHealthyHostCount": "UnHealthyHostCount",
}
UNITS = {"TargetResponseTime": "Seconds", "Latency": "Seconds", "ProcessedBytes": "Bytes"}

# At most this many sandbox seconds of host-count samples are filled in on one tick: a tick
# covers time_scale/10 sandbox seconds, and a stalled loop must not cost unbounded work.
MAX_BACKFILL = 120


@dataclass(frozen=True)
class Source:
    """Where a CloudWatch metric's data lives in RequestMetrics."""

    kind: str
    key: str
    metric: str
    unit: str


def unit_of(name: str) -> str:
    return UNITS.get(name, "Count")


def _links(world: World, state: State, tg_arn: str) -> set[str]:
    links = set(state.tg_links.get(tg_arn, ()))
    tg = world.target_groups.get(tg_arn)
    if tg is not None:
        links.update(lb.arn for lb in world.load_balancers_of(tg))
    return links


def resolve(
    world: World,
    state: State,
    namespace: str,
    metric: str,
    dimensions: list[dict],
    unit: str | None = None,
) -> Source | None:
    """The data behind a metric, or None when the sandbox publishes no such metric or the
    caller asks for a `unit` other than the metric's (CloudWatch then has no data)."""
    source = _resolve(world, state, namespace, metric, dimensions)
    if source is not None and unit is not None and unit != source.unit:
        return None
    return source


def _resolve(
    world: World, state: State, namespace: str, metric: str, dimensions: list[dict]
) -> Source | None:
    dims = {d.get("Name"): d.get("Value") for d in dimensions}
    if len(dims) != len(dimensions):
        return None
    names = set(dims)
    if namespace in (ALB, NLB):
        lb_value = dims.get("LoadBalancer") or ""
        if not lb_value.startswith("app/" if namespace == ALB else "net/"):
            return None
        lb_arn = world.arn("elasticloadbalancing", f"loadbalancer/{lb_value}")
        if names == {"LoadBalancer"} and metric in LB_METRICS[namespace]:
            return Source("lb", lb_arn, metric, unit_of(metric))
        if names == {"LoadBalancer", "TargetGroup"} and metric in TG_METRICS[namespace]:
            tg_value = dims["TargetGroup"] or ""
            if not tg_value.startswith("targetgroup/"):
                return None
            tg_arn = world.arn("elasticloadbalancing", tg_value)
            if lb_arn in _links(world, state, tg_arn):
                return Source("tg", tg_arn, metric, unit_of(metric))
        return None
    if namespace == CLB and names == {"LoadBalancerName"} and metric in CLASSIC_METRICS:
        return Source(
            "lb", dims["LoadBalancerName"] or "", CLASSIC_METRICS[metric], unit_of(metric)
        )
    return None


def series(
    world: World,
    state: State,
    source: Source | None,
    start: int,
    end: float,
    period: int,
    stat: str,
) -> list[tuple[int, float]]:
    """(period start in epoch seconds, value) for the periods with data, oldest first."""
    if source is None or world.metrics is None:
        return []
    points = world.metrics.query(
        source.kind,
        source.key,
        source.metric,
        start - state.anchor,
        end - state.anchor,
        period,
        stat,
    )
    return [(round(state.anchor + ts), value) for ts, value in points]


def _resource(arn: str) -> str:
    return arn.split(":", 5)[-1]


def catalogue(world: World, state: State) -> list[dict]:
    """Every metric with data in its retention, as ListMetrics returns them."""
    out: list[dict] = []
    if world.metrics is None:
        return out
    for kind, key, recorded in world.metrics.dimensions():
        have = set(recorded)
        if kind == "lb" and key.startswith("arn:"):
            resource = _resource(key).removeprefix("loadbalancer/")
            namespace = ALB if resource.startswith("app/") else NLB
            dims = [{"Name": "LoadBalancer", "Value": resource}]
            out += [_metric(namespace, m, dims) for m in LB_METRICS[namespace] if m in have]
        elif kind == "lb":
            dims = [{"Name": "LoadBalancerName", "Value": key}]
            out += [_metric(CLB, m, dims) for m, src in CLASSIC_METRICS.items() if src in have]
        elif kind == "tg":
            for lb_arn in sorted(_links(world, state, key)):
                resource = _resource(lb_arn).removeprefix("loadbalancer/")
                namespace = ALB if resource.startswith("app/") else NLB
                dims = [
                    {"Name": "TargetGroup", "Value": _resource(key)},
                    {"Name": "LoadBalancer", "Value": resource},
                ]
                out += [_metric(namespace, m, dims) for m in TG_METRICS[namespace] if m in have]
    out.sort(key=lambda m: (m["Namespace"], m["MetricName"], json.dumps(m["Dimensions"])))
    return out


def _metric(namespace: str, name: str, dims: list[dict]) -> dict:
    return {"Namespace": namespace, "MetricName": name, "Dimensions": [dict(d) for d in dims]}


def _host_counts(world: World, state: State) -> dict[tuple[str, str], tuple[int, int]]:
    """(healthy, unhealthy) per target group in use and per classic load balancer, now."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for tg in world.target_groups.values():
        lbs = world.load_balancers_of(tg)
        if not lbs:
            continue  # AWS publishes host counts only for groups a load balancer uses
        state.tg_links.setdefault(tg.arn, set()).update(lb.arn for lb in lbs)
        healthy = unhealthy = 0
        for target in tg.targets.values():
            status = world.effective_state(tg, target)[0]
            healthy += status == HEALTHY
            unhealthy += status == UNHEALTHY
        counts[("tg", tg.arn)] = (healthy, unhealthy)
    for clb in world.classic_lbs.values():
        healthy = unhealthy = 0
        for target in clb.instances.values():
            if target.draining:
                continue
            in_service = world.classic_state(clb, target)[0] == "InService"
            healthy += in_service
            unhealthy += not in_service
        counts[("lb", clb.name)] = (healthy, unhealthy)
    return counts


def sample_hosts(world: World, state: State) -> None:
    """Record Healthy/UnHealthyHostCount for every sandbox second since the last sample."""
    metrics = world.metrics
    if metrics is None:
        return
    second = math.floor(world.clock.elapsed())
    first = second if state.last_sample is None else state.last_sample + 1
    first = max(first, second - MAX_BACKFILL + 1)
    if first > second:
        return
    counts = _host_counts(world, state)
    for ts in range(first, second + 1):
        for (kind, key), (healthy, unhealthy) in counts.items():
            metrics.sample_gauge(kind, key, "HealthyHostCount", healthy, ts=ts)
            metrics.sample_gauge(kind, key, "UnHealthyHostCount", unhealthy, ts=ts)
    state.last_sample = second
