"""Done means done: the effect of an action, as one snapshot shows it (backend/core/effects),
and who started a deployment (backend/core/origin)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from cutover.backend.core.effects import effect
from cutover.backend.core.origin import started_by
from cutover.backend.model import (
    Deployment,
    Environment,
    Instance,
    Snapshot,
    TargetHealth,
    Traffic,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _env(role: str, healthy: int, total: int, state: str = "running") -> Environment:
    insts = tuple(
        Instance(
            id=f"i-{role}{n}",
            ec2_state=state,
            health=(
                TargetHealth("web-tg", "target-group", "healthy" if n < healthy else "unhealthy"),
            ),
        )
        for n in range(total)
    )
    return Environment(role=role, instances=insts)  # type: ignore[arg-type]


def _snap(dep: Deployment, **kw: object) -> Snapshot:
    return Snapshot(
        target="t",
        server_time=NOW,
        application="web",
        deployment_group="web-prod",
        deployment=dep,
        **kw,  # type: ignore[arg-type]
    )


def _dep(id: str = "d-1", status: str = "InProgress", phase: str = "rerouting", **kw: object):
    return Deployment(
        id=id,
        status=status,
        phase=phase,
        application="web",
        deployment_group="web-prod",
        style="BLUE_GREEN",
        traffic_control=True,
        **kw,  # type: ignore[arg-type]
    )


def test_approve_is_seen_once_traffic_is_on_the_replacement() -> None:
    assert effect("approve", "d-1", _snap(_dep())).state == "pending"
    got = effect(
        "approve",
        "d-1",
        _snap(_dep(phase="termination-wait"), replacement=_env("replacement", 3, 4)),
    )
    assert got.state == "observed"
    assert got.words == "traffic on the replacement: 3/4 healthy in web-tg"


def test_rollback_follows_codedeploys_rollback_deployment_to_its_outcome() -> None:
    stopped = _dep(status="Stopped", phase="stopped", rolled_back_by="d-2")
    got = effect("rollback", "d-1", _snap(stopped))
    assert (got.state, got.watch) == ("pending", "d-2")
    running = _dep("d-2", status="InProgress", phase="rolling-back", rollback_of="d-1")
    assert effect("rollback", "d-1", _snap(running)).state == "pending"
    done = _dep("d-2", status="Succeeded", phase="succeeded", rollback_of="d-1")
    got = effect(
        "rollback",
        "d-1",
        _snap(
            done,
            original=_env("original", 4, 4),
            replacement=_env("replacement", 0, 4, state="terminated"),
        ),
    )
    assert got.state == "observed"
    assert got.words == (
        "rollback d-2 Succeeded: traffic back on the originals: 4/4 healthy in web-tg,"
        " replacement removed"
    )
    failed = _dep("d-2", status="Failed", phase="failed", rollback_of="d-1", error_code="X")
    got = effect("rollback", "d-1", _snap(failed))
    assert got.state == "failed" and "rollback d-2 Failed (X)" in got.words


def test_stop_says_where_traffic_stayed_and_a_finished_deployment_fails_it() -> None:
    got = effect(
        "stop",
        "d-1",
        _snap(
            _dep(status="Stopped", phase="stopped"),
            original=_env("original", 4, 4),
            traffic=Traffic(100.0, 0.0, "listener weights"),
        ),
    )
    assert got.state == "observed"
    assert got.words == "d-1 Stopped; traffic on the originals: 4/4 healthy in web-tg"
    got = effect("stop", "d-1", _snap(_dep(status="Succeeded", phase="succeeded")))
    assert got.state == "failed"


def test_terminate_waits_for_the_originals_to_go() -> None:
    succeeded = _dep(status="Succeeded", phase="succeeded")
    got = effect("terminate-original", "d-1", _snap(succeeded, original=_env("original", 4, 4)))
    assert got.state == "pending" and "4 instances still running" in got.words
    got = effect(
        "terminate-original",
        "d-1",
        _snap(
            succeeded,
            original=_env("original", 0, 4, state="terminated"),
            replacement=_env("replacement", 4, 4),
        ),
    )
    assert got.state == "observed" and got.words.startswith("originals terminated")


def test_deploy_is_seen_at_ready_and_fails_with_its_rollback() -> None:
    ready = _dep(status="Ready", phase="ready", waiting_for="reroute-approval")
    assert effect("deploy", "d-1", _snap(ready)).state == "observed"
    rolled = _dep(status="Failed", phase="failed", error_code="ALARM_ACTIVE", rolled_back_by="d-2")
    got = effect("deploy", "d-1", _snap(rolled))
    assert (got.state, got.watch) == ("failed", "d-2")
    assert "ALARM_ACTIVE" in got.words


def test_who_started_a_deployment_from_the_creator_and_the_audit() -> None:
    assert started_by("d-2", "user", None, []) == "a user (CreateDeployment)"
    mine = {
        "outcome": "done",
        "action": "deploy",
        "deployment_id": "d-2",
        "caller": "arn:aws:iam::1:user/alice",
        "server_time": "2026-01-01T14:02:11+00:00",
    }
    assert started_by("d-2", "user", None, [mine]) == (
        "this machine (cutover deploy, alice, 14:02:11Z)"
    )
    asked = {**mine, "action": "rollback", "deployment_id": "d-1"}
    assert started_by("d-3", "codeDeployRollback", "d-1", [asked]) == (
        "CodeDeploy's rollback of d-1, asked for from here (cutover rollback, alice, 14:02:11Z)"
    )
    assert started_by("d-4", "autoscaling", None, []).startswith("Amazon EC2 Auto Scaling")


def test_a_redeploy_rollback_is_back_only_once_it_succeeded() -> None:
    ready = _dep("d-9", status="Ready", phase="ready", waiting_for="reroute-approval")
    ready = replace(ready, creator="user")
    assert effect("rollback", "d-9", _snap(ready)).state == "pending"
    done = replace(ready, status="Succeeded", phase="succeeded", waiting_for=None)
    assert effect("rollback", "d-9", _snap(done)).state == "observed"
