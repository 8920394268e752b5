"""The Observer: one deployment group read through one AwsSession into a frozen Snapshot.

It keeps what does not move during a deployment (target group ARNs, health-check settings,
deregistration delays, listener ARNs, the caller's account) so every later snapshot costs only
what is fresh, and it reads in two parallel stages: what needs only the deployment group, then
what needs the instance ids or the load balancers. The reads themselves are per service
(`codedeploy`, `elb`, `autoscaling`, `ec2`, `cloudwatch`); `assemble` builds the Snapshot.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.core import hooktags
from cutover.backend.core.facts import Asg, Classic, Ec2, TargetGroup, TargetInfo
from cutover.backend.core.revisions import revision_label
from cutover.backend.model import (
    AUTOMATIC_CREATORS,
    Alarm,
    BakeVerdict,
    DeploymentSummary,
    ListenerWeights,
    Preview,
    Series,
    Serving,
    Snapshot,
)
from cutover.backend.observe.assemble import assemble
from cutover.backend.observe.autoscaling import read_asgs
from cutover.backend.observe.bake import BakeReads, bake_verdict
from cutover.backend.observe.calls import CORE_THROTTLE_BUDGET, Calls, ObserveError, Parts
from cutover.backend.observe.cloudwatch import read_alarms, read_metrics
from cutover.backend.observe.codedeploy import DeploymentReads, GroupInfo, same_group
from cutover.backend.observe.ec2 import InstanceReads
from cutover.backend.observe.elb import LoadBalancerReads
from cutover.backend.observe.preview import PreviewReads
from cutover.backend.observe.reads import Reads


@dataclass
class _Read:
    """What one snapshot has read so far, stage by stage."""

    group: GroupInfo
    dep_id: str | None
    asg_names: list[str]
    info: dict | None = None
    targets: list[TargetInfo] = field(default_factory=list)
    automatic: DeploymentSummary | None = None
    tgs: list[TargetGroup] = field(default_factory=list)
    clbs: list[Classic] = field(default_factory=list)
    alarms: list[Alarm] | None = None
    asgs: dict[str, Asg] = field(default_factory=dict)
    extra_tgs: list[TargetGroup] = field(default_factory=list)
    extra_clbs: list[Classic] = field(default_factory=list)
    ec2: dict[str, Ec2] = field(default_factory=dict)
    health: dict[str, list[dict] | None] = field(default_factory=dict)
    listeners: list[ListenerWeights] = field(default_factory=list)
    serving: list[Serving] | None = None
    metrics: list[Series] = field(default_factory=list)
    last_good_revision: str | None = None
    preview: Preview | None = None

    @property
    def hook_group(self) -> bool:
        """An in-place group without a load balancer of its own: appspec hooks such as
        `cutover hook` take its instances out, and its health is read where they serve."""
        g = self.group
        return g.style == "IN_PLACE" and not g.tg_names and not g.clb_names


class Observer:
    """Snapshots of one deployment group through one AwsSession, with static facts cached.

    Thread-safe: concurrent `snapshot()` calls are serialized. Independent calls inside a
    snapshot run in parallel on a small pool, so a slow AWS costs the slowest chain, not the sum.
    """

    def __init__(
        self,
        session: AwsSession,
        target: TargetConfig,
        *,
        batch_parallel: int = 4,
        metrics: bool = True,
    ) -> None:
        self.session = session
        self.target = target
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cutover-observe")
        self._batch_pool = ThreadPoolExecutor(
            max_workers=max(1, batch_parallel), thread_name_prefix="cutover-batch"
        )
        self._calls = Calls(session, target)
        self._deployments = DeploymentReads(self._calls, self._batch_pool)
        self._elb = LoadBalancerReads(self._calls)
        self._ec2 = InstanceReads(self._calls)
        self._account: str | None = None
        self._bake = BakeReads(self._calls)
        self._extra_asgs: dict[str, set[str]] = {}  # deployment id -> ASG names found by tag
        # Hook-managed groups: the target groups (by name or ARN) and classic LBs their
        # instances' cutover:hook:home tags named in the last snapshot.
        self._hook_tg_keys: list[str] = []
        self._hook_clb_names: list[str] = []
        # The overview shows no metrics: its observers skip GetMetricData (one call a tick).
        self._metrics = metrics
        key = target.preview_target_group
        self._preview = PreviewReads(self._calls, key) if key else None

    def close(self) -> None:
        """Stop the worker threads (the Observer cannot be used afterwards)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._batch_pool.shutdown(wait=False, cancel_futures=True)

    # ----- the public API -----------------------------------------------------------------------

    def snapshot(
        self, *, deployment_id: str | None = None, previous: Snapshot | None = None
    ) -> Snapshot:
        """A frozen Snapshot of the group and of the deployment under supervision (the chosen
        id, else the group's last attempted deployment, which is the active one when there is
        one, passing over those Auto Scaling or an auto-update started). With a chosen id, the
        group's own current deployment is read beside it when it is another
        (`Snapshot.group_deployment`). Raises ObserveError when no meaningful snapshot can be
        taken."""
        with self._lock:
            self._calls.throttle_deadline = time.monotonic() + CORE_THROTTLE_BUDGET
            return self._snapshot(deployment_id, previous)

    def recent_deployments(self, limit: int = 20) -> list[DeploymentSummary]:
        """The group's most recent deployments, newest first (ListDeployments, which AWS answers
        newest first, then BatchGetDeployments 25 at a time)."""
        app, group = self._names()
        return self._deployments.recent(app, group, limit)

    def bake(self, snap: Snapshot) -> BakeVerdict | None:
        """The bake verdict of `snap`'s deployment read now, whatever its phase (a finished
        one: the after window ends with it); one GetMetricData. None before the reroute ended
        or when the read failed."""
        with self._lock:
            app, group_name = self._names()
            group = self._deployments.group(app, group_name)
            parts = Parts()
            tgs, clbs = self._elb.static(group.tg_names, group.clb_names, parts)
            return bake_verdict(self._calls, snap, tgs, clbs, self.target.bake, parts)

    # ----- the snapshot, step by step ---------------------------------------------------------

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
        parts = Parts()
        if self._account is None:
            self._account = self._calls.identity(parts)
        group = self._deployments.group(app, group_name)
        dep_id, automatic_id = self._choose(deployment_id, group, app, group_name, parts)
        current = None
        if deployment_id is not None:
            # Pinned: what following the group would show, so the screen can say that the
            # group moved on (a teammate's deployment waiting, a rollback).
            follow_id, _ = self._choose(None, group, app, group_name, parts)
            if follow_id and follow_id != deployment_id:
                bg = group.info.get("blueGreenDeploymentConfiguration") or {}
                current = self._pool.submit(self._deployments.current, follow_id, bg, parts)
        read = self._read_group(group, dep_id, automatic_id, deployment_id, parts)
        if read.hook_group:
            self._hook_sources(read, parts)
        self._read_fleet(read, parts)
        self._tagged_asgs(read, parts)
        if read.hook_group:
            self._home_sources(read, parts)
        snap = assemble(
            Reads(
                target=self.target,
                now=self.session.clock.now(),
                account=self._account,
                region=self.session.region,
                endpoint_url=self.session.custom_endpoint,
                group=group.info,
                style=group.style,
                info=read.info,
                targets=read.targets,
                asgs=read.asgs,
                group_asgs=group.asgs,
                ec2=read.ec2,
                tgs=read.tgs,
                clbs=read.clbs,
                health=read.health,
                listeners=read.listeners,
                serving=read.serving,
                alarms=read.alarms,
                alarm_names=group.alarm_names,
                metrics=read.metrics,
                previous=previous,
                notes=parts.notes,
                unread=parts.unread,
                extra_tgs=read.extra_tgs,
                extra_clbs=read.extra_clbs,
                automatic=read.automatic,
                last_good_revision=read.last_good_revision,
                preview=read.preview,
            )
        )
        if self._metrics:  # the termination wait's bake verdict, on its own cadence
            snap = self._bake.apply(snap, read.tgs, read.clbs, self.target.bake)
        return replace(
            snap,
            group_deployment=current.result() if current is not None else None,
            api_calls=self.session.calls - calls0,
            elapsed_ms=round((time.monotonic() - t0) * 1000, 1),
            sandbox_rate=self.session.sandbox_rate,
        )

    def _choose(
        self,
        deployment_id: str | None,
        group: GroupInfo,
        app: str,
        group_name: str,
        parts: Parts,
    ) -> tuple[str | None, str | None]:
        """(the deployment under supervision, the automatic one shown beside it)."""
        dep_id, automatic_id = deployment_id, None
        last_id = group.last_id
        if dep_id is None and last_id:
            # A deployment CodeDeploy started by itself (an instance Auto Scaling launched, an
            # auto-update) is shown beside the one a person started, never in its place.
            dep_id = last_id
            if self._deployments.creator(last_id, parts) in AUTOMATIC_CREATORS:
                main = self._deployments.main_deployment(app, group_name, last_id, parts)
                if main is not None:
                    dep_id, automatic_id = main, last_id
        return dep_id, automatic_id

    def _read_group(
        self,
        group: GroupInfo,
        dep_id: str | None,
        automatic_id: str | None,
        deployment_id: str | None,
        parts: Parts,
    ) -> _Read:
        """Stage 1: everything that needs only the group, in parallel."""
        app, group_name = self._names()
        # CodeDeploy names a copied Auto Scaling group CodeDeploy_<group>_<deployment id>;
        # asking for it up front saves a second DescribeAutoScalingGroups.
        asg_names = list(group.asgs)
        if dep_id:
            asg_names.append(f"CodeDeploy_{group_name}_{dep_id}")
            asg_names += sorted(self._extra_asgs.get(dep_id, ()))
        read = _Read(group=group, dep_id=dep_id, asg_names=asg_names)
        submit = self._pool.submit
        f_dep = submit(self._deployments.deployment, dep_id, parts) if dep_id else None
        f_auto = submit(self._deployments.automatic, automatic_id, parts) if automatic_id else None
        f_static = submit(self._elb.static, group.tg_names, group.clb_names, parts)
        f_alarms = submit(read_alarms, self._calls, group.alarm_names, parts)
        f_asgs = submit(read_asgs, self._calls, list(dict.fromkeys(asg_names)), parts)
        good = (group.info.get("lastSuccessfulDeployment") or {}).get("deploymentId")
        # In place, `d` offers the revision that last succeeded (not a failed one).
        f_good = (
            submit(self._deployments.revision, good, parts)
            if good and good != dep_id and group.style == "IN_PLACE"
            else None
        )
        read.info, read.targets = f_dep.result() if f_dep else (None, [])
        read.automatic = f_auto.result() if f_auto else None
        if f_good is not None:
            read.last_good_revision = f_good.result()
        elif good and good == dep_id and read.info is not None and group.style == "IN_PLACE":
            read.last_good_revision = revision_label(read.info.get("revision"))
        if deployment_id and read.info is not None:
            same_group(deployment_id, read.info, app, group_name)
        read.tgs, read.clbs = f_static.result()
        read.alarms = f_alarms.result()
        read.asgs = f_asgs.result()
        if read.info is not None:
            for a in (read.info.get("targetInstances") or {}).get("autoScalingGroups") or []:
                if a not in read.asgs and a not in asg_names:
                    read.asgs.update(read_asgs(self._calls, [a], parts))
        return read

    def _hook_sources(self, read: _Read, parts: Parts) -> None:
        """Hook-managed in-place groups: health from where the hooks say the instances serve
        (the `hooks:` config, last snapshot's tags) and the Auto Scaling groups' attachments."""
        # The `hooks:` config says where they serve before any hook has run (no tags yet).
        tg_keys = list(dict.fromkeys([*self.target.hook_target_groups, *self._hook_tg_keys]))
        clb_keys = list(dict.fromkeys([*self.target.hook_elbs, *self._hook_clb_names]))
        for a in read.asgs.values():
            tg_keys += [k for k in a.tg_arns if k not in tg_keys]
            clb_keys += [k for k in a.lb_names if k not in clb_keys]
        read.extra_tgs, read.extra_clbs = self._elb.extra_sources(tg_keys, clb_keys, parts)

    def _read_fleet(self, read: _Read, parts: Parts) -> None:
        """Stage 2: what needs the instance ids or the static facts, in parallel."""
        ids = list(
            dict.fromkeys(
                [t.id for t in read.targets] + [i for a in read.asgs.values() for i in a.members]
            )
        )
        ids = [i for i in ids if i not in self._ec2.gone]
        now_guess = self.session.clock.now()
        submit = self._pool.submit
        tgs, clbs = read.tgs + read.extra_tgs, read.clbs + read.extra_clbs
        f_ec2 = submit(self._ec2.instances, ids, parts)
        f_health = {tg.name: submit(self._elb.tg_health, tg, parts) for tg in tgs}
        f_clb = {c.name: submit(self._elb.clb_health, c, parts) for c in clbs}
        f_rules = submit(self._elb.rules, read.tgs, parts)
        f_metrics = (
            submit(read_metrics, self._calls, tgs, clbs, now_guess, parts)
            if self._metrics
            else None
        )
        f_preview = submit(self._preview.read, parts) if self._preview is not None else None
        read.ec2 = f_ec2.result()
        read.preview = f_preview.result() if f_preview is not None else None
        read.health = {name: f.result() for name, f in f_health.items()}
        read.health.update({name: f.result() for name, f in f_clb.items()})
        read.listeners, read.serving = f_rules.result()
        read.metrics = f_metrics.result() if f_metrics is not None else []

    def _tagged_asgs(self, read: _Read, parts: Parts) -> None:
        """An Auto Scaling group found only through an instance's tag (a replacement group
        named otherwise than CodeDeploy does): describe it once, and ask for it from now on."""
        if not read.dep_id:
            return
        known = set(read.asgs) | set(read.asg_names)
        found = {e.asg for e in read.ec2.values() if e.asg and e.asg not in known}
        if found:
            self._extra_asgs.setdefault(read.dep_id, set()).update(found)
            read.asgs.update(read_asgs(self._calls, sorted(found), parts))

    def _home_sources(self, read: _Read, parts: Parts) -> None:
        """Where the instances' cutover:hook:home tags say they serve: read what this
        snapshot has not (only when the tags name a new place), and ask from now on."""
        tag_tgs: list[str] = []
        tag_clbs: list[str] = []
        for e in read.ec2.values():
            home = hooktags.parse_home(e.tags.get(hooktags.HOME))
            tag_tgs += [n for n, _ in home.tgs if n not in tag_tgs]
            tag_clbs += [n for n in home.elbs if n not in tag_clbs]
        self._hook_tg_keys, self._hook_clb_names = tag_tgs, tag_clbs
        have = {tg.name for tg in read.extra_tgs} | {tg.arn for tg in read.extra_tgs}
        new_tgs = [k for k in tag_tgs if k not in have and not self._elb.missing(k)]
        new_clbs = [
            n
            for n in tag_clbs
            if n not in {c.name for c in read.extra_clbs} and not self._elb.missing(n)
        ]
        if not (new_tgs or new_clbs):
            return
        more_tgs, more_clbs = self._elb.extra_sources(new_tgs, new_clbs, parts)
        for tg in more_tgs:
            read.health[tg.name] = self._elb.tg_health(tg, parts)
        for c in more_clbs:
            read.health[c.name] = self._elb.clb_health(c, parts)
        read.extra_tgs += more_tgs
        read.extra_clbs += more_clbs
