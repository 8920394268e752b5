"""Which deployment targets a snapshot reads again, and which it keeps.

A snapshot used to read every target of the deployment under supervision on every tick: at
1,000 instances per fleet that is 20 ListDeploymentTargets pages and 80 BatchGetDeploymentTargets
calls a tick, almost all of them for targets that have not moved. A target is kept, by
deployment id and target id, when reading it again could not tell anything new:

- its lifecycle is finished (its status and every event's status are final: Succeeded, Failed
  or Skipped) and its deployment is not being rolled back; or
- its deployment waits for the reroute (status Ready): no target moves until the deployment's
  status does.

What is kept is dropped when the deployment's status, its instance counts (deploymentOverview,
which move whenever a target's status does) or its rollback change: the next snapshot reads
everything again once. A finished target survives a change of instance counts only (another
target moved; a finished one cannot), never a change of status or rollback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cutover.backend.core.facts import TargetInfo
from cutover.common.lifecycle import FINAL_TARGET_STATUSES, FINISHED_STATUSES

# Deployments whose targets are kept (the one under supervision, the ones just before it).
KEEP_DEPLOYMENTS = 4
# A deployment that waits for the reroute: its targets move only after its status does.
WAITING_STATUSES = ("Ready",)


def finished(t: TargetInfo) -> bool:
    """The target's lifecycle is over: its status and every event's status are final."""
    return t.status in FINAL_TARGET_STATUSES and all(
        e.status in FINAL_TARGET_STATUSES for e in t.events
    )


def rolling_back(info: dict) -> bool:
    """A rollback of this deployment is under way: CodeDeploy may still change its targets."""
    rollback = info.get("rollbackInfo") or {}
    return bool(rollback.get("rollbackDeploymentId")) and info.get("status") not in (
        FINISHED_STATUSES
    )


def state_key(info: dict) -> tuple[str | None, str, str | None]:
    """What must stay the same for kept targets to stay true: status, counts, rollback."""
    overview = json.dumps(info.get("deploymentOverview") or {}, sort_keys=True)
    rollback = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
    return info.get("status"), overview, rollback


@dataclass
class Kept:
    """One deployment's kept targets, valid while its state key stays `key`."""

    key: tuple[str | None, str, str | None]
    targets: dict[str, TargetInfo] = field(default_factory=dict)
    # The deployment's target ids, listed under this key (None: list them again).
    ids: list[str] | None = None
    waiting: bool = False
    rolling_back: bool = False

    def keep(self, t: TargetInfo) -> None:
        if self.rolling_back:
            return
        if self.waiting or finished(t):
            self.targets[t.id] = t


class TargetCache:
    """Kept targets by deployment id and target id (see the module's docstring)."""

    def __init__(self) -> None:
        self._by_dep: dict[str, Kept] = {}

    def for_deployment(self, dep_id: str, info: dict) -> Kept:
        """The targets kept for `dep_id`, after dropping what its current info invalidates."""
        key = state_key(info)
        kept = self._by_dep.get(dep_id)
        if kept is None or kept.key != key:
            survivors: dict[str, TargetInfo] = {}
            if kept is not None and kept.key[0] == key[0] and kept.key[2] == key[2]:
                # Only the instance counts moved: another target's status changed.
                survivors = {i: t for i, t in kept.targets.items() if finished(t)}
            kept = Kept(key=key, targets=survivors)
            self._by_dep.pop(dep_id, None)
            self._by_dep[dep_id] = kept
            for old in list(self._by_dep)[:-KEEP_DEPLOYMENTS]:
                del self._by_dep[old]
        kept.waiting = info.get("status") in WAITING_STATUSES
        kept.rolling_back = rolling_back(info)
        if kept.rolling_back:
            kept.targets.clear()
            kept.ids = None
        return kept
