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
import re
from collections.abc import Callable, Iterable

from cutover.sandbox.services import operation
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import Instance, World, WorldError

INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")

# Sandbox seconds after launch during which status checks read `initializing`, as EC2's do for
# the first minutes of an instance's life.
STATUS_CHECK_SECONDS = 120

_DIRECTIONS = {
    "east": "e",
    "west": "w",
    "north": "n",
    "south": "s",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


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


def zone_id(region: str, az: str) -> str:
    """The AZ id (use1-az1 style) the sandbox gives an AZ name: letter a is az1, b az2, ..."""
    parts = region.split("-")
    short = region.replace("-", "")
    if len(parts) >= 3:
        short = parts[0] + _DIRECTIONS.get(parts[1], parts[1][:1]) + parts[-1]
    letter = az[len(region) :] or "a"
    return f"{short}-az{ord(letter[0]) - ord('a') + 1}"


def world_azs(world: World) -> list[str]:
    """The world's Availability Zones: those with subnets or in use, else the region's a-c."""
    azs = set(world.subnets)
    azs.update(az for asg in world.asgs.values() for az in asg.azs)
    azs.update(inst.az for inst in world.instances.values())
    return sorted(azs) or [f"{world.region}{x}" for x in "abc"]


# ----- filters ---------------------------------------------------------------------------------


def _pattern(value: str) -> re.Pattern[str]:
    # EC2 filter values take * and ? as wildcards and a backslash to escape them.
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _any_match(values: Iterable[str], patterns: list[re.Pattern[str]]) -> bool:
    return any(p.fullmatch(v) for v in values for p in patterns)


Fields = Callable[[object, str], "list[str] | None"]


def _apply_filters(
    items: list, filters: list[dict] | None, fields: Fields, known: Callable[[str], bool]
) -> list:
    """Items passing every filter (AND), each filter passing any of its values (OR).

    `fields(item, name)` gives the item's values for a filter name; a name `known` rejects
    is answered as EC2 does, with InvalidParameterValue.
    """
    for flt in filters or []:
        name = flt.get("Name", "")
        if not known(name):
            raise WorldError("InvalidParameterValue", f"The filter '{name}' is invalid")
        patterns = [_pattern(str(v)) for v in flt.get("Values") or []]
        items = [it for it in items if _any_match(fields(it, name) or [], patterns)]
    return items


def _names(*names: str, tags: bool = False) -> Callable[[str], bool]:
    allowed = frozenset(names)

    def known(name: str) -> bool:
        if tags and (name.startswith("tag:") or name in ("tag-key", "tag-value")):
            return True
        return name in allowed

    return known


def _tag_fields(tags: dict[str, str], name: str) -> list[str] | None:
    if name.startswith("tag:"):
        key = name[4:]
        return [tags[key]] if key in tags else []
    if name == "tag-key":
        return list(tags)
    if name == "tag-value":
        return list(tags.values())
    return None


INSTANCE_FILTERS = _names(
    "instance-id",
    "instance-state-name",
    "instance-state-code",
    "availability-zone",
    "instance-type",
    "image-id",
    "architecture",
    "reservation-id",
    "owner-id",
    "root-device-type",
    "tenancy",
    "vpc-id",
    "subnet-id",
    "private-ip-address",
    "private-dns-name",
    tags=True,
)
STATUS_FILTERS = _names(
    "availability-zone",
    "instance-state-name",
    "instance-state-code",
    "instance-status.status",
    "system-status.status",
    "instance-status.reachability",
    "system-status.reachability",
)
ZONE_FILTERS = {
    "zone-name": "ZoneName",
    "zone-id": "ZoneId",
    "region-name": "RegionName",
    "state": "State",
    "zone-type": "ZoneType",
    "group-name": "GroupName",
    "opt-in-status": "OptInStatus",
}
SUBNET_FILTERS = {
    "subnet-id": "SubnetId",
    "vpc-id": "VpcId",
    "availability-zone": "AvailabilityZone",
    "availability-zone-id": "AvailabilityZoneId",
    "cidr-block": "CidrBlock",
    "state": "State",
    "owner-id": "OwnerId",
}
VPC_FILTERS = {"vpc-id": "VpcId", "cidr": "CidrBlock", "state": "State", "owner-id": "OwnerId"}


# ----- instances -------------------------------------------------------------------------------


def _check_ids(world: World, ids: list[str]) -> list[Instance]:
    """The instances named by `ids`, or the error EC2 gives (malformed before not found)."""
    for iid in ids:
        if not INSTANCE_ID.match(iid):
            raise WorldError("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')
    missing = [iid for iid in ids if iid not in world.instances]
    if len(missing) == 1:
        raise WorldError(
            "InvalidInstanceID.NotFound", f"The instance ID '{missing[0]}' does not exist"
        )
    if missing:
        raise WorldError(
            "InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist"
        )
    return [world.instances[iid] for iid in dict.fromkeys(ids)]


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


def _gone(inst: Instance) -> bool:
    return inst.state == "terminated"


def _private_dns(world: World, inst: Instance) -> str:
    host = "ip-" + inst.private_ip.replace(".", "-")
    if world.region == "us-east-1":
        return f"{host}.ec2.internal"
    return f"{host}.{world.region}.compute.internal"


def _architecture(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    # Graviton families carry a g after the generation digit (t4g, m6g, c7gn); g4dn does not.
    return "arm64" if re.match(r"^[a-z]+\d+g", family) else "x86_64"


def _state(inst: Instance) -> dict:
    return {"Code": inst.state_code, "Name": inst.state}


def _state_reason(inst: Instance) -> dict | None:
    if inst.state in ("shutting-down", "terminated", "stopping", "stopped"):
        return {
            "Code": "Client.UserInitiatedShutdown",
            "Message": "Client.UserInitiatedShutdown: User initiated shutdown",
        }
    return None


def instance_dict(world: World, inst: Instance) -> dict:
    """One instance shaped as DescribeInstances' `Instance`."""
    out: dict = {
        "AmiLaunchIndex": 0,
        "ImageId": inst.image_id,
        "InstanceId": inst.id,
        "InstanceType": inst.instance_type,
        "LaunchTime": inst.launch_time,
        "Monitoring": {"State": "disabled"},
        "Placement": {
            "AvailabilityZone": inst.az,
            "AvailabilityZoneId": zone_id(world.region, inst.az),
            "GroupName": "",
            "Tenancy": "default",
        },
        "PrivateDnsName": "" if _gone(inst) else _private_dns(world, inst),
        "ProductCodes": [],
        "PublicDnsName": "",
        "State": _state(inst),
        "StateTransitionReason": inst.state_reason,
        "Architecture": _architecture(inst.instance_type),
        "BlockDeviceMappings": []
        if _gone(inst)
        else [
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "AttachTime": inst.launch_time,
                    "DeleteOnTermination": True,
                    "Status": "attached",
                    "VolumeId": "vol-" + inst.id[2:],
                },
            }
        ],
        "ClientToken": "",
        "EbsOptimized": False,
        "EnaSupport": True,
        "Hypervisor": "xen",
        "NetworkInterfaces": [],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "SecurityGroups": [],
        "VirtualizationType": "hvm",
        "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": False},
        "MetadataOptions": {
            "State": "applied",
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 2,
            "HttpEndpoint": "enabled",
            "HttpProtocolIpv6": "disabled",
            "InstanceMetadataTags": "disabled",
        },
        "EnclaveOptions": {"Enabled": False},
        "BootMode": "uefi-preferred",
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "UsageOperationUpdateTime": inst.launch_time,
        "PrivateDnsNameOptions": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "MaintenanceOptions": {"AutoRecovery": "default"},
    }
    # EC2 drops the network placement of a terminated instance.
    if not _gone(inst):
        out["PrivateIpAddress"] = inst.private_ip
        out["SubnetId"] = inst.subnet_id
        out["VpcId"] = inst.vpc_id
        out["SourceDestCheck"] = True
    reason = _state_reason(inst)
    if reason:
        out["StateReason"] = reason
    if inst.tags:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in inst.tags.items()]
    return out


