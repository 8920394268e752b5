"""In-place deployments whose hooks are `cutover hook` (examples/in-place), end to end.

`cutover sandbox --scenario hooks --load` plays the CodeDeploy agent: each lifecycle hook of the
example revision runs as a real process, reaches the sandbox through AWS_ENDPOINT_URL and finds
its instance through the per-instance metadata endpoint. All three ways an instance can sit
behind a load balancer are deployed at once, one instance at a time, under load: the load
generator must count no failed request. Then a hook fails midway; the leftovers check must list
exactly what it left, and the repair action must put all of it back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cutover.sandbox.testing import aws_client, control

from tests.e2e.sandbox_process import cutover, sandbox_process

GROUPS = ("web-hooks", "api-hooks", "legacy-hooks")
LISTENERS = {"web-hooks": "web-alb", "api-hooks": "api-alb", "legacy-hooks": "legacy-elb"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("hooks")
    flags = ("--scenario", "hooks", "--time-scale", "50", "--load", "30")
    with sandbox_process(state, *flags) as (environ, _):
        yield environ


def deploy(env: dict[str, str], group: str, version: str, **extra: Any) -> str:
    return aws_client(env, "codedeploy").create_deployment(
        applicationName="shop",
        deploymentGroupName=group,
        revision={
            "revisionType": "S3",
            "s3Location": {
                "bucket": "shop-revisions",
                "key": f"shop/{version}.zip",
                "bundleType": "zip",
            },
        },
        **extra,
    )["deploymentId"]


def wait_done(env: dict[str, str], ids: list[str], timeout: float = 240) -> dict[str, dict]:
    cd = aws_client(env, "codedeploy")
    deadline = time.monotonic() + timeout
    while True:
        infos = cd.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
        if all(i["status"] in ("Succeeded", "Failed", "Stopped") for i in infos):
            return {i["deploymentId"]: i for i in infos}
        assert time.monotonic() < deadline, [(i["deploymentId"], i["status"]) for i in infos]
        time.sleep(0.5)


def listener_stats(env: dict[str, str]) -> dict[str, dict]:
    stats = control(env).load()
    return {key.split(":")[0]: value for key, value in stats["listeners"].items()}


def script_logs(env: dict[str, str], deployment_id: str) -> dict[str, dict[str, str]]:
    """instance id -> lifecycle event -> the agent's log tail."""
    cd = aws_client(env, "codedeploy")
    ids = cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"]
    out: dict[str, dict[str, str]] = {}
    for target in cd.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=ids)[
        "deploymentTargets"
    ]:
        inst = target["instanceTarget"]
        out[inst["targetId"]] = {
            ev["lifecycleEventName"]: (ev.get("diagnostics") or {}).get("logTail", "")
            for ev in inst["lifecycleEvents"]
        }
    return out


def test_one_at_a_time_on_every_path_loses_no_request(env: dict[str, str]) -> None:
    before = listener_stats(env)
    ids = [deploy(env, group, "v2") for group in GROUPS]
    infos = wait_done(env, ids)
    for info in infos.values():
        assert info["status"] == "Succeeded", (
            info["deploymentGroupName"],
            info.get("errorInformation"),
        )
    after = listener_stats(env)
    for group, lb in LISTENERS.items():
        sent = after[lb]["sent"] - before[lb]["sent"]
        errors = after[lb]["errors"] - before[lb]["errors"]
        assert sent > 100, (group, sent)
        assert errors == 0, (group, after[lb]["error_kinds"])

    summary = control(env).summary()
    assert {i["revision"] for i in summary["instances"]} == {"v2"}
    asg = next(a for a in summary["auto_scaling_groups"] if a["name"] == "web-asg")
    assert (asg["min"], asg["desired"], asg["suspended"]) == (4, 4, [])
    assert set(asg["instances"].values()) == {"InService"}

    ec2 = aws_client(env, "ec2")
    tags: dict[str, dict[str, str]] = {}
    for res in ec2.describe_instances()["Reservations"]:
        for inst in res["Instances"]:
            tags[inst["InstanceId"]] = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
    assert all("cutover:hook:out" not in t for t in tags.values())
    homes = {t.get("cutover:hook:home") for t in tags.values()}
    assert any(h and h.startswith("asg/web-asg") for h in homes)
    assert any(h and "tg/api-tg/" in h for h in homes)
    assert any(h and "elb/legacy-elb" in h for h in homes)
    group_tags = aws_client(env, "autoscaling").describe_tags()["Tags"]
    assert not [t for t in group_tags if t["Key"].startswith("cutover:hook:")]


