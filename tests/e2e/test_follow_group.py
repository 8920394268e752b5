"""Follow the group, and done means done, on the dashboard against the sandbox: a rollback
followed to its outcome, a stopped deployment pinned with what it finished, a teammate's
deployment waiting in Ready while pinned, and back to following."""

from __future__ import annotations

import asyncio
from typing import Any

from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.picker import PickerScreen
from textual.widgets import DataTable

from tests.e2e.conftest import Live, text_of, wait_until
from tests.e2e.test_cutover_flow import notes_of

REVISION = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}


def shown(live: Live, selector: str) -> str:
    return text_of(live.app.dashboard.query_one(selector))


async def pick(pilot: Any, app: Any, key: str) -> None:
    """g, then Enter on the picker's row `key` (a deployment id, or "follow")."""
    await pilot.press("g")
    assert isinstance(app.screen, PickerScreen)
    table = app.screen.query_one(DataTable)
    await wait_until(pilot, lambda: table.row_count > 1, what="the picker's rows")
    table.move_cursor(row=table.get_row_index(key))
    await pilot.press("enter")


def test_following_a_rollback_then_pinning_and_a_teammates_deployment(live: Live) -> None:
    asyncio.run(_follow(live))


async def _follow(live: Live) -> None:
    app = live.app
    cd = live.client("codedeploy")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        notes = notes_of(app)
        # A teammate's deployment (boto3, not this app): the dashboard moves to it and says
        # who started it.
        first = cd.create_deployment(
            applicationName="web", deploymentGroupName="web-prod", revision=REVISION
        )["deploymentId"]
        await wait_until(pilot, lambda: "Ready" in shown(live, "#header"), what="Ready")
        assert first in shown(live, "#header")
        assert f"The group moved on: now showing {first}" in "\n".join(notes)
        assert any("started by a user (CreateDeployment)" in n for n in notes)
        # The timeline keeps it after the notification is gone.
        assert any(e.text.startswith(f"now showing {first}") for e in app.events)

        # b: stop and roll back. The screen follows CodeDeploy's rollback deployment to its
        # outcome and says when traffic is back.
        await pilot.press("b")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*first[-4:], "enter")
        try:
            await wait_until(
                pilot,
                lambda: any(n.startswith("rollback: done, seen: rollback d-") for n in notes),
                timeout=90,
                what="the rollback's outcome",
            )
        except AssertionError:
            raise AssertionError(f"{notes}; banner: {shown(live, '#banner')}") from None
        seen = next(n for n in notes if n.startswith("rollback: done, seen"))
        # AWS taking the call is not the rollback done: only what is seen says "done".
        assert any(n.startswith("rollback: accepted by AWS") for n in notes), notes
        assert not any(n.startswith("rollback: done:") for n in notes), notes
        assert "Succeeded: traffic back on the originals: 4/4 healthy in web-tg" in seen
        assert seen.endswith("replacement removed")
        assert any(
            f"CodeDeploy's rollback of {first}, asked for from here (cutover rollback" in n
            for n in notes
        )
        await wait_until(
            pilot, lambda: "ROLLED BACK" in shown(live, "#lifecycle"), what="the rollback line"
        )
        rollback = app.snapshot.deployment.id  # type: ignore[union-attr]
        assert f"Rolled back: {first} by {rollback}" in shown(live, "#banner")
        assert app.deployment_id is None and app.effect_line is None

        # g pins the stopped deployment: the header says pinned, the lifecycle line keeps
        # what finished and marks where it stopped, the banner names the rollback's outcome.
        await pick(pilot, app, first)
        await wait_until(pilot, lambda: f"pinned {first}" in shown(live, "#header"), what="pinned")
        await wait_until(
            pilot, lambda: "Stopped" in shown(live, "#header"), what="the stopped one shown"
        )
        steps = shown(live, "#lifecycle")
        assert "✓ provision → ✓ install → ✗ ready for reroute" in steps, steps
        await wait_until(
            pilot,
            lambda: f"rolled back by {rollback} (Succeeded)" in shown(live, "#banner"),
            what="the rollback's outcome beside the pinned deployment",
        )

        # Pinned, a teammate's deployment waiting in Ready is said, with its clock.
        second = cd.create_deployment(
            applicationName="web", deploymentGroupName="web-prod", revision=REVISION
        )["deploymentId"]
        await wait_until(
            pilot,
            lambda: f"{second} is Ready in this group: " in shown(live, "#banner"),
            timeout=60,
            what="the waiting deployment while pinned",
        )
        assert "left" in shown(live, "#banner") and first in shown(live, "#header")

        # g, "follow the group": back to the group's current deployment.
        await pick(pilot, app, "follow")
        await wait_until(pilot, lambda: second in shown(live, "#header"), what="following again")
        assert "pinned" not in shown(live, "#header") and app.deployment_id is None
