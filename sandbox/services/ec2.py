"""Amazon EC2, as much of it as a fleet supervisor reads: instances, their status and tags,
Availability Zones, subnets and the VPC.

Instances are launched by Auto Scaling (or a scenario) through the world; this module only
describes them and moves them with the world's start / stop / terminate. The data plane
finishes each transition (pending -> running, stopping -> stopped, shutting-down ->
terminated).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable

from cutover.sandbox.services import operation
from cutover.sandbox.services.ec2_filters import (
    INSTANCE_FILTERS,
    STATUS_FILTERS,
    SUBNET_FILTERS,
    VPC_FILTERS,
    ZONE_FILTERS,
    apply_filters,
    names,
)
from cutover.sandbox.services.ec2_shapes import (
    check_status,
    instance_dict,
    instance_fields,
    state,
    subnet_dict,
    summary,
    zone_id,
)
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import Instance, World, WorldError
from cutover.sandbox.world import instances as ec2_rules

# ----- helpers shared with autoscaling ---------------------------------------------------------


def paginate(
    items: list, limit: int | None, token: str | None, scope: str, bad_token: WorldError
) -> tuple[list, str | None]:
    """One page of `items` and the token for the next page (None on the last page).

    Tokens are opaque to callers; they carry the offset and the operation they belong to, so a
    token from another operation or a mangled one raises `bad_token`.
    """
    start = 0
    if token:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
            start = int(data["o"])
            if data["s"] != scope or start < 0:
                raise ValueError(scope)
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise bad_token from None
    if limit is None:
        return items[start:], None
    end = start + limit
    if end >= len(items):
        return items[start:], None
    raw = json.dumps({"s": scope, "o": end}, separators=(",", ":")).encode()
    return items[start:end], base64.urlsafe_b64encode(raw).decode()


def world_azs(world: World) -> list[str]:
    """The world's Availability Zones: those with subnets or in use, else the region's a-c."""
    azs = set(world.subnets)
    azs.update(az for asg in world.asgs.values() for az in asg.azs)
    azs.update(inst.az for inst in world.instances.values())
    return sorted(azs) or [f"{world.region}{x}" for x in "abc"]


# ----- instances -------------------------------------------------------------------------------


def _dry_run(params: dict) -> None:
    if params.get("DryRun"):
        raise ApiError(
            "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412
        )


def _max_results(params: dict, lo: int, hi: int) -> int | None:
    limit = params.get("MaxResults")
    if limit is None:
        return None
    if not lo <= int(limit) <= hi:
        raise WorldError(
            "InvalidParameterValue",
            f"Value ( {limit} ) for parameter maxResults is invalid. "
            f"Parameter may only be between {lo} and {hi}.",
        )
    return int(limit)


def _bad_token() -> WorldError:
    return WorldError(
        "InvalidPaginationToken", "The specified pagination token is not valid or is expired."
    )


def _selected(world: World, params: dict) -> list[Instance]:
    ids = params.get("InstanceIds") or []
    if ids:
        if params.get("MaxResults") is not None:
            raise WorldError(
                "InvalidParameterCombination",
                "The parameter instancesSet cannot be used with the parameter maxResults",
            )
        instances = ec2_rules.check_ids(world, ids)
    else:
        instances = list(world.instances.values())
    return sorted(instances, key=lambda i: (i.launch_time, i.id))


@operation("ec2", "DescribeInstances")
def describe_instances(world: World, params: dict) -> dict:
    """Instances (terminated ones for about an hour), one reservation per instance."""
    _dry_run(params)
    instances = _selected(world, params)
    instances = apply_filters(
        instances, params.get("Filters"), instance_fields(world), INSTANCE_FILTERS
    )
    limit = _max_results(params, 5, 1000)
    page, token = paginate(
        instances, limit, params.get("NextToken"), "DescribeInstances", _bad_token()
    )
    out: dict = {
        "Reservations": [
            {
                "ReservationId": "r-" + inst.id[2:],
                "OwnerId": world.account_id,
                "Groups": [],
                "Instances": [instance_dict(world, inst)],
            }
            for inst in page
        ]
    }
    if token:
        out["NextToken"] = token
    return out


@operation("ec2", "DescribeInstanceStatus")
def describe_instance_status(world: World, params: dict) -> dict:
    """Status checks: running instances only unless IncludeAllInstances; checks read
    `initializing` for the first STATUS_CHECK_SECONDS after launch, then `ok`."""
    _dry_run(params)
    instances = _selected(world, params)
    if not params.get("IncludeAllInstances"):
        instances = [i for i in instances if i.state == "running"]
    base = instance_fields(world)

    def fields(inst: object, name: str) -> list[str] | None:
        assert isinstance(inst, Instance)
        status = check_status(world, inst)
        detail = summary(status).get("Details", [{"Status": status}])[0]["Status"]
        extra = {
            "instance-status.status": status,
            "system-status.status": status,
            "instance-status.reachability": detail,
            "system-status.reachability": detail,
        }
        if name in extra:
            return [extra[name]]
        if name in ("availability-zone", "instance-state-name", "instance-state-code"):
            return base(inst, name)
        return None

    instances = apply_filters(instances, params.get("Filters"), fields, STATUS_FILTERS)
    limit = _max_results(params, 5, 1000)
    page, token = paginate(
        instances, limit, params.get("NextToken"), "DescribeInstanceStatus", _bad_token()
    )
    statuses = []
    for inst in page:
        status = check_status(world, inst)
        statuses.append(
            {
                "AvailabilityZone": inst.az,
                "AvailabilityZoneId": zone_id(world.region, inst.az),
                "InstanceId": inst.id,
                "InstanceState": state(inst),
                "InstanceStatus": summary(status),
                "SystemStatus": summary(status),
                "AttachedEbsStatus": summary(status),
            }
        )
    out: dict = {"InstanceStatuses": statuses}
    if token:
        out["NextToken"] = token
    return out


def _transitions(
    world: World, params: dict, act: Callable[[Instance], str], refuse: tuple[str, ...], verb: str
) -> list[dict]:
    _dry_run(params)
    moved = ec2_rules.transition(world, params.get("InstanceIds") or [], act, refuse, verb)
    return [
        {"InstanceId": inst.id, "CurrentState": state(inst), "PreviousState": before}
        for inst, before in moved
    ]


@operation("ec2", "StartInstances")
def start_instances(world: World, params: dict) -> dict:
    """Stopped instances go to pending (with a fresh LaunchTime, as EC2 gives them); pending
    and running ones are left alone; stopping, shutting-down or terminated ones make the call
    fail with IncorrectInstanceState."""

    def start(inst: Instance) -> str:
        return ec2_rules.start(world, inst)

    changes = _transitions(
        world, params, start, ("stopping", "shutting-down", "terminated"), "started"
    )
    return {"StartingInstances": changes}


@operation("ec2", "StopInstances")
def stop_instances(world: World, params: dict) -> dict:
    """Pending and running instances go to stopping; stopped and stopping ones are left alone;
    shutting-down or terminated ones make the call fail with IncorrectInstanceState."""
    changes = _transitions(
        world, params, world.stop_instance, ("shutting-down", "terminated"), "stopped"
    )
    return {"StoppingInstances": changes}


@operation("ec2", "TerminateInstances")
def terminate_instances(world: World, params: dict) -> dict:
    """Instances go to shutting-down (terminating twice is harmless). An Auto Scaling member
    is then replaced by its group, as a failed EC2 health check would have it."""
    changes = _transitions(world, params, world.terminate_instance, (), "terminated")
    return {"TerminatingInstances": changes}


# ----- tags ------------------------------------------------------------------------------------


@operation("ec2", "CreateTags")
def create_tags(world: World, params: dict) -> dict:
    """Add or overwrite tags on instances (other resource types are not served)."""
    _dry_run(params)
    ec2_rules.create_tags(world, params.get("Resources") or [], params.get("Tags") or [])
    return {}


@operation("ec2", "DeleteTags")
def delete_tags(world: World, params: dict) -> dict:
    """Remove tags (see `instances.delete_tags`)."""
    _dry_run(params)
    ec2_rules.delete_tags(world, params.get("Resources") or [], params.get("Tags"))
    return {}


@operation("ec2", "DescribeTags")
def describe_tags(world: World, params: dict) -> dict:
    """Instance tags, filterable by key, value, resource-id, resource-type and tag:KEY."""
    _dry_run(params)
    rows = [
        (inst, key, value)
        for inst in sorted(world.instances.values(), key=lambda i: i.id)
        for key, value in sorted(inst.tags.items())
    ]

    def fields(row: object, name: str) -> list[str] | None:
        inst, key, value = row  # type: ignore[misc]
        if name.startswith("tag:"):
            return [value] if key == name[4:] else []
        return {
            "key": [key],
            "value": [value],
            "resource-id": [inst.id],
            "resource-type": ["instance"],
        }.get(name)

    known = names("key", "value", "resource-id", "resource-type", tags=True)
    rows = apply_filters(rows, params.get("Filters"), fields, known)
    limit = _max_results(params, 5, 1000)
    page, token = paginate(rows, limit, params.get("NextToken"), "DescribeTags", _bad_token())
    out: dict = {
        "Tags": [
            {"Key": key, "ResourceId": inst.id, "ResourceType": "instance", "Value": value}
            for inst, key, value in page
        ]
    }
    if token:
        out["NextToken"] = token
    return out


# ----- network -------------------------------------------------------------------------------


@operation("ec2", "DescribeAvailabilityZones")
def describe_availability_zones(world: World, params: dict) -> dict:
    """The world's Availability Zones, all `available`."""
    _dry_run(params)
    azs = world_azs(world)
    names = params.get("ZoneNames") or []
    for name in names:
        if name not in azs:
            raise WorldError("InvalidParameterValue", f"The zone '{name}' does not exist.")
    if names:
        azs = [az for az in azs if az in names]
    zones = [
        {
            "OptInStatus": "opt-in-not-required",
            "Messages": [],
            "RegionName": world.region,
            "ZoneName": az,
            "ZoneId": zone_id(world.region, az),
            "GroupName": world.region,
            "NetworkBorderGroup": world.region,
            "ZoneType": "availability-zone",
            "State": "available",
        }
        for az in azs
    ]

    def fields(zone: object, name: str) -> list[str] | None:
        return [zone[ZONE_FILTERS[name]]]  # type: ignore[index]

    ids = params.get("ZoneIds") or []
    if ids:
        zones = [z for z in zones if z["ZoneId"] in ids]
    zones = apply_filters(zones, params.get("Filters"), fields, ZONE_FILTERS.__contains__)
    return {"AvailabilityZones": zones}