def test_a_hook_failure_midway_leaves_leftovers_that_repair_puts_back(env: dict[str, str]) -> None:
    asg = aws_client(env, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-asg"]
    )["AutoScalingGroups"][0]
    members = [i["InstanceId"] for i in asg["Instances"]]
    api = [
        i["InstanceId"]
        for r in aws_client(env, "ec2").describe_instances(
            Filters=[{"Name": "tag:app", "Values": ["api"]}]
        )["Reservations"]
        for i in r["Instances"]
    ]
    # A script fails on one instance of each group between the hooks (AfterInstall), after
    # the deregister hook took the instance out and before register would put it back. No
    # rollback: what the deregister hook changed stays as it is.
    victims = {"web-hooks": members[1], "api-hooks": api[1]}
    for iid in victims.values():
        control(env).set_deployment_fault(fail_hook="AfterInstall", instance_id=iid)
    no_rollback = {"autoRollbackConfiguration": {"enabled": False}}
    ids = {g: deploy(env, g, "v3", **no_rollback) for g in victims}
    infos = wait_done(env, list(ids.values()))
    for group, dep_id in ids.items():
        assert infos[dep_id]["status"] == "Failed", group
        events = script_logs(env, dep_id)[victims[group]]
        assert "AfterInstall" in events

    where = ["--application", "shop", "--deployment-group", "web-hooks"]
    res = cutover(env, "status", *where, "--json")
    assert res.returncode == 0, res.stderr
    leftovers = json.loads(res.stdout)["leftovers"]
    kinds = sorted((x["kind"], x["resource"]) for x in leftovers)
    assert kinds == [
        ("min-size", "web-asg"),
        ("standby", victims["web-hooks"]),
        ("suspended", "web-asg"),
    ], leftovers

    where_api = ["--application", "shop", "--deployment-group", "api-hooks"]
    res = cutover(env, "status", *where_api, "--json")
    leftovers = json.loads(res.stdout)["leftovers"]
    assert [(x["kind"], x["resource"]) for x in leftovers] == [
        ("out-of-service", victims["api-hooks"])
    ], leftovers

    for flags in (where, where_api):
        res = cutover(env, "repair", *flags, "--yes")
        assert res.returncode == 0, res.stderr

    # Back in service: in the group and registered everywhere. The victims' applications
    # stopped at ApplicationStop, so they answer health checks only after a deployment runs.
    def registered(doc: dict) -> bool:
        return all(
            i["health"]
            and all(h["state"] not in ("unused", "draining") for h in i["health"].values())
            and i["asg_lifecycle"] in (None, "InService")
            for i in doc["fleet"]["instances"]
        )

    deadline = time.monotonic() + 60
    while True:
        docs = [json.loads(cutover(env, "status", *f, "--json").stdout) for f in (where, where_api)]
        if all(d["leftovers"] == [] and registered(d) for d in docs):
            break
        assert time.monotonic() < deadline, [
            (i["id"], i["asg_lifecycle"], i["health"])
            for d in docs
            for i in d["fleet"]["instances"]
        ]
        time.sleep(0.5)
    asg = aws_client(env, "autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-asg"]
    )["AutoScalingGroups"][0]
    assert (asg["MinSize"], asg["DesiredCapacity"], asg["SuspendedProcesses"]) == (4, 4, [])
    assert {i["LifecycleState"] for i in asg["Instances"]} == {"InService"}

    # The next deployment goes through on every instance and leaves everything healthy.
    ids = {g: deploy(env, g, "v3") for g in victims}
    infos = wait_done(env, list(ids.values()))
    assert {i["status"] for i in infos.values()} == {"Succeeded"}
    for flags in (where, where_api):
        doc = json.loads(cutover(env, "status", *flags, "--json").stdout)
        assert doc["leftovers"] == []
        assert all(
            i["health"] and all(h["healthy"] for h in i["health"].values())
            for i in doc["fleet"]["instances"]
        ), doc["fleet"]["instances"]
