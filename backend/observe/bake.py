"""The bake verdict's CloudWatch read: per target group (Application Load Balancer) or classic
load balancer, RequestCount, the targets' 5xx and the response time's p95 and p99 per minute,
from the minutes before the reroute to now, in one GetMetricData; judged by core/bake.py.

When: a blue/green deployment in its termination wait, at most once a CloudWatch period (60 s
of the server's clock: ELB publishes one datapoint a minute, so reading more often learns
nothing) and never more than one call per snapshot; in between, the last verdict is kept.
`bake_verdict` reads it for any deployment whose reroute has finished (a finished one, for the
report), without the cadence.

When the reroute happened: from CodeDeploy's lifecycle events of the deployment's targets
(BatchGetDeploymentTargets, already read for every snapshot). It started with the first
BeforeAllowTraffic/AllowTraffic of a replacement (or BeforeBlockTraffic of an original, if
earlier), and ended with the last AfterBlockTraffic of the originals (`reroute_finished`, the
same moment the termination wait counts from).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from cutover.backend.config import BakeThresholds
from cutover.backend.core.bake import Window, judge, spans, window
from cutover.backend.core.facts import Classic, TargetGroup
from cutover.backend.core.phase import reroute_finished
from cutover.backend.model import BakeVerdict, Snapshot
from cutover.backend.observe.calls import Calls, Parts, chunks, pages
from cutover.backend.observe.cloudwatch import METRIC_QUERIES, arn_suffix, metric_query
from cutover.common.lifecycle import ALLOW_EVENTS, BLOCK_EVENTS

READ_EVERY = timedelta(seconds=60)  # one CloudWatch period of the server's clock
# CloudWatch publishes a minute a few minutes late at worst: a baseline that ended this long
# ago is kept as read.
SETTLED = timedelta(minutes=5)
PERIOD = 60
ROLES = ("requests", "errors", "p95", "p99")
# (namespace, request count, targets' 5xx, response time) per kind of load balancer
ALB = ("AWS/ApplicationELB", "RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime")
CLB = ("AWS/ELB", "RequestCount", "HTTPCode_Backend_5XX", "Latency")
NLB_WORDS = (
    "behind a Network Load Balancer, which publishes no HTTP status and no response time"
    " (only flows, TCP resets and healthy/unhealthy host counts): no 5xx share, p95 or p99"
    " to judge"
)


@dataclass(frozen=True)
class BakeQuery:
    query: dict
    source: str
    role: str  # requests | errors | p95 | p99


def bake_queries(tgs: list[TargetGroup], clbs: list[Classic]) -> tuple[list[BakeQuery], list[str]]:
    """The GetMetricData queries of the bake verdict, and the target groups a Network Load
    Balancer serves (nothing to query for them)."""
    out: list[BakeQuery] = []
    nlb: list[str] = []

    def add(kind: tuple[str, ...], dims: dict[str, str], source: str) -> None:
        namespace, requests, errors, latency = kind
        for role, metric, stat in (
            ("requests", requests, "Sum"),
            ("errors", errors, "Sum"),
            ("p95", latency, "p95"),
            ("p99", latency, "p99"),
        ):
            query = metric_query(f"b{len(out)}", namespace, metric, stat, dims, PERIOD)
            out.append(BakeQuery(query, source, role))

    for tg in tgs:
        lb = tg.lb_arns[0] if tg.lb_arns else None
        if lb is None:
            continue  # no load balancer: no traffic, no metric
        if ":loadbalancer/net/" in lb:
            nlb.append(tg.name)
            continue
        lb_dim = arn_suffix(lb, "loadbalancer/")
        add(ALB, {"TargetGroup": arn_suffix(tg.arn), "LoadBalancer": lb_dim}, tg.name)
    for clb in clbs:
        add(CLB, {"LoadBalancerName": clb.name}, clb.name)
    return out, nlb


def reroute_times(snap: Snapshot) -> tuple[datetime | None, datetime | None]:
    """(when the reroute started, when it finished) from the targets' lifecycle events."""
    originals = snap.original.instances if snap.original else ()
    replacements = snap.replacement.instances if snap.replacement else ()
    end = reroute_finished(originals, originals + replacements)
    starts = [
        e.start
        for group, names in ((replacements, ALLOW_EVENTS), (originals, BLOCK_EVENTS))
        for i in group
        for e in i.events
        if e.name in names and e.start is not None
    ]
    return (min(starts) if starts else end), end


