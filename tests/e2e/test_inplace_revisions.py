"""In place, what each instance runs, as a person sees it: after a stop mid-deployment some
instances run the new revision and some the old, and the fleet table, its summary, the
serving line and `cutover status` say so plainly (not "every instance in service" alone)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cutover.sandbox.testing import aws_client, control, wait_for
from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.screens.revision import RevisionScreen
from textual.widgets import Input

from tests.e2e.conftest import Live, text_of, wait_until
from tests.e2e.sandbox_process import cutover, sandbox_process

WHERE = ["--application", "web", "--deployment-group", "web-inplace"]


def stop_halfway(cd: Any) -> dict[str, str]:
    """Deploy v3 one instance at a time, stop it (no rollback) once two have it; what each
    instance runs then, by CodeDeploy's Install event: instance id -> v3 or v1."""
    group = cd.get_deployment_group(applicationName="web", deploymentGroupName="web-inplace")
    revision = group["deploymentGroupInfo"]["targetRevision"]
    s3 = dict(revision["s3Location"], key=revision["s3Location"]["key"].replace("v1", "v3"))
    did = cd.create_deployment(
        applicationName="web",
        deploymentGroupName="web-inplace",
        revision={"revisionType": "S3", "s3Location": s3},
    )["deploymentId"]

    def overview() -> dict:
        return cd.get_deployment(deploymentId=did)["deploymentInfo"]

    wait_for(lambda: overview()["deploymentOverview"]["Succeeded"] >= 2, 120, "two instances on v3")
    cd.stop_deployment(deploymentId=did, autoRollbackEnabled=False)
    wait_for(lambda: overview()["status"] == "Stopped", 120, "the deployment stopped")
    runs = {}
    for iid in cd.list_deployment_targets(deploymentId=did)["targetIds"]:
        t = cd.get_deployment_target(deploymentId=did, targetId=iid)["deploymentTarget"]
        events = {
            e["lifecycleEventName"]: e["status"] for e in t["instanceTarget"]["lifecycleEvents"]
        }
        runs[iid] = "v3" if events.get("Install") == "Succeeded" else "v1"
    assert set(runs.values()) == {"v1", "v3"}, runs
    return runs


def mix(runs: dict[str, str]) -> str:
    counts = sorted(
        ((list(runs.values()).count(v), v) for v in set(runs.values())), key=lambda c: (-c[0], c[1])
    )
    return "mixed: " + ", ".join(f"{n} on {v}" for n, v in counts)


@pytest.mark.time_scale(100)
@pytest.mark.scenario("inplace", "web", "web-inplace")
def test_the_fleet_says_which_instances_run_which_revision_after_a_stop(live: Live) -> None:
    cd = live.client("codedeploy")

    async def run() -> None:
        app = live.app
        async with app.run_test(size=(120, 40)) as pilot:
            runs = await asyncio.to_thread(stop_halfway, cd)
            dash = app.dashboard
            summary = dash.query_one("#fleet .env-summary")
            await wait_until(
                pilot, lambda: mix(runs) in text_of(summary), what="the mixed revisions", timeout=60
            )
            table = dash.query_one("#fleet").table
            for iid, rev in runs.items():
                row = table.get_row(iid)  # instance, health, status, revision, event, az
                assert row[3] == rev, (iid, row)
            assert "revision" in table.shown_text()[0]
            serving = text_of(dash.query_one("#traffic"))
            assert f"revisions {mix(runs)}" in serving, serving
            # `d` offers the revision that last succeeded, not the stopped deployment's v3.
            assert app.snapshot is not None and app.snapshot.target_revision.endswith("v3.zip")
            await wait_until(
                pilot,
                lambda: app.snapshot is not None and app.snapshot.action("deploy").passed,
                what="the stop seen",
            )
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, RevisionScreen), what="ask")
            assert app.screen.query_one(Input).value.endswith("v1.zip")
            await pilot.press("escape")

    asyncio.run(run())


def test_status_says_which_instances_run_which_revision_after_a_stop(tmp_path: Path) -> None:
    with sandbox_process(tmp_path, "--scenario", "inplace", "--time-scale", "100") as (env, _):
        runs = stop_halfway(aws_client(env, "codedeploy"))
        res = cutover(env, "status", *WHERE)
        assert res.returncode == 0, res.stderr
        assert f"revisions {mix(runs)}" in res.stdout, res.stdout
        lines = res.stdout.splitlines()
        for iid, rev in runs.items():
            line = next(line for line in lines if line.strip().startswith(iid))
            assert f" {rev} " in line, line


@pytest.mark.time_scale(100)
@pytest.mark.scenario("inplace", "web", "web-inplace")
def test_the_deploy_plan_warns_about_an_instance_already_unhealthy(live: Live) -> None:
    asc = live.client("autoscaling")
    group = asc.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])
    sick = sorted(i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"])[0]
    control(live.sandbox).set_instance_fault(sick, unhealthy=True)

    async def run() -> None:
        app = live.app
        async with app.run_test(size=(120, 40)) as pilot:

            def unhealthy() -> bool:
                snap = app.snapshot
                return snap is not None and any(
                    i.id == sick and i.health and i.health[0].state == "unhealthy"
                    for i in snap.fleet.instances
                )

            await wait_until(pilot, unhealthy, what="the instance unhealthy", timeout=60)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, RevisionScreen), what="ask")
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
            plan = text_of(app.screen.query_one("#plan"))
            assert f"WARNING: {sick} is already unhealthy in web-tg" in plan, plan
            await pilot.press("escape")

    asyncio.run(run())
