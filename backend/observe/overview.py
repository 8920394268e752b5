"""The overview: every deployment group of every source, one row each, for a screen to poll.

Per refresh tick a source costs what its active deployments cost, not its quiet groups: one
paginated ListDeployments without an application (includeOnlyStatuses = the active statuses),
BatchGetDeployments 25 ids at a time, and one per-group snapshot (`reader.Observer`: target
health, traffic, alarms) for each group with an active deployment. The inventory
(ListApplications, ListDeploymentGroups, BatchGetDeploymentGroups) and the failures of the last
hour (ListDeployments with createTimeRange and the failed/stopped statuses) and the states of
the alarms named on every group's configuration (DescribeAlarms by name, 100 a call: a quiet
group shows its alarms in ALARM too) are read on a slower cadence (`inventory_every`) and on
demand (`refresh_inventory`). A deployment that left the active set is read once more
(BatchGetDeployments) so its ending shows at once; one that began and ended between two ticks
(a deployment that fails as it starts) was never active
here, and shows with the next inventory read.

Each source is read on its own: an error (no credentials, throttled, unreachable) marks that
source's rows stale, in words with AWS's code, and the other sources still answer.

A front end polls it so: `Overview(config_sources(load_config(...)))` once; `rows()` on a
worker thread each tick (every row of every source, ranked by `core.attention`); and
`refresh_inventory()` when a person asks for the groups to be listed again; `close()` at exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from cutover.backend.aws.errors import describe_aws_error
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.core.attention import RECENT, order
from cutover.backend.model import (
    ACTIVE_STATUSES,
    OverviewDeployment,
    OverviewRow,
    Snapshot,
)
from cutover.backend.observe.calls import Calls, ObserveError, Parts, chunks
from cutover.backend.observe.cloudwatch import read_alarms
from cutover.backend.observe.codedeploy import BATCH_DEPLOYMENTS
from cutover.backend.observe.overview_rows import (
    GroupRecord,
    deployment_of,
    group_of,
    newer,
    with_snapshot,
)
from cutover.backend.observe.reader import Observer
from cutover.backend.observe.sources import Source

BATCH_GROUPS = 100  # BatchGetDeploymentGroups: at most 100 names per call
ENDED_STATUSES = ("Failed", "Stopped")
INVENTORY_EVERY = 60.0  # seconds between inventory reads, unless asked for


@dataclass
class _Kept:
    """What a source keeps between ticks."""

    groups: dict[tuple[str, str], GroupRecord] = field(default_factory=dict)
    failures: dict[tuple[str, str], OverviewDeployment] = field(default_factory=dict)
    ended: dict[tuple[str, str], OverviewDeployment] = field(default_factory=dict)
    alarms: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # in ALARM
    active_ids: set[str] = field(default_factory=set)
    account: str | None = None
    read_at: float | None = None  # monotonic time of the last inventory read


class SourceReader:
    """The rows of one source, tick by tick. Raises ObserveError when the source cannot be
    read (the Overview turns that into stale rows)."""

    def __init__(
        self,
        source: Source,
        *,
        inventory_every: float = INVENTORY_EVERY,
        session: AwsSession | None = None,
        group_parallel: int = 4,
    ) -> None:
        self.source = source
        self.inventory_every = inventory_every
        self._session = session
        self._calls: Calls | None = None
        self._kept = _Kept()
        self._observers: dict[tuple[str, str], Observer] = {}
        self._snaps: dict[tuple[str, str], Snapshot] = {}
        self._pool = ThreadPoolExecutor(group_parallel, thread_name_prefix="cutover-overview")
        self._lock = threading.Lock()

    @property
    def session(self) -> AwsSession:
        if self._session is None:
            try:
                session = AwsSession(self.source.target)
                session.create_clients()
            except Exception as exc:  # a profile or region that cannot be used
                raise ObserveError(describe_aws_error(exc)) from None
            self._session = session
        return self._session

    def refresh_inventory(self) -> None:
        """Read the groups and the last hour's failures on the next tick."""
        self._kept.read_at = None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for obs in self._observers.values():
            obs.close()

    def read(self) -> list[OverviewRow]:
        with self._lock:
            session = self.session
            if self._calls is None:
                self._calls = Calls(session, self.source.target)
            kept = self._kept
            due = kept.read_at is None or time.monotonic() - kept.read_at >= self.inventory_every
            if due:
                self._inventory()
            active = self._active()
            self._ended(active)
            return self._rows(active)

    # ----- the reads -------------------------------------------------------------------------

    def _cd(self) -> Any:
        return self.session.client("codedeploy")

    def _pages(self, what: str, operation: str, key: str, **params: Any) -> list:
        """Every page of a list call, each page a core call (throttling retried)."""
        assert self._calls is not None
        out: list = []
        token = None
        while True:
            kw = {**params, **({"nextToken": token} if token else {})}
            page = self._calls.core(what, lambda kw=kw: getattr(self._cd(), operation)(**kw))
            out += page.get(key, [])
            token = page.get("nextToken")
            if not token:
                return out

    def _batch(self, ids: Sequence[str]) -> list[dict]:
        assert self._calls is not None
        infos: list[dict] = []
        for chunk in chunks(list(ids), BATCH_DEPLOYMENTS):
            got = self._calls.core(
                "deployments", lambda c=chunk: self._cd().batch_get_deployments(deploymentIds=c)
            )
            infos += got.get("deploymentsInfo", [])
        return infos

    def _inventory(self) -> None:
        assert self._calls is not None
        kept = self._kept
        if kept.account is None:
            kept.account = self._calls.identity(Parts())
        groups: dict[tuple[str, str], GroupRecord] = {}
        for app in self._pages("applications", "list_applications", "applications"):
            names = self._pages(
                "groups", "list_deployment_groups", "deploymentGroups", applicationName=app
            )
            for chunk in chunks(names, BATCH_GROUPS):
                got = self._calls.core(
                    "groups",
                    lambda a=app, c=chunk: self._cd().batch_get_deployment_groups(
                        applicationName=a, deploymentGroupNames=list(c)
                    ),
                )
                for info in got.get("deploymentGroupsInfo", []):
                    g = group_of(info)
                    groups[(g.application, g.name)] = g
        kept.groups = groups
        self._failures()
        self._alarms()
        kept.read_at = time.monotonic()

    def _alarms(self) -> None:
        """Which of the alarms named on the groups' configurations are in ALARM. The alarms
        may fail to read (a note, not a stale source): the last states read are kept."""
        assert self._calls is not None
        groups = self._kept.groups
        names = sorted({n for g in groups.values() for n in g.alarm_names})
        states = read_alarms(self._calls, names, Parts())
        if states is None:
            return
        firing = {a.name for a in states if a.state == "ALARM"}
        self._kept.alarms = {
            key: tuple(n for n in g.alarm_names if n in firing)
            for key, g in groups.items()
            if firing.intersection(g.alarm_names)
        }

    def _failures(self) -> None:
        """The failed and stopped deployments of the last hour, with the groups' latest ones
        of the last hour beside them (was it a rollback?)."""
        now = self.session.clock.now()
        ids = self._pages(
            "deployments",
            "list_deployments",
            "deployments",
            includeOnlyStatuses=list(ENDED_STATUSES),
            createTimeRange={"start": now - RECENT},
        )
        since = now - RECENT - timedelta(minutes=5)
        recent = [
            g.last.id
            for g in self._kept.groups.values()
            if g.last and g.last.create_time and g.last.create_time >= since
        ]
        failures: dict[tuple[str, str], OverviewDeployment] = {}
        ended: dict[tuple[str, str], OverviewDeployment] = {}
        for info in self._batch(list(dict.fromkeys(ids + recent))):
            key = (info.get("applicationName", ""), info.get("deploymentGroupName", ""))
            dep = deployment_of(info)
            if dep.status in ENDED_STATUSES and newer(dep, failures.get(key)):
                failures[key] = dep
            if dep.id in recent:
                ended[key] = dep
        self._kept.failures = failures
        self._kept.ended = ended

    def _active(self) -> dict[tuple[str, str], OverviewDeployment]:
        ids = self._pages(
            "deployments",
            "list_deployments",
            "deployments",
            includeOnlyStatuses=list(ACTIVE_STATUSES),
        )
        active: dict[tuple[str, str], OverviewDeployment] = {}
        for info in self._batch(ids):
            key = (info.get("applicationName", ""), info.get("deploymentGroupName", ""))
            dep = deployment_of(info)
            if newer(dep, active.get(key)):
                active[key] = dep
        return active

    def _ended(self, active: dict[tuple[str, str], OverviewDeployment]) -> None:
        """Deployments active last tick and not now: read their ending once."""
        now_ids = {d.id for d in active.values()}
        gone = sorted(self._kept.active_ids - now_ids)
        self._kept.active_ids = now_ids
        for info in self._batch(gone) if gone else []:
            key = (info.get("applicationName", ""), info.get("deploymentGroupName", ""))
            dep = deployment_of(info)
            self._kept.ended[key] = dep
            if dep.status in ENDED_STATUSES:
                self._kept.failures[key] = dep

    # ----- the rows --------------------------------------------------------------------------

    def _rows(self, active: dict[tuple[str, str], OverviewDeployment]) -> list[OverviewRow]:
        session, kept = self.session, self._kept
        base = dict(
            source=self.source.name,
            account=kept.account,
            region=session.region,
            endpoint_url=session.custom_endpoint,
        )
        rows: dict[tuple[str, str], OverviewRow] = {}
        for key in sorted(set(kept.groups) | set(active)):
            g = kept.groups.get(key)
            latest = g.last if g else None
            ended = kept.ended.get(key)
            if ended is not None and newer(ended, latest):
                latest = ended
            rows[key] = OverviewRow(
                **base,  # type: ignore[arg-type]
                application=key[0],
                deployment_group=key[1],
                style=g.style if g else "IN_PLACE",
                traffic_control=g.traffic_control if g else False,
                deployment=active.get(key) or latest,
                recent_failure=kept.failures.get(key),
                alarms=kept.alarms.get(key, ()),  # an active group's: from its snapshot
                leftovers_note=(
                    "not checked in the overview (open the group)"
                    if (g is None or g.style == "IN_PLACE") and key not in active
                    else None
                ),
            )
        # A group that went quiet gives back its observer (threads, caches): a dashboard left
        # open for days sees many groups come and go.
        for key in [k for k in self._observers if k not in active]:
            self._observers.pop(key).close()
            self._snaps.pop(key, None)
        futures = {key: self._pool.submit(self._snapshot, key) for key in active}
        for key, fut in futures.items():
            try:
                rows[key] = with_snapshot(rows[key], fut.result())
            except ObserveError as exc:
                rows[key] = replace(rows[key], stale=f"the group could not be read: {exc}")
        now, rate = session.clock.now(), session.sandbox_rate
        return [replace(r, server_time=now, sandbox_rate=rate) for r in rows.values()]

    def _snapshot(self, key: tuple[str, str]) -> Snapshot:
        obs = self._observers.get(key)
        if obs is None:
            # A source's preview target group belongs to its own group, not to every group.
            target = replace(
                self.source.target,
                application=key[0],
                deployment_group=key[1],
                preview_target_group=None,
            )
            obs = self._observers[key] = Observer(
                self.session, target, batch_parallel=2, metrics=False
            )
            obs._account = self._kept.account  # read once per source, not once per group
        # The last snapshot carries drain countdowns and the fleet seen at Ready along.
        snap = obs.snapshot(previous=self._snaps.get(key))
        self._snaps[key] = snap
        return snap


