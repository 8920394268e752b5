"""A full cutover and a rollback by keypresses alone, against an in-process sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.revision import RevisionScreen
from cutover.tui.screens.shift import ShiftScreen
from textual.widgets import Input

from tests.e2e.conftest import Live, text_of, wait_until

V2 = "s3://web-revisions/web/v2.zip"


def screen_text(live: Live, selector: str) -> str:
    return text_of(live.app.dashboard.query_one(selector))


def healthy_targets(live: Live) -> set[str]:
    elbv2 = live.client("elbv2")
    arn = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"][0]["TargetGroupArn"]
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {h["Target"]["Id"] for h in health if h["TargetHealth"]["State"] == "healthy"}


def notes_of(app: Any) -> list[str]:
    """Every notification the app raises from now on, as 'title: message'."""
    seen: list[str] = []
    notify = app.notify

    def record(message: str, **kwargs: Any) -> None:
        seen.append(f"{kwargs.get('title', '')}: {message}")
        notify(message, **kwargs)

    app.notify = record
    return seen


def test_full_cutover_by_keypresses(live: Live) -> None:
    asyncio.run(_full_cutover(live))


async def _full_cutover(live: Live) -> None:
    app = live.app
    cd = live.client("codedeploy")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        assert "SANDBOX" in screen_text(live, "#header")
        history = app.snapshot.deployment.id  # type: ignore[union-attr]
        notes = notes_of(app)
        originals = {i.id for i in app.snapshot.original.instances}  # type: ignore[union-attr]
        assert len(originals) == 4

        # d: asks for the revision (pre-filled with the group's), then shows the plan.
        await pilot.press("d")
        assert isinstance(app.screen, RevisionScreen)
        assert app.screen.query_one(Input).value.endswith("v1.zip")
        await pilot.press("ctrl+u", *V2, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        plan = text_of(app.screen.query_one("#plan"))
        assert "codedeploy:CreateDeployment" in plan and "v2.zip" in plan
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: (
                app.snapshot.deployment.id != history  # type: ignore[union-attr]
                and "InProgress" in screen_text(live, "#header")
            ),
            what="the new deployment on screen",
        )
        # d does not pin: the new deployment is simply the group's current one.
        assert app.deployment_id is None and "pinned" not in screen_text(live, "#header")
        dep_id = app.snapshot.deployment.id  # type: ignore[union-attr]
        assert any("started by this machine (cutover deploy" in n for n in notes)
        assert cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"] in (
            "Created",
            "InProgress",
        )
        assert "v1 -> v2" in screen_text(live, "#header")

        # Ready: the banner asks for approval with a countdown; r + y approves.
        await wait_until(
            pilot, lambda: "Ready" in screen_text(live, "#header"), what="Ready on screen"
        )
        assert "press r to approve" in screen_text(live, "#banner")
        assert "left" in screen_text(live, "#lifecycle")
        assert cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"] == "Ready"
        await wait_until(
            pilot, lambda: app.snapshot.action("approve").passed, what="approve allowed"
        )
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        assert "ContinueDeployment" in text_of(app.screen.query_one("#plan"))
        await pilot.press("y")

        # Traffic moves to the replacement; the termination wait starts.
        await wait_until(
            pilot,
            lambda: "termination-wait" in screen_text(live, "#header"),
            what="the termination wait",
        )
        replacements = {i.id for i in app.snapshot.replacement.instances}  # type: ignore[union-attr]
        assert healthy_targets(live) == replacements
        assert "100% replacement" in screen_text(live, "#traffic")
        assert "Originals terminate" in screen_text(live, "#banner")
        # Done means done: the reroute is said once it is seen, not when AWS answered.
        await wait_until(
            pilot,
            lambda: (
                "approve: done, seen: traffic on the replacement: 4/4 healthy in web-tg" in notes
            ),
            what="the reroute seen",
        )

        # t needs the deployment id's last four characters typed.
        await pilot.press("t")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y", "enter")
        assert isinstance(app.screen, ConfirmScreen), "y alone must not terminate"
        await pilot.press(*dep_id[-4:], "enter")
        await wait_until(
            pilot, lambda: "Succeeded" in screen_text(live, "#header"), what="Succeeded"
        )
        assert cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"] == "Succeeded"
        ec2 = live.client("ec2")
        states = {
            i["InstanceId"]: i["State"]["Name"]
            for r in ec2.describe_instances(InstanceIds=sorted(originals))["Reservations"]
            for i in r["Instances"]
        }
        assert set(states.values()) <= {"shutting-down", "terminated"}, states
        try:
            await wait_until(
                pilot,
                lambda: any(
                    n.startswith("terminate-original: done, seen: originals") for n in notes
                ),
                what="the originals' end seen",
            )
        except AssertionError:
            raise AssertionError(f"{app.effect_line}; {notes}") from None
    outcomes = [(r["action"], r["outcome"]) for r in live.audit.records()]
    assert outcomes == [
        ("deploy", "intent"),
        ("deploy", "done"),
        ("approve", "intent"),
        ("approve", "done"),
        ("terminate-original", "intent"),
        ("terminate-original", "done"),
    ]


def test_rollback_by_keypresses(live: Live) -> None:
    asyncio.run(_rollback(live))


async def _rollback(live: Live) -> None:
    app = live.app
    cd = live.client("codedeploy")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        originals = {i.id for i in app.snapshot.original.instances}  # type: ignore[union-attr]
        dep_id = cd.create_deployment(
            applicationName="web",
            deploymentGroupName="web-prod",
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
            },
        )["deploymentId"]
        await wait_until(
            pilot, lambda: "Ready" in screen_text(live, "#header"), what="Ready on screen"
        )
        # m is dimmed while CodeDeploy owns the traffic, and says why.
        assert app.dashboard.check_action("shift", ()) is None
        assert "CodeDeploy owns the traffic" in app.snapshot.action("shift").reason
        await pilot.press("m")
        assert not isinstance(app.screen, ShiftScreen)
        await pilot.press("b")
        assert isinstance(app.screen, ConfirmScreen)
        assert "StopDeployment" in text_of(app.screen.query_one("#plan"))
        # Escape cancels, and the cancellation is audited.
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("b")
        await pilot.press(*dep_id[-4:], "enter")
        await wait_until(
            pilot,
            lambda: cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"] == "Stopped",
            what="the deployment stopped",
        )
        await wait_until(
            pilot,
            lambda: f"rollback of {dep_id}" in screen_text(live, "#header"),
            what="the rollback on screen",
        )
        await wait_until(
            pilot, lambda: healthy_targets(live) == originals, what="originals serving"
        )
        await wait_until(
            pilot,
            lambda: "Rolled back" in screen_text(live, "#banner"),
            what="the banner saying why",
        )
        assert dep_id in screen_text(live, "#banner")
    outcomes = [(r["action"], r["outcome"]) for r in live.audit.records()]
    assert outcomes == [("rollback", "cancelled"), ("rollback", "intent"), ("rollback", "done")]


def test_stop_then_manual_reroute_by_keypresses(live: Live) -> None:
    asyncio.run(_stop_and_move(live))


async def _stop_and_move(live: Live) -> None:
    app = live.app
    cd = live.client("codedeploy")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.snapshot is not None, what="the first snapshot")
        dep_id = cd.create_deployment(
            applicationName="web",
            deploymentGroupName="web-prod",
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
            },
        )["deploymentId"]
        await wait_until(
            pilot, lambda: "Ready" in screen_text(live, "#header"), what="Ready on screen"
        )
        await pilot.press("s")
        assert "autoRollbackEnabled=false" in text_of(app.screen.query_one("#plan"))
        await pilot.press("y")
        await wait_until(pilot, lambda: "Stopped" in screen_text(live, "#header"), what="Stopped")
        assert cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["status"] == "Stopped"
        await wait_until(
            pilot, lambda: app.snapshot.action("shift").passed, what="manual reroute allowed"
        )
        replacements = {i.id for i in app.snapshot.replacement.instances}  # type: ignore[union-attr]
        # m: without weighted listeners only moves are offered; the first registers the
        # replacement, and needs the deployment id's end typed.
        await pilot.press("m")
        assert isinstance(app.screen, ShiftScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "elbv2:RegisterTargets" in text_of(app.screen.query_one("#plan"))
        await pilot.press(*dep_id[-4:], "enter")
        await wait_until(
            pilot,
            lambda: replacements <= healthy_targets(live),
            what="the replacement registered and healthy",
        )
    outcomes = [(r["action"], r["outcome"]) for r in live.audit.records()]
    assert outcomes == [
        ("stop", "intent"),
        ("stop", "done"),
        ("shift", "intent"),
        ("shift", "done"),
    ]