def _instance_fields(world: World) -> Fields:
    def fields(inst: object, name: str) -> list[str] | None:
        assert isinstance(inst, Instance)
        tag = _tag_fields(inst.tags, name)
        if tag is not None:
            return tag
        simple = {
            "instance-id": inst.id,
            "instance-state-name": inst.state,
            "instance-state-code": str(inst.state_code),
            "availability-zone": inst.az,
            "instance-type": inst.instance_type,
            "image-id": inst.image_id,
            "architecture": _architecture(inst.instance_type),
            "reservation-id": "r-" + inst.id[2:],
            "owner-id": world.account_id,
            "root-device-type": "ebs",
            "tenancy": "default",
        }
        if name in simple:
            return [simple[name]]
        if name in ("vpc-id", "subnet-id", "private-ip-address", "private-dns-name"):
            if _gone(inst):
                return []
            return [
                {
                    "vpc-id": inst.vpc_id,
                    "subnet-id": inst.subnet_id,
                    "private-ip-address": inst.private_ip,
                    "private-dns-name": _private_dns(world, inst),
                }[name]
            ]
        return None

    return fields


def _selected(world: World, params: dict) -> list[Instance]:
    ids = params.get("InstanceIds") or []
    if ids:
        if params.get("MaxResults") is not None:
            raise WorldError(
                "InvalidParameterCombination",
                "The parameter instancesSet cannot be used with the parameter maxResults",
            )
        instances = _check_ids(world, ids)
    else:
        instances = list(world.instances.values())
    return sorted(instances, key=lambda i: (i.launch_time, i.id))


