"""Blue/green capacity no deployment owns, as a person sees it: the replacement fleet a stop
without rollback leaves running, in `cutover status` (text and JSON) and the dashboard's
panel, removed with `cutover cleanup` and with `c` and the typed confirmation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from cutover.sandbox.testing import aws_client, wait_for
from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.widgets.leftovers import LeftoversPanel

from tests.e2e.conftest import Live, text_of, wait_until
from tests.e2e.sandbox_process import cutover, sandbox_process

WHERE = ["--application", "web", "--deployment-group", "web-prod"]
V2 = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}


def stop_at_ready(cd: Any) -> str:
    did = cd.create_deployment(applicationName="web", deploymentGroupName="web-prod", revision=V2)[
        "deploymentId"
    ]
    wait_for(
        lambda: cd.get_deployment(deploymentId=did)["deploymentInfo"]["status"] == "Ready",
        60,
        "the deployment to be Ready",
    )
    cd.stop_deployment(deploymentId=did, autoRollbackEnabled=False)
    return did


def groups(asc: Any) -> set[str]:
    return {
        g["AutoScalingGroupName"] for g in asc.describe_auto_scaling_groups()["AutoScalingGroups"]
    }


def test_the_left_fleet_from_the_command_line(tmp_path: Path) -> None:
    with sandbox_process(tmp_path, "--time-scale", "100") as (env, _):
        did = stop_at_ready(aws_client(env, "codedeploy"))
        copy = f"CodeDeploy_web-prod_{did}"

        def doc() -> dict:
            res = cutover(env, "status", *WHERE, "--json")
            assert res.returncode == 0, res.stderr
            return json.loads(res.stdout)

        got = wait_for(lambda: (d := doc())["unowned"] and d, 30, "the left fleet in status")
        assert [(u["kind"], u["resource"]) for u in got["unowned"]] == [("replacement-fleet", copy)]
        assert len(got["unowned"][0]["instance_ids"]) == 4
        assert got["actions"]["cleanup"]["allowed"]
        text = cutover(env, "status", *WHERE).stdout
        assert f"replacement-fleet {copy}: 4 instance(s)" in text, text
        assert "`cutover cleanup`" in text

        res = cutover(env, "cleanup", *WHERE, "--yes")
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"call: autoscaling:DeleteAutoScalingGroup AutoScalingGroupName={copy}" in res.stdout
        assert "done" in res.stdout
        asc = aws_client(env, "autoscaling")
        wait_for(lambda: copy not in groups(asc), 30, "the left group deleted")
        assert doc()["unowned"] == []
        res = cutover(env, "cleanup", *WHERE, "--yes")
        assert res.returncode == 1 and "no replacement fleet left" in res.stderr, res.stderr


def test_the_left_fleet_on_the_dashboard_and_its_cleanup_by_keypress(live: Live) -> None:
    cd, asc = live.client("codedeploy"), live.client("autoscaling")

    async def run() -> None:
        app = live.app
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.dashboard.query_one(LeftoversPanel)
            await wait_until(pilot, lambda: app.snapshot is not None, what="a snapshot")
            assert not panel.display
            assert app.dashboard.check_action("cleanup", ()) is False
            did = await asyncio.to_thread(stop_at_ready, cd)
            copy = f"CodeDeploy_web-prod_{did}"
            await wait_until(pilot, lambda: panel.display and panel.count == 1, what="the panel")
            assert panel.border_title == "Unowned capacity"
            shown = text_of(panel.query_one(".leftovers-list"))
            assert "replacement-fleet" in shown and copy in shown
            assert "c removes" in text_of(panel.query_one(".leftovers-summary"))
            await pilot.press("c")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
            plan = text_of(app.screen.query_one("#plan"))
            assert "autoscaling:DeleteAutoScalingGroup" in plan and copy in plan
            await pilot.press(*did[-4:], "enter")
            await wait_until(pilot, lambda: not panel.display, what="the panel gone", timeout=60)
            assert (
                copy not in groups(asc)
                or asc.describe_auto_scaling_groups(AutoScalingGroupNames=[copy])[
                    "AutoScalingGroups"
                ][0].get("Status")
                == "Delete in progress"
            )
            assert [(r["action"], r["outcome"]) for r in live.audit.records()] == [
                ("cleanup", "intent"),
                ("cleanup", "done"),
            ]

    asyncio.run(run())
