"""EC2's answers: instances, their status checks, zones and subnets as the API shapes them."""

from __future__ import annotations

import re

from cutover.sandbox.services.ec2_filters import Fields, tag_fields
from cutover.sandbox.world import Instance, World

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


def zone_id(region: str, az: str) -> str:
    """The AZ id (use1-az1 style) the sandbox gives an AZ name: letter a is az1, b az2, ..."""
    parts = region.split("-")
    short = region.replace("-", "")
    if len(parts) >= 3:
        short = parts[0] + _DIRECTIONS.get(parts[1], parts[1][:1]) + parts[-1]
    letter = az[len(region) :] or "a"
    return f"{short}-az{ord(letter[0]) - ord('a') + 1}"


def gone(inst: Instance) -> bool:
    return inst.state == "terminated"


def private_dns(world: World, inst: Instance) -> str:
    host = "ip-" + inst.private_ip.replace(".", "-")
    if world.region == "us-east-1":
        return f"{host}.ec2.internal"
    return f"{host}.{world.region}.compute.internal"


def architecture(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    # Graviton families carry a g after the generation digit (t4g, m6g, c7gn); g4dn does not.
    return "arm64" if re.match(r"^[a-z]+\d+g", family) else "x86_64"


def state(inst: Instance) -> dict:
    return {"Code": inst.state_code, "Name": inst.state}


def state_reason(inst: Instance) -> dict | None:
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
        "PrivateDnsName": "" if gone(inst) else private_dns(world, inst),
        "ProductCodes": [],
        "PublicDnsName": "",
        "State": state(inst),
        "StateTransitionReason": inst.state_reason,
        "Architecture": architecture(inst.instance_type),
        "BlockDeviceMappings": []
        if gone(inst)
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
    if not gone(inst):
        out["PrivateIpAddress"] = inst.private_ip
        out["SubnetId"] = inst.subnet_id
        out["VpcId"] = inst.vpc_id
        out["SourceDestCheck"] = True
    reason = state_reason(inst)
    if reason:
        out["StateReason"] = reason
    if inst.tags:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in inst.tags.items()]
    return out


def instance_fields(world: World) -> Fields:
    def fields(inst: object, name: str) -> list[str] | None:
        assert isinstance(inst, Instance)
        tag = tag_fields(inst.tags, name)
        if tag is not None:
            return tag
        simple = {
            "instance-id": inst.id,
            "instance-state-name": inst.state,
            "instance-state-code": str(inst.state_code),
            "availability-zone": inst.az,
            "instance-type": inst.instance_type,
            "image-id": inst.image_id,
            "architecture": architecture(inst.instance_type),
            "reservation-id": "r-" + inst.id[2:],
            "owner-id": world.account_id,
            "root-device-type": "ebs",
            "tenancy": "default",
        }
        if name in simple:
            return [simple[name]]
        if name in ("vpc-id", "subnet-id", "private-ip-address", "private-dns-name"):
            if gone(inst):
                return []
            return [
                {
                    "vpc-id": inst.vpc_id,
                    "subnet-id": inst.subnet_id,
                    "private-ip-address": inst.private_ip,
                    "private-dns-name": private_dns(world, inst),
                }[name]
            ]
        return None

    return fields


def check_status(world: World, inst: Instance) -> str:
    if inst.state != "running":
        return "not-applicable"
    age = (world.now() - inst.launch_time).total_seconds()
    return "initializing" if age < STATUS_CHECK_SECONDS else "ok"


def summary(status: str) -> dict:
    detail = {"ok": "passed", "initializing": "initializing"}.get(status, "not-applicable")
    if status == "not-applicable":
        return {"Status": status}
    return {"Status": status, "Details": [{"Name": "reachability", "Status": detail}]}


def subnet_dict(world: World, az: str, subnet_id: str, index: int) -> dict:
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
