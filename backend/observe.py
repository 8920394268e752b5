"""Read-only: AWS (or the sandbox) -> a frozen Snapshot of one deployment group.

`Observer` is kept per target (one per AwsSession and deployment group) because it caches the
facts that do not move during a deployment (target group ARNs, health-check settings,
deregistration delays, listener ARNs, the caller's account) so every later snapshot costs only
what is fresh: the group, the deployment, its targets (25 per BatchGetDeploymentTargets),
one DescribeInstances, one DescribeAutoScalingGroups, one DescribeTargetHealth per target group,
one DescribeInstanceHealth per classic load balancer, DescribeRules per listener that forwards to
the group, one DescribeAlarms and one GetMetricData. The number of calls grows with the fleet only
by AWS's batch limits.

In-place groups without a load balancer of their own (appspec hooks such as `cutover hook` take
instances out) also get one DescribeTargetHealth / DescribeInstanceHealth per target group or
classic LB their instances serve in (named by the instances' `cutover:hook:home` tags and the
Auto Scaling groups' attachments; described once and cached), and those join GetMetricData.
The leftovers check (`find_leftovers`) costs no call: it reads the tags, Auto Scaling groups
and health the snapshot already has.

Errors: a failure that makes the snapshot meaningless (credentials, a missing application, group
or deployment, an unreachable endpoint) raises `ObserveError`; any other failed call leaves a
plain-words note in `Snapshot.notes` (and a key in `Snapshot.unread`) and the rest is kept.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from cutover.backend import gates
from cutover.backend.aws.errors import (
    GONE_CODES,
    NOT_FOUND_CODES,
    THROTTLING_CODES,
    explain,
)
from cutover.backend.aws.errors import is_fatal as _fatal
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.core.hooktags import parse_min_size
from cutover.backend.model import (
    ACTIVE_STATUSES,
    AUTOMATIC_CREATORS,
    Alarm,
    Deployment,
    DeploymentSummary,
    Environment,
    Event,
    Instance,
    Leftover,
    LifecycleEvent,
    ListenerWeights,
    Series,
    Snapshot,
    TargetHealth,
    Timer,
    Traffic,
)

T = TypeVar("T")

# Finished deployments whose targets are kept (the picker's recent ones are read again).
FINISHED_KEEP = 8
BATCH_TARGETS = 25  # BatchGetDeploymentTargets: at most 25 target ids per call
BATCH_DEPLOYMENTS = 25  # BatchGetDeployments: at most 25 ids per call
METRIC_QUERIES = 500  # GetMetricData: at most 500 queries per call
METRIC_WINDOW = timedelta(minutes=15)
METRIC_PERIOD = 60

INSTALL_EVENTS = (
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
)
ALLOW_EVENTS = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
BLOCK_EVENTS = ("BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic")
TRAFFIC_EVENTS = ALLOW_EVENTS + BLOCK_EVENTS
TERMINAL = ("Succeeded", "Failed", "Stopped")
FINAL_TARGET_STATUSES = ("Succeeded", "Failed", "Skipped")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The durable records `cutover hook` keeps in tags (see docs and backend/hooks.py).
HOOK_TAG_PREFIX = "cutover:hook:"
HOOK_HOME = "cutover:hook:home"
HOOK_OUT = "cutover:hook:out"
HOOK_MIN_SIZE = "cutover:hook:min-size"
HOOK_SUSPENDED = "cutover:hook:suspended"
STANDBY_STATES = ("Standby", "EnteringStandby")

# Extra rounds for the calls a snapshot cannot do without, on throttling only.
CORE_THROTTLE_RETRIES = 4
# ...but only while the snapshot is younger than this (seconds): each attempt also carries
# botocore's own retries, and at 90% throttling unbounded patience made `cutover status` take
# 40 s. Past it, a throttled core call ends the snapshot (the view goes stale, says why).
CORE_THROTTLE_BUDGET = 6.0


# How far back (deployments) to look for one a person started, past CodeDeploy's own.
MAIN_SEARCH_LIMIT = 100
# ObserveError's code when a deployment chosen by id belongs to another group (a usage error).
WRONG_GROUP = "DeploymentNotInGroup"


class ObserveError(Exception):
    """A snapshot could not be taken at all; str() is one plain line ending with the code.

    `aws_code` is AWS's error code (or the botocore error's name when AWS never answered).
    """

    def __init__(self, message: str, aws_code: str | None = None) -> None:
        super().__init__(f"{message} ({aws_code})" if aws_code else message)
        self.message = message
        self.aws_code = aws_code

    @property
    def throttled(self) -> bool:
        """AWS throttled the calls: ask again later, and less often."""
        return self.aws_code in THROTTLING_CODES

    @property
    def gone(self) -> bool:
        """The deployment asked for does not exist (any more): asking again will not help."""
        return self.aws_code in GONE_CODES


# ----- small parsing helpers ---------------------------------------------------------------------


def revision_label(revision: dict | None) -> str | None:
    """A short, human name for a CodeDeploy RevisionLocation."""
    if not revision:
        return None
    kind = revision.get("revisionType")
    if kind == "S3" and revision.get("s3Location"):
        s3 = revision["s3Location"]
        label = f"s3://{s3.get('bucket', '?')}/{s3.get('key', '?')}"
        if s3.get("version"):
            label += f"?versionId={s3['version']}"
        return label
    if kind == "GitHub" and revision.get("gitHubLocation"):
        gh = revision["gitHubLocation"]
        return f"{gh.get('repository', '?')}@{str(gh.get('commitId', '?'))[:12]}"
    content = (revision.get("string") or revision.get("appSpecContent") or {}).get("content")
    if content:
        return f"inline appspec {hashlib.sha256(content.encode()).hexdigest()[:12]}"
    return kind


def _name_from_arn(arn: str) -> str:
    # targetgroup/NAME/ID and loadbalancer/app/NAME/ID both carry the name second to last.
    parts = arn.split(":")[-1].split("/")
    return parts[-2] if len(parts) >= 2 else arn


def _arn_suffix(arn: str, after: str | None = None) -> str:
    """The CloudWatch dimension value of an ELB ARN: its resource part, or what follows
    `after` in it (`targetgroup/NAME/ID`, `app/NAME/ID`)."""
    resource = arn.split(":", 5)[-1]
    if after and after in resource:
        return resource.split(after, 1)[1]
    return resource


def _pages(client: Any, operation: str, **params: Any) -> Iterable[dict]:
    """Every page of a paginated call, through botocore's own paginator for it."""
    return client.get_paginator(operation).paginate(**params)


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def parse_events(raw: Iterable[dict]) -> tuple[LifecycleEvent, ...]:
    out = []
    for e in raw:
        diag = e.get("diagnostics") or {}
        out.append(
            LifecycleEvent(
                name=e.get("lifecycleEventName", "?"),
                status=e.get("status", "Unknown"),
                start=e.get("startTime"),
                end=e.get("endTime"),
                error_code=diag.get("errorCode"),
                script_name=diag.get("scriptName"),
                message=diag.get("message"),
                log_tail=diag.get("logTail"),
            )
        )
    return tuple(out)


def current_event(status: str | None, events: Sequence[LifecycleEvent]) -> str | None:
    """The event CodeDeploy is on for one target: the one in progress, else (between events of
    a target in progress) the next pending one, else the failed one."""
    running = next((e for e in events if e.status == "InProgress"), None)
    if running:
        return running.name
    if status == "InProgress":
        pending = next((e for e in events if e.status == "Pending"), None)
        if pending:
            return pending.name
    if status == "Failed":
        failed = next((e for e in events if e.status == "Failed"), None)
        if failed:
            return failed.name
    return None


@dataclass(frozen=True)
class TargetInfo:
    """One instance target of a deployment, as BatchGetDeploymentTargets gives it."""

    id: str
    status: str | None
    label: str | None
    last_updated: datetime | None
    events: tuple[LifecycleEvent, ...]

    def started(self, names: Iterable[str]) -> bool:
        return any(e.name in names and e.status not in ("Pending", "Unknown") for e in self.events)

    def event(self, name: str) -> LifecycleEvent | None:
        return next((e for e in self.events if e.name == name), None)


def parse_target(raw: dict) -> TargetInfo | None:
    t = raw.get("instanceTarget")
    if not t:
        return None
    tid = t.get("targetId") or str(t.get("targetArn", "")).rsplit("/", 1)[-1]
    return TargetInfo(
        id=tid,
        status=t.get("status"),
        label=t.get("instanceLabel"),
        last_updated=t.get("lastUpdatedAt"),
        events=parse_events(t.get("lifecycleEvents") or []),
    )


# ----- pure derivations (unit-tested over hand-built objects) ------------------------------------


def _any_started(instances: Iterable[Instance], names: Iterable[str]) -> bool:
    names = tuple(names)
    return any(
        e.name in names and e.status not in ("Pending", "Unknown")
        for i in instances
        for e in i.events
    )


def _going(instance: Instance) -> bool:
    return instance.ec2_state in ("shutting-down", "terminated", "stopping", "stopped") or (
        instance.asg_lifecycle or ""
    ).startswith("Terminating")


def derive_phase(
    status: str,
    *,
    style: str = "BLUE_GREEN",
    is_rollback: bool = False,
    termination_wait_started: bool = False,
    original: Sequence[Instance] = (),
    replacement: Sequence[Instance] = (),
    fleet: Sequence[Instance] = (),
    termination_deadline: datetime | None = None,
    now: datetime | None = None,
) -> str:
    """The phase (one of model.PHASES) from CodeDeploy's status, the instances' lifecycle
    events and the termination wait.

    Terminal statuses map one to one; an active rollback deployment is `rolling-back`; `Ready`
    is `ready`. While InProgress, blue/green is `terminating` once the termination wait has
    run out or every original is on its way out, `termination-wait` once the wait started,
    `rerouting` once any traffic event started, `installing` once any install event started,
    else `provisioning`. In-place: `provisioning` until an event starts, then `installing`.
    """
    if status == "Succeeded":
        return "succeeded"
    if status == "Failed":
        return "failed"
    if status == "Stopped":
        return "stopped"
    if is_rollback:
        return "rolling-back"
    if status == "Ready":
        return "ready"
    everyone = (*fleet, *original, *replacement)
    # GetDeployment and the targets are separate reads: the targets may already be moving
    # while the deployment still reads Created.
    if status in ("Created", "Queued") and not _any_started(
        everyone, INSTALL_EVENTS + TRAFFIC_EVENTS
    ):
        return "provisioning"
    if style != "BLUE_GREEN":
        return (
            "installing"
            if _any_started(everyone, INSTALL_EVENTS + TRAFFIC_EVENTS)
            else ("provisioning")
        )
    if termination_wait_started:
        past = termination_deadline is not None and now is not None and now >= termination_deadline
        # CodeDeploy ends the whole original fleet: one original going alone is Auto Scaling
        # scaling in (or replacing it), not the end of the wait.
        if past or (original and all(_going(i) for i in original)):
            return "terminating"
        return "termination-wait"
    if _any_started(replacement, ALLOW_EVENTS) or _any_started(original, BLOCK_EVENTS):
        return "rerouting"
    if _any_started(replacement, INSTALL_EVENTS):
        return "installing"
    return "provisioning"


