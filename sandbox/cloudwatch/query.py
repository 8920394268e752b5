"""GetMetricData's queries evaluated: each query id's series, from a metric or from metric
math over other query ids, computed once however often it is referred to."""

from __future__ import annotations

from cutover.sandbox.world import World

from .expressions import ExpressionError, Series, evaluate_expression
from .metrics import resolve, series
from .state import State, align


class Queries:
    """The series of one request's queries (`by_id`: query id -> MetricDataQuery, already
    checked) between `start` and `end` (epoch seconds; each metric aligns `start` to its own
    period)."""

    def __init__(
        self, world: World, state: State, by_id: dict[str, dict], start: float, end: float
    ) -> None:
        self.world, self.state, self.by_id = world, state, by_id
        self.start, self.end = start, end
        self.values: dict[str, Series] = {}
        self._resolving: set[str] = set()

    def series(self, qid: str) -> Series:
        """The series of query `qid`; ExpressionError says why it has none."""
        if qid in self.values:
            return self.values[qid]
        query = self.by_id.get(qid)
        if query is None:
            raise ExpressionError(f"unknown query id {qid}")
        if qid in self._resolving:
            raise ExpressionError(f"the expression of {qid} refers to itself")
        self._resolving.add(qid)
        if "MetricStat" in query:
            result = self._metric(query["MetricStat"])
        else:
            result = self._expression(query["Expression"])
        self._resolving.discard(qid)
        self.values[qid] = result
        return result

    def _metric(self, stat: dict) -> Series:
        metric = stat["Metric"]
        period = stat["Period"]
        source = resolve(
            self.world,
            self.state,
            metric["Namespace"],
            metric["MetricName"],
            list(metric.get("Dimensions") or []),
            stat.get("Unit"),
        )
        start = align(self.start, period)
        return dict(series(self.world, self.state, source, start, self.end, period, stat["Stat"]))

    def _expression(self, text: str) -> Series:
        try:
            result = evaluate_expression(text, self.series)
        except RecursionError:
            raise ExpressionError("the expression is nested too deeply") from None
        if not isinstance(result, dict):
            raise ExpressionError("the expression does not refer to any metric")
        return result
