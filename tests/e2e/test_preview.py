"""Preview before approval, as a person sees it: at Ready, `p` registers the replacements in
the preview target group behind the test listener; the dashboard shows their health there;
one failing the load balancer's health check only on the preview path blocks the approval
with ELB's reason; approve takes them out of the preview in the same plan; the audit log
holds it all. And `cutover preview` from the command line, with the config key it needs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from cutover.sandbox.testing import aws_client, wait_for
from cutover.tui.screens.confirm import ConfirmScreen
from cutover.tui.widgets.preview import PreviewPanel

from tests.e2e.conftest import Live, text_of, wait_until
from tests.e2e.sandbox_process import audit, cutover, sandbox_process

TG = "web-preview-tg"


def to_ready(cd: Any) -> str:
    did = cd.create_deployment(applicationName="web", deploymentGroupName="web-prod")[
        "deploymentId"
    ]
    wait_for(
        lambda: cd.get_deployment(deploymentId=did)["deploymentInfo"]["status"] == "Ready",
        60,
        "the deployment to be Ready",
    )
    return did


def preview_targets(elb2: Any) -> dict[str, str]:
    arn = elb2.describe_target_groups(Names=[TG])["TargetGroups"][0]["TargetGroupArn"]
    got = elb2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in got}


@pytest.mark.scenario("preview", "web", "web-prod")
@pytest.mark.preview(TG)
def test_preview_shows_health_blocks_on_a_failing_one_and_ends_with_the_approval(
    live: Live,
) -> None:
    cd, elb2 = live.client("codedeploy"), live.client("elbv2")

    async def run() -> None:
        app = live.app
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.dashboard.query_one(PreviewPanel)
            did = await asyncio.to_thread(to_ready, cd)
            await wait_until(
                pilot,
                lambda: app.snapshot is not None and app.snapshot.action("preview").passed,
                what="the preview offered at Ready",
            )
            assert panel.display and "p: register the replacements" in text_of(panel)
            assert "not previewed" in app.snapshot.gates[0].reason  # type: ignore[union-attr]
            await pilot.press("p")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
            plan = text_of(app.screen.query_one("#plan"))
            assert "elbv2:RegisterTargets" in plan and TG in plan
            await pilot.press("y")

            ids = sorted(i.id for i in app.snapshot.replacement.instances)  # type: ignore[union-attr]
            await wait_until(
                pilot,
                lambda: text_of(panel).count("healthy") == len(ids),
                what="both replacements healthy in the preview",
            )
            shown = text_of(panel)
            assert all(i in shown for i in ids) and "web-alb:" in shown and "curl http://" in shown
            assert sorted(preview_targets(elb2)) == ids
            gate = app.snapshot.gates[0]  # type: ignore[union-attr]
            assert gate.passed and f"healthy in preview {TG}" in gate.reason

            # One replacement fails only the preview's health check: the approval is blocked
            # with the load balancer's own reason.
            live.sandbox.faults.set_instance(ids[0], unhealthy_path="/preview/health")
            await wait_until(
                pilot,
                lambda: not app.snapshot.action("approve").passed,  # type: ignore[union-attr]
                what="the gate blocking",
            )
            reason = app.snapshot.action("approve").reason  # type: ignore[union-attr]
            assert f"{ids[0]} is unhealthy in preview {TG}" in reason
            assert "Target.ResponseCodeMismatch" in reason
            assert "unhealthy" in text_of(panel)

            live.sandbox.faults.clear(ids[0])
            await wait_until(
                pilot,
                lambda: app.snapshot.action("approve").passed,  # type: ignore[union-attr]
                what="the gate passing again",
            )
            await pilot.press("r")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
            plan = text_of(app.screen.query_one("#plan"))
            assert "codedeploy:ContinueDeployment" in plan and "elbv2:DeregisterTargets" in plan
            await pilot.press("y")
            await wait_until(
                pilot,
                lambda: (
                    not preview_targets(elb2) or set(preview_targets(elb2).values()) == {"draining"}
                ),
                what="the preview registrations removed",
            )
            assert cd.get_deployment(deploymentId=did)["deploymentInfo"]["status"] != "Ready"

            records = list(live.audit.records())
            assert [(r["action"], r["outcome"]) for r in records] == [
                ("preview", "intent"),
                ("preview", "done"),
                ("approve", "intent"),
                ("approve", "done"),
            ]
            assert any("RegisterTargets" in c for c in records[0]["calls"])
            assert [c.split(" ")[0] for c in records[2]["calls"]] == [
                "codedeploy:ContinueDeployment",
                "elbv2:DeregisterTargets",
            ]

    asyncio.run(run())


def test_cutover_preview_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "config" / "cutover" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "targets:\n  web:\n    application: web\n    deployment_group: web-prod\n"
        "    preview: {target_group: web-preview-tg}\n"
    )
    with sandbox_process(tmp_path, "--scenario", "preview", "--time-scale", "100") as (env, _):
        to_ready(aws_client(env, "codedeploy"))
        res = cutover(env, "preview", "--target", "web", "--yes")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "call: elbv2:RegisterTargets" in res.stdout and "done" in res.stdout

        def doc() -> dict:
            got = cutover(env, "status", "--target", "web", "--json")
            assert got.returncode == 0, got.stderr
            return json.loads(got.stdout)

        got = wait_for(
            lambda: (d := doc())["preview"]["targets"] and d, 30, "the preview in status"
        )
        assert got["preview"]["target_group"] == TG and got["preview"]["listener"]
        assert len(got["preview"]["targets"]) == 2
        again = cutover(env, "preview", "--target", "web", "--yes")
        assert again.returncode == 1 and "already registered" in again.stderr, again.stderr
        assert [(r["action"], r["outcome"]) for r in audit(env)][:2] == [
            ("preview", "intent"),
            ("preview", "done"),
        ]

        config.write_text("targets:\n  web:\n    application: web\n    preview: {target_grup: x}\n")
        bad = cutover(env, "status", "--target", "web")
        assert bad.returncode == 2
        assert bad.stderr.strip().count("\n") == 0, bad.stderr
        assert f"{config}:4:" in bad.stderr and "target_grup" in bad.stderr
