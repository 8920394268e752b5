"""One Observer per session and deployment group, and the calls that use it: a snapshot, the
bake verdict, the recent deployments. Static facts are cached in the Observer, so callers that
keep one AwsSession get them once."""

from __future__ import annotations

import threading
import weakref

from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import BakeVerdict, DeploymentSummary, Snapshot
from cutover.backend.observe.reader import Observer

_observers: weakref.WeakKeyDictionary[AwsSession, dict[tuple, Observer]] = (
    weakref.WeakKeyDictionary()
)
_observers_lock = threading.Lock()


def observer(session: AwsSession, target: TargetConfig) -> Observer:
    """The Observer kept for this session and deployment group (created on first use)."""
    key = (
        target.name,
        target.application,
        target.deployment_group,
        target.read_only,
        target.gates,
        target.preview_target_group,
    )
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


def bake(session: AwsSession, target: TargetConfig, snap: Snapshot) -> BakeVerdict | None:
    """The bake verdict of a snapshot's deployment, read now (see `Observer.bake`)."""
    return observer(session, target).bake(snap)


def recent_deployments(
    session: AwsSession, target: TargetConfig, limit: int = 20
) -> list[DeploymentSummary]:
    """The group's most recent deployments for the picker, newest first."""
    return observer(session, target).recent_deployments(limit)