def waiting_for(phase: str) -> str | None:
    """What the deployment waits on a person for: reroute approval, termination, or nothing."""
    return {"ready": "reroute-approval", "termination-wait": "termination"}.get(phase)


def _latest(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def ready_since(replacement: Sequence[Instance]) -> datetime | None:
    """When the replacement fleet became Ready: the last ValidateService end (or the last
    Ready target's lastUpdatedAt when the events carry no end)."""
    ends = [
        (next((e.end for e in i.events if e.name == "ValidateService" and e.end), None))
        or (i.last_updated if i.lifecycle_status == "Ready" else None)
        for i in replacement
    ]
    return _latest(ends)


def reroute_finished(original: Sequence[Instance], everyone: Sequence[Instance]) -> datetime | None:
    """When the reroute ended: the last AfterBlockTraffic end of the originals, else the last
    end of any traffic event."""
    end = _latest(e.end for i in original for e in i.events if e.name == "AfterBlockTraffic")
    if end is not None:
        return end
    return _latest(e.end for i in everyone for e in i.events if e.name in TRAFFIC_EVENTS)


def traffic_split(
    original: Environment | None,
    replacement: Environment | None,
    sources: Sequence[str],
    listeners: Sequence[ListenerWeights] = (),
    others: dict[str, tuple[int, int]] | None = None,
) -> Traffic | None:
    """Who gets the traffic, with the basis in words.

    When a listener rule splits two or more of the group's target groups by weight, each target
    group's weight is shared among its healthy targets' environments. Otherwise the split is
    the share of healthy registered targets of each environment across the group's target
    groups and classic load balancers (a load balancer with no healthy target fails open and
    sends to every registered one). `others` gives, per source, the (healthy, other registered)
    targets that belong to neither environment: their share is left out of both percentages
    and named in the basis.
    """
    envs = {"original": original, "replacement": replacement}
    others = others or {}

    roles = ("original", "replacement", "other")

    def counts(source: str) -> tuple[dict[str, int], bool]:
        """Targets per environment receiving traffic in one source ("other": registered targets
        of neither environment); True when the source fails open."""
        healthy = dict.fromkeys(roles, 0)
        registered = dict.fromkeys(roles, 0)
        for role, env in envs.items():
            for inst in env.instances if env else ():
                for h in inst.health:
                    if h.name != source:
                        continue
                    if h.healthy:
                        healthy[role] += 1
                    elif h.registered and not h.draining:
                        registered[role] += 1
        healthy["other"], registered["other"] = others.get(source, (0, 0))
        if sum(healthy.values()):
            return healthy, False
        total = {r: healthy[r] + registered[r] for r in roles}
        return total, bool(sum(total.values()))

    group_sources = set(sources)
    weighted = next(
        (w for w in listeners if sum(1 for tg, _ in w.weights if tg in group_sources) >= 2), None
    )
    if weighted is not None:
        shares = dict.fromkeys(roles, 0.0)
        total_weight = 0
        dead = []
        for tg, weight in weighted.weights:
            if weight <= 0:
                continue
            if tg not in group_sources:
                # Weight on a target group outside the deployment group: traffic to others.
                total_weight += weight
                shares["other"] += weight
                continue
            per_env, _ = counts(tg)
            n = sum(per_env.values())
            if not n:
                dead.append(tg)
                continue
            total_weight += weight
            for role in roles:
                shares[role] += weight * per_env[role] / n
        parts = ", ".join(f"{tg} {w}" for tg, w in weighted.weights)
        basis = f"listener weights on {weighted.load_balancer}:{weighted.port} ({parts})"
        if dead:
            basis += f"; {', '.join(dead)} has weight but no target to send to"
        if not total_weight:
            return Traffic(0.0, 0.0, basis + "; no weighted target group has targets")
        if shares["other"]:
            basis += (
                f"; {100 * shares['other'] / total_weight:.3g}% goes to targets of neither"
                " environment"
            )
        return Traffic(
            round(100 * shares["original"] / total_weight, 1),
            round(100 * shares["replacement"] / total_weight, 1),
            basis,
        )

    if not sources:
        return None
    totals = dict.fromkeys(roles, 0)
    open_sources = []
    for source in sources:
        per_env, failing_open = counts(source)
        if failing_open:
            open_sources.append(source)
        for role in roles:
            totals[role] += per_env[role]
    where = ", ".join(sources)
    n = sum(totals.values())
    if not n:
        return Traffic(0.0, 0.0, f"no instance of either environment is registered with {where}")
    basis = (
        f"healthy registered targets in {where}: {totals['original']} original,"
        f" {totals['replacement']} replacement"
    )
    if totals["other"]:
        basis += f", {totals['other']} of neither environment"
    if open_sources:
        basis += (
            f" ({', '.join(open_sources)} has no healthy target and fails open to every"
            " registered one)"
        )
    return Traffic(
        round(100 * totals["original"] / n, 1), round(100 * totals["replacement"] / n, 1), basis
    )


# ----- diff ---------------------------------------------------------------------------------------


def _instance_roles(s: Snapshot) -> dict[str, tuple[str, Instance]]:
    out = {}
    for env in (s.original, s.replacement, s.fleet):
        if env is not None:
            for inst in env.instances:
                out[inst.id] = (env.role, inst)
    return out


def diff(previous: Snapshot, current: Snapshot) -> list[Event]:
    """What changed between two snapshots, oldest-first in a stable order, for a timeline:
    deployment, status and phase changes; instances appearing and leaving; EC2 state, lifecycle
    status, lifecycle event starts and failures; health state changes; traffic split changes;
    alarm state changes. Every event carries `current.server_time`."""
    at = current.server_time
    out: list[Event] = []
    pd, cd = previous.deployment, current.deployment
    if cd is not None and (pd is None or pd.id != cd.id):
        out.append(Event(at, "deployment", f"now following deployment {cd.id} ({cd.status})"))
    elif pd is not None and cd is not None:
        if pd.status != cd.status:
            text = f"deployment {cd.id}: {pd.status} → {cd.status}"
            if cd.error_code and cd.status in ("Failed", "Stopped"):
                text += f" ({cd.error_code}: {cd.error_message or ''})".replace(": )", ")")
            out.append(Event(at, "deployment", text))
        if pd.phase != cd.phase:
            text = f"phase: {pd.phase} → {cd.phase}"
            if cd.waiting_for:
                text += f", waiting for {cd.waiting_for}"
            out.append(Event(at, "deployment", text))
        if cd.rolled_back_by and cd.rolled_back_by != pd.rolled_back_by:
            out.append(Event(at, "deployment", f"rolled back by {cd.rolled_back_by}"))
    pa, ca = previous.automatic, current.automatic
    if ca is not None and (pa is None or (pa.id, pa.status) != (ca.id, ca.status)):
        on = f" on {', '.join(ca.instances[:3])}" if ca.instances else ""
        out.append(Event(at, "deployment", f"CodeDeploy's own deployment {ca.id}{on}: {ca.status}"))
    same_deployment = pd is not None and cd is not None and pd.id == cd.id
    before, after = _instance_roles(previous), _instance_roles(current)
    for iid, (role, inst) in after.items():
        if iid not in before:
            where = f" in {inst.az}" if inst.az else ""
            out.append(Event(at, "instance", f"{iid} joined the {role}{where}", iid))
            continue
        old_role, old = before[iid]
        if old_role != role:
            out.append(Event(at, "instance", f"{iid} moved from the {old_role} to the {role}", iid))
        if old.ec2_state != inst.ec2_state and inst.ec2_state:
            out.append(Event(at, "instance", f"{iid} is {inst.ec2_state}", iid))
        if same_deployment and old.lifecycle_status != inst.lifecycle_status:
            out.append(
                Event(
                    at,
                    "instance",
                    f"{iid}: {old.lifecycle_status or 'not a target'} →"
                    f" {inst.lifecycle_status or 'not a target'}",
                    iid,
                )
            )
        if same_deployment:
            old_events = {e.name: e for e in old.events}
            for e in inst.events:
                was = old_events.get(e.name)
                was_status = was.status if was else "Pending"
                if e.status == was_status:
                    continue
                if e.status == "InProgress":
                    out.append(Event(at, "instance", f"{iid}: {e.name} started", iid))
                elif e.status == "Failed":
                    detail = ": ".join(x for x in (e.error_code, e.message) if x)
                    text = f"{iid}: {e.name} failed" + (f" ({detail})" if detail else "")
                    out.append(Event(at, "instance", text, iid))
        old_health = {h.name: h for h in old.health}
        for h in inst.health:
            was = old_health.get(h.name)
            if was is not None and (was.state, was.draining) == (h.state, h.draining):
                continue
            if was is None and not h.registered:
                continue
            old_state = was.state if was is not None else "unknown"
            text = f"{iid} in {h.name}: {old_state} → {h.state}"
            if h.reason and not h.healthy:
                text += f" ({h.reason})"
            out.append(Event(at, "health", text, iid))
    for iid, (role, _) in before.items():
        if iid not in after:
            out.append(Event(at, "instance", f"{iid} left the {role}", iid))
    pt, ct = previous.traffic, current.traffic
    if ct is not None and (
        pt is None
        or round(pt.original_percent) != round(ct.original_percent)
        or round(pt.replacement_percent) != round(ct.replacement_percent)
    ):
        old = f"{pt.original_percent:g}/{pt.replacement_percent:g}" if pt else "unknown"
        out.append(
            Event(
                at,
                "traffic",
                f"traffic original/replacement: {old} → "
                f"{ct.original_percent:g}/{ct.replacement_percent:g}",
            )
        )
    old_alarms = {a.name: a.state for a in previous.alarms}
    for a in current.alarms:
        if old_alarms.get(a.name, a.state) != a.state:
            text = f"alarm {a.name}: {old_alarms[a.name]} → {a.state}"
            if a.state == "ALARM" and a.reason:
                text += f" ({a.reason})"
            out.append(Event(at, "alarm", text))
    return out


# ----- the observer -------------------------------------------------------------------------------


@dataclass
class _TargetGroup:
    name: str
    arn: str
    lb_arns: tuple[str, ...]
    delay: int | None  # deregistration delay, seconds
    health_check: dict
    port: int | None = None


@dataclass
class _Classic:
    name: str
    drain_timeout: int | None  # connection draining, seconds (None when off or unknown)


@dataclass
class _Asg:
    name: str
    min_size: int | None
    max_size: int | None
    desired: int | None
    members: dict[str, str]  # instance id -> lifecycle state
    tags: dict[str, str] = field(default_factory=dict)
    suspended: tuple[str, ...] = ()  # suspended process names
    tg_arns: tuple[str, ...] = ()
    lb_names: tuple[str, ...] = ()


@dataclass
class _Ec2:
    id: str
    az: str | None
    instance_type: str | None
    state: str | None
    launch_time: datetime | None
    asg: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Parts:
    """What one snapshot read, before assembly. Failures land in notes/unread."""

    notes: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, key: str, what: str, exc: BaseException) -> None:
        words, code = explain(exc)
        with self.lock:
            self.unread.append(key)
            self.notes.append(f"{what} could not be read: {words}" + (f" ({code})" if code else ""))


