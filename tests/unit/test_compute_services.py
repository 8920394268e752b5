"""EC2, Auto Scaling and STS as the sandbox serves them, called through `services.dispatch`.

Every result is checked against the botocore output shape of its operation, so a field boto3
would not know, or a value of the wrong type, fails the test that produced it.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import botocore.session
import cutover.sandbox.services.autoscaling
import cutover.sandbox.services.ec2
import cutover.sandbox.services.sts  # noqa: F401  (registers the operations)
import pytest
from cutover.sandbox.services import dispatch
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import (
    ClassicLoadBalancer,
    HealthCheck,
    Instance,
    TargetGroup,
    World,
)

AZS = ("us-east-1a", "us-east-1b")
LT = {"LaunchTemplateName": "web", "Version": "$Latest"}


# ----- validating results against the model --------------------------------------------------


@functools.cache
def _model(service: str):
    return botocore.session.get_session().get_service_model(service)


def _check(shape, value, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected a dict, got {value!r}"
        for key, item in value.items():
            assert key in shape.members, f"{path}.{key}: not in {shape.name}"
            _check(shape.members[key], item, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: expected a dict, got {value!r}"
        for key, item in value.items():
            _check(shape.key, key, f"{path}<key>")
            _check(shape.value, item, f"{path}[{key}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a str, got {value!r}"
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} not in {shape.name}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a bool, got {value!r}"
    elif kind == "timestamp":
        assert isinstance(value, datetime) and value.tzinfo is not None, f"{path}: {value!r}"
    elif kind in ("double", "float"):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}"
    elif kind == "blob":
        assert isinstance(value, bytes), f"{path}: expected bytes, got {value!r}"
    else:  # pragma: no cover - a shape type this validator does not know yet
        raise AssertionError(f"{path}: unhandled shape type {kind}")


def validate(service: str, op: str, result: dict) -> None:
    shape = _model(service).operation_model(op).output_shape
    if shape is None:
        assert result == {}, f"{op} has no output, got {result!r}"
    else:
        _check(shape, result, op)


def call(world: World, service: str, op: str, **params) -> dict:
    result = dispatch(world, service, op, params)
    validate(service, op, result)
    return result


def ec2(world: World, op: str, **params) -> dict:
    return call(world, "ec2", op, **params)


def asg_call(world: World, op: str, **params) -> dict:
    return call(world, "autoscaling", op, **params)


def error(world: World, service: str, op: str, code: str, **params) -> str:
    with pytest.raises(ApiError) as caught:
        dispatch(world, service, op, params)
    assert caught.value.code == code, caught.value.message
    return caught.value.message


# ----- a stand-in for the data plane -----------------------------------------------------------


def advance(world: World) -> None:
    """Finish every instance transition in flight, as the data plane would."""
    with world.lock:
        for inst in world.instances.values():
            if inst.state == "pending":
                inst.state = "running"
            elif inst.state == "stopping":
                inst.state = "stopped"
            elif inst.state == "shutting-down":
                inst.state = "terminated"


def settle(world: World, rounds: int = 4) -> None:
    for _ in range(rounds):
        world.tick()
        advance(world)
    world.tick()


@pytest.fixture
def world() -> World:
    w = World(seed=7)
    for az in AZS:
        w.subnet_for(az)
    return w


def launch(world: World, count: int = 1, state: str = "running", **kw) -> list[Instance]:
    out = []
    for i in range(count):
        inst = world.launch_instance(az=AZS[i % 2], **kw)
        inst.state = state
        out.append(inst)
    return out


def target_group(world: World, name: str = "web", delay: int = 300) -> TargetGroup:
    tg = TargetGroup(
        arn=world.arn("elasticloadbalancing", f"targetgroup/{name}/0123456789abcdef"),
        name=name,
        protocol="HTTP",
        port=80,
        vpc_id=world.vpc_id,
        health_check=HealthCheck(),
        attributes={"deregistration_delay.timeout_seconds": str(delay)},
    )
    world.target_groups[tg.arn] = tg
    return tg


def classic(world: World, name: str = "legacy") -> ClassicLoadBalancer:
    clb = ClassicLoadBalancer(
        name=name,
        dns_name=f"{name}.elb.localhost",
        azs=list(AZS),
        subnets=[world.subnets[az] for az in AZS],
        vpc_id=world.vpc_id,
        created=world.now(),
        listeners=[
            {
                "Protocol": "HTTP",
                "LoadBalancerPort": 80,
                "InstanceProtocol": "HTTP",
                "InstancePort": 80,
            }
        ],
        health_check=HealthCheck(),
        health_target="HTTP:80/health",
        attributes={"ConnectionDraining": {"Enabled": True, "Timeout": 300}},
    )
    world.classic_lbs[name] = clb
    return clb


def make_group(world: World, name: str = "web-asg", size: int = 2, **extra) -> dict:
    params = {
        "AutoScalingGroupName": name,
        "LaunchTemplate": LT,
        "MinSize": extra.pop("MinSize", 1),
        "MaxSize": extra.pop("MaxSize", 4),
        "DesiredCapacity": size,
        "VPCZoneIdentifier": ",".join(world.subnets[az] for az in AZS),
        **extra,
    }
    asg_call(world, "CreateAutoScalingGroup", **params)
    return describe_group(world, name)


def describe_group(world: World, name: str = "web-asg") -> dict:
    groups = asg_call(world, "DescribeAutoScalingGroups", AutoScalingGroupNames=[name])
    assert len(groups["AutoScalingGroups"]) == 1
    return groups["AutoScalingGroups"][0]


def states(group: dict) -> dict[str, str]:
    return {i["InstanceId"]: i["LifecycleState"] for i in group["Instances"]}


# ----- EC2 -------------------------------------------------------------------------------------


def test_describe_instances_reports_the_fields_boto3_users_read(world: World) -> None:
    (inst,) = launch(world, tags={"Name": "web-1"}, instance_type="m6g.large")
    out = ec2(world, "DescribeInstances")
    (reservation,) = out["Reservations"]
    assert reservation["OwnerId"] == world.account_id
    assert reservation["ReservationId"].startswith("r-")
    (got,) = reservation["Instances"]
    assert got["InstanceId"] == inst.id
    assert got["State"] == {"Code": 16, "Name": "running"}
    assert got["Placement"]["AvailabilityZone"] == "us-east-1a"
    assert got["Placement"]["Tenancy"] == "default"
    assert got["SubnetId"] == world.subnets["us-east-1a"]
    assert got["VpcId"] == world.vpc_id
    assert got["PrivateIpAddress"] == inst.private_ip
    assert got["PrivateDnsName"].endswith(".ec2.internal")
    assert got["Architecture"] == "arm64"
    assert got["RootDeviceType"] == "ebs"
    assert got["Tags"] == [{"Key": "Name", "Value": "web-1"}]
    assert got["LaunchTime"] == inst.launch_time
    assert "NextToken" not in out


def test_describe_instances_filters_with_wildcards(world: World) -> None:
    a, b, c = launch(world, 3)
    a.tags.update(Name="web-1", team="blue")
    b.tags.update(Name="web-2")
    c.tags.update(Name="db-1")
    c.state = "stopped"

    def ids(*filters: tuple[str, list[str]]) -> set[str]:
        out = ec2(
            world, "DescribeInstances", Filters=[{"Name": n, "Values": v} for n, v in filters]
        )
        return {i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]}

    assert ids(("tag:Name", ["web-*"])) == {a.id, b.id}
    assert ids(("tag:Name", ["web-?", "db-1"])) == {a.id, b.id, c.id}
    assert ids(("tag-key", ["team"])) == {a.id}
    assert ids(("tag-value", ["db-*"])) == {c.id}
    assert ids(("instance-state-name", ["running"])) == {a.id, b.id}
    assert ids(("instance-state-name", ["running"]), ("tag:Name", ["*-2"])) == {b.id}
    assert ids(("availability-zone", ["us-east-1b"])) == {b.id}
    assert ids(("instance-id", [a.id[:-1] + "?"])) == {a.id}
    assert ids(("instance-type", ["t3.*"])) == {a.id, b.id, c.id}
    assert ids(("subnet-id", [world.subnets["us-east-1a"]])) == {a.id, c.id}
    assert ids(("vpc-id", [world.vpc_id])) == {a.id, b.id, c.id}
    assert ids(("tag:Name", ["WEB-*"])) == set()  # EC2 filters are case-sensitive
    message = error(
        world, "ec2", "DescribeInstances", "InvalidParameterValue",
        Filters=[{"Name": "flavour", "Values": ["x"]}],
    )  # fmt: skip
    assert message == "The filter 'flavour' is invalid"


def test_describe_instances_paginates(world: World) -> None:
    launched = {i.id for i in launch(world, 7)}
    first = ec2(world, "DescribeInstances", MaxResults=5)
    assert len(first["Reservations"]) == 5 and first["NextToken"]
    second = ec2(world, "DescribeInstances", MaxResults=5, NextToken=first["NextToken"])
    assert len(second["Reservations"]) == 2 and "NextToken" not in second
    seen = {r["Instances"][0]["InstanceId"] for r in first["Reservations"] + second["Reservations"]}
    assert seen == launched
    error(world, "ec2", "DescribeInstances", "InvalidParameterValue", MaxResults=3)
    error(
        world, "ec2", "DescribeInstances", "InvalidParameterCombination",
        MaxResults=5, InstanceIds=sorted(launched)[:1],
    )  # fmt: skip
    error(world, "ec2", "DescribeInstances", "InvalidPaginationToken", NextToken="garbage")
    # A token belongs to the operation that issued it.
    tags_token = ec2(world, "DescribeInstances", MaxResults=5)["NextToken"]
    error(world, "ec2", "DescribeTags", "InvalidPaginationToken", NextToken=tags_token)


def test_unknown_and_malformed_instance_ids(world: World) -> None:
    (inst,) = launch(world)
    missing = "i-0123456789abcdef0"
    message = error(
        world, "ec2", "DescribeInstances", "InvalidInstanceID.NotFound",
        InstanceIds=[inst.id, missing],
    )  # fmt: skip
    assert message == f"The instance ID '{missing}' does not exist"
    message = error(
        world, "ec2", "DescribeInstances", "InvalidInstanceID.NotFound",
        InstanceIds=[missing, "i-0123456789abcdef1"],
    )  # fmt: skip
    assert message == f"The instance IDs '{missing}, i-0123456789abcdef1' do not exist"
    for bad in ("i-123", "web-1", "i-0123456789ABCDEF0"):
        message = error(
            world, "ec2", "DescribeInstances", "InvalidInstanceID.Malformed", InstanceIds=[bad]
        )
        assert bad in message
    error(world, "ec2", "StopInstances", "InvalidInstanceID.NotFound", InstanceIds=[missing])
    error(world, "ec2", "CreateTags", "InvalidInstanceID.Malformed", Resources=["i-zz"], Tags=[])
    # An old-style 8-digit id is well formed.
    error(
        world, "ec2", "TerminateInstances", "InvalidInstanceID.NotFound", InstanceIds=["i-1234abcd"]
    )


def test_stop_start_terminate_transitions(world: World) -> None:
    (inst,) = launch(world)
    out = ec2(world, "StopInstances", InstanceIds=[inst.id])
    (change,) = out["StoppingInstances"]
    assert change == {
        "InstanceId": inst.id,
        "CurrentState": {"Code": 64, "Name": "stopping"},
        "PreviousState": {"Code": 16, "Name": "running"},
    }
    message = error(world, "ec2", "StartInstances", "IncorrectInstanceState", InstanceIds=[inst.id])
    assert message == f"The instance '{inst.id}' is not in a state from which it can be started."
    advance(world)
    stopped = ec2(world, "DescribeInstances", InstanceIds=[inst.id])
    got = stopped["Reservations"][0]["Instances"][0]
    assert got["State"]["Name"] == "stopped"
    assert got["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert got["StateTransitionReason"].startswith("User initiated (")

    again = ec2(world, "StopInstances", InstanceIds=[inst.id])["StoppingInstances"][0]
    assert again["PreviousState"]["Name"] == again["CurrentState"]["Name"] == "stopped"
    started = ec2(world, "StartInstances", InstanceIds=[inst.id])["StartingInstances"][0]
    assert started["PreviousState"] == {"Code": 80, "Name": "stopped"}
    assert started["CurrentState"] == {"Code": 0, "Name": "pending"}
    advance(world)

    gone = ec2(world, "TerminateInstances", InstanceIds=[inst.id])["TerminatingInstances"][0]
    assert gone["PreviousState"]["Name"] == "running"
    assert gone["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
    advance(world)
    again = ec2(world, "TerminateInstances", InstanceIds=[inst.id])["TerminatingInstances"][0]
    assert again["CurrentState"] == again["PreviousState"] == {"Code": 48, "Name": "terminated"}
    got = ec2(world, "DescribeInstances", InstanceIds=[inst.id])["Reservations"][0]["Instances"][0]
    assert got["State"]["Name"] == "terminated"
    assert "SubnetId" not in got and "PrivateIpAddress" not in got
    for op in ("StartInstances", "StopInstances"):
        error(world, "ec2", op, "IncorrectInstanceState", InstanceIds=[inst.id])


def test_a_refused_transition_changes_nothing(world: World) -> None:
    running, dead = launch(world, 2)
    dead.state = "terminated"
    error(
        world, "ec2", "StopInstances", "IncorrectInstanceState", InstanceIds=[running.id, dead.id]
    )
    assert running.state == "running"


def test_dry_run(world: World) -> None:
    (inst,) = launch(world)
    with pytest.raises(ApiError) as caught:
        dispatch(world, "ec2", "TerminateInstances", {"InstanceIds": [inst.id], "DryRun": True})
    assert caught.value.code == "DryRunOperation" and caught.value.status == 412
    assert inst.state == "running"


def test_describe_instance_status(world: World) -> None:
    running, young, stopped = launch(world, 3)
    stopped.state = "stopped"
    running.launch_time -= timedelta(minutes=10)
    out = ec2(world, "DescribeInstanceStatus")
    by_id = {s["InstanceId"]: s for s in out["InstanceStatuses"]}
    assert set(by_id) == {running.id, young.id}
    assert by_id[running.id]["InstanceStatus"]["Status"] == "ok"
    assert by_id[running.id]["SystemStatus"]["Details"] == [
        {"Name": "reachability", "Status": "passed"}
    ]
    assert by_id[young.id]["InstanceStatus"]["Status"] == "initializing"
    assert by_id[young.id]["InstanceState"] == {"Code": 16, "Name": "running"}

    everything = ec2(world, "DescribeInstanceStatus", IncludeAllInstances=True)
    by_id = {s["InstanceId"]: s for s in everything["InstanceStatuses"]}
    assert by_id[stopped.id]["InstanceStatus"] == {"Status": "not-applicable"}
    filtered = ec2(
        world, "DescribeInstanceStatus",
        Filters=[{"Name": "instance-status.status", "Values": ["ok"]}],
    )  # fmt: skip
    assert [s["InstanceId"] for s in filtered["InstanceStatuses"]] == [running.id]


def test_instance_tags(world: World) -> None:
    a, b = launch(world, 2)
    ec2(
        world, "CreateTags", Resources=[a.id, b.id],
        Tags=[{"Key": "env", "Value": "prod"}, {"Key": "Name", "Value": "web"}],
    )  # fmt: skip
    assert a.tags == b.tags == {"env": "prod", "Name": "web"}
    out = ec2(world, "DescribeTags", Filters=[{"Name": "resource-id", "Values": [a.id]}])
    assert out["Tags"] == [
        {"Key": "Name", "ResourceId": a.id, "ResourceType": "instance", "Value": "web"},
        {"Key": "env", "ResourceId": a.id, "ResourceType": "instance", "Value": "prod"},
    ]
    out = ec2(world, "DescribeTags", Filters=[{"Name": "key", "Values": ["e*"]}])
    assert {t["ResourceId"] for t in out["Tags"]} == {a.id, b.id}
    page = ec2(world, "DescribeTags", MaxResults=5)
    assert len(page["Tags"]) == 4 and "NextToken" not in page

    # A value given with DeleteTags must match; without one the key goes regardless.
    ec2(world, "DeleteTags", Resources=[a.id], Tags=[{"Key": "env", "Value": "dev"}])
    assert a.tags["env"] == "prod"
    ec2(world, "DeleteTags", Resources=[a.id], Tags=[{"Key": "env"}])
    assert a.tags == {"Name": "web"}
    b.tags["aws:autoscaling:groupName"] = "g"
    ec2(world, "DeleteTags", Resources=[b.id])
    assert b.tags == {"aws:autoscaling:groupName": "g"}
    message = error(
        world, "ec2", "CreateTags", "InvalidParameterValue",
        Resources=[a.id], Tags=[{"Key": "aws:x", "Value": "1"}],
    )  # fmt: skip
    assert "reserved" in message
    error(world, "ec2", "CreateTags", "InvalidID", Resources=["vol-1"], Tags=[])


def test_availability_zones_subnets_and_vpc(world: World) -> None:
    zones = ec2(world, "DescribeAvailabilityZones")["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == list(AZS)
    assert [z["ZoneId"] for z in zones] == ["use1-az1", "use1-az2"]
    assert {z["State"] for z in zones} == {"available"}
    one = ec2(world, "DescribeAvailabilityZones", ZoneNames=["us-east-1b"])["AvailabilityZones"]
    assert [z["ZoneName"] for z in one] == ["us-east-1b"]
    error(world, "ec2", "DescribeAvailabilityZones", "InvalidParameterValue", ZoneNames=["x"])

    subnets = ec2(world, "DescribeSubnets")["Subnets"]
    assert {s["SubnetId"]: s["AvailabilityZone"] for s in subnets} == {
        sid: az for az, sid in world.subnets.items()
    }
    only = ec2(world, "DescribeSubnets", Filters=[{"Name": "availability-zone", "Values": ["*b"]}])
    assert [s["SubnetId"] for s in only["Subnets"]] == [world.subnets["us-east-1b"]]
    error(world, "ec2", "DescribeSubnets", "InvalidSubnetID.NotFound", SubnetIds=["subnet-0"])
    (vpc,) = ec2(world, "DescribeVpcs")["Vpcs"]
    assert vpc["VpcId"] == world.vpc_id and vpc["State"] == "available"
    error(world, "ec2", "DescribeVpcs", "InvalidVpcID.NotFound", VpcIds=["vpc-0"])


# ----- Auto Scaling: groups ---------------------------------------------------------------------


def test_create_group_and_meet_desired_capacity(world: World) -> None:
    tg = target_group(world)
    group = make_group(
        world,
        TargetGroupARNs=[tg.arn],
        HealthCheckType="ELB",
        Tags=[
            {"Key": "team", "Value": "web", "PropagateAtLaunch": True},
            {"Key": "cost", "Value": "42", "PropagateAtLaunch": False},
            {"Key": "cutover:revision", "Value": "v7", "PropagateAtLaunch": True},
        ],
    )
    assert group["AutoScalingGroupARN"].startswith(
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
    )
    assert group["AutoScalingGroupARN"].endswith(":autoScalingGroupName/web-asg")
    assert group["LaunchTemplate"]["LaunchTemplateName"] == "web"
    assert group["LaunchTemplate"]["LaunchTemplateId"].startswith("lt-")
    assert group["LaunchTemplate"]["Version"] == "$Latest"
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 4, 2)
    assert group["AvailabilityZones"] == list(AZS)
    assert group["TargetGroupARNs"] == [tg.arn]
    assert group["LoadBalancerNames"] == []
    assert group["HealthCheckType"] == "ELB"
    assert group["Instances"] == []
    assert group["SuspendedProcesses"] == []
    assert group["TerminationPolicies"] == ["Default"]
    assert group["NewInstancesProtectedFromScaleIn"] is False
    assert group["VPCZoneIdentifier"] == ",".join(world.subnets[az] for az in AZS)
    assert {t["Key"]: t["PropagateAtLaunch"] for t in group["Tags"]} == {
        "team": True,
        "cost": False,
        "cutover:revision": True,
    }
    assert {t["ResourceType"] for t in group["Tags"]} == {"auto-scaling-group"}
    assert "Status" not in group

    world.tick()
    group = describe_group(world)
    assert set(states(group).values()) == {"Pending"}
    assert sorted(i["AvailabilityZone"] for i in group["Instances"]) == list(AZS)
    assert {i["LaunchTemplate"]["LaunchTemplateName"] for i in group["Instances"]} == {"web"}
    for member in group["Instances"]:
        inst = world.instances[member["InstanceId"]]
        assert inst.revision == "v7"
        assert inst.tags["team"] == "web" and "cost" not in inst.tags
        assert inst.tags["aws:autoscaling:groupName"] == "web-asg"
    assert not tg.targets  # only InService members are registered

    settle(world)
    group = describe_group(world)
    assert set(states(group).values()) == {"InService"}
    assert {t.id for t in tg.targets.values()} == set(states(group))
    activities = asg_call(world, "DescribeScalingActivities", AutoScalingGroupName="web-asg")
    assert [a["Description"].split(":")[0] for a in activities["Activities"]] == [
        "Launching a new EC2 instance"
    ] * 2
    assert activities["Activities"][0]["Cause"].startswith("At ")


def test_create_group_validation(world: World) -> None:
    make_group(world)
    message = error(
        world, "autoscaling", "CreateAutoScalingGroup", "AlreadyExists",
        AutoScalingGroupName="web-asg", LaunchTemplate=LT, MinSize=1, MaxSize=1,
        AvailabilityZones=["us-east-1a"],
    )  # fmt: skip
    assert message == (
        "AutoScalingGroup by this name already exists - A group with the name web-asg "
        "already exists"
    )
    base = {"AutoScalingGroupName": "g2", "AvailabilityZones": ["us-east-1a"]}
    cases = [
        (
            {"MinSize": 1, "MaxSize": 1},
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, "
            "InstanceId or MixedInstancesPolicy parameter.",
        ),
        (
            {"LaunchTemplate": LT, "MinSize": 3, "MaxSize": 2},
            "Max bound, 2, must be greater than or equal to min bound, 3",
        ),
        (
            {"LaunchTemplate": LT, "MinSize": 1, "MaxSize": 2, "DesiredCapacity": 5},
            "Desired capacity:5 must be between the specified min size:1 and max size:2",
        ),
        (
            {"LaunchTemplate": LT, "MinSize": 1, "MaxSize": 2, "VPCZoneIdentifier": "subnet-nope"},
            "The subnet ID 'subnet-nope' does not exist",
        ),
        (
            {"LaunchTemplate": LT, "MinSize": 1, "MaxSize": 2, "TargetGroupARNs": ["arn:x"]},
            "Provided Target Groups may not be valid. Please ensure they exist and try again.",
        ),
        (
            {"LaunchTemplate": LT, "MinSize": 1, "MaxSize": 2, "LoadBalancerNames": ["nope"]},
            "Provided Load Balancers may not be valid. Please ensure they exist and try again.",
        ),
        (
            {"LaunchTemplate": LT, "MinSize": 1, "MaxSize": 2, "HealthCheckType": "HTTP"},
            "Health check type HTTP is not valid. Valid values are: EC2, ELB, VPC_LATTICE, EBS",
        ),
        (
            {"LaunchTemplate": LT, "MinSize": 1, "MaxSize": 2, "AvailabilityZones": []},
            "At least one Availability Zone or VPC Subnet is required.",
        ),
    ]
    for extra, expected in cases:
        message = error(
            world, "autoscaling", "CreateAutoScalingGroup", "ValidationError", **{**base, **extra}
        )
        assert message == expected
    assert set(world.asgs) == {"web-asg"}
    message = error(
        world, "autoscaling", "CreateAutoScalingGroup", "ValidationError",
        AutoScalingGroupName="g3", LaunchTemplate=LT, MaxSize=1,
    )  # fmt: skip
    assert "'minSize'" in message


def test_create_group_from_an_instance_or_a_mixed_policy(world: World) -> None:
    (source,) = launch(world, revision="v3", instance_type="c5.large")
    asg_call(
        world, "CreateAutoScalingGroup",
        AutoScalingGroupName="copy", InstanceId=source.id, MinSize=1, MaxSize=2,
    )  # fmt: skip
    group = describe_group(world, "copy")
    assert group["LaunchConfigurationName"] == "copy" and "LaunchTemplate" not in group
    assert group["AvailabilityZones"] == [source.az]
    world.tick()
    (member,) = world.asgs["copy"].members.values()
    assert world.instances[member.instance_id].revision == "v3"
    assert world.instances[member.instance_id].instance_type == "c5.large"

    asg_call(
        world, "CreateAutoScalingGroup",
        AutoScalingGroupName="mixed", MinSize=0, MaxSize=2, AvailabilityZones=["us-east-1b"],
        MixedInstancesPolicy={
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": "lt-0abc"},
                "Overrides": [{"InstanceType": "m5.xlarge"}, {"InstanceType": "m5.large"}],
            }
        },
    )  # fmt: skip
    assert world.asgs["mixed"].instance_type == "m5.xlarge"
    assert world.asgs["mixed"].revision == "v1"
    group = describe_group(world, "mixed")
    assert group["LaunchTemplate"]["LaunchTemplateId"] == "lt-0abc"
    assert group["DesiredCapacity"] == 0
    error(
        world, "autoscaling", "CreateAutoScalingGroup", "ValidationError",
        AutoScalingGroupName="x", InstanceId="i-0123456789abcdef0", MinSize=1, MaxSize=1,
    )  # fmt: skip


def test_desired_capacity_is_enforced_both_ways(world: World) -> None:
    make_group(world, size=2)
    settle(world)
    asg_call(world, "SetDesiredCapacity", AutoScalingGroupName="web-asg", DesiredCapacity=4)
    world.tick()
    assert sorted(states(describe_group(world)).values()) == ["InService"] * 2 + ["Pending"] * 2
    settle(world)
    group = describe_group(world)
    assert list(states(group).values()) == ["InService"] * 4
    azs = [i["AvailabilityZone"] for i in group["Instances"]]
    assert azs.count("us-east-1a") == azs.count("us-east-1b") == 2

    # Scale in: one from each AZ, the protected instance survives.
    keep = group["Instances"][0]["InstanceId"]
    asg_call(
        world, "SetInstanceProtection",
        AutoScalingGroupName="web-asg", InstanceIds=[keep], ProtectedFromScaleIn=True,
    )  # fmt: skip
    asg_call(world, "SetDesiredCapacity", AutoScalingGroupName="web-asg", DesiredCapacity=1)
    world.tick()
    after = states(describe_group(world))
    assert after[keep] == "InService"
    assert sorted(after.values()) == ["InService"] + ["Terminating"] * 3
    settle(world)
    group = describe_group(world)
    assert states(group) == {keep: "InService"}
    assert group["Instances"][0]["ProtectedFromScaleIn"] is True
    terminated = [i for i in world.instances.values() if i.state == "terminated"]
    assert len(terminated) == 3

    message = error(
        world, "autoscaling", "SetDesiredCapacity", "ValidationError",
        AutoScalingGroupName="web-asg", DesiredCapacity=5,
    )  # fmt: skip
    assert (
        message == "New SetDesiredCapacity value 5 is above max value 4 for the AutoScalingGroup."
    )
    message = error(
        world, "autoscaling", "SetDesiredCapacity", "ValidationError",
        AutoScalingGroupName="web-asg", DesiredCapacity=0,
    )  # fmt: skip
    assert (
        message == "New SetDesiredCapacity value 0 is below min value 1 for the AutoScalingGroup."
    )
    message = error(
        world, "autoscaling", "SetDesiredCapacity", "ValidationError",
        AutoScalingGroupName="nope", DesiredCapacity=0,
    )  # fmt: skip
    assert "not found" in message


def test_update_group_sizes_and_settings(world: World) -> None:
    make_group(world, size=2)
    asg_call(world, "UpdateAutoScalingGroup", AutoScalingGroupName="web-asg", MinSize=3)
    assert describe_group(world)["DesiredCapacity"] == 3
    asg_call(world, "UpdateAutoScalingGroup", AutoScalingGroupName="web-asg", MinSize=1, MaxSize=2)
    group = describe_group(world)
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 2, 2)
    message = error(
        world, "autoscaling", "UpdateAutoScalingGroup", "ValidationError",
        AutoScalingGroupName="web-asg", DesiredCapacity=3,
    )  # fmt: skip
    assert message == "Desired capacity:3 must be between the specified min size:1 and max size:2"
    message = error(
        world, "autoscaling", "UpdateAutoScalingGroup", "ValidationError",
        AutoScalingGroupName="web-asg", MinSize=5, HealthCheckType="ELB",
    )  # fmt: skip
    assert message == "Max bound, 2, must be greater than or equal to min bound, 5"
    assert describe_group(world)["HealthCheckType"] == "EC2"  # a refused call changes nothing

    asg_call(
        world, "UpdateAutoScalingGroup",
        AutoScalingGroupName="web-asg", HealthCheckType="ELB", HealthCheckGracePeriod=60,
        LaunchConfigurationName="old-lc", AvailabilityZones=["us-east-1b"],
        TerminationPolicies=["NewestInstance"], NewInstancesProtectedFromScaleIn=True,
    )  # fmt: skip
    group = describe_group(world)
    assert group["HealthCheckType"] == "ELB" and group["HealthCheckGracePeriod"] == 60
    assert group["LaunchConfigurationName"] == "old-lc" and "LaunchTemplate" not in group
    assert group["AvailabilityZones"] == ["us-east-1b"]
    assert group["VPCZoneIdentifier"] == world.subnets["us-east-1b"]
    assert group["TerminationPolicies"] == ["NewestInstance"]
    assert group["NewInstancesProtectedFromScaleIn"] is True


def test_describe_groups_filters_and_pagination(world: World) -> None:
    for i in range(5):
        make_group(world, f"g{i}", size=0, MinSize=0, Tags=[{"Key": "tier", "Value": f"t{i % 2}"}])

    def names(**params) -> list[str]:
        out = asg_call(world, "DescribeAutoScalingGroups", **params)
        return [g["AutoScalingGroupName"] for g in out["AutoScalingGroups"]]

    assert names() == ["g0", "g1", "g2", "g3", "g4"]
    assert names(AutoScalingGroupNames=["g3", "missing"]) == ["g3"]
    assert names(Filters=[{"Name": "tag:tier", "Values": ["t1"]}]) == ["g1", "g3"]
    assert names(Filters=[{"Name": "tag-key", "Values": ["tier"]}]) == names()
    assert names(Filters=[{"Name": "tag-value", "Values": ["t0"]}]) == ["g0", "g2", "g4"]
    assert names(Filters=[{"Name": "tag:tier", "Values": ["t*"]}]) == []  # no wildcards here
    seen, token, pages = [], None, 0
    while True:
        params = {"MaxRecords": 2, **({"NextToken": token} if token else {})}
        out = asg_call(world, "DescribeAutoScalingGroups", **params)
        seen += [g["AutoScalingGroupName"] for g in out["AutoScalingGroups"]]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert (seen, pages) == (names(), 3)
    error(world, "autoscaling", "DescribeAutoScalingGroups", "InvalidNextToken", NextToken="x")
    error(world, "autoscaling", "DescribeAutoScalingGroups", "ValidationError", MaxRecords=101)
    error(
        world, "autoscaling", "DescribeAutoScalingGroups", "ValidationError",
        Filters=[{"Name": "auto-scaling-group", "Values": ["g1"]}],
    )  # fmt: skip


def test_describe_instances_hooks_and_activities(world: World) -> None:
    make_group(world, size=2)
    settle(world)
    ids = sorted(world.asgs["web-asg"].members)
    out = asg_call(world, "DescribeAutoScalingInstances", InstanceIds=[ids[0], "i-00000000"])
    (row,) = out["AutoScalingInstances"]
    assert row["InstanceId"] == ids[0]
    assert row["AutoScalingGroupName"] == "web-asg"
    assert row["HealthStatus"] == "HEALTHY" and row["LifecycleState"] == "InService"
    assert row["LaunchTemplate"]["LaunchTemplateName"] == "web"
    all_rows = asg_call(world, "DescribeAutoScalingInstances")["AutoScalingInstances"]
    assert len(all_rows) == 2
    hooks = asg_call(world, "DescribeLifecycleHooks", AutoScalingGroupName="web-asg")
    assert hooks == {"LifecycleHooks": []}

    acts = asg_call(world, "DescribeScalingActivities", AutoScalingGroupName="web-asg")
    first = asg_call(
        world, "DescribeScalingActivities", AutoScalingGroupName="web-asg", MaxRecords=1
    )
    assert first["Activities"] == acts["Activities"][:1] and first["NextToken"]
    assert acts["Activities"][0]["StatusCode"] == "Successful"
    by_id = asg_call(
        world, "DescribeScalingActivities", ActivityIds=[acts["Activities"][1]["ActivityId"]]
    )
    assert by_id["Activities"] == acts["Activities"][1:2]


def test_ec2_termination_of_a_member_is_replaced(world: World) -> None:
    make_group(world, size=1)
    settle(world)
    (victim,) = world.asgs["web-asg"].members
    ec2(world, "TerminateInstances", InstanceIds=[victim])
    settle(world)
    group = describe_group(world)
    (survivor,) = group["Instances"]
    assert survivor["InstanceId"] != victim and survivor["LifecycleState"] == "InService"
    assert world.instances[victim].state == "terminated"


# ----- Auto Scaling: standby, termination, processes ------------------------------------------


def test_standby_round_trip_with_target_group_draining(world: World) -> None:
    tg = target_group(world)
    make_group(world, size=2, MinSize=1, TargetGroupARNs=[tg.arn])
    settle(world)
    a, b = world.asgs["web-asg"].members
    assert {t.id for t in tg.targets.values()} == {a, b}

    out = asg_call(
        world, "EnterStandby",
        AutoScalingGroupName="web-asg", InstanceIds=[a], ShouldDecrementDesiredCapacity=True,
    )  # fmt: skip
    (act,) = out["Activities"]
    assert act["Description"] == f"Moving EC2 instance to Standby: {a}"
    assert act["StatusCode"] == "InProgress" and act["Progress"] == 50
    assert "shrinking the capacity from 2 to 1" in act["Cause"]
    group = describe_group(world)
    assert group["DesiredCapacity"] == 1
    assert states(group) == {a: "EnteringStandby", b: "InService"}
    target = tg.targets[(a, 80)]
    assert target.state == "draining" and target.reason == "Target.DeregistrationInProgress"

    # The member stays EnteringStandby while its target drains: the whole deregistration
    # delay, whether or not a request is still in flight.
    target.inflight = 1
    settle(world)
    assert states(describe_group(world))[a] == "EnteringStandby"
    target.inflight = 0
    settle(world)
    assert states(describe_group(world))[a] == "EnteringStandby"
    world.clock.advance(300)
    settle(world)
    group = describe_group(world)
    assert states(group) == {a: "Standby", b: "InService"}
    assert {t.id for t in tg.targets.values()} == {b}
    assert len(world.asgs["web-asg"].members) == 2  # no replacement: capacity was decremented

    message = error(
        world, "autoscaling", "EnterStandby", "ValidationError",
        AutoScalingGroupName="web-asg", InstanceIds=[a], ShouldDecrementDesiredCapacity=True,
    )  # fmt: skip
    assert message == f"The instance {a} is not in InService."
    message = error(
        world, "autoscaling", "EnterStandby", "ValidationError",
        AutoScalingGroupName="web-asg", InstanceIds=[b], ShouldDecrementDesiredCapacity=True,
    )  # fmt: skip
    assert message == (
        "AutoScalingGroup web-asg has min-size=1, max-size=4, and desired-size=1. To place into "
        "standby 1 instances, please update the AutoScalingGroup sizes appropriately."
    )
    message = error(
        world, "autoscaling", "ExitStandby", "ValidationError",
        AutoScalingGroupName="web-asg", InstanceIds=[b],
    )  # fmt: skip
    assert message == f"The instance {b} is not in Standby."

    out = asg_call(world, "ExitStandby", AutoScalingGroupName="web-asg", InstanceIds=[a])
    (act,) = out["Activities"]
    assert act["Description"] == f"Moving EC2 instance out of Standby: {a}"
    assert act["StatusCode"] == "PreInService"
    group = describe_group(world)
    assert group["DesiredCapacity"] == 2 and states(group)[a] == "Pending"
    world.tick()
    assert states(describe_group(world)) == {a: "InService", b: "InService"}
    assert tg.targets[(a, 80)].state == "initial"
    assert len(world.asgs["web-asg"].members) == 2


def test_standby_without_decrement_launches_a_replacement(world: World) -> None:
    make_group(world, size=2, MaxSize=3)
    settle(world)
    a, _ = world.asgs["web-asg"].members
    asg_call(
        world, "EnterStandby",
        AutoScalingGroupName="web-asg", InstanceIds=[a], ShouldDecrementDesiredCapacity=False,
    )  # fmt: skip
    settle(world)
    group = describe_group(world)
    assert group["DesiredCapacity"] == 2
    assert sorted(states(group).values()) == ["InService", "InService", "Standby"]
    # Three members, desired 2, max 3: exiting would need desired 3, which fits.
    asg_call(world, "ExitStandby", AutoScalingGroupName="web-asg", InstanceIds=[a])
    settle(world)
    assert sorted(states(describe_group(world)).values()) == ["InService"] * 3
    asg_call(
        world, "EnterStandby",
        AutoScalingGroupName="web-asg", InstanceIds=[a], ShouldDecrementDesiredCapacity=True,
    )  # fmt: skip
    asg_call(world, "SetDesiredCapacity", AutoScalingGroupName="web-asg", DesiredCapacity=3)
    settle(world)
    message = error(
        world, "autoscaling", "ExitStandby", "ValidationError",
        AutoScalingGroupName="web-asg", InstanceIds=[a],
    )  # fmt: skip
    assert "To exit standby 1 instances" in message
    error(
        world, "autoscaling", "EnterStandby", "ValidationError",
        AutoScalingGroupName="web-asg", InstanceIds=["i-0123456789abcdef0"],
        ShouldDecrementDesiredCapacity=True,
    )  # fmt: skip


def test_terminate_instance_in_group(world: World) -> None:
    tg = target_group(world)
    make_group(world, size=2, MinSize=1, TargetGroupARNs=[tg.arn])
    settle(world)
    a, b = world.asgs["web-asg"].members
    out = asg_call(
        world, "TerminateInstanceInAutoScalingGroup",
        InstanceId=a, ShouldDecrementDesiredCapacity=True,
    )  # fmt: skip
    assert out["Activity"]["Description"] == f"Terminating EC2 instance: {a}"
    assert out["Activity"]["StatusCode"] == "InProgress"
    assert "shrinking the capacity from 2 to 1" in out["Activity"]["Cause"]
    group = describe_group(world)
    assert group["DesiredCapacity"] == 1 and states(group)[a] == "Terminating"
    assert tg.targets[(a, 80)].draining
    message = error(
        world, "autoscaling", "TerminateInstanceInAutoScalingGroup", "ValidationError",
        InstanceId=b, ShouldDecrementDesiredCapacity=True,
    )  # fmt: skip
    assert message.startswith("Currently, desiredSize equals minSize (1).")
    settle(world)
    # Terminating waits for the instance to leave the target group: the deregistration delay.
    assert states(describe_group(world)) == {a: "Terminating", b: "InService"}
    assert world.instances[a].state == "running"
    world.clock.advance(300)
    settle(world)
    assert states(describe_group(world)) == {b: "InService"}

    asg_call(
        world, "TerminateInstanceInAutoScalingGroup",
        InstanceId=b, ShouldDecrementDesiredCapacity=False,
    )  # fmt: skip
    settle(world)
    world.clock.advance(300)
    settle(world)
    group = describe_group(world)
    assert group["DesiredCapacity"] == 1
    (replacement,) = states(group)
    assert replacement != b and world.instances[b].state == "terminated"
    message = error(
        world, "autoscaling", "TerminateInstanceInAutoScalingGroup", "ValidationError",
        InstanceId="i-0123456789abcdef0", ShouldDecrementDesiredCapacity=False,
    )  # fmt: skip
    assert message == (
        "Instance Id not found - No managed instance found for instance ID: i-0123456789abcdef0"
    )


def test_suspend_and_resume_processes(world: World) -> None:
    tg = target_group(world)
    make_group(world, size=1, TargetGroupARNs=[tg.arn])
    asg_call(
        world, "SuspendProcesses",
        AutoScalingGroupName="web-asg", ScalingProcesses=["Launch", "AddToLoadBalancer"],
    )  # fmt: skip
    group = describe_group(world)
    assert {p["ProcessName"] for p in group["SuspendedProcesses"]} == {
        "Launch",
        "AddToLoadBalancer",
    }
    assert group["SuspendedProcesses"][0]["SuspensionReason"].startswith("User suspended at ")
    settle(world)
    assert describe_group(world)["Instances"] == []

    asg_call(world, "ResumeProcesses", AutoScalingGroupName="web-asg", ScalingProcesses=["Launch"])
    settle(world)
    (member,) = describe_group(world)["Instances"]
    assert member["LifecycleState"] == "InService"
    assert not tg.targets  # AddToLoadBalancer is still suspended

    asg_call(world, "SuspendProcesses", AutoScalingGroupName="web-asg")
    names = {p["ProcessName"] for p in describe_group(world)["SuspendedProcesses"]}
    assert len(names) == 9 and "AZRebalance" in names
    asg_call(world, "ResumeProcesses", AutoScalingGroupName="web-asg")
    assert describe_group(world)["SuspendedProcesses"] == []
    message = error(
        world, "autoscaling", "SuspendProcesses", "ValidationError",
        AutoScalingGroupName="web-asg", ScalingProcesses=["Launch", "Teleport"],
    )  # fmt: skip
    assert "Teleport" in message
    assert describe_group(world)["SuspendedProcesses"] == []


def test_group_tags(world: World) -> None:
    make_group(world, "a", size=0, MinSize=0)
    make_group(world, "b", size=0, MinSize=0)
    asg_call(
        world, "CreateOrUpdateTags",
        Tags=[
            {"ResourceId": "a", "ResourceType": "auto-scaling-group", "Key": "env",
             "Value": "prod", "PropagateAtLaunch": True},
            {"ResourceId": "b", "ResourceType": "auto-scaling-group", "Key": "env",
             "Value": "dev", "PropagateAtLaunch": False},
            {"ResourceId": "b", "Key": "owner", "Value": "ops"},
        ],
    )  # fmt: skip
    asg_call(world, "CreateOrUpdateTags", Tags=[{"ResourceId": "a", "Key": "env", "Value": "stg"}])
    tags = asg_call(world, "DescribeTags")["Tags"]
    assert [(t["ResourceId"], t["Key"], t["Value"]) for t in tags] == [
        ("a", "env", "stg"),
        ("b", "env", "dev"),
        ("b", "owner", "ops"),
    ]

    def keys(*filters: tuple[str, list[str]]) -> list[tuple[str, str]]:
        out = asg_call(
            world, "DescribeTags", Filters=[{"Name": n, "Values": v} for n, v in filters]
        )
        return [(t["ResourceId"], t["Key"]) for t in out["Tags"]]

    assert keys(("auto-scaling-group", ["b"])) == [("b", "env"), ("b", "owner")]
    assert keys(("key", ["env"]), ("value", ["dev", "stg"])) == [("a", "env"), ("b", "env")]
    assert keys(("propagate-at-launch", ["false"])) == [("b", "env")]
    page = asg_call(world, "DescribeTags", MaxRecords=2)
    assert len(page["Tags"]) == 2
    rest = asg_call(world, "DescribeTags", MaxRecords=2, NextToken=page["NextToken"])
    assert len(rest["Tags"]) == 1 and "NextToken" not in rest

    asg_call(world, "DeleteTags", Tags=[{"ResourceId": "b", "Key": "env"}])
    assert keys(("auto-scaling-group", ["b"])) == [("b", "owner")]
    error(
        world, "autoscaling", "CreateOrUpdateTags", "ValidationError",
        Tags=[{"ResourceId": "nope", "Key": "k", "Value": "v"}],
    )  # fmt: skip
    error(
        world,
        "autoscaling",
        "DescribeTags",
        "ValidationError",
        Filters=[{"Name": "x", "Values": []}],
    )


def test_attach_and_detach_load_balancers(world: World) -> None:
    make_group(world, size=2)
    settle(world)
    members = set(world.asgs["web-asg"].members)
    tg = target_group(world)
    clb = classic(world)
    asg_call(world, "AttachLoadBalancerTargetGroups", AutoScalingGroupName="web-asg",
             TargetGroupARNs=[tg.arn])  # fmt: skip
    asg_call(world, "AttachLoadBalancers", AutoScalingGroupName="web-asg",
             LoadBalancerNames=["legacy"])  # fmt: skip
    group = describe_group(world)
    assert group["TargetGroupARNs"] == [tg.arn] and group["LoadBalancerNames"] == ["legacy"]
    assert {s["Type"] for s in group["TrafficSources"]} == {"elbv2", "elb"}
    assert {t.id for t in tg.targets.values()} == members == set(clb.instances)

    asg_call(world, "DetachLoadBalancerTargetGroups", AutoScalingGroupName="web-asg",
             TargetGroupARNs=[tg.arn])  # fmt: skip
    asg_call(world, "DetachLoadBalancers", AutoScalingGroupName="web-asg",
             LoadBalancerNames=["legacy"])  # fmt: skip
    assert all(t.draining for t in tg.targets.values())
    assert all(t.draining for t in clb.instances.values())
    group = describe_group(world)
    assert group["TargetGroupARNs"] == [] and group["LoadBalancerNames"] == []
    settle(world)
    # Nothing was in flight: connection draining is over at once, the delay is not.
    assert not clb.instances and all(t.draining for t in tg.targets.values())
    world.clock.advance(300)
    settle(world)
    assert not tg.targets
    error(world, "autoscaling", "AttachLoadBalancerTargetGroups", "ValidationError",
          AutoScalingGroupName="web-asg", TargetGroupARNs=["arn:nope"])  # fmt: skip


def test_delete_group(world: World) -> None:
    tg = target_group(world)
    make_group(world, size=2, TargetGroupARNs=[tg.arn])
    message = error(
        world, "autoscaling", "DeleteAutoScalingGroup", "ScalingActivityInProgress",
        AutoScalingGroupName="web-asg",
    )  # fmt: skip
    assert "scaling activities in progress" in message
    settle(world)
    message = error(
        world, "autoscaling", "DeleteAutoScalingGroup", "ResourceInUse",
        AutoScalingGroupName="web-asg",
    )  # fmt: skip
    assert message == (
        "You cannot delete an AutoScalingGroup while there are instances still in the group."
    )
    members = set(world.asgs["web-asg"].members)
    asg_call(world, "DeleteAutoScalingGroup", AutoScalingGroupName="web-asg", ForceDelete=True)
    group = describe_group(world)
    assert group["Status"] == "Delete in progress" and group["DesiredCapacity"] == 0
    settle(world)
    world.clock.advance(300)  # the members' deregistration delay
    settle(world, rounds=6)
    assert asg_call(world, "DescribeAutoScalingGroups")["AutoScalingGroups"] == []
    assert {world.instances[i].state for i in members} == {"terminated"}
    assert not tg.targets
    error(world, "autoscaling", "DeleteAutoScalingGroup", "ValidationError",
          AutoScalingGroupName="web-asg")  # fmt: skip

    make_group(world, "empty", size=0, MinSize=0)
    asg_call(world, "DeleteAutoScalingGroup", AutoScalingGroupName="empty")
    assert "empty" not in world.asgs


# ----- STS -------------------------------------------------------------------------------------


def test_get_caller_identity(world: World) -> None:
    out = call(world, "sts", "GetCallerIdentity")
    assert out["Account"] == world.account_id
    assert out["Arn"] == f"arn:aws:iam::{world.account_id}:user/cutover-sandbox"
    assert out["UserId"].startswith("AIDA") and len(out["UserId"]) == 21
