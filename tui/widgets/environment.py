"""An environment panel: the counts per state, a table of instances, and sparklines."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from cutover.backend.core.revisions import revision_mix
from cutover.backend.model import Environment
from cutover.tui.widgets.common import TextStatic
from cutover.tui.widgets.instance_table import InstanceTable
from cutover.tui.widgets.rows import Row, counts_text, short_id
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Sparkline

HISTORY = 60  # snapshots kept for the sparklines
SPARK_POINTS = 12
_BARS = "▁▂▃▄▅▆▇█"
IN_FLIGHT_NAMED = 3  # ids named in the summary; the rest counted


def spark(values: list[float]) -> str:
    """A one-line sparkline of the values (relative to their own range)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi <= lo:
        return _BARS[0 if hi == 0 else 3] * len(values)
    return "".join(_BARS[round((v - lo) / (hi - lo) * (len(_BARS) - 1))] for v in values)


def summary_text(env: Environment, rows: list[Row]) -> Text:
    """`1 unhealthy, 2 draining, 197 healthy  web-asg desired 200  batch: 2`, most telling
    first: a narrow panel cuts the end of the line."""
    text = counts_text(r.state for r in rows)
    fleet = env.role == "fleet"
    mix = revision_mix([i.revision for i in env.instances]) if fleet else None
    if mix:
        # Healthy is not the same as done: after a stop some instances run the new revision.
        text.append(f"  {mix}", style="bold yellow")
    if fleet:
        standby = sum(1 for i in env.instances if i.asg_lifecycle in ("Standby", "EnteringStandby"))
        if standby:
            text.append(f"  {standby} in standby", style="yellow")
    if env.asg_name:
        if env.desired is None:
            # The group is read by name; not found means it was deleted (after the
            # originals are terminated, CodeDeploy deletes their group).
            text.append(f"  {env.asg_name} deleted", style="dim")
        else:
            text.append(f"  {env.asg_name} desired {env.desired}", style="dim")
    if env.in_flight:
        if fleet:
            named = ", ".join(short_id(i) for i in env.in_flight[:IN_FLIGHT_NAMED])
            more = len(env.in_flight) - IN_FLIGHT_NAMED
            text.append(f"  ▶ in flight: {named}" + (f" +{more}" if more > 0 else ""), "cyan")
        else:
            text.append(f"  batch: {len(env.in_flight)}", style="cyan")
    return text


class EnvironmentPanel(Vertical):
    """Original, Replacement or (in-place) Fleet; rows are rebuilt only for the instances
    that changed, and the table draws only what is on screen."""

    DEFAULT_CSS = """
    EnvironmentPanel { border: round $primary; height: 1fr; border-subtitle-color: $text-muted; }
    EnvironmentPanel > .env-summary { height: 1; padding: 0 1; }
    EnvironmentPanel > .env-sparks { height: 2; padding: 0 1; }
    EnvironmentPanel .env-sparks > Sparkline { width: 1fr; height: 1; }
    EnvironmentPanel .env-sparks > TextStatic { height: 1; }
    EnvironmentPanel > InstanceTable { height: 1fr; padding: 0 0 0 1; }
    """

    @dataclass
    class InstanceChosen(Message):
        """Enter on a row: the person wants that instance's details."""

        instance_id: str

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.border_subtitle = _ORDER[False]
        self._history: deque[float] = deque(maxlen=HISTORY)
        self._rps: deque[float] = deque(maxlen=HISTORY)
        self._last_seen: datetime | None = None
        self._env: Environment | None = None  # the environment on screen

    def compose(self) -> ComposeResult:
        yield TextStatic(classes="env-summary")
        yield InstanceTable()
        with Vertical(classes="env-sparks"):
            yield Sparkline([], summary_function=max, classes="spark-healthy")
            yield TextStatic(classes="env-metrics")

    @property
    def table(self) -> InstanceTable:
        return self.query_one(InstanceTable)

    def show(self, env: Environment | None, now: datetime, server_time: datetime) -> None:
        """Update the rows; keep history when the snapshot is new (not on a clock tick)."""
        summary = self.query_one(".env-summary", TextStatic)
        if env is None:
            summary.set_text(Text("none yet", style="dim"))
            self._env = None
            self.table.set_rows([])
            return
        if env is self._env:
            # A clock tick between polls: the same snapshot, only countdowns move.
            self.table.set_now(now)
            return
        self._env = env
        if server_time != self._last_seen:
            self._last_seen = server_time
            self._history.append(float(env.healthy_count))
        rows = self._rows(env, now)
        summary.set_text(summary_text(env, rows))
        self.table.set_rows(rows)
        self._fit_sparks()
        spark = self.query_one(".spark-healthy", Sparkline)
        if list(spark.data or []) != list(self._history):
            spark.data = list(self._history)
        self.query_one(".env-metrics", TextStatic).set_text(self._metrics(env))

    def _rows(self, env: Environment, now: datetime) -> list[Row]:
        fleet = env.role == "fleet"
        in_flight = set(env.in_flight) if fleet else set()
        return [
            Row(inst, now, fleet=fleet, in_flight=inst.id in in_flight) for inst in env.instances
        ]

    def on_resize(self) -> None:
        self._fit_sparks()

    def _fit_sparks(self) -> None:
        """The sparklines give way to rows when the panel is short: rows decide, lines
        of history only help."""
        rows = self.table.row_count
        room = self.content_size.height - 2  # the summary and the table's header
        sparks = self.query_one(".env-sparks")
        show = room - 2 >= min(rows, 8)
        if sparks.display != show:
            sparks.display = show

    def _metrics(self, env: Environment) -> Text:
        out = Text(f"healthy max {max(self._history, default=0):.0f}", style="dim")
        for series in env.metrics:
            if series.last is None:
                continue
            name = {
                "RequestCount": "req/min",
                "HTTPCode_Target_5XX_Count": "5xx/min",
                "TargetResponseTime": "latency s",
            }.get(series.name, series.name)
            value = (
                f"{series.last:.3f}"
                if series.name == "TargetResponseTime"
                else f"{series.last:.0f}"
            )
            out.append(f"  {name} ")
            out.append(spark([v for _, v in series.points[-SPARK_POINTS:]]), style="cyan")
            out.append(f" {value}")
        return out

    @on(InstanceTable.Selected)
    def _chosen(self, event: InstanceTable.Selected) -> None:
        event.stop()
        self.post_message(self.InstanceChosen(event.instance_id))

    @on(InstanceTable.OrderChanged)
    def _order(self, event: InstanceTable.OrderChanged) -> None:
        event.stop()
        self.border_subtitle = _ORDER[event.by_id]


_ORDER = {False: "trouble first · o: by id", True: "by id · o: trouble first"}
