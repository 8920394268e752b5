"""CodeDeploy reads: the deployment group, the deployment under supervision and its targets,
the automatic deployment beside it, and the group's recent deployments.

What never changes is read once and kept: who started a deployment, why a rolled-back one
stopped, the targets of a finished deployment; and targets that cannot have moved since they
were read are not read again (targets.py says which).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cutover.backend.core.facts import TargetInfo
from cutover.backend.core.revisions import revision_label
from cutover.backend.model import AUTOMATIC_CREATORS, DeploymentSummary, LifecycleEvent
from cutover.backend.observe.calls import WRONG_GROUP, Calls, ObserveError, Parts, chunks, pages
from cutover.backend.observe.targets import Kept, TargetCache
from cutover.common.lifecycle import FINISHED_STATUSES

# Finished deployments whose targets are kept (the picker's recent ones are read again).
FINISHED_KEEP = 8
BATCH_TARGETS = 25  # BatchGetDeploymentTargets: at most 25 target ids per call
BATCH_DEPLOYMENTS = 25  # BatchGetDeployments: at most 25 ids per call
# How far back (deployments) to look for one a person started, past CodeDeploy's own.
MAIN_SEARCH_LIMIT = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GroupInfo:
    """A deployment group as GetDeploymentGroup gives it, with the names the observer reads."""

    info: dict
    style: str
    tg_names: list[str]
    clb_names: list[str]
    asgs: list[str]
    alarm_names: list[str]
    last_id: str | None

    @classmethod
    def of(cls, group: dict) -> GroupInfo:
        lbi = group.get("loadBalancerInfo") or {}
        tg_names = [t["name"] for t in lbi.get("targetGroupInfoList") or [] if t.get("name")]
        for pair in lbi.get("targetGroupPairInfoList") or []:
            tg_names += [t["name"] for t in pair.get("targetGroups") or [] if t.get("name")]
        return cls(
            info=group,
            style=(group.get("deploymentStyle") or {}).get("deploymentType") or "IN_PLACE",
            tg_names=list(dict.fromkeys(tg_names)),
            clb_names=[e["name"] for e in lbi.get("elbInfoList") or [] if e.get("name")],
            asgs=[a["name"] for a in group.get("autoScalingGroups") or [] if a.get("name")],
            alarm_names=[
                a["name"] for a in (group.get("alarmConfiguration") or {}).get("alarms") or []
            ],
            last_id=(group.get("lastAttemptedDeployment") or {}).get("deploymentId"),
        )


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


def summary(d: dict, instances: tuple[str, ...] = ()) -> DeploymentSummary:
    """A deployment as the picker lists it, from BatchGetDeployments / GetDeployment."""
    return DeploymentSummary(
        id=d["deploymentId"],
        status=d.get("status", "Unknown"),
        revision=revision_label(d.get("revision")),
        creator=d.get("creator"),
        create_time=d.get("createTime"),
        complete_time=d.get("completeTime"),
        error_code=(d.get("errorInformation") or {}).get("code"),
        instances=instances,
    )


def same_group(dep_id: str, info: dict, app: str, group: str) -> None:
    """A deployment chosen by id must belong to the group on screen: acting on it would act
    on another group while the view (and the audit) named this one."""
    owner = (info.get("applicationName"), info.get("deploymentGroupName"))
    if owner != (app, group):
        raise ObserveError(
            f"--deployment: {dep_id} belongs to {owner[0]}/{owner[1]}, not {app}/{group}",
            WRONG_GROUP,
        )


class DeploymentReads:
    """CodeDeploy's answers for one deployment group, with what never changes kept."""

    def __init__(self, calls: Calls, batch_pool: ThreadPoolExecutor) -> None:
        self._calls = calls
        # BatchGetDeploymentTargets calls in flight at once (AWS latency, not CPU, dominates).
        self._batch_pool = batch_pool
        self._finished_targets: dict[str, list[TargetInfo]] = {}  # deployment id -> targets
        # Targets that need no reading again, by deployment id and target id (see targets.py).
        self._kept = TargetCache()
        # rolled-back deployment id -> why it stopped ("CODE: message"), read once
        self._stop_reasons: dict[str, str] = {}
        # deployment id -> (who started it, its revision's label): fixed once it exists, so
        # kept from any read of the whole deployment, and read at most once per id.
        self._fixed: dict[str, tuple[str | None, str | None]] = {}
        # automatic deployment id -> the newest deployment a person started before it
        self._main_of: dict[str, str | None] = {}

    def group(self, app: str, group_name: str) -> GroupInfo:
        cd = self._calls.client("codedeploy")
        info = self._calls.core(
            "group",
            lambda: cd.get_deployment_group(applicationName=app, deploymentGroupName=group_name),
        )["deploymentGroupInfo"]
        return GroupInfo.of(info)

    def recent(self, app: str, group: str, limit: int) -> list[DeploymentSummary]:
        """The group's most recent deployments, newest first (ListDeployments, which AWS
        answers newest first, then BatchGetDeployments 25 at a time)."""
        cd = self._calls.client("codedeploy")
        ids: list[str] = []
        token = None
        while len(ids) < limit:
            kwargs: dict[str, Any] = {"applicationName": app, "deploymentGroupName": group}
            if token:
                kwargs["nextToken"] = token
            page = self._calls.core("deployments", lambda kw=kwargs: cd.list_deployments(**kw))
            ids += page.get("deployments", [])
            token = page.get("nextToken")
            if not token:
                break
        ids = ids[:limit]
        infos: list[dict] = []
        for chunk in chunks(ids, BATCH_DEPLOYMENTS):
            got = self._calls.core(
                "deployments", lambda c=chunk: cd.batch_get_deployments(deploymentIds=list(c))
            )
            infos += got.get("deploymentsInfo", [])
        out = [summary(d) for d in infos]
        out.sort(key=lambda s: s.create_time or _EPOCH, reverse=True)
        return out

    def _remember(self, info: dict) -> None:
        self._fixed.setdefault(
            info["deploymentId"], (info.get("creator"), revision_label(info.get("revision")))
        )

    def _fixed_of(
        self, dep_id: str, parts: Parts, what: str
    ) -> tuple[str | None, str | None] | None:
        if dep_id not in self._fixed:
            cd = self._calls.client("codedeploy")
            info = self._calls.part(
                parts,
                "deployments",
                what,
                lambda: cd.get_deployment(deploymentId=dep_id)["deploymentInfo"],
                None,
            )
            if info is None:
                return None
            self._remember({**info, "deploymentId": dep_id})
        return self._fixed[dep_id]

    def creator(self, dep_id: str, parts: Parts) -> str | None:
        """Who started a deployment (never changes: read once per id)."""
        fixed = self._fixed_of(dep_id, parts, "who started the latest deployment")
        return fixed[0] if fixed is not None else None

    def revision(self, dep_id: str, parts: Parts) -> str | None:
        """A deployment's revision (never changes: read once per id)."""
        fixed = self._fixed_of(dep_id, parts, "the group's last successful revision")
        return fixed[1] if fixed is not None else None

    def main_deployment(self, app: str, group: str, automatic_id: str, parts: Parts) -> str | None:
        """The group's newest deployment that CodeDeploy did not start by itself, found once
        for each automatic deployment that became the latest (ListDeployments answers newest
        first)."""
        if automatic_id in self._main_of:
            return self._main_of[automatic_id]
        cd = self._calls.client("codedeploy")

        def find() -> str | None:
            seen = 0
            for page in pages(
                cd, "list_deployments", applicationName=app, deploymentGroupName=group
            ):
                ids = [i for i in page.get("deployments", []) if i != automatic_id]
                unknown = [i for i in ids if i not in self._fixed]
                for chunk in chunks(unknown, BATCH_DEPLOYMENTS):
                    got = cd.batch_get_deployments(deploymentIds=list(chunk))
                    for d in got.get("deploymentsInfo", []):
                        self._remember(d)
                for i in ids:
                    if self._fixed.get(i, (None, None))[0] not in AUTOMATIC_CREATORS:
                        return i
                seen += len(ids)
                if seen >= MAIN_SEARCH_LIMIT:
                    break
            return None

        main = self._calls.part(parts, "deployments", "the group's earlier deployments", find, None)
        if "deployments" not in parts.unread:
            self._main_of[automatic_id] = main
        return main

    def automatic(self, dep_id: str, parts: Parts) -> DeploymentSummary | None:
        """The automatic deployment beside the one under supervision, with its instances."""
        cd = self._calls.client("codedeploy")

        def read() -> DeploymentSummary:
            d = cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
            ids: list[str] = []
            for page in pages(cd, "list_deployment_targets", deploymentId=dep_id):
                ids += page.get("targetIds", [])
            return summary({**d, "deploymentId": dep_id}, tuple(dict.fromkeys(ids)))

        return self._calls.part(
            parts, "automatic", "CodeDeploy's own latest deployment", read, None
        )

    def current(self, dep_id: str, group_bg: dict, parts: Parts) -> DeploymentSummary | None:
        """The group's current deployment beside a pinned one: GetDeployment, and while it
        waits in Ready for the reroute, its targets (kept while it waits: targets.py) for when
        its ready wait ends."""
        cd = self._calls.client("codedeploy")

        def read() -> DeploymentSummary:
            d = cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]
            self._remember({**d, "deploymentId": dep_id})
            found = summary({**d, "deploymentId": dep_id})
            bg = d.get("blueGreenDeploymentConfiguration") or group_bg
            ready = bg.get("deploymentReadyOption") or {}
            if d.get("status") != "Ready":
                return found
            action = ready.get("actionOnTimeout") or "CONTINUE_DEPLOYMENT"
            minutes = ready.get("waitTimeInMinutes")
            if action != "STOP_DEPLOYMENT" or minutes is None:
                return replace(found, ready_action=action)
            targets = self._targets(dep_id, self._kept.for_deployment(dep_id, d))
            ends = [
                e.end for t in targets for e in t.events if e.name == "ValidateService" and e.end
            ]
            deadline = max(ends) + timedelta(minutes=minutes) if ends else None
            return replace(found, ready_action=action, deadline=deadline)

        return self._calls.part(
            parts, "group-deployment", "the group's current deployment", read, None
        )

    def deployment(self, dep_id: str, parts: Parts) -> tuple[dict, list[TargetInfo]]:
        cd = self._calls.client("codedeploy")
        info = self._calls.core(dep_id, lambda: cd.get_deployment(deploymentId=dep_id))[
            "deploymentInfo"
        ]
        info = self._with_stop_reason(info, parts)
        if dep_id in self._finished_targets:
            return info, self._finished_targets[dep_id]
        kept = self._kept.for_deployment(dep_id, info)
        targets = self._calls.part(
            parts,
            "targets",
            "the deployment's instances",
            lambda: self._targets(dep_id, kept),
            [],
        )
        if info.get("status") in FINISHED_STATUSES and "targets" not in parts.unread:
            # A finished deployment's targets never change again. A dashboard left open for
            # days sees many deployments: keep the last few only, so memory stays flat.
            self._finished_targets[dep_id] = targets
            for old in list(self._finished_targets)[:-FINISHED_KEEP]:
                del self._finished_targets[old]
        return info, targets

    def _targets(self, dep_id: str, kept: Kept) -> list[TargetInfo]:
        """The deployment's targets: the kept ones as they were, the others read again."""
        cd = self._calls.client("codedeploy")
        ids = kept.ids
        if ids is None:
            ids = []
            for page in pages(cd, "list_deployment_targets", deploymentId=dep_id):
                ids += page.get("targetIds", [])
            ids = list(dict.fromkeys(ids))
        wanted = [i for i in ids if i not in kept.targets]

        def batch(chunk: Sequence[str]) -> list[TargetInfo]:
            got = cd.batch_get_deployment_targets(deploymentId=dep_id, targetIds=list(chunk))
            return [t for t in map(parse_target, got.get("deploymentTargets", [])) if t]

        # The 25-id batches are independent: ask for them side by side.
        fresh: dict[str, TargetInfo] = {}
        for result in self._batch_pool.map(batch, list(chunks(wanted, BATCH_TARGETS))):
            fresh.update((t.id, t) for t in result)
        for t in fresh.values():
            kept.keep(t)
        # The list is kept only once every batch answered (a failure raises before this).
        kept.ids = ids
        return [kept.targets.get(i) or fresh[i] for i in ids if i in kept.targets or i in fresh]

    def _with_stop_reason(self, info: dict, parts: Parts) -> dict:
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
            cd = self._calls.client("codedeploy")
            other = self._calls.part(
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
