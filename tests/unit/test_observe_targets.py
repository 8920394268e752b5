"""Which deployment targets a snapshot keeps, and when it drops them (backend/observe/targets)."""

from __future__ import annotations

from cutover.backend.core.facts import TargetInfo
from cutover.backend.model import LifecycleEvent
from cutover.backend.observe.targets import TargetCache, finished


def target(tid: str, status: str, *events: str) -> TargetInfo:
    return TargetInfo(
        id=tid,
        status=status,
        label="Blue",
        last_updated=None,
        events=tuple(LifecycleEvent(f"E{n}", s) for n, s in enumerate(events)),
    )


def info(status: str, succeeded: int = 0, rollback: str | None = None) -> dict:
    out: dict = {"status": status, "deploymentOverview": {"Succeeded": succeeded}}
    if rollback:
        out["rollbackInfo"] = {"rollbackDeploymentId": rollback}
    return out


DONE = target("i-1", "Succeeded", "Succeeded", "Skipped")
MOVING = target("i-2", "InProgress", "Succeeded", "InProgress")


def test_finished_means_the_status_and_every_event_final() -> None:
    assert finished(DONE)
    assert not finished(MOVING)
    assert not finished(target("i-3", "Succeeded", "Succeeded", "Pending"))


def test_an_in_progress_deployment_keeps_finished_targets_only() -> None:
    cache = TargetCache()
    kept = cache.for_deployment("d-1", info("InProgress", 1))
    kept.keep(DONE)
    kept.keep(MOVING)
    kept.ids = ["i-1", "i-2"]
    assert set(kept.targets) == {"i-1"}
    assert cache.for_deployment("d-1", info("InProgress", 1)) is kept
    # Another target finished: the list is read again, the finished target is still kept.
    moved = cache.for_deployment("d-1", info("InProgress", 2))
    assert moved.ids is None and set(moved.targets) == {"i-1"}


def test_a_deployment_waiting_for_the_reroute_keeps_every_target_until_it_moves() -> None:
    cache = TargetCache()
    kept = cache.for_deployment("d-1", info("Ready", 1))
    kept.keep(DONE)
    kept.keep(MOVING)
    assert set(kept.targets) == {"i-1", "i-2"}
    # Approved: the status moved, so everything is read again, finished targets too.
    assert not cache.for_deployment("d-1", info("InProgress", 1)).targets


def test_nothing_is_kept_while_the_deployment_is_rolled_back() -> None:
    cache = TargetCache()
    cache.for_deployment("d-1", info("Ready", 1)).keep(DONE)
    kept = cache.for_deployment("d-1", info("Ready", 1, rollback="d-2"))
    kept.keep(DONE)
    assert not kept.targets and kept.ids is None


def test_only_the_last_few_deployments_are_kept() -> None:
    cache = TargetCache()
    for n in range(10):
        cache.for_deployment(f"d-{n}", info("Succeeded", 1)).keep(DONE)
    assert cache.for_deployment("d-9", info("Succeeded", 1)).targets
    assert not cache.for_deployment("d-0", info("Succeeded", 1)).targets
