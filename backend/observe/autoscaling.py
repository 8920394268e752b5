"""Auto Scaling reads: the groups' sizes, members, tags (the hooks' records), suspended
processes and load balancer attachments, in one DescribeAutoScalingGroups."""

from __future__ import annotations

from cutover.backend.core.facts import Asg
from cutover.backend.observe.calls import Calls, Parts, pages


def read_asgs(calls: Calls, names: list[str], parts: Parts) -> dict[str, Asg]:
    if not names:
        return {}
    autoscaling = calls.client("autoscaling")

    def read() -> dict[str, Asg]:
        out = {}
        for got in pages(
            autoscaling,
            "describe_auto_scaling_groups",
            AutoScalingGroupNames=names,
            PaginationConfig={"PageSize": 100},
        ):
            for g in got.get("AutoScalingGroups", []):
                out[g["AutoScalingGroupName"]] = Asg(
                    name=g["AutoScalingGroupName"],
                    min_size=g.get("MinSize"),
                    max_size=g.get("MaxSize"),
                    desired=g.get("DesiredCapacity"),
                    members={
                        m["InstanceId"]: m.get("LifecycleState", "") for m in g.get("Instances", [])
                    },
                    tags={t["Key"]: t.get("Value", "") for t in g.get("Tags") or []},
                    suspended=tuple(p["ProcessName"] for p in g.get("SuspendedProcesses") or []),
                    tg_arns=tuple(g.get("TargetGroupARNs") or ()),
                    lb_names=tuple(g.get("LoadBalancerNames") or ()),
                    deleting=g.get("Status") == "Delete in progress",
                )
        return out

    return calls.part(parts, "auto-scaling", "the Auto Scaling groups", read, {})
