"""The in-place fleet panel, the leftovers panel and the repair key: fed snapshots, and a live
repair by keypresses against the sandbox's `hooks` scenario."""

from __future__ import annotations

import asyncio

import pytest
from cutover.backend.model import (
    Check,
    Deployment,
    Environment,
    Instance,
    Leftover,
    LifecycleEvent,
    Snapshot,
    TargetHealth,
)
from cutover.tui.app import CutoverApp
from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.widgets.leftovers import LeftoversPanel

from tests.e2e.conftest import Live, text_of, wait_until
from tests.e2e.fakes import NOW, TARGET


def in_place(leftovers: tuple[Leftover, ...] | None, active: bool = False) -> Snapshot:
    events = (
        LifecycleEvent("ApplicationStop", "Succeeded"),
        LifecycleEvent("DownloadBundle", "InProgress"),
    )
    fleet = Environment(
        role="fleet",
        instances=(
            Instance(
                "i-0aaa",
                az="eu-west-1a",
                asg_name="web-asg",
                asg_lifecycle="Standby",
                lifecycle_status="InProgress",
                current_event="DownloadBundle",
                events=events,
                health=(TargetHealth("web-tg", "target-group", "unused", "Target.NotRegistered"),),
            ),
            Instance(
                "i-0bbb",
                az="eu-west-1b",
                asg_name="web-asg",
                asg_lifecycle="InService",
                lifecycle_status="Pending",
                health=(TargetHealth("web-tg", "target-group", "healthy", port=80),),
            ),
        ),
        asg_name="web-asg",
        desired=1,
        in_flight=("i-0aaa",) if active else (),
    )
    dep = Deployment(
        id="d-INPLACE01",
        status="InProgress" if active else "Failed",
        phase="installing" if active else "failed",
        application="web",
        deployment_group="web-prod",
        style="IN_PLACE",
        traffic_control=False,
    )
    repair = Check("repair", bool(leftovers), "puts the leftovers right" if leftovers else "no")
    return Snapshot(
        target=TARGET.name,
        server_time=NOW,
        application="web",
        deployment_group="web-prod",
        deployment=dep,
        fleet=fleet,
        style="IN_PLACE",
        actions=(repair,),
        leftovers=leftovers,
        leftovers_note="deployment d-INPLACE01 is running: checked when the deployment ends"
        if leftovers is None
        else None,
        active_deployment=dep.id if active else None,
    )


STANDBY = Leftover(
    "standby",
    "i-0aaa",
    "in Standby in web-asg, taken out by the hooks in deployment d-INPLACE01",
    instance_id="i-0aaa",
    asg_name="web-asg",
    tagged=True,
)


def test_fleet_and_leftovers_panels_from_fed_snapshots() -> None:
    async def run() -> None:
        app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            app.feed(in_place(None, active=True))
            await pilot.pause()
            dash = app.dashboard
            panel = dash.query_one(LeftoversPanel)
            assert panel.display and not dash.query_one("#original").display
            assert "checked when the deployment ends" in text_of(
                panel.query_one(".leftovers-summary")
            )
            table = dash.query_one("#fleet").table
            row = table.get_row("i-0aaa")  # instance, health, status, revision, event, az
            assert row[0] == "▶ i-0aaa"  # the batch in flight
            assert "standby" in row[2] and row[4].startswith("DownloadBundle")
            assert "web-tg" in row[1] and "not registered" in row[1]
            assert "in flight: i-0aaa" in text_of(dash.query_one("#fleet .env-summary"))
            assert dash.check_action("repair", ()) is None  # dimmed, with the reason below
            assert "f: no" in text_of(dash.query_one("#why"))
            # In place: the events of the instance in flight, what serves, and no blue/green keys.
            steps = text_of(dash.query_one("#lifecycle"))
            assert "in place" in steps and "▶ i-0aaa: ✓ stop ▶ download" in steps
            serving = text_of(dash.query_one("#traffic"))
            assert "serving: 1 of 2 instances" in serving and "web-tg" in serving
            for blue_green_only in ("approve", "terminate", "shift"):
                assert dash.check_action(blue_green_only, ()) is False

            # The deployment ends: the leftover shows, by row key; the same row is updated.
            app.feed(in_place((STANDBY,)))
            await pilot.pause()
            assert panel.count == 1
            assert "taken out by the hooks" in text_of(panel.query_one(".leftovers-list"))
            assert dash.check_action("repair", ()) is True
            assert table.get_row("i-0aaa")[0] == "i-0aaa"
            app.feed(in_place(()))
            await pilot.pause()
            assert panel.count == 0
            assert "No leftovers" in text_of(panel.query_one(".leftovers-summary"))

            # Blue/green has no leftovers panel and no repair key.
            from tests.e2e.fakes import snapshot

            app.feed(snapshot("ready"))
            await pilot.pause()
            assert not panel.display
            assert dash.check_action("repair", ()) is False

    asyncio.run(run())


