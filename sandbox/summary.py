"""A JSON-ready picture of a sandbox's world (`GET /_sandbox`, and what `cutover sandbox`
prints): load balancers with their ports, target groups, Auto Scaling groups, CodeDeploy
applications and instances."""

from __future__ import annotations

from typing import Any, Protocol

from cutover.sandbox.imds import MetadataService
from cutover.sandbox.world import (
    AutoScalingGroup,
    ClassicLoadBalancer,
    Instance,
    LoadBalancer,
    TargetGroup,
    World,
)


class Endpoints(Protocol):
    """Where a running sandbox answers: its AWS endpoint and its instance metadata service."""

    imds: MetadataService

    @property
    def endpoint_url(self) -> str: ...

    @property
    def imds_base_url(self) -> str: ...

    def imds_url(self, instance_id: str) -> str: ...


def summarize(world: World, sandbox: Endpoints | None = None) -> dict:
    """A JSON-ready picture of the world: load balancers with their ports, groups, instances."""
    with world.lock:
        out: dict[str, Any] = {
            "region": world.region,
            "account_id": world.account_id,
            "time_scale": world.clock.time_scale,
            "clock": world.now().isoformat(),
            "load_balancers": [],
            "classic_load_balancers": [],
            "target_groups": [],
            "auto_scaling_groups": [],
            "instances": [],
        }
        if sandbox is not None:
            out["endpoint_url"] = sandbox.endpoint_url
            if sandbox.imds.port:
                out["imds_base_url"] = sandbox.imds_base_url
                out["imds_tokens"] = "required" if sandbox.imds.tokens_required else "optional"
        out["load_balancers"] += [_load_balancer(world, lb) for lb in world.load_balancers.values()]
        out["classic_load_balancers"] += [
            _classic(world, clb) for clb in world.classic_lbs.values()
        ]
        out["target_groups"] += [_target_group(world, tg) for tg in world.target_groups.values()]
        out["auto_scaling_groups"] += [_asg(asg) for asg in world.asgs.values()]
        out["applications"] = _applications(world)
        for inst in world.instances.values():
            out["instances"].append(_instance(inst))
            if sandbox is not None and sandbox.imds.port:
                out["instances"][-1]["metadata_url"] = sandbox.imds_url(inst.id)
        return out


def _load_balancer(world: World, lb: LoadBalancer) -> dict:
    return {
        "name": lb.name,
        "type": lb.type,
        "dns_name": lb.dns_name,
        "listeners": [
            {
                "port": ls.port,
                "protocol": ls.protocol,
                "url": f"http://{lb.dns_name}:{ls.port}/"
                if ls.protocol == "HTTP"
                else f"tcp://127.0.0.1:{ls.port}",
                "forward": [
                    {
                        "target_group": world.target_groups[arn].name
                        if arn in world.target_groups
                        else arn,
                        "weight": weight,
                    }
                    for arn, weight in world.rule_target_groups(ls.default_rule)
                ],
            }
            for ls in lb.listeners.values()
        ],
    }


def _classic(world: World, clb: ClassicLoadBalancer) -> dict:
    return {
        "name": clb.name,
        "dns_name": clb.dns_name,
        "ports": [ls["LoadBalancerPort"] for ls in clb.listeners],
        "instances": {t.id: world.classic_state(clb, t)[0] for t in clb.instances.values()},
    }


def _target_group(world: World, tg: TargetGroup) -> dict:
    return {
        "name": tg.name,
        "arn": tg.arn,
        "targets": {
            f"{t.id}:{t.port}": world.effective_state(tg, t)[0] for t in tg.targets.values()
        },
    }


def _asg(asg: AutoScalingGroup) -> dict:
    return {
        "name": asg.name,
        "min": asg.min_size,
        "max": asg.max_size,
        "desired": asg.desired,
        "instances": {m.instance_id: m.lifecycle_state for m in asg.members.values()},
        "suspended": sorted(asg.suspended),
    }


def _applications(world: World) -> list[dict]:
    deploy = world.deploy
    out: list[dict] = []
    if deploy is None:
        return out
    for app in deploy.applications.values():
        groups = []
        for (app_name, _), grp in deploy.groups.items():
            if app_name != app.name:
                continue
            style = grp.spec.get("deploymentStyle", {})
            groups.append(
                {
                    "name": grp.name,
                    "type": style.get("deploymentType", "IN_PLACE"),
                    "traffic": style.get("deploymentOption", "WITHOUT_TRAFFIC_CONTROL"),
                    "config": grp.spec.get("deploymentConfigName"),
                    "auto_scaling_groups": [
                        a["name"] for a in grp.spec.get("autoScalingGroups", [])
                    ],
                    "last_attempted": grp.last_attempted,
                }
            )
        out.append({"name": app.name, "deployment_groups": groups})
    return out


def _instance(inst: Instance) -> dict:
    return {
        "id": inst.id,
        "state": inst.state,
        "az": inst.az,
        "revision": inst.revision,
        "group": inst.asg_name,
        "url": f"http://127.0.0.1:{inst.port}/" if inst.port else None,
        "fault": inst.fault.describe() if inst.fault.active() else None,
    }