def read_bake(
    calls: Calls,
    tgs: list[TargetGroup],
    clbs: list[Classic],
    reroute: tuple[datetime, datetime],
    until: datetime,
    thresholds: BakeThresholds,
    parts: Parts,
    memo: dict[str, Window] | None = None,
) -> BakeVerdict | None:
    """Read and judge (one GetMetricData per 500 queries: four per target group or classic
    load balancer). None when the read failed (a note says why). `memo` keeps the baseline
    once it is settled, so later reads ask only for the minutes since the reroute (a
    termination wait may last days: the call stays one page, and small)."""
    queries, nlb = bake_queries(tgs, clbs)
    baseline, after = spans(reroute[0], reroute[1], until, thresholds.window_minutes)
    unmeasured = f"{', '.join(nlb)}: {NLB_WORDS}" if nlb else None
    sources = tuple(dict.fromkeys(q.source for q in queries))
    known = (memo or {}).get("baseline")
    if known is not None and (known.start, known.end) != baseline:
        known = None
    if not queries or (known is not None and after[0] >= after[1]):
        sides = [known or window(baseline, {}, {}, {}, {}), window(after, {}, {}, {}, {})]
        return judge(*sides, thresholds, sources=sources, unmeasured=unmeasured, read_at=until)
    cw = calls.client("cloudwatch")

    def read() -> dict[str, list[tuple[datetime, float]]]:
        got_points: dict[str, list[tuple[datetime, float]]] = {}
        for chunk in chunks([q.query for q in queries], METRIC_QUERIES):
            for got in pages(
                cw,
                "get_metric_data",
                MetricDataQueries=list(chunk),
                StartTime=after[0] if known is not None else baseline[0],
                EndTime=after[1],
                ScanBy="TimestampAscending",
            ):
                for r in got.get("MetricDataResults", []):
                    got_points.setdefault(r["Id"], []).extend(
                        zip(r.get("Timestamps", []), r.get("Values", []), strict=False)
                    )
        return got_points

    points = calls.part(parts, "bake", "the bake verdict's CloudWatch metrics", read, None)
    if points is None:
        return None
    per_role: dict[str, dict[datetime, float]] = {role: {} for role in ROLES}
    for q in queries:
        into = per_role[q.role]
        for ts, value in points.get(q.query["Id"], []):
            minute = ts.astimezone(UTC).replace(second=0, microsecond=0)
            if q.role in ("requests", "errors"):
                into[minute] = into.get(minute, 0.0) + value
            else:  # percentiles do not add up: the worst source's, per minute
                into[minute] = max(into.get(minute, value), value)
    base = known or window(baseline, *(per_role[r] for r in ROLES))
    if memo is not None and until - baseline[1] >= SETTLED:
        memo["baseline"] = base
    sides = [base, window(after, *(per_role[r] for r in ROLES))]
    return judge(*sides, thresholds, sources=sources, unmeasured=unmeasured, read_at=until)


def bake_verdict(
    calls: Calls,
    snap: Snapshot,
    tgs: list[TargetGroup],
    clbs: list[Classic],
    thresholds: BakeThresholds,
    parts: Parts,
    memo: dict[str, Window] | None = None,
) -> BakeVerdict | None:
    """The bake verdict of the snapshot's deployment once its reroute has finished: the
    latest window until now, or until the deployment ended. None before the reroute ended."""
    d = snap.deployment
    start, end = reroute_times(snap)
    if d is None or start is None or end is None or d.style != "BLUE_GREEN":
        return None
    until = min(snap.server_time, d.complete_time) if d.complete_time else snap.server_time
    return read_bake(calls, tgs, clbs, (start, end), until, thresholds, parts, memo)


class BakeReads:
    """The termination wait's verdict on its cadence: read at most once a CloudWatch period
    of the server's clock, kept in between (and when a read fails)."""

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._tried: tuple[str, datetime] | None = None  # (deployment, server time) last read
        self._verdict: BakeVerdict | None = None  # the last verdict read for that deployment
        self._memo: dict[str, Window] = {}  # its settled baseline

    def verdict(
        self,
        snap: Snapshot,
        tgs: list[TargetGroup],
        clbs: list[Classic],
        thresholds: BakeThresholds,
        parts: Parts,
    ) -> BakeVerdict | None:
        d = snap.deployment
        if d is None or d.phase != "termination-wait" or d.style != "BLUE_GREEN":
            return None
        if self._tried is None or self._tried[0] != d.id:
            self._verdict, self._memo = None, {}
        elif snap.server_time - self._tried[1] < READ_EVERY:
            return self._verdict
        # A failed read is tried again a period later too, not at every refresh.
        self._tried = (d.id, snap.server_time)
        got = bake_verdict(self._calls, snap, tgs, clbs, thresholds, parts, self._memo)
        if got is not None:
            self._verdict = got
        return self._verdict

    def apply(
        self,
        snap: Snapshot,
        tgs: list[TargetGroup],
        clbs: list[Classic],
        thresholds: BakeThresholds,
    ) -> Snapshot:
        """`snap` with its bake verdict (None outside the termination wait); a failed read
        adds its note."""
        parts = Parts()
        bake = self.verdict(snap, tgs, clbs, thresholds, parts)
        if bake is None and not parts.notes:
            return snap
        return replace(
            snap,
            bake=bake,
            notes=snap.notes + tuple(parts.notes),
            unread=snap.unread + tuple(parts.unread),
        )