@operation("ec2", "DescribeInstances")
def describe_instances(world: World, params: dict) -> dict:
    """Instances (terminated ones for about an hour), one reservation per instance."""
    _dry_run(params)
    instances = _selected(world, params)
    instances = _apply_filters(
        instances, params.get("Filters"), _instance_fields(world), INSTANCE_FILTERS
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


def _check_status(world: World, inst: Instance) -> str:
    if inst.state != "running":
        return "not-applicable"
    age = (world.now() - inst.launch_time).total_seconds()
    return "initializing" if age < STATUS_CHECK_SECONDS else "ok"


def _summary(status: str) -> dict:
    detail = {"ok": "passed", "initializing": "initializing"}.get(status, "not-applicable")
    if status == "not-applicable":
        return {"Status": status}
    return {"Status": status, "Details": [{"Name": "reachability", "Status": detail}]}


@operation("ec2", "DescribeInstanceStatus")
def describe_instance_status(world: World, params: dict) -> dict:
    """Status checks: running instances only unless IncludeAllInstances; checks read
    `initializing` for the first STATUS_CHECK_SECONDS after launch, then `ok`."""
    _dry_run(params)
    instances = _selected(world, params)
    if not params.get("IncludeAllInstances"):
        instances = [i for i in instances if i.state == "running"]
    base = _instance_fields(world)

    def fields(inst: object, name: str) -> list[str] | None:
        assert isinstance(inst, Instance)
        status = _check_status(world, inst)
        detail = _summary(status).get("Details", [{"Status": status}])[0]["Status"]
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

    instances = _apply_filters(instances, params.get("Filters"), fields, STATUS_FILTERS)
    limit = _max_results(params, 5, 1000)
    page, token = paginate(
        instances, limit, params.get("NextToken"), "DescribeInstanceStatus", _bad_token()
    )
    statuses = []
    for inst in page:
        status = _check_status(world, inst)
        statuses.append(
            {
                "AvailabilityZone": inst.az,
                "AvailabilityZoneId": zone_id(world.region, inst.az),
                "InstanceId": inst.id,
                "InstanceState": _state(inst),
                "InstanceStatus": _summary(status),
                "SystemStatus": _summary(status),
                "AttachedEbsStatus": _summary(status),
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
    ids = params.get("InstanceIds") or []
    if not ids:
        raise WorldError("MissingParameter", "The request must contain the parameter InstanceId")
    instances = _check_ids(world, ids)
    # EC2 refuses the whole call when any instance cannot make the transition.
    for inst in instances:
        if inst.state in refuse:
            raise WorldError(
                "IncorrectInstanceState",
                f"The instance '{inst.id}' is not in a state from which it can be {verb}.",
            )
    changes = []
    for inst in instances:
        before = {"Code": inst.state_code, "Name": inst.state}
        act(inst)
        changes.append(
            {"InstanceId": inst.id, "CurrentState": _state(inst), "PreviousState": before}
        )
    return changes


@operation("ec2", "StartInstances")
def start_instances(world: World, params: dict) -> dict:
    """Stopped instances go to pending (with a fresh LaunchTime, as EC2 gives them); pending
    and running ones are left alone; stopping, shutting-down or terminated ones make the call
    fail with IncorrectInstanceState."""

    def start(inst: Instance) -> str:
        if inst.state == "stopped":
            inst.launch_time = world.now().replace(microsecond=0)
        return world.start_instance(inst)

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


def _tagged_instances(world: World, resources: list[str]) -> list[Instance]:
    if not resources:
        raise WorldError("MissingParameter", "The request must contain the parameter resourceIdSet")
    for rid in resources:
        if not rid.startswith("i-"):
            raise WorldError("InvalidID", f"The ID '{rid}' is not valid")
    return _check_ids(world, resources)


def _check_keys(tags: list[dict]) -> None:
    for tag in tags:
        key = tag.get("Key")
        if key is None:
            raise WorldError("InvalidParameterValue", "Tag key must not be empty")
        if key.lower().startswith("aws:"):
            raise WorldError(
                "InvalidParameterValue",
                "Tag keys starting with 'aws:' are reserved for internal use",
            )


@operation("ec2", "CreateTags")
def create_tags(world: World, params: dict) -> dict:
    """Add or overwrite tags on instances (other resource types are not served)."""
    _dry_run(params)
    instances = _tagged_instances(world, params.get("Resources") or [])
    tags = params.get("Tags") or []
    _check_keys(tags)
    for inst in instances:
        merged = dict(inst.tags)
        merged.update({t["Key"]: t.get("Value") or "" for t in tags})
        if len(merged) > 50:
            raise WorldError(
                "TagLimitExceeded",
                f"The maximum number of Tags for a resource has been reached. "
                f"Resource: '{inst.id}'",
            )
    for inst in instances:
        inst.tags.update({t["Key"]: t.get("Value") or "" for t in tags})
    return {}


@operation("ec2", "DeleteTags")
def delete_tags(world: World, params: dict) -> dict:
    """Remove tags: a tag given with a Value goes only when the value matches; no Tags at all
    removes every tag the user can remove (not aws: ones)."""
    _dry_run(params)
    instances = _tagged_instances(world, params.get("Resources") or [])
    tags = params.get("Tags")
    if tags is not None:
        _check_keys(tags)
    for inst in instances:
        if tags is None:
            for key in [k for k in inst.tags if not k.startswith("aws:")]:
                del inst.tags[key]
            continue
        for tag in tags:
            key = tag["Key"]
            if key in inst.tags and ("Value" not in tag or tag["Value"] == inst.tags[key]):
                del inst.tags[key]
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

    known = _names("key", "value", "resource-id", "resource-type", tags=True)
    rows = _apply_filters(rows, params.get("Filters"), fields, known)
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
    zones = _apply_filters(zones, params.get("Filters"), fields, ZONE_FILTERS.__contains__)
    return {"AvailabilityZones": zones}


def _subnet_dict(world: World, az: str, subnet_id: str, index: int) -> dict:
    return {
        "AvailabilityZone": az,
        "AvailabilityZoneId": zone_id(world.region, az),
        "AvailableIpAddressCount": 4091,
        "CidrBlock": f"10.0.{index * 16}.0/20",
        "DefaultForAz": False,
        "MapPublicIpOnLaunch": False,
        "State": "available",
        "SubnetId": subnet_id,
        "VpcId": world.vpc_id,
        "OwnerId": world.account_id,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "SubnetArn": world.arn("ec2", f"subnet/{subnet_id}"),
        "EnableDns64": False,
        "Ipv6Native": False,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
    }


@operation("ec2", "DescribeSubnets")
def describe_subnets(world: World, params: dict) -> dict:
    """One subnet per Availability Zone, all in the world's VPC."""
    _dry_run(params)
    subnets = [
        _subnet_dict(world, az, sid, i) for i, (az, sid) in enumerate(sorted(world.subnets.items()))
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

    subnets = _apply_filters(subnets, params.get("Filters"), fields, SUBNET_FILTERS.__contains__)
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

    known = _names("is-default", *VPC_FILTERS)
    return {"Vpcs": _apply_filters([vpc], params.get("Filters"), fields, known)}
