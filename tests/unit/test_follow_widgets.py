"""The banner while pinned, and the lifecycle line of a stopped deployment, from snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cutover.backend.model import (
    Deployment,
    DeploymentSummary,
    Environment,
    Instance,
    LifecycleEvent,
    Snapshot,
)
from cutover.tui.widgets.banner import banner_text
from cutover.tui.widgets.lifecycle import _blue_green_steps, _in_place_steps, reached

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _snap(dep: Deployment, **kw: object) -> Snapshot:
    return Snapshot(
        target="t",
        server_time=NOW,
        application="web",
        deployment_group="web-prod",
        deployment=dep,
        **kw,  # type: ignore[arg-type]
    )


DONE = Deployment(
    id="d-OLD",
    status="Succeeded",
    phase="succeeded",
    application="web",
    deployment_group="web-prod",
    style="BLUE_GREEN",
    traffic_control=True,
)


def test_pinned_the_banner_says_the_group_has_a_deployment_waiting_in_ready() -> None:
    other = DeploymentSummary(
        id="d-NEW",
        status="Ready",
        revision="v2",
        creator="user",
        create_time=NOW,
        complete_time=None,
        deadline=NOW + timedelta(minutes=58, seconds=10),
        ready_action="STOP_DEPLOYMENT",
    )
    snap = _snap(DONE, group_deployment=other)
    kind, text = banner_text(snap, NOW, pinned="d-OLD")  # type: ignore[misc]
    assert kind == "waiting"
    assert str(text) == (
        "d-NEW is Ready in this group: 58m 10s left (then it STOPS) (g: follow the group)"
    )
    # Following, the group's current deployment is the one on screen: nothing to say.
    assert banner_text(snap, NOW) is None
    rolled = replace(other, status="InProgress", creator="codeDeployRollback", deadline=None)
    kind, text = banner_text(_snap(DONE, group_deployment=rolled), NOW, pinned="d-OLD")  # type: ignore[misc]
    assert kind == "info" and "started by CodeDeploy's rollback" in str(text)


def _inst(id: str, *events: tuple[str, str]) -> Instance:
    return Instance(id=id, events=tuple(LifecycleEvent(n, s) for n, s in events))


def test_a_stopped_deployment_keeps_what_finished_and_marks_where_it_stopped() -> None:
    stopped = replace(DONE, status="Stopped", phase="stopped")
    repl = Environment(
        role="replacement",
        instances=(
            _inst("i-1", ("ValidateService", "Succeeded"), ("AllowTraffic", "Skipped")),
            _inst("i-2", ("ValidateService", "Succeeded"), ("AllowTraffic", "Skipped")),
        ),
    )
    snap = _snap(stopped, replacement=repl)
    assert reached(snap) == 2
    steps = str(_blue_green_steps("stopped", stopped_at=reached(snap)))
    assert steps.startswith("✓ provision → ✓ install → ✗ ready for reroute → reroute")
    assert steps.endswith("STOPPED")


def test_a_failed_in_place_deployment_shows_the_instance_where_it_stopped() -> None:
    failed = replace(DONE, status="Failed", phase="failed", style="IN_PLACE")
    fleet = Environment(
        role="fleet",
        instances=(
            _inst("i-1", ("BeforeInstall", "Succeeded"), ("AfterInstall", "Failed")),
            _inst("i-2", ("BeforeInstall", "Succeeded"), ("AfterInstall", "Succeeded")),
        ),
    )
    line = str(_in_place_steps(_snap(failed, fleet=fleet), 120))
    assert "FAILED" in line and "i-1: ✓ before install ✗ after install" in line