class Overview:
    """The rows of every source, in attention order; one call a tick (`rows`)."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        inventory_every: float = INVENTORY_EVERY,
        reader: Callable[[Source], SourceReader] | None = None,
    ) -> None:
        make = reader or (lambda s: SourceReader(s, inventory_every=inventory_every))
        self.readers = [make(s) for s in sources]
        self._last: dict[str, list[OverviewRow]] = {}
        self._pool = ThreadPoolExecutor(max(1, len(self.readers)), thread_name_prefix="cutover-src")

    @property
    def api_calls(self) -> int:
        """API calls sent so far by every source (retries included)."""
        return sum(r._session.calls for r in self.readers if r._session is not None)

    def refresh_inventory(self) -> None:
        for r in self.readers:
            r.refresh_inventory()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for r in self.readers:
            r.close()

    def rows(self) -> list[OverviewRow]:
        """Every source read side by side; a source that fails keeps its last rows, marked
        stale with the reason (or one row saying so, when it was never read)."""
        futures = [(r, self._pool.submit(r.read)) for r in self.readers]
        out: list[OverviewRow] = []
        for reader, fut in futures:
            name = reader.source.name
            try:
                rows = fut.result()
                self._last[name] = rows
            except ObserveError as exc:
                rows = self._stale(reader.source, f"could not be read: {exc}")
            except Exception as exc:
                rows = self._stale(reader.source, f"could not be read: {describe_aws_error(exc)}")
            out += rows
        return order(out)

    def _stale(self, source: Source, reason: str) -> list[OverviewRow]:
        last = self._last.get(source.name)
        if last:
            return [replace(r, stale=reason, attention=None) for r in last]
        t: TargetConfig = source.target
        return [
            OverviewRow(
                source=source.name,
                application="",
                deployment_group="",
                region=t.region,
                endpoint_url=t.endpoint_url,
                stale=reason,
            )
        ]