@pytest.mark.time_scale(100)
@pytest.mark.scenario("hooks", "shop", "api-hooks")
def test_repair_by_keypress(live: Live) -> None:
    ec2, elbv2 = live.client("ec2"), live.client("elbv2")
    got = ec2.describe_instances(Filters=[{"Name": "tag:app", "Values": ["api"]}])
    api = sorted(i["InstanceId"] for r in got["Reservations"] for i in r["Instances"])[0]
    arn = elbv2.describe_target_groups(Names=["api-tg"])["TargetGroups"][0]["TargetGroupArn"]
    ec2.create_tags(
        Resources=[api],
        Tags=[
            {"Key": "cutover:hook:home", "Value": "tg/api-tg/80"},
            {"Key": "cutover:hook:out", "Value": "d-FAILED01 2026-11-26T10:00:00Z ApplicationStop"},
        ],
    )
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": api, "Port": 80}])

    async def run() -> None:
        app = live.app
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.dashboard.query_one(LeftoversPanel)
            await wait_until(pilot, lambda: panel.count == 1, what="the leftover on screen")
            shown = text_of(panel.query_one(".leftovers-list"))
            # The detail wraps under itself: read it as one line.
            assert api in shown and "api-tg port 80" in " ".join(shown.split())
            await pilot.press("f")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
            plan = text_of(app.screen.query_one("#plan"))
            assert "elbv2:RegisterTargets" in plan and api in plan
            assert "ec2:DeleteTags" in plan
            await pilot.press("y")
            await wait_until(
                pilot,
                lambda: "No leftovers" in text_of(panel.query_one(".leftovers-summary")),
                what="no leftovers after the repair",
            )
            assert [(r["action"], r["outcome"]) for r in live.audit.records()] == [
                ("repair", "intent"),
                ("repair", "done"),
            ]
            health = elbv2.describe_target_health(TargetGroupArn=arn)
            assert api in {d["Target"]["Id"] for d in health["TargetHealthDescriptions"]}

    asyncio.run(run())


OUT = Leftover(
    "out-of-service",
    "i-0df884916e3530534",
    "not registered in target group api-tg port 80, taken out by the hooks in deployment"
    " d-UHMQH31HV (BeforeInstall) and not put back: the deployment failed at AfterInstall",
    instance_id="i-0df884916e3530534",
    tagged=True,
)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
def test_a_leftover_reads_whole_at_every_size(size: tuple[int, int]) -> None:
    """The detail says which deployment took the instance out and from which port: cut at
    the panel's edge it would not."""
    from tests.e2e.test_layout import screen_lines, squeezed

    async def run() -> None:
        app = CutoverApp(TARGET, now=lambda: NOW, poll=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            app.feed(in_place((STANDBY, OUT)))
            await pilot.pause()
            panel = app.dashboard.query_one(LeftoversPanel)
            panel.scroll_visible(animate=False)
            await pilot.pause()
            screen = squeezed("".join(screen_lines(app)))
            for lo in (STANDBY, OUT):
                assert squeezed(lo.resource + lo.detail) in screen, (lo.detail, screen)

    asyncio.run(run())