class Observer:
    """Snapshots of one deployment group through one AwsSession, with static facts cached.

    Thread-safe: concurrent `snapshot()` calls are serialized. Independent calls inside a
    snapshot run in parallel on a small pool, so a slow AWS costs the slowest chain, not the sum.
    """

    def __init__(
        self, session: AwsSession, target: TargetConfig, *, batch_parallel: int = 4
    ) -> None:
        self.session = session
        self.target = target
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cutover-observe")
        self._account: str | None = None
        self._tg_cache: dict[str, _TargetGroup] = {}  # by name
        self._clb_cache: dict[str, _Classic] = {}
        self._listeners: dict[str, list[str]] = {}  # LB ARN -> listener ARNs
        self._relevant_listeners: set[str] | None = None  # the ones that forward to the group
        self._listener_meta: dict[str, tuple[str, int]] = {}  # listener ARN -> (LB name, port)
        self._finished_targets: dict[str, list[TargetInfo]] = {}  # deployment id -> targets
        # deployment id -> target id -> target whose status is final
        self._settled_targets: dict[str, dict[str, TargetInfo]] = {}
        # BatchGetDeploymentTargets calls in flight at once (AWS latency, not CPU, dominates).
        self._batch_pool = ThreadPoolExecutor(
            max_workers=max(1, batch_parallel), thread_name_prefix="cutover-batch"
        )
        self._gone: set[str] = set()  # instance ids EC2 no longer knows
        self._throttle_deadline = float("inf")  # see CORE_THROTTLE_BUDGET
        # rolled-back deployment id -> why it stopped ("CODE: message"), read once
        self._stop_reasons: dict[str, str] = {}
        self._extra_asgs: dict[str, set[str]] = {}  # deployment id -> ASG names found by tag
        self._sources_key: tuple | None = None
        # Hook-managed groups (in-place, no load balancer of their own): the target groups
        # (by name or ARN) and classic LBs their instances serve in, found in the instances'
        # cutover:hook:home tags and the Auto Scaling groups' attachments.
        self._extra_tg_cache: dict[str, _TargetGroup] = {}
        self._extra_clb_cache: dict[str, _Classic] = {}
        self._extra_missing: set[str] = set()
        self._hook_tg_keys: list[str] = []
        self._hook_clb_names: list[str] = []
        self._creators: dict[str, str | None] = {}  # deployment id -> who started it
        # automatic deployment id -> the newest deployment a person started before it
        self._main_of: dict[str, str | None] = {}

    def close(self) -> None:
        """Stop the worker threads (the Observer cannot be used afterwards)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._batch_pool.shutdown(wait=False, cancel_futures=True)

    # ----- calls -------------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        return self.session.client(service)

    def _core(self, what: str, fn: Callable[[], T]) -> T:
        """A call the snapshot cannot do without: any failure raises ObserveError.

        Throttling gets more patience here than botocore's own retries give: without these
        calls there is no view at all, and throttling passes.
        """
        try:
            for attempt in range(CORE_THROTTLE_RETRIES):
                try:
                    return fn()
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if (
                        code not in THROTTLING_CODES
                        or attempt == CORE_THROTTLE_RETRIES - 1
                        or time.monotonic() > self._throttle_deadline
                    ):
                        raise
                    # Full jitter, as AWS recommends, so many clients do not retry in step.
                    time.sleep(random.uniform(0, min(4.0, 0.5 * 2**attempt)))
            raise AssertionError("unreachable")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in NOT_FOUND_CODES:
                words = NOT_FOUND_CODES[code].format(
                    app=self.target.application,
                    group=self.target.deployment_group,
                    deployment=what,
                )
                raise ObserveError(words, code) from None
            words, code = explain(exc)
            raise ObserveError(words, code) from None
        except (BotoCoreError, OSError) as exc:
            words, code = explain(exc)
            raise ObserveError(words, code) from None

    def _part(self, parts: _Parts, key: str, what: str, fn: Callable[[], T], default: T) -> T:
        """A call the snapshot can do without: a failure becomes a note (credential errors
        still raise, because nothing else would work either)."""
        try:
            return fn()
        except (ClientError, BotoCoreError, OSError) as exc:
            if _fatal(exc):
                words, code = explain(exc)
                raise ObserveError(words, code) from None
            parts.failed(key, what, exc)
            return default

    # ----- the public API -----------------------------------------------------------------------

    def snapshot(
        self, *, deployment_id: str | None = None, previous: Snapshot | None = None
    ) -> Snapshot:
        """A frozen Snapshot of the group and of the deployment under supervision (the chosen
        id, else the group's last attempted deployment, which is the active one when there is
        one). Raises ObserveError when no meaningful snapshot can be taken."""
        with self._lock:
            self._throttle_deadline = time.monotonic() + CORE_THROTTLE_BUDGET
            return self._snapshot(deployment_id, previous)

    def recent_deployments(self, limit: int = 20) -> list[DeploymentSummary]:
        """The group's most recent deployments, newest first (ListDeployments, which AWS answers
        newest first, then BatchGetDeployments 25 at a time)."""
        app, group = self._names()
        cd = self._client("codedeploy")
        ids: list[str] = []
        token = None
        while len(ids) < limit:
            kwargs: dict[str, Any] = {"applicationName": app, "deploymentGroupName": group}
            if token:
                kwargs["nextToken"] = token
            page = self._core("deployments", lambda kw=kwargs: cd.list_deployments(**kw))
            ids += page.get("deployments", [])
            token = page.get("nextToken")
            if not token:
                break
        ids = ids[:limit]
        infos: list[dict] = []
        for chunk in _chunks(ids, BATCH_DEPLOYMENTS):
            got = self._core(
                "deployments", lambda c=chunk: cd.batch_get_deployments(deploymentIds=list(c))
            )
            infos += got.get("deploymentsInfo", [])
        out = [
            DeploymentSummary(
                id=d["deploymentId"],
                status=d.get("status", "Unknown"),
                revision=revision_label(d.get("revision")),
                creator=d.get("creator"),
                create_time=d.get("createTime"),
                complete_time=d.get("completeTime"),
                error_code=(d.get("errorInformation") or {}).get("code"),
            )
            for d in infos
        ]
        out.sort(key=lambda s: s.create_time or _EPOCH, reverse=True)
        return out

    # ----- the snapshot ---------------------------------------------------------------------------

    def _names(self) -> tuple[str, str]:
        app, group = self.target.application, self.target.deployment_group
        if not app or not group:
            raise ObserveError(
                "no application and deployment group given (use --application and"
                " --deployment-group, or set them on the target in the config)"
            )
        return app, group

    def _snapshot(self, deployment_id: str | None, previous: Snapshot | None) -> Snapshot:
        t0 = time.monotonic()
        calls0 = self.session.calls
        app, group_name = self._names()
        parts = _Parts()
        cd = self._client("codedeploy")

        if self._account is None:
            # Only nice to have (the account shown in the header): a throttled STS costs a note,
            # while bad credentials or a dark endpoint still end the snapshot here.
            sts = self._client("sts")
            try:
                ident = sts.get_caller_identity()
            except (ClientError, BotoCoreError, OSError) as exc:
                if _fatal(exc) or not isinstance(exc, ClientError):
                    words, code = explain(exc)
                    raise ObserveError(words, code) from None
                parts.failed("identity", "the caller's identity", exc)
            else:
                self._account = ident.get("Account")
        group = self._core(
            "group",
            lambda: cd.get_deployment_group(applicationName=app, deploymentGroupName=group_name),
        )["deploymentGroupInfo"]
        style = (group.get("deploymentStyle") or {}).get("deploymentType") or "IN_PLACE"
        lbi = group.get("loadBalancerInfo") or {}
        tg_names = [t["name"] for t in lbi.get("targetGroupInfoList") or [] if t.get("name")]
        for pair in lbi.get("targetGroupPairInfoList") or []:
            tg_names += [t["name"] for t in pair.get("targetGroups") or [] if t.get("name")]
        tg_names = list(dict.fromkeys(tg_names))
        clb_names = [e["name"] for e in lbi.get("elbInfoList") or [] if e.get("name")]
        group_asgs = [a["name"] for a in group.get("autoScalingGroups") or [] if a.get("name")]
        alarm_names = [
            a["name"] for a in (group.get("alarmConfiguration") or {}).get("alarms") or []
        ]
        last_id = (group.get("lastAttemptedDeployment") or {}).get("deploymentId")
        dep_id, automatic_id = deployment_id, None
        if dep_id is None and last_id:
            # A deployment CodeDeploy started by itself (an instance Auto Scaling launched, an
            # auto-update) is shown beside the one a person started, never in its place.
            dep_id = last_id
            if self._creator(last_id, parts) in AUTOMATIC_CREATORS:
                main = self._main_deployment(app, group_name, last_id, parts)
                if main is not None:
                    dep_id, automatic_id = main, last_id

        def submit(fn: Callable[..., T], *args: Any) -> Future[T]:
            return self._pool.submit(fn, *args)

        # Stage 1: everything that needs only the group, in parallel.
        f_dep = submit(self._deployment, dep_id, parts) if dep_id else None
        f_auto = submit(self._automatic, automatic_id, parts) if automatic_id else None
        f_static = submit(self._static, tg_names, clb_names, parts)
        f_alarms = submit(self._alarms, alarm_names, parts)
        # CodeDeploy names a copied Auto Scaling group CodeDeploy_<group>_<deployment id>;
        # asking for it up front saves a second DescribeAutoScalingGroups.
        asg_names = list(group_asgs)
        if dep_id:
            asg_names.append(f"CodeDeploy_{group_name}_{dep_id}")
            asg_names += sorted(self._extra_asgs.get(dep_id, ()))
        f_asgs = submit(self._asgs, list(dict.fromkeys(asg_names)), parts)

        info, targets = f_dep.result() if f_dep else (None, [])
        automatic = f_auto.result() if f_auto else None
        if deployment_id and info is not None:
            _same_group(deployment_id, info, app, group_name)
        tgs, clbs = f_static.result()
        alarms = f_alarms.result()
        asgs = f_asgs.result()
        if info is not None:
            for a in (info.get("targetInstances") or {}).get("autoScalingGroups") or []:
                if a not in asgs and a not in asg_names:
                    asgs.update(self._asgs([a], parts))

        # Hook-managed in-place groups: health from where the hooks say the instances serve
        # (last snapshot's tags) and from the Auto Scaling groups' attachments.
        hook_group = style == "IN_PLACE" and not tg_names and not clb_names
        extra_tgs: list[_TargetGroup] = []
        extra_clbs: list[_Classic] = []
        if hook_group:
            tg_keys = list(self._hook_tg_keys)
            clb_keys = list(self._hook_clb_names)
            for a in asgs.values():
                tg_keys += [k for k in a.tg_arns if k not in tg_keys]
                clb_keys += [k for k in a.lb_names if k not in clb_keys]
            extra_tgs, extra_clbs = self._extra_sources(tg_keys, clb_keys, parts)

        # Stage 2: what needs the instance ids or the static facts, in parallel.
        ids = list(
            dict.fromkeys([t.id for t in targets] + [i for a in asgs.values() for i in a.members])
        )
        ids = [i for i in ids if i not in self._gone]
        now_guess = self.session.clock.now()
        f_ec2 = submit(self._instances, ids, parts)
        f_health = {tg.name: submit(self._tg_health, tg, parts) for tg in tgs + extra_tgs}
        f_clb = {c.name: submit(self._clb_health, c, parts) for c in clbs + extra_clbs}
        f_rules = submit(self._rules, tgs, parts)
        f_metrics = submit(self._metrics, tgs + extra_tgs, clbs + extra_clbs, now_guess, parts)
        ec2 = f_ec2.result()
        health = {name: f.result() for name, f in f_health.items()}
        health.update({name: f.result() for name, f in f_clb.items()})
        listeners = f_rules.result()
        metrics = f_metrics.result()

        # An Auto Scaling group found only through an instance's tag (a replacement group
        # named otherwise than CodeDeploy does): describe it once, and ask for it from now on.
        if dep_id:
            known = set(asgs) | set(asg_names)
            found = {e.asg for e in ec2.values() if e.asg and e.asg not in known}
            if found:
                self._extra_asgs.setdefault(dep_id, set()).update(found)
                asgs.update(self._asgs(sorted(found), parts))

        if hook_group:
            # Where the instances' cutover:hook:home tags say they serve: read what this
            # snapshot has not (only when the tags name a new place), and ask from now on.
            tag_tgs: list[str] = []
            tag_clbs: list[str] = []
            for e in ec2.values():
                home_tgs, home_clbs, _ = parse_home(e.tags.get(HOOK_HOME))
                tag_tgs += [n for n, _ in home_tgs if n not in tag_tgs]
                tag_clbs += [n for n in home_clbs if n not in tag_clbs]
            self._hook_tg_keys, self._hook_clb_names = tag_tgs, tag_clbs
            have = {tg.name for tg in extra_tgs} | {tg.arn for tg in extra_tgs}
            new_tgs = [k for k in tag_tgs if k not in have and k not in self._extra_missing]
            new_clbs = [
                n
                for n in tag_clbs
                if n not in {c.name for c in extra_clbs} and n not in self._extra_missing
            ]
            if new_tgs or new_clbs:
                more_tgs, more_clbs = self._extra_sources(new_tgs, new_clbs, parts)
                for tg in more_tgs:
                    health[tg.name] = self._tg_health(tg, parts)
                for c in more_clbs:
                    health[c.name] = self._clb_health(c, parts)
                extra_tgs += more_tgs
                extra_clbs += more_clbs

        now = self.session.clock.now()
        snap = assemble(
            target=self.target,
            now=now,
            account=self._account,
            region=self.session.region,
            endpoint_url=self.session.custom_endpoint,
            group=group,
            style=style,
            info=info,
            targets=targets,
            asgs=asgs,
            group_asgs=group_asgs,
            ec2=ec2,
            tgs=tgs,
            clbs=clbs,
            health=health,
            listeners=listeners,
            alarms=alarms,
            alarm_names=alarm_names,
            metrics=metrics,
            previous=previous,
            notes=parts.notes,
            unread=parts.unread,
            extra_tgs=extra_tgs,
            extra_clbs=extra_clbs,
            automatic=automatic,
        )
        return replace(
            snap,
            api_calls=self.session.calls - calls0,
            elapsed_ms=round((time.monotonic() - t0) * 1000, 1),
        )

    # ----- the reads ----------------------------------------------------------------------------

    def _creator(self, dep_id: str, parts: _Parts) -> str | None:
        """Who started a deployment (never changes: read once per id)."""
        if dep_id not in self._creators:
            cd = self._client("codedeploy")
            info = self._part(
                parts,
                "deployments",
                "who started the latest deployment",
                lambda: cd.get_deployment(deploymentId=dep_id)["deploymentInfo"],
                None,
            )
            if info is None:
                return None
            self._creators[dep_id] = info.get("creator")
        return self._creators[dep_id]

    def _main_deployment(
        self, app: str, group: str, automatic_id: str, parts: _Parts
    ) -> str | None:
        """The group's newest deployment that CodeDeploy did not start by itself, found once
        for each automatic deployment that became the latest (ListDeployments answers newest
        first)."""
        if automatic_id in self._main_of:
            return self._main_of[automatic_id]
        cd = self._client("codedeploy")

        def find() -> str | None:
            seen = 0
            for page in _pages(
                cd, "list_deployments", applicationName=app, deploymentGroupName=group
            ):
                ids = [i for i in page.get("deployments", []) if i != automatic_id]
                unknown = [i for i in ids if i not in self._creators]
                for chunk in _chunks(unknown, BATCH_DEPLOYMENTS):
                    got = cd.batch_get_deployments(deploymentIds=list(chunk))
                    for d in got.get("deploymentsInfo", []):
                        self._creators[d["deploymentId"]] = d.get("creator")
                for i in ids:
                    if self._creators.get(i) not in AUTOMATIC_CREATORS:
                        return i
                seen += len(ids)
                if seen >= MAIN_SEARCH_LIMIT:
                    break
            return None

        main = self._part(parts, "deployments", "the group's earlier deployments", find, None)
        if "deployments" not in parts.unread:
            self._main_of[automatic_id] = main
        return main

    def _automatic(self, dep_id: str, parts: _Parts) -> DeploymentSummary | None:
        """The automatic deployment beside the one under supervision, with its instances."""
        cd = self._client("codedeploy")

        def read() -> DeploymentSummary:
            d = cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
            ids: list[str] = []
            for page in _pages(cd, "list_deployment_targets", deploymentId=dep_id):
                ids += page.get("targetIds", [])
            return DeploymentSummary(
                id=dep_id,
                status=d.get("status", "Unknown"),
                revision=revision_label(d.get("revision")),
                creator=d.get("creator"),
                create_time=d.get("createTime"),
                complete_time=d.get("completeTime"),
                error_code=(d.get("errorInformation") or {}).get("code"),
                instances=tuple(dict.fromkeys(ids)),
            )

        return self._part(parts, "automatic", "CodeDeploy's own latest deployment", read, None)

    def _deployment(self, dep_id: str, parts: _Parts) -> tuple[dict, list[TargetInfo]]:
        cd = self._client("codedeploy")
        info = self._core(dep_id, lambda: cd.get_deployment(deploymentId=dep_id))["deploymentInfo"]
        info = self._with_stop_reason(info, parts)
        if dep_id in self._finished_targets:
            return info, self._finished_targets[dep_id]
        # A target whose status is final (Succeeded, Failed, Skipped) never changes again:
        # only the others are read again, so late phases cost fewer batch calls.
        settled = self._settled_targets.setdefault(dep_id, {})
        if len(self._settled_targets) > 4:
            for old in list(self._settled_targets)[:-4]:
                del self._settled_targets[old]

        def read() -> list[TargetInfo]:
            ids: list[str] = []
            for page in _pages(cd, "list_deployment_targets", deploymentId=dep_id):
                ids += page.get("targetIds", [])
            ids = list(dict.fromkeys(ids))
            wanted = [i for i in ids if i not in settled]

            def batch(chunk: Sequence[str]) -> list[TargetInfo]:
                got = cd.batch_get_deployment_targets(deploymentId=dep_id, targetIds=list(chunk))
                return [t for t in map(parse_target, got.get("deploymentTargets", [])) if t]

            # The 25-id batches are independent: ask for them side by side.
            fresh: dict[str, TargetInfo] = {}
            for result in self._batch_pool.map(batch, list(_chunks(wanted, BATCH_TARGETS))):
                fresh.update((t.id, t) for t in result)
            for t in fresh.values():
                if t.status in FINAL_TARGET_STATUSES:
                    settled[t.id] = t
            return [settled.get(i) or fresh[i] for i in ids if i in settled or i in fresh]

        targets = self._part(parts, "targets", "the deployment's instances", read, [])
        if info.get("status") in TERMINAL and "targets" not in parts.unread:
            # A finished deployment's targets never change again. A dashboard left open for
            # days sees many deployments: keep the last few only, so memory stays flat.
            self._finished_targets[dep_id] = targets
            for old in list(self._finished_targets)[:-FINISHED_KEEP]:
                del self._finished_targets[old]
        return info, targets

    def _with_stop_reason(self, info: dict, parts: _Parts) -> dict:
        """A rollback deployment's info, its rollbackMessage replaced by why the deployment it
        rolls back stopped (an alarm, a failed instance): CodeDeploy says only "Rollback of
        deployment d-…" there, and a dashboard that first sees the rollback never saw the
        other deployment fail."""
        rollback = info.get("rollbackInfo") or {}
        trigger = rollback.get("rollbackTriggeringDeploymentId")
        if not trigger:
            return info
        why = self._stop_reasons.get(trigger)
        if why is None:
            cd = self._client("codedeploy")
            other = self._part(
                parts,
                "rollback-reason",
                "why the rolled-back deployment stopped",
                lambda: cd.get_deployment(deploymentId=trigger)["deploymentInfo"],
                None,
            )
            err = (other or {}).get("errorInformation") or {}
            if not (err.get("code") or err.get("message")):
                return info
            why = ": ".join(x for x in (err.get("code"), err.get("message")) if x)
            self._stop_reasons[trigger] = why  # a stopped deployment's error never changes
        return {**info, "rollbackInfo": {**rollback, "rollbackMessage": why}}

    def _static(
        self, tg_names: list[str], clb_names: list[str], parts: _Parts
    ) -> tuple[list[_TargetGroup], list[_Classic]]:
        key = (tuple(tg_names), tuple(clb_names))
        if key != self._sources_key:
            # The group's load balancers changed (or this is the first look): forget the cache.
            self._tg_cache = {k: v for k, v in self._tg_cache.items() if k in tg_names}
            self._clb_cache = {k: v for k, v in self._clb_cache.items() if k in clb_names}
            self._relevant_listeners = None
            self._sources_key = key
        elb2 = self._client("elbv2")
        missing = [n for n in tg_names if n not in self._tg_cache]
        if missing:

            def describe() -> None:
                found: list[dict] = []
                for chunk in _chunks(missing, 20):
                    found += elb2.describe_target_groups(Names=list(chunk)).get("TargetGroups", [])
                for tg in found:
                    delay = _deregistration_delay(elb2, tg["TargetGroupArn"])
                    self._tg_cache[tg["TargetGroupName"]] = _target_group(tg, delay)

            self._part(parts, "target-groups", "the target groups", describe, None)
            for name in missing:
                if name not in self._tg_cache and "target-groups" not in parts.unread:
                    with parts.lock:
                        parts.unread.append(f"health:{name}")
                        parts.notes.append(
                            f"target group {name} of the deployment group does not exist"
                        )
        clb_missing = [n for n in clb_names if n not in self._clb_cache]
        elb = self._client("elb")
        for name in clb_missing:
            got = self._part(
                parts,
                f"attributes:{name}",
                f"classic load balancer {name}",
                lambda name=name: _classic_attributes(elb, name),
                None,
            )
            if got is not None:
                self._clb_cache[name] = got
        tgs = [self._tg_cache[n] for n in tg_names if n in self._tg_cache]
        # A classic LB whose attributes failed is still asked for its health.
        clbs = [self._clb_cache.get(n) or _Classic(n, None) for n in clb_names]
        return tgs, clbs

    def _extra_sources(
        self, tg_keys: list[str], clb_names: list[str], parts: _Parts
    ) -> tuple[list[_TargetGroup], list[_Classic]]:
        """Target groups (by name or ARN) and classic LBs outside the deployment group's own
        load balancers, described once and cached; one that does not exist is noted once."""
        elb2 = self._client("elbv2")
        tgs: list[_TargetGroup] = []
        for key in tg_keys:
            if key in self._extra_missing:
                continue
            if key not in self._extra_tg_cache:

                def describe(key: str = key) -> _TargetGroup | None:
                    ask = {"TargetGroupArns": [key]} if key.startswith("arn:") else {"Names": [key]}
                    try:
                        found = elb2.describe_target_groups(**ask).get("TargetGroups", [])
                    except ClientError as exc:
                        if exc.response.get("Error", {}).get("Code") != "TargetGroupNotFound":
                            raise
                        found = []
                    if not found:
                        return None
                    delay = _deregistration_delay(elb2, found[0]["TargetGroupArn"])
                    return _target_group(found[0], delay)

                got = self._part(parts, f"health:{key}", f"target group {key}", describe, None)
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
        elb = self._client("elb")
        clbs: list[_Classic] = []
        for name in clb_names:
            if name not in self._extra_clb_cache:
                got_clb = self._part(
                    parts,
                    f"attributes:{name}",
                    f"classic load balancer {name}",
                    lambda name=name: _classic_attributes(elb, name),
                    None,
                )
                if got_clb is None:
                    clbs.append(_Classic(name, None))
                    continue
                self._extra_clb_cache[name] = got_clb
            clbs.append(self._extra_clb_cache[name])
        return tgs, clbs

    def _alarms(self, names: list[str], parts: _Parts) -> list[Alarm] | None:
        if not names:
            return []
        cw = self._client("cloudwatch")

        def read() -> list[Alarm]:
            found: dict[str, Alarm] = {}
            for chunk in _chunks(names, 100):
                for got in _pages(
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
            return [
                found.get(n) or Alarm(n, "MISSING", "no such alarm in CloudWatch") for n in names
            ]

        return self._part(parts, "alarms", "alarm states", read, None)

    def _asgs(self, names: list[str], parts: _Parts) -> dict[str, _Asg]:
        if not names:
            return {}
        autoscaling = self._client("autoscaling")

        def read() -> dict[str, _Asg]:
            out = {}
            for got in _pages(
                autoscaling,
                "describe_auto_scaling_groups",
                AutoScalingGroupNames=names,
                PaginationConfig={"PageSize": 100},
            ):
                for g in got.get("AutoScalingGroups", []):
                    out[g["AutoScalingGroupName"]] = _Asg(
                        name=g["AutoScalingGroupName"],
                        min_size=g.get("MinSize"),
                        max_size=g.get("MaxSize"),
                        desired=g.get("DesiredCapacity"),
                        members={
                            m["InstanceId"]: m.get("LifecycleState", "")
                            for m in g.get("Instances", [])
                        },
                        tags={t["Key"]: t.get("Value", "") for t in g.get("Tags") or []},
                        suspended=tuple(
                            p["ProcessName"] for p in g.get("SuspendedProcesses") or []
                        ),
                        tg_arns=tuple(g.get("TargetGroupARNs") or ()),
                        lb_names=tuple(g.get("LoadBalancerNames") or ()),
                    )
            return out

        return self._part(parts, "auto-scaling", "the Auto Scaling groups", read, {})

    def _instances(self, ids: list[str], parts: _Parts) -> dict[str, _Ec2]:
        if not ids:
            return {}
        ec2 = self._client("ec2")

        def read() -> dict[str, _Ec2]:
            wanted = list(ids)
            for _ in range(3):
                try:
                    return self._describe_instances(ec2, wanted)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "InvalidInstanceID.NotFound":
                        raise
                    # EC2 forgets terminated instances after about an hour, and one unknown
                    # id fails the whole call: drop the ones it names and ask again.
                    gone = set(re.findall(r"i-[0-9a-f]+", exc.response["Error"].get("Message", "")))
                    if not gone:
                        raise
                    self._gone |= gone
                    wanted = [i for i in wanted if i not in gone]
                    if not wanted:
                        return {}
            return self._describe_instances(ec2, wanted)

        return self._part(parts, "instances", "instance details", read, {})

    @staticmethod
    def _describe_instances(ec2: Any, ids: list[str]) -> dict[str, _Ec2]:
        out = {}
        for got in _pages(ec2, "describe_instances", InstanceIds=ids):
            for res in got.get("Reservations", []):
                for i in res.get("Instances", []):
                    tags = {t["Key"]: t.get("Value", "") for t in i.get("Tags") or []}
                    out[i["InstanceId"]] = _Ec2(
                        id=i["InstanceId"],
                        az=(i.get("Placement") or {}).get("AvailabilityZone"),
                        instance_type=i.get("InstanceType"),
                        state=(i.get("State") or {}).get("Name"),
                        launch_time=i.get("LaunchTime"),
                        asg=tags.get("aws:autoscaling:groupName"),
                        tags={k: v for k, v in tags.items() if k.startswith(HOOK_TAG_PREFIX)},
                    )
        return out

    def _tg_health(self, tg: _TargetGroup, parts: _Parts) -> list[dict] | None:
        elb2 = self._client("elbv2")

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

        return self._part(parts, f"health:{tg.name}", f"target health in {tg.name}", read, None)

    def _clb_health(self, clb: _Classic, parts: _Parts) -> list[dict] | None:
        elb = self._client("elb")

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

        return self._part(parts, f"health:{clb.name}", f"instance health in {clb.name}", read, None)

    def _rules(self, tgs: list[_TargetGroup], parts: _Parts) -> list[ListenerWeights]:
        if not tgs:
            return []
        elb2 = self._client("elbv2")
        group_arns = {tg.arn for tg in tgs}
        names = {tg.arn: tg.name for tg in tgs}

        def read() -> list[ListenerWeights]:
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
            for ls in candidates:
                rules = [
                    rule
                    for got in _pages(elb2, "describe_rules", ListenerArn=ls)
                    for rule in got.get("Rules", [])
                ]
                for rule in rules:
                    weights = _forward_weights(rule)
                    if not any(arn in group_arns for arn, _ in weights):
                        continue
                    relevant.add(ls)
                    if len(weights) < 2:
                        continue
                    lb_name, port = self._listener_meta.get(ls, ("?", 0))
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
            return out

        return self._part(parts, "rules", "listener rules", read, [])

    def _metrics(
        self, tgs: list[_TargetGroup], clbs: list[_Classic], now: datetime, parts: _Parts
    ) -> list[Series]:
        queries: list[tuple[dict, Series]] = []

        def add(namespace: str, metric: str, stat: str, dims: dict[str, str], source: str) -> None:
            qid = f"m{len(queries)}"
            queries.append(
                (
                    {
                        "Id": qid,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": namespace,
                                "MetricName": metric,
                                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                            },
                            "Period": METRIC_PERIOD,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    },
                    Series(name=metric, source=source, statistic=stat),
                )
            )

        for tg in tgs:
            for lb in tg.lb_arns[:1]:
                dims = {
                    "TargetGroup": _arn_suffix(tg.arn),
                    "LoadBalancer": _arn_suffix(lb, "loadbalancer/"),
                }
                if ":loadbalancer/net/" in lb:
                    for metric in ("HealthyHostCount", "UnHealthyHostCount"):
                        add("AWS/NetworkELB", metric, "Average", dims, tg.name)
                    add("AWS/NetworkELB", "NewFlowCount", "Sum", dims, tg.name)
                else:
                    add("AWS/ApplicationELB", "RequestCount", "Sum", dims, tg.name)
                    add("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", dims, tg.name)
                    add("AWS/ApplicationELB", "TargetResponseTime", "Average", dims, tg.name)
                    add("AWS/ApplicationELB", "HealthyHostCount", "Average", dims, tg.name)
                    add("AWS/ApplicationELB", "UnHealthyHostCount", "Average", dims, tg.name)
        for clb in clbs:
            dims = {"LoadBalancerName": clb.name}
            add("AWS/ELB", "RequestCount", "Sum", dims, clb.name)
            add("AWS/ELB", "HTTPCode_Backend_5XX", "Sum", dims, clb.name)
            add("AWS/ELB", "Latency", "Average", dims, clb.name)
            add("AWS/ELB", "HealthyHostCount", "Average", dims, clb.name)
        if not queries:
            return []
        cw = self._client("cloudwatch")

        def read() -> list[Series]:
            points: dict[str, list[tuple[datetime, float]]] = {}
            for chunk in _chunks(queries, METRIC_QUERIES):
                for got in _pages(
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

        return self._part(parts, "metrics", "CloudWatch metrics", read, [])


def _target_group(tg: dict, delay: int | None) -> _TargetGroup:
    return _TargetGroup(
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


def _classic_attributes(elb: Any, name: str) -> _Classic:
    """A classic load balancer with its connection-draining timeout (None when off)."""
    got = elb.describe_load_balancer_attributes(LoadBalancerName=name)
    drain = (got.get("LoadBalancerAttributes") or {}).get("ConnectionDraining") or {}
    return _Classic(name, drain.get("Timeout") if drain.get("Enabled") else None)


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


def automatic_text(auto: DeploymentSummary, supervised: str) -> str:
    """One line about a deployment CodeDeploy started by itself, beside `supervised`."""
    why = {
        "autoscaling": "for instances Auto Scaling launched",
        "autoscalingTermination": "for instances Auto Scaling is terminating",
        "CodeDeployAutoUpdate": "to update outdated instances",
    }.get(auto.creator or "", "by itself")
    on = f" on {', '.join(auto.instances[:4])}" if auto.instances else ""
    more = f" and {len(auto.instances) - 4} more" if len(auto.instances) > 4 else ""
    rev = f" ({auto.revision})" if auto.revision else ""
    error = f" ({auto.error_code})" if auto.error_code else ""
    return (
        f"CodeDeploy's own deployment {auto.id}{rev} {why}{on}{more} is {auto.status}{error};"
        f" {supervised} stays under supervision"
    )


def _same_group(dep_id: str, info: dict, app: str, group: str) -> None:
    """A deployment chosen by id must belong to the group on screen: acting on it would act
    on another group while the view (and the audit) named this one."""
    owner = (info.get("applicationName"), info.get("deploymentGroupName"))
    if owner != (app, group):
        raise ObserveError(
            f"--deployment: {dep_id} belongs to {owner[0]}/{owner[1]}, not {app}/{group}",
            WRONG_GROUP,
        )


# ----- assembly (pure: responses already parsed -> Snapshot) --------------------------------------


def _role(target: TargetInfo, is_rollback: bool) -> str:
    """original or replacement, in the words of the deployment being rolled back when this is
    a rollback (which reroutes back to the originals: their traffic events are the Allow ones)."""
    if is_rollback:
        if any(e.name in BLOCK_EVENTS for e in target.events):
            return "replacement"
        if any(e.name in ALLOW_EVENTS for e in target.events):
            return "original"
        return "replacement" if target.label == "Blue" else "original"
    return "original" if target.label == "Blue" else "replacement"


def _instance_revision(
    target: TargetInfo | None,
    role: str,
    style: str,
    is_rollback: bool,
    revision: str | None,
    previous: str | None,
) -> str | None:
    """What an instance runs, as far as this deployment tells (None when it does not tell).

    Blue/green: originals run the previous revision and replacements this deployment's once
    their Install succeeded; in a rollback the originals run the rollback's revision and the
    replacements the one being rolled back. In-place: this revision once Install succeeded,
    else the previous one."""
    if target is None:
        return None
    install = target.event("Install")
    installed = install is None or install.status == "Succeeded"
    if style == "BLUE_GREEN":
        if is_rollback:
            if role == "original":
                return revision
            return previous if previous != revision else None
        if role == "original":
            return previous
        return revision if installed else None
    return revision if install is not None and install.status == "Succeeded" else previous


def parse_home(value: str | None) -> tuple[list[tuple[str, int | None]], list[str], list[str]]:
    """(target groups with their port, classic LBs, Auto Scaling groups) named by a
    `cutover:hook:home` tag: `tg/<name>/<port> elb/<name> asg/<name>`, space-separated."""
    tgs: list[tuple[str, int | None]] = []
    elbs: list[str] = []
    groups: list[str] = []
    for entry in (value or "").split():
        kind, _, rest = entry.partition("/")
        if not rest:
            continue
        if kind == "tg":
            name, _, port = rest.rpartition("/")
            if not name:
                name, port = rest, ""
            tgs.append((name, int(port) if port.isdigit() else None))
        elif kind == "elb":
            elbs.append(rest)
        elif kind == "asg":
            groups.append(rest)
    return tgs, elbs, groups


def describe_out(value: str | None) -> str:
    """Plain words for a `cutover:hook:out` tag (`<deployment or -> <time> <event or ->`)."""
    parts = (value or "").split()
    deployment = parts[0] if parts and parts[0] != "-" else None
    when = parts[1] if len(parts) > 1 and parts[1] != "-" else None
    event = parts[2] if len(parts) > 2 and parts[2] != "-" else None
    text = "taken out by the hooks"
    if deployment:
        text += f" in deployment {deployment}"
    if when:
        text += f" at {when}"
    if event:
        text += f" ({event})"
    return text


def _registration(rows: list[dict] | None, iid: str, port: int | None) -> str:
    """How an instance stands in one load balancer's health rows: "registered", "draining",
    "out-of-service" (classic) or "absent"."""
    best = "absent"
    for row in rows or ():
        if row["id"] != iid or (port is not None and row.get("port") not in (None, port)):
            continue
        state, reason = row.get("state"), row.get("reason")
        description = row.get("description") or ""
        if state == "unused" and reason == "Target.NotRegistered":
            continue
        if state in ("draining", "unhealthy.draining") or (
            "deregistration currently in progress" in description
        ):
            best = "draining" if best == "absent" else best
            continue
        if state == "OutOfService":
            best = "out-of-service" if best in ("absent", "draining") else best
            continue
        return "registered"
    return best


def _min_size_leftover(asg: _Asg, raw: str) -> Leftover:
    """The `cutover:hook:min-size` record against the group's MinSize now: restorable only
    while MinSize is still the value the hooks set; a value someone else set since stands, and
    only the stale record goes."""
    record = parse_min_size(raw)
    restore: int | None = None
    if record is None:
        detail = f"record left behind (not a record the hooks write: {raw!r})"
    elif asg.min_size == record[1]:
        restore = record[0]
        detail = f"MinSize {asg.min_size}, was {record[0]} before the hooks lowered it"
    elif asg.min_size == record[0]:
        detail = "record left behind"
    else:
        detail = (
            f"MinSize {asg.min_size}, not the {record[1]} the hooks set: changed by someone"
            f" else since, so it stays (it was {record[0]} before the hooks lowered it);"
            " the record is stale"
        )
    return Leftover(
        kind="min-size",
        resource=asg.name,
        detail=detail,
        asg_name=asg.name,
        min_size=restore,
        record_tag=HOOK_MIN_SIZE,
        stale=restore is None,
        asg_desired=asg.desired,
        asg_max=asg.max_size,
    )


def find_leftovers(
    *,
    fleet: Environment | None,
    active: str | None,
    ec2: dict[str, _Ec2],
    asgs: dict[str, _Asg],
    group_asgs: Sequence[str],
    own_tgs: Sequence[_TargetGroup],
    own_clbs: Sequence[_Classic],
    tgs: Sequence[_TargetGroup],
    health: dict[str, list[dict] | None],
    unread: Sequence[str],
) -> tuple[tuple[Leftover, ...] | None, str | None]:
    """What an interrupted in-place deployment left behind, from what the snapshot read (no
    AWS call): (leftovers, None), or (None, why it was not checked).

    - standby: members of the group's Auto Scaling groups in Standby or EnteringStandby;
    - out-of-service: instances outside Auto Scaling carrying `cutover:hook:out`, where their
      `cutover:hook:home` names a target group (port) or classic LB they are not registered
      in (or draining from); with traffic control, any running instance of the group missing
      from the group's own target groups / classic LBs;
    - min-size: a group whose MinSize is still the value its `cutover:hook:min-size` says the
      hooks set (to restore); else a stale record (MinSize back at the original, or changed by
      someone else since, which stands);
    - suspended: the processes a group's `cutover:hook:suspended` lists that are still
      suspended (or, none left, a record left behind).
    """
    if active:
        return None, f"deployment {active} is running: checked when the deployment ends"
    missing = [k for k in ("instances", "auto-scaling", "targets") if k in unread]
    if missing:
        return None, "not checked: " + ", ".join(missing) + " could not be read"
    instances = fleet.instances if fleet else ()
    tg_by_name = {tg.name: tg for tg in tgs}
    out: list[Leftover] = []

    asg_names = list(dict.fromkeys([*group_asgs, *(i.asg_name for i in instances if i.asg_name)]))
    for name in asg_names:
        asg = asgs.get(name)
        if asg is None:
            continue
        for iid, state in sorted(asg.members.items()):
            if state not in STANDBY_STATES:
                continue
            e = ec2.get(iid)
            mark = e.tags.get(HOOK_OUT) if e else None
            where = "in Standby" if state == "Standby" else "entering Standby"
            why = (
                describe_out(mark)
                if mark is not None
                else "not by the hooks (no cutover:hook:out tag)"
            )
            out.append(
                Leftover(
                    kind="standby",
                    resource=iid,
                    detail=f"{where} in {name}, {why}",
                    instance_id=iid,
                    asg_name=name,
                    tagged=mark is not None,
                    asg_desired=asg.desired,
                    asg_max=asg.max_size,
                    record_tag=HOOK_OUT if mark is not None else None,
                )
            )

    traffic_control = bool(own_tgs or own_clbs)
    for inst in instances:
        e = ec2.get(inst.id)
        if e is None or (e.state or "running") not in ("running", "pending"):
            continue
        asg_state = inst.asg_lifecycle
        if asg_state in STANDBY_STATES:
            continue  # already a standby leftover
        mark = e.tags.get(HOOK_OUT)
        wanted: list[tuple[str, str, int | None]] = []  # (kind, name, port)
        why = ""
        if traffic_control:
            if asg_state not in (None, "InService"):
                continue  # launching or leaving: Auto Scaling is still at work
            wanted += [("tg", tg.name, tg.port) for tg in own_tgs]
            wanted += [("elb", c.name, None) for c in own_clbs]
            why = (
                describe_out(mark)
                if mark is not None
                else "a failed deployment's BlockTraffic leaves instances out"
            )
        elif mark is not None and not inst.asg_name:
            home_tgs, home_clbs, _ = parse_home(e.tags.get(HOOK_HOME))
            wanted += [("tg", n, p) for n, p in home_tgs]
            wanted += [("elb", n, None) for n in home_clbs]
            why = describe_out(mark)
        for kind, name, port in wanted:
            if f"health:{name}" in unread or health.get(name) is None:
                return None, f"not checked: the health in {name} could not be read"
            state = _registration(health.get(name), inst.id, port)
            bad = state in ("absent", "draining") or (
                kind == "elb" and state == "out-of-service" and mark is not None
            )
            if not bad:
                continue
            status = {
                "absent": "not registered",
                "draining": "draining",
                "out-of-service": "OutOfService",
            }[state]
            if kind == "tg":
                tg = tg_by_name.get(name)
                where = f"{name} port {port}" if port else name
                out.append(
                    Leftover(
                        kind="out-of-service",
                        resource=inst.id,
                        detail=f"{status} in target group {where}, {why}",
                        instance_id=inst.id,
                        target_group=name,
                        target_group_arn=tg.arn if tg else None,
                        port=port,
                        tagged=mark is not None,
                        record_tag=HOOK_OUT if mark is not None else None,
                    )
                )
            else:
                out.append(
                    Leftover(
                        kind="out-of-service",
                        resource=inst.id,
                        detail=f"{status} in classic load balancer {name}, {why}",
                        instance_id=inst.id,
                        classic_lb=name,
                        tagged=mark is not None,
                        record_tag=HOOK_OUT if mark is not None else None,
                    )
                )

    for name in asg_names:
        asg = asgs.get(name)
        if asg is None:
            continue
        if HOOK_MIN_SIZE in asg.tags:
            out.append(_min_size_leftover(asg, asg.tags[HOOK_MIN_SIZE]))
        if HOOK_SUSPENDED in asg.tags:
            listed = [p.strip() for p in asg.tags[HOOK_SUSPENDED].split(",") if p.strip()]
            still = tuple(p for p in listed if p in asg.suspended)
            out.append(
                Leftover(
                    kind="suspended",
                    resource=name,
                    detail=(
                        f"{', '.join(still)} still suspended by the hooks"
                        if still
                        else "record left behind"
                    ),
                    asg_name=name,
                    processes=still,
                    record_tag=HOOK_SUSPENDED,
                    stale=not still,
                )
            )
    return tuple(out), None


def assemble(
    *,
    target: TargetConfig,
    now: datetime,
    account: str | None,
    region: str | None,
    endpoint_url: str | None,
    group: dict,
    style: str,
    info: dict | None,
    targets: list[TargetInfo],
    asgs: dict[str, _Asg],
    group_asgs: list[str],
    ec2: dict[str, _Ec2],
    tgs: list[_TargetGroup],
    clbs: list[_Classic],
    health: dict[str, list[dict] | None],
    listeners: list[ListenerWeights],
    alarms: list[Alarm] | None,
    alarm_names: list[str],
    metrics: list[Series],
    previous: Snapshot | None,
    notes: list[str],
    unread: list[str],
    extra_tgs: Sequence[_TargetGroup] = (),
    extra_clbs: Sequence[_Classic] = (),
    automatic: DeploymentSummary | None = None,
) -> Snapshot:
    """Build the Snapshot from parsed responses. Pure: no AWS call.

    `extra_tgs` / `extra_clbs` are load balancers outside the deployment group's own (where
    a hook-managed group's instances serve): they give health to the instances that serve in
    them and feed the leftovers check, but are not the group's target groups."""
    blue_green = style == "BLUE_GREEN"
    creator = info.get("creator") if info else None
    rollback_info = (info or {}).get("rollbackInfo") or {}
    is_rollback = bool(info) and (
        creator == "codeDeployRollback" or bool(rollback_info.get("rollbackTriggeringDeploymentId"))
    )
    revision = revision_label((info or {}).get("revision"))
    previous_revision = revision_label((info or {}).get("previousRevision"))

    # Which environment each instance belongs to.
    roles: dict[str, str] = {}
    by_id = {t.id: t for t in targets}
    for t in targets:
        roles[t.id] = _role(t, is_rollback) if blue_green else "fleet"
    asg_of = {iid: a.name for a in asgs.values() for iid in a.members}
    # Without CodeDeploy's labels, a listener splitting the group's target groups by weight
    # defines the environments (weighted.yaml): the rule's first target group is the original,
    # the others the replacement. Target group order in the rule is stable across shifts.
    tg_role: dict[str, str] = {}
    if blue_green:
        group_tgs = {tg.name for tg in tgs}
        for w in listeners:
            names = [tg for tg, _ in w.weights if tg in group_tgs]
            if len(names) >= 2:
                tg_role = {names[0]: "original"} | {n: "replacement" for n in names[1:]}
                break
    registered_in: dict[str, set[str]] = {}
    for source, rows in health.items():
        for row in rows or ():
            if source in tg_role and row.get("state") != "unused":
                registered_in.setdefault(row["id"], set()).add(tg_role[source])
    asg_role: dict[str, str] = {}
    for a in asgs.values():
        votes = Counter(roles[i] for i in a.members if i in roles)
        if not votes and tg_role:
            votes = Counter(
                r for i in a.members for r in registered_in.get(i, ()) if len(registered_in[i]) == 1
            )
        if votes:
            asg_role[a.name] = votes.most_common(1)[0][0]
        elif not blue_green:
            asg_role[a.name] = "fleet"
        elif a.name in group_asgs and not (info and info.get("status") == "Succeeded" and targets):
            asg_role[a.name] = "original"
        else:
            asg_role[a.name] = "replacement" if info else "original"
    for iid, name in asg_of.items():
        roles.setdefault(iid, asg_role.get(name, "original"))
    if previous is not None and {"auto-scaling", "targets"} & set(unread):
        # A membership read failed (throttled, say): the instances seen last time stay where
        # they were, instead of a fleet vanishing from the view for one refresh.
        prev_dep = previous.deployment.id if previous.deployment else None
        if prev_dep == (info or {}).get("deploymentId"):
            for was, env in (
                ("original", previous.original),
                ("replacement", previous.replacement),
                ("fleet", previous.fleet),
            ):
                for inst in env.instances if env else ():
                    roles.setdefault(inst.id, was)

    # Health per instance per target group / classic LB.
    prev_drain: dict[tuple[str, str], datetime] = {}
    if previous is not None:
        for inst in previous.instances():
            for h in inst.health:
                if h.draining and h.drain_deadline is not None:
                    prev_drain[(inst.id, h.name)] = h.drain_deadline
    # What an instance ran, as last told (a rollback does not say what the replacements run).
    prev_revisions = {
        i.id: i.revision for i in (previous.instances() if previous else ()) if i.revision
    }
    all_tgs = list(tgs) + [tg for tg in extra_tgs if tg.name not in {t.name for t in tgs}]
    all_clbs = list(clbs) + [c for c in extra_clbs if c.name not in {x.name for x in clbs}]
    delays: dict[str, int | None] = {tg.name: tg.delay for tg in all_tgs}
    delays.update({c.name: c.drain_timeout for c in all_clbs})
    kinds = {tg.name: "target-group" for tg in all_tgs} | {c.name: "classic" for c in all_clbs}
    sources = [tg.name for tg in tgs] + [c.name for c in clbs]
    extra_sources = [tg.name for tg in all_tgs[len(tgs) :]] + [
        c.name for c in all_clbs[len(clbs) :]
    ]
    arn_names = {tg.arn: tg.name for tg in all_tgs}
    seen: dict[str, dict[str, TargetHealth]] = {}
    for source in sources + extra_sources:
        rows = health.get(source)
        if rows is None:
            continue
        worst: dict[str, TargetHealth] = {}
        for row in rows:
            h = TargetHealth(
                name=source,
                kind=kinds[source],  # type: ignore[arg-type]
                state=row["state"],
                reason=row.get("reason"),
                description=row.get("description"),
                port=row.get("port"),
            )
            if h.draining:
                deadline = prev_drain.get((row["id"], source))
                if deadline is None and delays.get(source) is not None:
                    deadline = now + timedelta(seconds=delays[source] or 0)
                h = replace(h, drain_deadline=deadline)
            old = worst.get(row["id"])
            # An instance registered on two ports shows the worse of the two.
            if old is None or (old.healthy and not h.healthy):
                worst[row["id"]] = h
        seen[source] = worst

    def serves_in(iid: str) -> set[str]:
        """The extra sources an instance belongs in: its home tag's and its ASG's."""
        e = ec2.get(iid)
        home_tgs, home_clbs, _ = parse_home(e.tags.get(HOOK_HOME) if e else None)
        out = {n for n, _ in home_tgs} | set(home_clbs)
        asg = asgs.get(asg_of.get(iid) or (e.asg if e else None) or "")
        if asg is not None:
            out |= {arn_names.get(a, a) for a in asg.tg_arns} | set(asg.lb_names)
        return out

    def health_of(iid: str) -> tuple[TargetHealth, ...]:
        out = []
        wanted = serves_in(iid) if extra_sources else set()
        for source in sources + extra_sources:
            if source not in seen:
                continue
            if source in extra_sources and source not in wanted and iid not in seen[source]:
                continue
            h = seen[source].get(iid)
            if h is None:
                h = TargetHealth(
                    name=source,
                    kind=kinds[source],  # type: ignore[arg-type]
                    state="unused",
                    reason="Target.NotRegistered",
                    description="Target is not registered"
                    + (" to the target group" if kinds[source] == "target-group" else ""),
                )
            out.append(h)
        return tuple(out)

    instances: dict[str, list[Instance]] = {"original": [], "replacement": [], "fleet": []}
    for iid, role in roles.items():
        t = by_id.get(iid)
        e = ec2.get(iid)
        asg_name = asg_of.get(iid) or (e.asg if e else None)
        asg_state = None
        if asg_name and asg_name in asgs:
            asg_state = asgs[asg_name].members.get(iid)
        ec2_state = e.state if e else None
        if e is None and "instances" not in unread and iid in by_id:
            # Not in DescribeInstances: EC2 has forgotten it (terminated over an hour ago).
            ec2_state = "terminated"
        events = t.events if t else ()
        instances[role].append(
            Instance(
                id=iid,
                az=e.az if e else None,
                instance_type=e.instance_type if e else None,
                ec2_state=ec2_state,
                launch_time=e.launch_time if e else None,
                asg_name=asg_name,
                asg_lifecycle=asg_state,
                label=t.label if t else None,
                lifecycle_status=t.status if t else None,
                current_event=current_event(t.status, events) if t else None,
                events=events,
                last_updated=t.last_updated if t else None,
                revision=_instance_revision(
                    t, role, style, is_rollback, revision, previous_revision
                )
                or prev_revisions.get(iid),
                health=health_of(iid),
            )
        )
    for group_list in instances.values():
        group_list.sort(key=lambda i: (i.az or "", i.launch_time or now, i.id))

    # Metrics: per source; attached to an environment when only that environment is in it.
    def owner(source: str) -> str | None:
        rows = seen.get(source) or {}
        owners = {roles.get(iid, "other") for iid, h in rows.items() if h.registered}
        return next(iter(owners)) if len(owners) == 1 else None

    env_metrics: dict[str, list[Series]] = {"original": [], "replacement": [], "fleet": []}
    for s in metrics:
        role = owner(s.source or "")
        if role in env_metrics:
            env_metrics[role].append(s)
    # Target groups that serve one environment alone; an empty one in a weighted rule belongs
    # to the side the rule's order gives it (what a weighted shift moves traffic to).
    env_tgs: dict[str, list[str]] = {"original": [], "replacement": [], "fleet": []}
    for tg in tgs:
        role = owner(tg.name)
        if role is None and not any(h.registered for h in (seen.get(tg.name) or {}).values()):
            role = tg_role.get(tg.name)
        if role in env_tgs:
            env_tgs[role].append(tg.name)

    def env(role: str) -> Environment:
        members = instances[role]
        names = Counter(i.asg_name for i in members if i.asg_name)
        asg = asgs.get(names.most_common(1)[0][0]) if names else None
        in_flight = tuple(i.id for i in members if i.lifecycle_status == "InProgress")
        return Environment(
            role=role,  # type: ignore[arg-type]
            instances=tuple(members),
            asg_name=asg.name if asg else (names.most_common(1)[0][0] if names else None),
            desired=asg.desired if asg else None,
            min_size=asg.min_size if asg else None,
            max_size=asg.max_size if asg else None,
            metrics=tuple(env_metrics[role]),
            in_flight=in_flight,
            target_groups=tuple(env_tgs[role]),
        )

    original = env("original") if blue_green else None
    replacement = env("replacement") if blue_green else None
    fleet = env("fleet") if not blue_green else None

    # The deployment, its phase and its timers.
    deployment = None
    timers: list[Timer] = []
    if info is not None:
        bg = (
            info.get("blueGreenDeploymentConfiguration")
            or group.get("blueGreenDeploymentConfiguration")
            or {}
        )
        ready_opt = bg.get("deploymentReadyOption") or {}
        term_opt = bg.get("terminateBlueInstancesOnDeploymentSuccess") or {}
        status = info.get("status", "Unknown")
        term_started = bool(info.get("instanceTerminationWaitTimeStarted"))
        term_minutes = term_opt.get("terminationWaitTimeInMinutes")
        term_deadline = None
        term_start = None
        if blue_green and term_started and term_opt.get("action", "TERMINATE") == "TERMINATE":
            term_start = reroute_finished(
                original.instances if original else (),
                (original.instances if original else ())
                + (replacement.instances if replacement else ()),
            )
            if term_start is not None and term_minutes is not None:
                term_deadline = term_start + timedelta(minutes=term_minutes)
        phase = derive_phase(
            status,
            style=style,
            is_rollback=is_rollback and status not in TERMINAL,
            termination_wait_started=term_started,
            original=original.instances if original else (),
            replacement=replacement.instances if replacement else (),
            fleet=fleet.instances if fleet else (),
            termination_deadline=term_deadline,
            now=now,
        )
        wait = waiting_for(phase)
        ready_at = ready_since(replacement.instances) if replacement else None
        if phase == "ready" and ready_opt.get("actionOnTimeout") == "STOP_DEPLOYMENT":
            minutes = ready_opt.get("waitTimeInMinutes")
            if ready_at is not None and minutes is not None:
                timers.append(
                    Timer("ready-wait", ready_at + timedelta(minutes=minutes), started=ready_at)
                )
        if term_deadline is not None and phase in ("termination-wait", "terminating"):
            timers.append(Timer("termination-wait", term_deadline, started=term_start))
        deadline = next(
            (
                t.deadline
                for t in timers
                if (t.name, wait)
                in (("ready-wait", "reroute-approval"), ("termination-wait", "termination"))
            ),
            None,
        )
        err = info.get("errorInformation") or {}
        # The fleet CodeDeploy installed and validated: its own replacement targets. The
        # gate compares the live replacement fleet with this list, so a fresh process (every
        # CLI run, a dashboard just opened) compares with CodeDeploy, not with itself.
        ready_fleet = None
        ready_fleet_seen = None
        if blue_green and targets and "targets" not in unread:
            ready_fleet = tuple(sorted(t.id for t in targets if roles.get(t.id) == "replacement"))
            ready_fleet_seen = ready_at
        dstyle = (info.get("deploymentStyle") or {}).get("deploymentType") or style
        option = (info.get("deploymentStyle") or {}).get("deploymentOption")
        replacement_asg = replacement.asg_name if replacement else None
        deployment = Deployment(
            id=info.get("deploymentId", "?"),
            status=status,
            phase=phase,
            application=info.get("applicationName") or target.application or "",
            deployment_group=info.get("deploymentGroupName") or target.deployment_group or "",
            style=dstyle,
            traffic_control=option == "WITH_TRAFFIC_CONTROL",
            config_name=info.get("deploymentConfigName"),
            revision=revision,
            previous_revision=previous_revision,
            revision_location=info.get("revision"),
            previous_revision_location=info.get("previousRevision"),
            creator=creator,
            create_time=info.get("createTime"),
            start_time=info.get("startTime"),
            complete_time=info.get("completeTime"),
            overview=dict(info.get("deploymentOverview") or {}),
            error_code=err.get("code"),
            error_message=err.get("message"),
            status_messages=tuple(info.get("deploymentStatusMessages") or ()),
            waiting_for=wait,
            deadline=deadline,
            ready_action=ready_opt.get("actionOnTimeout") if blue_green else None,
            ready_wait_minutes=ready_opt.get("waitTimeInMinutes") if blue_green else None,
            termination_action=term_opt.get("action") if blue_green else None,
            termination_wait_minutes=term_minutes if blue_green else None,
            termination_wait_started=term_started,
            rollback_of=rollback_info.get("rollbackTriggeringDeploymentId"),
            rolled_back_by=rollback_info.get("rollbackDeploymentId"),
            rollback_message=rollback_info.get("rollbackMessage"),
            replacement_asg=replacement_asg,
            ready_fleet=ready_fleet,
            ready_fleet_seen=ready_fleet_seen,
        )
        if is_rollback and deployment.rollback_of is None:
            deployment = replace(deployment, rollback_of="(unknown deployment)")

    last = group.get("lastAttemptedDeployment") or {}
    active_id = last.get("deploymentId") if last.get("status") in ACTIVE_STATUSES else None
    if deployment is not None and deployment.active:
        active_id = deployment.id
    env_ids = set(roles)
    others: dict[str, tuple[int, int]] = {}
    for source, rows_by_id in seen.items():
        outside = [h for iid, h in rows_by_id.items() if iid not in env_ids]
        others[source] = (
            sum(1 for h in outside if h.healthy),
            sum(1 for h in outside if h.registered and not h.healthy and not h.draining),
        )
    traffic = (
        traffic_split(original, replacement, sources, listeners, others) if blue_green else None
    )
    if automatic is not None and deployment is not None:
        notes = [*notes, automatic_text(automatic, deployment.id)]
    if alarms is None:
        alarm_list: tuple[Alarm, ...] = tuple(Alarm(n, "UNKNOWN", "not read") for n in alarm_names)
    else:
        alarm_list = tuple(alarms)
    snap = Snapshot(
        target=target.name,
        server_time=now,
        application=group.get("applicationName") or target.application,
        deployment_group=group.get("deploymentGroupName") or target.deployment_group,
        account=account,
        region=region,
        endpoint_url=endpoint_url,
        deployment=deployment,
        original=original,
        replacement=replacement,
        fleet=fleet,
        traffic=traffic,
        timers=tuple(timers),
        alarms=alarm_list,
        listeners=tuple(listeners),
        target_groups=tuple(tg.name for tg in tgs),
        target_group_arns=tuple((tg.name, tg.arn) for tg in tgs),
        classic_load_balancers=tuple(c.name for c in clbs),
        notes=tuple(notes),
        unread=tuple(dict.fromkeys(unread)),
        style=style,
        target_revision=revision_label(group.get("targetRevision")),
        metrics=tuple(metrics),
        read_only=target.read_only,
        active_deployment=active_id,
        latest_deployment=last.get("deploymentId"),
        automatic=automatic,
    )
    if not blue_green:
        found, why = find_leftovers(
            fleet=fleet,
            active=active_id,
            ec2=ec2,
            asgs=asgs,
            group_asgs=group_asgs,
            own_tgs=tgs,
            own_clbs=clbs,
            tgs=all_tgs,
            health=health,
            unread=unread,
        )
        snap = replace(snap, leftovers=found, leftovers_note=why)
    else:
        snap = replace(snap, leftovers_note="blue/green groups are not checked for leftovers")
    if deployment is not None and deployment.status == "Ready" and blue_green:
        snap = replace(snap, gates=gates.evaluate(snap, target.gates))
    elif deployment is not None and deployment.waiting_for == "termination" and blue_green:
        snap = replace(snap, gates=gates.evaluate_termination(snap, target.gates))
    return replace(
        snap, actions=gates.action_checks(snap, target.gates, read_only=target.read_only)
    )