@operation("ec2", "DescribeSubnets")
def describe_subnets(world: World, params: dict) -> dict:
    """One subnet per Availability Zone, all in the world's VPC."""
    _dry_run(params)
    subnets = [
        subnet_dict(world, az, sid, i) for i, (az, sid) in enumerate(sorted(world.subnets.items()))
    ]
    ids = params.get("SubnetIds") or []
    known = {s["SubnetId"] for s in subnets}
    missing = [sid for sid in ids if sid not in known]
    if missing:
        raise WorldError("InvalidSubnetID.NotFound", f"The subnet ID '{missing[0]}' does not exist")
    if ids:
        subnets = [s for s in subnets if s["SubnetId"] in ids]

    def fields(subnet: object, name: str) -> list[str] | None:
        return [subnet[SUBNET_FILTERS[name]]]  # type: ignore[index]

    subnets = apply_filters(subnets, params.get("Filters"), fields, SUBNET_FILTERS.__contains__)
    limit = _max_results(params, 5, 1000)
    page, token = paginate(subnets, limit, params.get("NextToken"), "DescribeSubnets", _bad_token())
    out: dict = {"Subnets": page}
    if token:
        out["NextToken"] = token
    return out


@operation("ec2", "DescribeVpcs")
def describe_vpcs(world: World, params: dict) -> dict:
    """The world's one VPC."""
    _dry_run(params)
    vpc = {
        "CidrBlock": "10.0.0.0/16",
        "DhcpOptionsId": "dopt-" + world.vpc_id[4:],
        "State": "available",
        "VpcId": world.vpc_id,
        "OwnerId": world.account_id,
        "InstanceTenancy": "default",
        "CidrBlockAssociationSet": [
            {
                "AssociationId": "vpc-cidr-assoc-" + world.vpc_id[4:],
                "CidrBlock": "10.0.0.0/16",
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "IsDefault": False,
    }
    for vid in params.get("VpcIds") or []:
        if vid != world.vpc_id:
            raise WorldError("InvalidVpcID.NotFound", f"The vpc ID '{vid}' does not exist")

    def fields(v: object, name: str) -> list[str] | None:
        return ["false"] if name == "is-default" else [v[VPC_FILTERS[name]]]  # type: ignore[index]

    known = names("is-default", *VPC_FILTERS)
    return {"Vpcs": apply_filters([vpc], params.get("Filters"), fields, known)}
