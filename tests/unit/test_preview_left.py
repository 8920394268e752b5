"""Preview registrations left after the wait for approval are named by the deployment whose
replacements they are: after a rollback the deployment shown is the rollback, which never
waited for approval."""

from __future__ import annotations

from cutover.backend.core.unowned import preview_left
from cutover.backend.model import Deployment, Preview, TargetHealth

from tests.e2e.fakes import NOW


def _preview() -> Preview:
    health = TargetHealth(
        name="i-r1", kind="target-group", state="healthy", reason=None, description=None, port=80
    )
    return Preview(
        "web-preview-tg", arn="arn:tg", port=80, listener="web-alb:8443", targets=(health,)
    )


def _deployment(dep_id: str, status: str, rollback_of: str | None = None) -> Deployment:
    return Deployment(
        id=dep_id,
        status=status,
        phase="rolling-back" if rollback_of else "stopped",
        application="web",
        deployment_group="web-prod",
        style="BLUE_GREEN",
        traffic_control=True,
        create_time=NOW,
        rollback_of=rollback_of,
    )


def test_after_a_rollback_the_rolled_back_deployment_is_named() -> None:
    (left,) = preview_left(_preview(), _deployment("d-ROLLBACK", "InProgress", "d-ORIGINAL"))
    assert "after d-ORIGINAL left its wait for approval (rolled back by d-ROLLBACK)" in left.detail
    # The plan that removes them is held against the deployment on screen.
    assert left.deployment_id == "d-ROLLBACK"


def test_a_stopped_deployment_is_named_with_its_status() -> None:
    (left,) = preview_left(_preview(), _deployment("d-ONE", "Stopped"))
    assert "after d-ONE left its wait for approval (Stopped)" in left.detail