# ----- module-level conveniences ------------------------------------------------------------------

_observers: weakref.WeakKeyDictionary[AwsSession, dict[tuple, Observer]] = (
    weakref.WeakKeyDictionary()
)
_observers_lock = threading.Lock()


def observer(session: AwsSession, target: TargetConfig) -> Observer:
    """The Observer kept for this session and deployment group (created on first use)."""
    key = (target.name, target.application, target.deployment_group, target.read_only, target.gates)
    with _observers_lock:
        per_session = _observers.setdefault(session, {})
        obs = per_session.get(key)
        if obs is None:
            obs = per_session[key] = Observer(session, target)
        return obs


def snapshot(
    session: AwsSession,
    target: TargetConfig,
    *,
    deployment_id: str | None = None,
    previous: Snapshot | None = None,
) -> Snapshot:
    """A frozen Snapshot of the target's deployment group (see `Observer.snapshot`).

    Static facts are cached per session and group, so call it with the same AwsSession every
    time. Pass the last Snapshot as `previous` to keep drain countdowns and the fleet seen at
    Ready across snapshots. Raises ObserveError (plain words, AWS code) when nothing meaningful
    can be shown; partial failures are in `Snapshot.notes`.
    """
    return observer(session, target).snapshot(deployment_id=deployment_id, previous=previous)


def recent_deployments(
    session: AwsSession, target: TargetConfig, limit: int = 20
) -> list[DeploymentSummary]:
    """The group's most recent deployments for the picker, newest first."""
    return observer(session, target).recent_deployments(limit)
