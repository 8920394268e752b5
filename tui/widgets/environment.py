"""An environment panel: a table of instances keyed by instance id, and sparklines."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from cutover.backend.model import Environment, Instance, TargetHealth
from cutover.tui.widgets.common import TextStatic, countdown, literal
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Sparkline

COLUMNS = ("instance", "az", "status", "event", "health", "drain")
HISTORY = 60  # snapshots kept for the sparklines


def health_text(health: tuple[TargetHealth, ...], *, names: bool = False) -> Text:
    """`web-tg healthy`, or the state and reason; several groups separated by commas."""
    if not health:
        return Text("not registered", style="dim")
    out = Text()
    for i, h in enumerate(health):
        if i:
            out.append(", ")
        style = "green" if h.healthy else ("yellow" if h.draining else "red")
        if h.state == "unused":
            style = "dim"
        if names or len(health) > 1:
            # One group needs no name (the panel says which); several must be told apart.
            out.append(f"{h.name} ", style="dim")
        if not h.registered:
            out.append("not registered", style="dim")
            continue
        out.append(h.state, style=style)
        if h.reason and not h.healthy:
            out.append(f" ({h.reason})", style="dim")
    return out


def _status_text(inst: Instance, *, fleet: bool = False) -> Text:
    status = inst.lifecycle_status or inst.asg_lifecycle or inst.ec2_state or "-"
    style = {"Succeeded": "green", "Failed": "bold red", "InProgress": "cyan"}.get(status, "")
    out = Text(status, style=style)
    if status != inst.ec2_state and inst.ec2_state in ("shutting-down", "terminated", "stopped"):
        # A dead instance keeps CodeDeploy's last word (Failed): say it is gone as well.
        out.append(f" {inst.ec2_state}", style="bold red")
    if (
        fleet
        and inst.asg_lifecycle
        and inst.asg_lifecycle != "InService"
        and (inst.asg_lifecycle != status)
    ):
        # In-place: Standby (the hooks took it out) matters as much as CodeDeploy's status.
        out.append(f" {inst.asg_lifecycle}", style="yellow")
    return out


def _event_text(inst: Instance, *, fleet: bool = False) -> Text | str:
    """The lifecycle event CodeDeploy is on; in-place, with how far it got."""
    event = inst.current_event or ""
    if not fleet or not event:
        return event
    status = next((e.status for e in inst.events if e.name == event), None)
    style = {"InProgress": "cyan", "Failed": "bold red"}.get(status or "", "")
    out = Text(event, style=style)
    if status and status not in ("InProgress", "Pending"):
        out.append(f" {status}", style="dim")
    return out


def _id_text(iid: str, in_flight: bool) -> Text | str:
    """The batch CodeDeploy is working on is marked, so it stands out in a long fleet."""
    if not in_flight:
        return iid
    return Text.assemble(("▶ ", "bold cyan"), (iid, "bold"))


def _zone(az: str | None) -> str:
    """`us-east-1a` -> `1a`: the region is in the header, and the panel is narrow."""
    if not az:
        return "-"
    return az.rsplit("-", 1)[-1]


def _drain(inst: Instance, now: datetime) -> str:
    for h in inst.health:
        if h.draining:
            return countdown(h.drain_deadline, now) or "draining"
    return ""


SPARK_POINTS = 12
_BARS = "▁▂▃▄▅▆▇█"


def spark(values: list[float]) -> str:
    """A one-line sparkline of the values (relative to their own range)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi <= lo:
        return _BARS[0 if hi == 0 else 3] * len(values)
    return "".join(_BARS[round((v - lo) / (hi - lo) * (len(_BARS) - 1))] for v in values)


