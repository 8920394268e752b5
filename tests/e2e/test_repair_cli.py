"""`cutover repair` and the leftovers in `cutover status`, against `cutover sandbox --scenario
hooks` in a subprocess, as a person at a terminal would run them."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from cutover.sandbox.testing import aws_client, wait_for

from tests.e2e.sandbox_process import cutover, sandbox_process

WHERE = ["--application", "shop", "--deployment-group", "api-hooks"]


def test_repair_from_the_command_line(tmp_path: Path) -> None:
    with sandbox_process(tmp_path, "--scenario", "hooks", "--time-scale", "100") as (env, _):

        def client(service: str):  # type: ignore[no-untyped-def]
            return aws_client(env, service)

        got = client("ec2").describe_instances(Filters=[{"Name": "tag:app", "Values": ["api"]}])
        api = sorted(i["InstanceId"] for r in got["Reservations"] for i in r["Instances"])[0]
        arn = client("elbv2").describe_target_groups(Names=["api-tg"])["TargetGroups"][0][
            "TargetGroupArn"
        ]
        # What `cutover hook deregister` leaves when the deployment fails before register.
        client("ec2").create_tags(
            Resources=[api],
            Tags=[
                {"Key": "cutover:hook:home", "Value": "tg/api-tg/80"},
                {"Key": "cutover:hook:out", "Value": "d-FAILED01 2026-11-26T10:00:00Z -"},
            ],
        )
        client("elbv2").deregister_targets(TargetGroupArn=arn, Targets=[{"Id": api, "Port": 80}])

        res = cutover(env, "status", *WHERE, "--json")
        assert res.returncode == 0, res.stderr
        doc = json.loads(res.stdout)
        assert [(x["kind"], x["resource"]) for x in doc["leftovers"]] == [("out-of-service", api)]
        assert doc["actions"]["repair"]["allowed"]
        res = cutover(env, "status", *WHERE)
        assert f"out-of-service {api}: not registered in target group api-tg port 80" in (
            res.stdout
        ), res.stdout

        res = cutover(env, "repair", *WHERE)
        assert res.returncode == 2 and "--yes" in res.stderr, res.stderr
        res = cutover(env, "repair", *WHERE, "--yes")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "call: elbv2:RegisterTargets" in res.stdout
        assert "call: ec2:DeleteTags" in res.stdout
        assert "done" in res.stdout

        def healthy() -> bool:
            health = client("elbv2").describe_target_health(TargetGroupArn=arn)
            states = {
                d["Target"]["Id"]: d["TargetHealth"]["State"]
                for d in health["TargetHealthDescriptions"]
            }
            return states.get(api) == "healthy"

        wait_for(healthy, 30, f"{api} healthy in api-tg")
        doc = json.loads(cutover(env, "status", *WHERE, "--json").stdout)
        assert doc["leftovers"] == []
        assert not doc["actions"]["repair"]["allowed"]
        res = cutover(env, "repair", *WHERE, "--yes")
        assert res.returncode == 1 and "no leftovers" in res.stderr, res.stderr

        path = Path(env["XDG_STATE_HOME"]) / "cutover" / "audit.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert [(r["action"], r["outcome"]) for r in records] == [
            ("repair", "cancelled"),
            ("repair", "intent"),
            ("repair", "done"),
            ("repair", "refused"),
        ]
        assert any("RegisterTargets" in c for c in records[2]["calls"])


def test_safety_11_cutover_repair_leaves_an_operator_s_min_size_and_says_why(
    tmp_path: Path,
) -> None:
    with sandbox_process(tmp_path, "--scenario", "hooks", "--time-scale", "100") as (env, _):
        asc = boto3.client(
            "autoscaling",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        # An interrupted deployment's record (4, lowered to 3); the operator has set 2 since.
        asc.create_or_update_tags(
            Tags=[
                {
                    "ResourceId": "web-asg",
                    "ResourceType": "auto-scaling-group",
                    "Key": "cutover:hook:min-size",
                    "Value": "4>3",
                    "PropagateAtLaunch": False,
                }
            ]
        )
        asc.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=2)
        web = ["--application", "shop", "--deployment-group", "web-hooks"]
        res = cutover(env, "status", *web)
        assert "min-size web-asg: MinSize 2, not the 3 the hooks set" in res.stdout, res.stdout
        res = cutover(env, "repair", *web, "--yes")
        assert res.returncode == 0, res.stdout + res.stderr
        assert "web-asg: MinSize not changed (MinSize 2, not the 3 the hooks set" in res.stdout
        assert "UpdateAutoScalingGroup" not in res.stdout
        assert "call: autoscaling:DeleteTags" in res.stdout
        group = asc.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
            "AutoScalingGroups"
        ][0]
        assert group["MinSize"] == 2
        assert not [t for t in group["Tags"] if t["Key"] == "cutover:hook:min-size"]
