"""The leftovers check and the repair action, against the sandbox's `hooks` scenario.

The leftovers are made by hand with the calls a hook failure leaves behind (the tags of the
shared contract included), then the check must list them exactly and the repair must put
every instance back in service and the group's settings back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import Snapshot
from cutover.backend.observe import Observer
from cutover.backend.present.status_json import status_document
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import wait_for

from tests.integration.test_actions_execute import IAM_PREFIX, NO_PERMISSION, allowed

OUT = "d-FAILED01 2026-11-26T10:00:00Z ApplicationStop"
PROCESSES = ["AZRebalance", "AlarmNotification", "ScheduledActions", "ReplaceUnhealthy"]

pytestmark = pytest.mark.sandbox("hooks", time_scale=100)


@dataclass
class Group:
    observer: Observer
    controller: Controller


@dataclass
class World:
    sandbox: Sandbox
    groups: dict[str, Group]
    calls: list[str]
    audit: AuditLog

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.sandbox.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )

    def ids(self, app: str) -> list[str]:
        got = self.client("ec2").describe_instances(Filters=[{"Name": "tag:app", "Values": [app]}])
        return sorted(
            i["InstanceId"]
            for r in got["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] == "running"
        )

    def asg(self) -> dict:
        return self.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=["web-asg"]
        )["AutoScalingGroups"][0]

    def tg_arn(self, name: str) -> str:
        return self.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"][0][
            "TargetGroupArn"
        ]


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sb = sandbox
    calls: list[str] = []
    audit = AuditLog(tmp_path / "audit.jsonl")
    groups = {}
    observers = []
    try:
        for name in ("web-hooks", "api-hooks", "legacy-hooks"):
            target = TargetConfig(
                name=name,
                region="us-east-1",
                endpoint_url=sb.endpoint_url,
                application="shop",
                deployment_group=name,
            )
            session = AwsSession(target)
            session.session = boto3.session.Session(
                aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
            )
            session.create_clients()
            for service in IAM_PREFIX:
                client = session.client(service)

                def record(model: object, service: str = service, **_: object) -> None:
                    calls.append(f"{IAM_PREFIX[service]}:{model.name}")  # type: ignore[attr-defined]

                client.meta.events.register("before-call", record)
            observer = Observer(session, target)
            observers.append(observer)
            groups[name] = Group(observer, Controller(session, target, audit))
        yield World(sb, groups, calls, audit)
    finally:
        for observer in observers:
            observer.close()


def leave_leftovers(w: World) -> dict[str, str]:
    """What failed hooks leave: the web instance in Standby with MinSize lowered and processes
    suspended, an api instance out of api-tg, a legacy instance out of legacy-elb; each with the
    tags the hooks write before acting."""
    ec2, asc = w.client("ec2"), w.client("autoscaling")
    web = sorted(m["InstanceId"] for m in w.asg()["Instances"])[0]
    api, legacy = w.ids("api")[0], w.ids("legacy")[0]
    ec2.create_tags(
        Resources=[web],
        Tags=[
            {"Key": "cutover:hook:home", "Value": "asg/web-asg tg/web-tg/80"},
            {"Key": "cutover:hook:out", "Value": OUT},
        ],
    )
    asc.create_or_update_tags(
        Tags=[
            {
                "ResourceId": "web-asg",
                "ResourceType": "auto-scaling-group",
                "Key": key,
                "Value": value,
                "PropagateAtLaunch": False,
            }
            for key, value in (
                ("cutover:hook:min-size", "4"),
                ("cutover:hook:suspended", ",".join(PROCESSES)),
            )
        ]
    )
    asc.suspend_processes(AutoScalingGroupName="web-asg", ScalingProcesses=PROCESSES)
    asc.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=3)
    asc.enter_standby(
        AutoScalingGroupName="web-asg", InstanceIds=[web], ShouldDecrementDesiredCapacity=True
    )
    ec2.create_tags(
        Resources=[api],
        Tags=[
            {"Key": "cutover:hook:home", "Value": "tg/api-tg/80"},
            {"Key": "cutover:hook:out", "Value": OUT},
        ],
    )
    w.client("elbv2").deregister_targets(
        TargetGroupArn=w.tg_arn("api-tg"), Targets=[{"Id": api, "Port": 80}]
    )
    ec2.create_tags(
        Resources=[legacy],
        Tags=[
            {"Key": "cutover:hook:home", "Value": "elb/legacy-elb"},
            {"Key": "cutover:hook:out", "Value": OUT},
        ],
    )
    w.client("elb").deregister_instances_from_load_balancer(
        LoadBalancerName="legacy-elb", Instances=[{"InstanceId": legacy}]
    )
    wait_for(
        lambda: any(
            m["InstanceId"] == web and m["LifecycleState"] == "Standby"
            for m in w.asg()["Instances"]
        ),
        30,
        "Standby",
    )
    return {"web": web, "api": api, "legacy": legacy}


def kinds(snap: Snapshot) -> list[tuple[str, str]]:
    assert snap.leftovers is not None, snap.leftovers_note
    return sorted((lo.kind, lo.resource) for lo in snap.leftovers)


def test_check_lists_the_leftovers_exactly_and_repair_puts_everything_back(world: World) -> None:
    w = world
    clean = {name: g.observer.snapshot() for name, g in w.groups.items()}
    for name, snap in clean.items():
        assert snap.leftovers == (), (name, snap.leftovers)
        assert not snap.action("repair").passed
    # The hook-managed groups show real health: web-tg through the Auto Scaling group.
    assert all(
        [h.name for h in i.health] == ["web-tg"] and i.health[0].healthy
        for i in clean["web-hooks"].fleet.instances  # type: ignore[union-attr]
    )

    ids = leave_leftovers(w)
    web = w.groups["web-hooks"].observer.snapshot()
    assert kinds(web) == [
        ("min-size", "web-asg"),
        ("standby", ids["web"]),
        ("suspended", "web-asg"),
    ]
    by_kind = {lo.kind: lo for lo in web.leftovers or ()}
    assert by_kind["min-size"].detail == "MinSize 3, was 4 before the hooks lowered it"
    assert "d-FAILED01" in by_kind["standby"].detail
    assert "2026-11-26T10:00:00Z" in by_kind["standby"].detail
    assert by_kind["suspended"].processes == tuple(PROCESSES)
    api = w.groups["api-hooks"].observer.snapshot()
    assert kinds(api) == [("out-of-service", ids["api"])]
    lo = (api.leftovers or ())[0]
    assert (lo.target_group, lo.port) == ("api-tg", 80)
    assert "api-tg port 80" in lo.detail
    legacy = w.groups["legacy-hooks"].observer.snapshot()
    assert kinds(legacy) == [("out-of-service", ids["legacy"])]
    assert (legacy.leftovers or ())[0].classic_lb == "legacy-elb"
    # Health from the home tags: the api and legacy fleets show their load balancers.
    api_health = {i.id: [h.name for h in i.health] for i in api.fleet.instances}  # type: ignore[union-attr]
    assert api_health[ids["api"]] == ["api-tg"]
    doc = status_document(api)
    assert [(x["kind"], x["resource"], x["target_group"], x["port"]) for x in doc["leftovers"]] == [
        ("out-of-service", ids["api"], "api-tg", 80)
    ]

    # Repair, group by group, through the Controller.
    plans = {}
    for name, snap in (("web-hooks", web), ("api-hooks", api), ("legacy-hooks", legacy)):
        g = w.groups[name]
        plan = g.controller.plan("repair", snap)
        assert plan.refused is None, plan.refused
        assert plan.confirm_token == "y"
        plans[name] = plan
        outcome = g.controller.execute(plan, g.observer.snapshot)
        assert outcome.ok, outcome.message
    assert [c.text().split(" ")[0] for c in plans["web-hooks"].calls] == [
        "autoscaling:ExitStandby",
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:ResumeProcesses",
        "autoscaling:DeleteTags",
        "ec2:DeleteTags",
    ]
    assert [c.text().split(" ")[0] for c in plans["api-hooks"].calls] == [
        "elasticloadbalancing:RegisterTargets".replace("elasticloadbalancing", "elbv2"),
        "ec2:DeleteTags",
    ]
    assert plans["api-hooks"].calls[0].params["Targets"] == [{"Id": ids["api"], "Port": 80}]
    assert [c.operation for c in plans["legacy-hooks"].calls] == [
        "register_instances_with_load_balancer",
        "delete_tags",
    ]

    def healthy() -> bool:
        group = w.asg()
        members = {m["InstanceId"]: m["LifecycleState"] for m in group["Instances"]}
        if members.get(ids["web"]) != "InService":
            return False
        for tg in ("web-tg", "api-tg"):
            states = w.client("elbv2").describe_target_health(TargetGroupArn=w.tg_arn(tg))
            if any(
                d["TargetHealth"]["State"] != "healthy" for d in states["TargetHealthDescriptions"]
            ) or len(states["TargetHealthDescriptions"]) != (4 if tg == "web-tg" else 3):
                return False
        clb = w.client("elb").describe_instance_health(LoadBalancerName="legacy-elb")
        return len(clb["InstanceStates"]) == 3 and all(
            s["State"] == "InService" for s in clb["InstanceStates"]
        )

    wait_for(healthy, 30, "every instance back in service and healthy")
    group = w.asg()
    assert group["MinSize"] == 4 and group["DesiredCapacity"] == 4
    assert group["SuspendedProcesses"] == []
    assert not [t for t in group["Tags"] if t["Key"].startswith("cutover:hook:")]
    tags = w.client("ec2").describe_tags(Filters=[{"Name": "key", "Values": ["cutover:hook:out"]}])[
        "Tags"
    ]
    assert tags == []
    for name, g in w.groups.items():
        again = g.observer.snapshot()
        assert again.leftovers == (), (name, again.leftovers)

    records = [(r["action"], r["outcome"]) for r in w.audit.records()]
    assert records == [("repair", "intent"), ("repair", "done")] * 3
    # Every read is in the read-only policy, every call in the operator one.
    planned = {f"{IAM_PREFIX[c.service]}:{c.api_name}" for p in plans.values() for c in p.calls}
    reads = {c for c in w.calls if c not in planned} - NO_PERMISSION
    assert reads <= allowed("iam-policy-readonly.json"), reads - allowed("iam-policy-readonly.json")
    everything = (set(w.calls) | planned) - NO_PERMISSION
    assert everything <= allowed("iam-policy-operator.json"), everything - allowed(
        "iam-policy-operator.json"
    )


def test_repair_is_refused_while_a_deployment_runs_and_when_leftovers_changed(
    world: World,
) -> None:
    w = world
    ids = leave_leftovers(w)
    g = w.groups["api-hooks"]
    snap = g.observer.snapshot()
    assert kinds(snap) == [("out-of-service", ids["api"])]

    # The leftovers change between the plan and the keypress: someone registers it by hand.
    plan = g.controller.plan("repair", snap)
    assert plan.refused is None, plan.refused
    w.client("elbv2").register_targets(
        TargetGroupArn=w.tg_arn("api-tg"), Targets=[{"Id": ids["api"], "Port": 80}]
    )
    outcome = g.controller.execute(plan, g.observer.snapshot)
    assert not outcome.ok
    assert "leftovers changed since the plan was made" in outcome.message
    assert "no longer there" in outcome.message

    # A deployment starts between the plan and the keypress, then one is running.
    web = w.groups["web-hooks"]
    snap = web.observer.snapshot()
    plan = web.controller.plan("repair", snap)
    assert plan.refused is None, plan.refused
    cd = w.client("codedeploy")
    group = cd.get_deployment_group(applicationName="shop", deploymentGroupName="web-hooks")
    dep = cd.create_deployment(
        applicationName="shop",
        deploymentGroupName="web-hooks",
        revision=group["deploymentGroupInfo"]["targetRevision"],
    )["deploymentId"]
    outcome = web.controller.execute(plan, web.observer.snapshot)
    assert not outcome.ok and f"deployment {dep} started" in outcome.message
    running = web.observer.snapshot()
    assert running.leftovers is None
    assert running.leftovers_note and "checked when the deployment ends" in running.leftovers_note
    assert not running.action("repair").passed
    refused = web.controller.plan("repair", running)
    assert refused.refused and dep in refused.refused
    sent = [c for c in w.calls if c.split(":")[1] in ("ExitStandby", "RegisterTargets")]
    assert sent == []
    assert [(r["action"], r["outcome"]) for r in w.audit.records()] == [("repair", "refused")] * 2


@pytest.mark.parametrize("record", ["4>3", "4"])  # "4": the form earlier versions wrote
def test_safety_11_repair_keeps_an_operator_s_min_size_and_deletes_the_stale_record(
    world: World, record: str
) -> None:
    w = world
    ids = leave_leftovers(w)
    asc = w.client("autoscaling")
    asc.create_or_update_tags(
        Tags=[
            {
                "ResourceId": "web-asg",
                "ResourceType": "auto-scaling-group",
                "Key": "cutover:hook:min-size",
                "Value": record,
                "PropagateAtLaunch": False,
            }
        ]
    )
    asc.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=2)  # the operator
    g = w.groups["web-hooks"]
    snap = g.observer.snapshot()
    lo = next(lo for lo in snap.leftovers or () if lo.kind == "min-size")
    assert lo.stale and lo.min_size is None
    assert "MinSize 2, not the 3 the hooks set: changed by someone else" in lo.detail
    plan = g.controller.plan("repair", snap)
    assert plan.refused is None, plan.refused
    assert "autoscaling:UpdateAutoScalingGroup" not in [c.text().split(" ")[0] for c in plan.calls]
    deleted = next(c for c in plan.calls if c.operation == "delete_tags" and c.service != "ec2")
    assert "cutover:hook:min-size" in [t["Key"] for t in deleted.params["Tags"]]
    assert any(
        line.startswith("web-asg: MinSize not changed (MinSize 2, not the 3 the hooks set")
        and line.endswith("only its record cutover:hook:min-size is deleted")
        for line in plan.changes
    ), plan.changes
    outcome = g.controller.execute(plan, g.observer.snapshot)
    assert outcome.ok, outcome.message
    wait_for(
        lambda: ids["web"] in {m["InstanceId"] for m in w.asg()["Instances"]}, 30, "back in service"
    )
    group = w.asg()
    assert group["MinSize"] == 2
    assert "cutover:hook:min-size" not in {t["Key"] for t in group["Tags"]}
    assert (g.observer.snapshot().leftovers or ()) == ()
