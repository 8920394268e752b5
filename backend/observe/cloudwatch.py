"""CloudWatch reads: the states of the group's alarms, and the load balancer metrics of the
last quarter hour in one GetMetricData (per 500 queries): per target group (or classic load
balancer) what the targets answer, and per load balancer the 5xx it answers itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from cutover.backend.core.facts import Classic, TargetGroup
from cutover.backend.model import Alarm, Series
from cutover.backend.observe.calls import Calls, Parts, chunks, pages

METRIC_QUERIES = 500  # GetMetricData: at most 500 queries per call
METRIC_WINDOW = timedelta(minutes=15)
METRIC_PERIOD = 60


def read_alarms(calls: Calls, names: list[str], parts: Parts) -> list[Alarm] | None:
    if not names:
        return []
    cw = calls.client("cloudwatch")

    def read() -> list[Alarm]:
        found: dict[str, Alarm] = {}
        for chunk in chunks(names, 100):
            for got in pages(
                cw,
                "describe_alarms",
                AlarmNames=list(chunk),
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
            ):
                for a in got.get("MetricAlarms", []) + got.get("CompositeAlarms", []):
                    found[a["AlarmName"]] = Alarm(
                        a["AlarmName"],
                        a.get("StateValue", "INSUFFICIENT_DATA"),
                        a.get("StateReason", "") or "",
                    )
        return [found.get(n) or Alarm(n, "MISSING", "no such alarm in CloudWatch") for n in names]

    return calls.part(parts, "alarms", "alarm states", read, None)


def arn_suffix(arn: str, after: str | None = None) -> str:
    """The CloudWatch dimension value of an ELB ARN: its resource part, or what follows
    `after` in it (`targetgroup/NAME/ID`, `app/NAME/ID`)."""
    resource = arn.split(":", 5)[-1]
    if after and after in resource:
        return resource.split(after, 1)[1]
    return resource


def metric_query(
    qid: str, namespace: str, metric: str, stat: str, dims: dict[str, str], period: int
) -> dict:
    """One GetMetricData query (MetricDataQuery): `metric` of `namespace` with `dims`, its
    `stat` (Sum, Average, Minimum, p95, ...) per `period` seconds."""
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def metric_queries(tgs: list[TargetGroup], clbs: list[Classic]) -> list[tuple[dict, Series]]:
    """The GetMetricData queries for the load balancers, each with the Series it fills."""
    queries: list[tuple[dict, Series]] = []

    def add(namespace: str, metric: str, stat: str, dims: dict[str, str], source: str) -> None:
        query = metric_query(f"m{len(queries)}", namespace, metric, stat, dims, METRIC_PERIOD)
        queries.append((query, Series(name=metric, source=source, statistic=stat)))

    albs: dict[str, str] = {}  # LB dimension value -> name, each ALB once
    for tg in tgs:
        for lb in tg.lb_arns:
            if ":loadbalancer/app/" in lb:
                value = arn_suffix(lb, "loadbalancer/")
                albs.setdefault(value, value.split("/")[1] if value.count("/") >= 2 else value)
        for lb in tg.lb_arns[:1]:
            dims = {
                "TargetGroup": arn_suffix(tg.arn),
                "LoadBalancer": arn_suffix(lb, "loadbalancer/"),
            }
            if ":loadbalancer/net/" in lb:
                for metric in ("HealthyHostCount", "UnHealthyHostCount"):
                    add("AWS/NetworkELB", metric, "Average", dims, tg.name)
                # NewFlowCount has no TargetGroup dimension (LoadBalancer, or AvailabilityZone
                # and LoadBalancer): asked with one, CloudWatch has no such metric.
                nlb = {"LoadBalancer": dims["LoadBalancer"]}
                add("AWS/NetworkELB", "NewFlowCount", "Sum", nlb, tg.name)
            else:
                add("AWS/ApplicationELB", "RequestCount", "Sum", dims, tg.name)
                add("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", dims, tg.name)
                add("AWS/ApplicationELB", "TargetResponseTime", "Average", dims, tg.name)
                add("AWS/ApplicationELB", "HealthyHostCount", "Average", dims, tg.name)
                add("AWS/ApplicationELB", "UnHealthyHostCount", "Average", dims, tg.name)
    # What the load balancer answers itself (503 with no healthy target, 502, 504): by the
    # LoadBalancer dimension alone; never attributed to a target group or an environment.
    for value, name in sorted(albs.items()):
        add("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", {"LoadBalancer": value}, name)
    for clb in clbs:
        dims = {"LoadBalancerName": clb.name}
        add("AWS/ELB", "RequestCount", "Sum", dims, clb.name)
        add("AWS/ELB", "HTTPCode_Backend_5XX", "Sum", dims, clb.name)
        add("AWS/ELB", "HTTPCode_ELB_5XX", "Sum", dims, clb.name)
        add("AWS/ELB", "Latency", "Average", dims, clb.name)
        add("AWS/ELB", "HealthyHostCount", "Average", dims, clb.name)
    return queries


def read_metrics(
    calls: Calls, tgs: list[TargetGroup], clbs: list[Classic], now: datetime, parts: Parts
) -> list[Series]:
    queries = metric_queries(tgs, clbs)
    if not queries:
        return []
    cw = calls.client("cloudwatch")

    def read() -> list[Series]:
        points: dict[str, list[tuple[datetime, float]]] = {}
        for chunk in chunks(queries, METRIC_QUERIES):
            for got in pages(
                cw,
                "get_metric_data",
                MetricDataQueries=[q for q, _ in chunk],
                StartTime=now - METRIC_WINDOW,
                EndTime=now,
                ScanBy="TimestampAscending",
            ):
                for r in got.get("MetricDataResults", []):
                    points.setdefault(r["Id"], []).extend(
                        zip(r.get("Timestamps", []), r.get("Values", []), strict=False)
                    )
        return [replace(s, points=tuple(sorted(points.get(q["Id"], [])))) for q, s in queries]

    return calls.part(parts, "metrics", "CloudWatch metrics", read, [])