class EnvironmentPanel(Vertical):
    """Original, Replacement or (in-place) Fleet; rows are updated in place by instance id."""

    DEFAULT_CSS = """
    EnvironmentPanel { border: round $primary; height: 1fr; }
    EnvironmentPanel > .env-summary { height: 1; padding: 0 1; }
    EnvironmentPanel > .env-sparks { height: 2; padding: 0 1; }
    EnvironmentPanel .env-sparks > Sparkline { width: 1fr; height: 1; }
    EnvironmentPanel .env-sparks > TextStatic { height: 1; }
    EnvironmentPanel DataTable { height: 1fr; }
    """

    @dataclass
    class InstanceChosen(Message):
        """Enter on a row: the person wants that instance's details."""

        instance_id: str

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._history: deque[float] = deque(maxlen=HISTORY)
        self._rps: deque[float] = deque(maxlen=HISTORY)
        self._last_seen: datetime | None = None
        # instance id -> (the Instance, drain text, in flight) last shown, to skip unchanged rows
        self._shown: dict[str, tuple[Instance, str, bool]] = {}

    def compose(self) -> ComposeResult:
        yield TextStatic(classes="env-summary")
        table: DataTable[Text | str] = DataTable(cursor_type="row", zebra_stripes=True)
        for name in COLUMNS:
            table.add_column(name, key=name)
        yield table
        with Vertical(classes="env-sparks"):
            yield Sparkline([], summary_function=max, classes="spark-healthy")
            yield TextStatic(classes="env-metrics")

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def show(self, env: Environment | None, now: datetime, server_time: datetime) -> None:
        """Update rows by key; keep history when the snapshot is new (not on a clock tick)."""
        summary = self.query_one(".env-summary", TextStatic)
        table = self.table
        if env is None:
            summary.set_text(Text("none yet", style="dim"))
            if table.row_count:
                with self.app.batch_update():
                    for key in list(table.rows):
                        table.remove_row(key)
            self._shown.clear()
            return
        if server_time != self._last_seen:
            self._last_seen = server_time
            self._history.append(float(env.healthy_count))
        total = len(env.instances)
        text = Text(f"{env.healthy_count}/{total} healthy", style="bold")
        if env.asg_name:
            text.append(f"  {env.asg_name} desired {env.desired}", style="dim")
        fleet = env.role == "fleet"
        if env.in_flight:
            if fleet:
                text.append(f"  ▶ in flight: {', '.join(env.in_flight)}", style="cyan")
            else:
                text.append(f"  batch: {len(env.in_flight)}", style="cyan")
        if fleet:
            standby = sum(
                1 for i in env.instances if i.asg_lifecycle in ("Standby", "EnteringStandby")
            )
            if standby:
                text.append(f"  {standby} in Standby", style="yellow")
        summary.set_text(text)
        wanted = {inst.id: inst for inst in env.instances}
        with self.app.batch_update():
            for key in list(table.rows):
                if key.value not in wanted:
                    table.remove_row(key)
                    self._shown.pop(key.value, None)
            in_flight = set(env.in_flight) if fleet else set()
            for iid, inst in wanted.items():
                drain = _drain(inst, now)
                flying = iid in in_flight
                # Most rows do not change between polls: skip building their cells.
                if self._shown.get(iid) == (inst, str(drain), flying) and iid in table.rows:
                    continue
                self._shown[iid] = (inst, str(drain), flying)
                cells = tuple(
                    literal(c)
                    for c in (
                        _id_text(iid, flying),
                        _zone(inst.az),
                        _status_text(inst, fleet=fleet),
                        _event_text(inst, fleet=fleet),
                        # In-place: each target group / classic LB by name (the hooks' path
                        # may differ per instance).
                        health_text(inst.health, names=fleet),
                        drain,
                    )
                )
                if iid in table.rows:
                    row = table.get_row(iid)
                    for col, old, new in zip(COLUMNS, row, cells, strict=True):
                        if str(old) != str(new) or (
                            isinstance(new, Text)
                            and isinstance(old, Text)
                            and old.spans != new.spans
                        ):
                            table.update_cell(iid, col, new, update_width=True)
                else:
                    table.add_row(*cells, key=iid)
        spark = self.query_one(".spark-healthy", Sparkline)
        if list(spark.data or []) != list(self._history):
            spark.data = list(self._history)
        self.query_one(".env-metrics", TextStatic).set_text(self._metrics(env))

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

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.InstanceChosen(event.row_key.value))
