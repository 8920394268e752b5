"""What `cutover report` reads: one deployment after the fact, from AWS alone.

The deployment, its group and its targets come through the Observer (the same reads, the same
choice of deployment and the same checks as `cutover status`: ListDeploymentTargets, then
BatchGetDeploymentTargets 25 at a time); the deployment that rolled it back, if any, with one
GetDeployment; and the load balancers' metrics over the whole deployment plus the minutes
before it, per minute where CloudWatch still keeps minutes, in GetMetricData calls of at most
500 queries (paged by NextToken). No call here changes anything, and none is outside the
read-only IAM policy.

For the bake verdict the series are kept whole: `History.before_reroute` (the minutes when the
originals served everything) and `History.after_reroute` (the minutes since the reroute
finished) are the two windows a judge compares.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from cutover.backend.core import history as past
from cutover.backend.core.facts import Classic, TargetGroup
from cutover.backend.model import Series
from cutover.backend.observe.calls import Calls, ObserveError, Parts, chunks, pages
from cutover.backend.observe.cloudwatch import METRIC_QUERIES, arn_suffix, metric_query
from cutover.backend.observe.codedeploy import summary
from cutover.backend.observe.elb import LoadBalancerReads
from cutover.backend.observe.reader import Observer

# The chart starts this long before the deployment was created (the baseline), and ends this
# long after it (and its rollback) completed.
LEAD = timedelta(minutes=10)
TAIL = timedelta(minutes=5)


def read_history(
    observer: Observer, deployment_id: str | None, *, lead: timedelta = LEAD
) -> past.History:
    """The deployment `deployment_id` (else the one `cutover status` would show) after the
    fact, its metrics from `lead` before it was created (a bake baseline of N minutes before
    the reroute needs `lead` >= N). Raises ObserveError (plain words, AWS code) when it cannot
    be read."""
    snap = observer.snapshot(deployment_id=deployment_id)
    d = snap.deployment
    if d is None:
        raise ObserveError(
            f"{snap.application}/{snap.deployment_group} has no deployment to report on"
        )
    calls = Calls(observer.session, observer.target)
    parts = Parts(notes=list(snap.notes))
    rollback = None
    if d.rolled_back_by:
        cd = calls.client("codedeploy")
        rollback = calls.part(
            parts,
            "rollback",
            f"the rollback deployment {d.rolled_back_by}",
            lambda: summary(cd.get_deployment(deploymentId=d.rolled_back_by)["deploymentInfo"]),
            None,
        )
    rolled_back = None
    if rollback is not None:
        try:
            rolled_back = observer.snapshot(deployment_id=rollback.id)
        except ObserveError as exc:
            parts.notes.append(f"the rollback {rollback.id}'s instances could not be read: {exc}")
    envs = {
        "original": snap.original.instances if snap.original else (),
        "replacement": snap.replacement.instances if snap.replacement else (),
        "fleet": snap.fleet.instances if snap.fleet else (),
    }
    spans = past.phases(d, **envs)
    if rollback is not None and rollback.create_time is not None:
        spans.append(
            past.PhaseSpan(f"rollback {rollback.id}", rollback.create_time, rollback.complete_time)
        )
    now = snap.server_time
    first = d.create_time or d.start_time or now
    last = max([t for t in (d.complete_time, rollback and rollback.complete_time) if t] or [now])
    start = (first - lead).replace(second=0, microsecond=0)
    end = min(now, last + TAIL) if d.complete_time else now
    period = past.metric_period(start, now)
    series: list[Series] = []
    if period is None:
        parts.notes.append(
            "CloudWatch keeps no data points older than 455 days: the chart has no metrics"
        )
    else:
        if period > 60:
            parts.notes.append(
                f"CloudWatch keeps 1-minute data points for 15 days only: this deployment's"
                f" metrics are {period // 60}-minute figures"
            )
        tgs, clbs = LoadBalancerReads(calls).static(
            list(snap.target_groups), list(snap.classic_load_balancers), parts
        )
        series = read_series(calls, tgs, clbs, start, end, period, parts)
    return past.History(
        snap,
        rollback,
        tuple(spans),
        start,
        end,
        period,
        tuple(series),
        tuple(parts.notes),
        rolled_back=rolled_back,
    )


def history_queries(
    tgs: list[TargetGroup], clbs: list[Classic], period: int
) -> list[tuple[dict, Series]]:
    """GetMetricData queries over a deployment: per target group (or classic load balancer)
    requests, the targets' 5xx, p95 and p99 latency, the healthy (lowest in the period) and
    unhealthy (highest) host counts; per Application Load Balancer its own 5xx. A Network Load
    Balancer answers no HTTP: its new flows and host counts only."""
    queries: list[tuple[dict, Series]] = []

    def add(namespace: str, metric: str, stat: str, dims: dict[str, str], source: str) -> None:
        query = metric_query(f"h{len(queries)}", namespace, metric, stat, dims, period)
        queries.append((query, Series(name=metric, source=source, statistic=stat)))

    albs: dict[str, str] = {}
    for tg in tgs:
        for lb in tg.lb_arns[:1]:
            dims = {
                "TargetGroup": arn_suffix(tg.arn),
                "LoadBalancer": arn_suffix(lb, "loadbalancer/"),
            }
            if ":loadbalancer/net/" in lb:
                # New flows are counted per load balancer (no TargetGroup dimension).
                nlb = {"LoadBalancer": dims["LoadBalancer"]}
                add("AWS/NetworkELB", "NewFlowCount", "Sum", nlb, tg.name)
                add("AWS/NetworkELB", "HealthyHostCount", "Minimum", dims, tg.name)
                add("AWS/NetworkELB", "UnHealthyHostCount", "Maximum", dims, tg.name)
                continue
            value = dims["LoadBalancer"]
            albs.setdefault(value, value.split("/")[1] if value.count("/") >= 2 else value)
            ns = "AWS/ApplicationELB"
            add(ns, "RequestCount", "Sum", dims, tg.name)
            add(ns, "HTTPCode_Target_5XX_Count", "Sum", dims, tg.name)
            add(ns, "TargetResponseTime", "p95", dims, tg.name)
            add(ns, "TargetResponseTime", "p99", dims, tg.name)
            add(ns, "HealthyHostCount", "Minimum", dims, tg.name)
            add(ns, "UnHealthyHostCount", "Maximum", dims, tg.name)
    for value, name in sorted(albs.items()):
        add("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", {"LoadBalancer": value}, name)
    for clb in clbs:
        dims = {"LoadBalancerName": clb.name}
        add("AWS/ELB", "RequestCount", "Sum", dims, clb.name)
        add("AWS/ELB", "HTTPCode_Backend_5XX", "Sum", dims, clb.name)
        add("AWS/ELB", "HTTPCode_ELB_5XX", "Sum", dims, clb.name)
        add("AWS/ELB", "Latency", "p95", dims, clb.name)
        add("AWS/ELB", "Latency", "p99", dims, clb.name)
        add("AWS/ELB", "HealthyHostCount", "Minimum", dims, clb.name)
        add("AWS/ELB", "UnHealthyHostCount", "Maximum", dims, clb.name)
    return queries


def read_series(
    calls: Calls,
    tgs: list[TargetGroup],
    clbs: list[Classic],
    start: datetime,
    end: datetime,
    period: int,
    parts: Parts,
) -> list[Series]:
    """The metrics of `history_queries` from `start` to `end`, oldest point first; a failure
    is a note and no series."""
    queries = history_queries(tgs, clbs, period)
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
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampAscending",
            ):
                for r in got.get("MetricDataResults", []):
                    points.setdefault(r["Id"], []).extend(
                        zip(r.get("Timestamps", []), r.get("Values", []), strict=False)
                    )
        # A minute still under way when read is partial: its count would read as a drop.
        whole = end - timedelta(seconds=period)
        return [
            replace(s, points=tuple(sorted(p for p in points.get(q["Id"], []) if p[0] <= whole)))
            for q, s in queries
        ]

    return calls.part(parts, "metrics", "the CloudWatch metrics of the deployment", read, [])
