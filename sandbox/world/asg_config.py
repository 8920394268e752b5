"""Auto Scaling groups' definitions: creating, changing and deleting groups, and the checks.

A failed call leaves the world as it was: every function validates everything before it
changes anything. Errors are AWS's ValidationError (and friends) word for word, since the
services answer them unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cutover.sandbox.world.groups import AutoScalingGroup
from cutover.sandbox.world.model import WorldError
from cutover.sandbox.world.state import State

DEFAULT_INSTANCE_TYPE = "t3.micro"
REVISION_TAG = "cutover:revision"
HEALTH_CHECK_TYPES = ("EC2", "ELB", "VPC_LATTICE", "EBS")
RESOURCE_TYPE = "auto-scaling-group"


def invalid(message: str) -> WorldError:
    return WorldError("ValidationError", message)


def require(values: dict, *names: str) -> None:
    """AWS's answer when a required member is missing (null)."""
    for name in names:
        if values.get(name) is None:
            field = name[0].lower() + name[1:]
            raise invalid(
                f"1 validation error detected: Value null at '{field}' failed to satisfy "
                "constraint: Member must not be null"
            )


def group(world: State, name: str | None) -> AutoScalingGroup:
    asg = world.asgs.get(name or "")
    if asg is None:
        raise invalid(f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
    return asg


@dataclass
class GroupSettings:
    """A group's definition as Create/UpdateAutoScalingGroup give it; None where not given.

    Launch sources are kept as given (the launch template specification, the mixed
    instances policy), since which of them a call names is part of what is checked.
    """

    min_size: int | None = None
    max_size: int | None = None
    desired: int | None = None
    launch_template: dict | None = None
    mixed_instances_policy: dict | None = None
    launch_configuration: str | None = None
    instance_id: str | None = None
    vpc_zone_identifier: str | None = None
    availability_zones: list[str] | None = None
    target_group_arns: list[str] | None = None
    load_balancer_names: list[str] | None = None
    health_check_type: str | None = None
    health_check_grace_period: int | None = None
    default_cooldown: int | None = None
    termination_policies: list[str] | None = None
    new_instances_protected: bool | None = None
    tags: list[dict] | None = None


# ----- checks ----------------------------------------------------------------------------------


def launch_template_spec(spec: dict) -> dict:
    """A LaunchTemplateSpecification as Auto Scaling reports it: id, name and version.

    The sandbox has no launch templates, so the missing half of id/name is derived from the
    other, stably.
    """
    lt_id, name = spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName")
    if lt_id and name:
        raise invalid(
            "Both launchTemplateId and launchTemplateName were provided. Valid requests must "
            "contain either launchTemplateId or LaunchTemplateName"
        )
    if not lt_id and not name:
        raise invalid("Valid requests must contain either launchTemplateId or LaunchTemplateName")
    if not lt_id:
        lt_id = "lt-" + hashlib.sha256(name.encode()).hexdigest()[:17]
    return {
        "LaunchTemplateId": lt_id,
        "LaunchTemplateName": name or lt_id,
        "Version": spec.get("Version") or "$Default",
    }


def check_sizes(min_size: int, max_size: int, desired: int | None) -> None:
    for field, value in (("minSize", min_size), ("maxSize", max_size)):
        if value < 0:
            raise invalid(
                f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                "constraint: Member must have value greater than or equal to 0"
            )
    if min_size > max_size:
        raise invalid(
            f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}"
        )
    if desired is not None and not min_size <= desired <= max_size:
        raise invalid(
            f"Desired capacity:{desired} must be between the specified min size:{min_size} and "
            f"max size:{max_size}"
        )


def azs_of_subnets(world: State, vpc_zone_identifier: str) -> list[str]:
    by_subnet = {sid: az for az, sid in world.subnets.items()}
    azs = []
    for sid in (s.strip() for s in vpc_zone_identifier.split(",")):
        if not sid:
            continue
        if sid not in by_subnet:
            raise invalid(f"The subnet ID '{sid}' does not exist")
        if by_subnet[sid] not in azs:
            azs.append(by_subnet[sid])
    if not azs:
        raise invalid("At least one Availability Zone or VPC Subnet is required.")
    return azs


def check_azs(world: State, azs: Iterable[str]) -> list[str]:
    out = []
    for az in azs:
        if not re.fullmatch(re.escape(world.region) + r"[a-z]", az):
            raise invalid(f"Invalid Availability Zone: [{az}]")
        if az not in out:
            out.append(az)
    return out


def check_target_groups(world: State, arns: Iterable[str]) -> list[str]:
    arns = list(dict.fromkeys(arns))
    if any(arn not in world.target_groups for arn in arns):
        raise invalid(
            "Provided Target Groups may not be valid. Please ensure they exist and try again."
        )
    for arn in arns:
        tg = world.target_groups[arn]
        if tg.target_type != "instance":
            raise invalid(
                f"Target group {tg.name} has a target type of {tg.target_type}; Auto Scaling "
                "groups only support target groups with a target type of instance."
            )
    return arns


def check_load_balancers(world: State, names: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(names))
    if any(name not in world.classic_lbs for name in names):
        raise invalid(
            "Provided Load Balancers may not be valid. Please ensure they exist and try again."
        )
    return names


def check_health_check_type(value: str) -> str:
    if value not in HEALTH_CHECK_TYPES:
        raise invalid(
            f"Health check type {value} is not valid. Valid values are: "
            + ", ".join(HEALTH_CHECK_TYPES)
        )
    return value


def tags_in(tags: list[dict], group: str) -> list[dict]:
    """Tags as a group keeps them (Key, Value, PropagateAtLaunch), the last of a key winning."""
    out: dict[str, dict] = {}
    for tag in tags:
        key = tag.get("Key")
        if not key:
            raise invalid("Tag key must not be empty")
        if key.lower().startswith("aws:"):
            raise invalid(f"Tag key {key} is invalid: keys starting with aws: are reserved.")
        if tag.get("ResourceType", RESOURCE_TYPE) != RESOURCE_TYPE:
            raise invalid(f"Invalid resource type {tag['ResourceType']}")
        if tag.get("ResourceId", group) != group:
            raise invalid(f"Tag resource id {tag['ResourceId']} does not match {group}")
        out[key] = {
            "Key": key,
            "Value": tag.get("Value") or "",
            "PropagateAtLaunch": bool(tag.get("PropagateAtLaunch", True)),
        }
    return list(out.values())


# ----- creating --------------------------------------------------------------------------------


@dataclass
class _Launch:
    """What a new group launches, and where, as its launch source decides."""

    instance_type: str
    revision: str
    launch_template: dict | None
    launch_configuration: str | None
    azs: list[str]
    vpc_zone_identifier: str


def _launch(world: State, name: str, s: GroupSettings, revision: str) -> _Launch:
    out = _Launch(DEFAULT_INSTANCE_TYPE, revision, None, None, [], s.vpc_zone_identifier or "")
    if s.launch_template:
        out.launch_template = launch_template_spec(s.launch_template)
    elif s.mixed_instances_policy:
        lt = s.mixed_instances_policy.get("LaunchTemplate") or {}
        out.launch_template = launch_template_spec(lt.get("LaunchTemplateSpecification") or {})
        overrides = [o for o in lt.get("Overrides") or [] if o.get("InstanceType")]
        if overrides:
            out.instance_type = overrides[0]["InstanceType"]
    elif s.launch_configuration:
        out.launch_configuration = s.launch_configuration
    else:
        source = world.instances.get(s.instance_id or "")
        if source is None or source.state in ("shutting-down", "terminated"):
            raise invalid(
                "Instance Id not found - No managed instance found for instance ID: "
                f"{s.instance_id}"
            )
        # AWS makes a launch configuration named after the group from the instance.
        out.launch_configuration = name
        out.instance_type = source.instance_type
        out.revision = source.revision
        out.azs = [source.az]
        out.vpc_zone_identifier = out.vpc_zone_identifier or source.subnet_id
    return out


def _place(world: State, launch: _Launch, s: GroupSettings) -> None:
    if launch.vpc_zone_identifier:
        launch.azs = azs_of_subnets(world, launch.vpc_zone_identifier)
    elif s.availability_zones:
        launch.azs = check_azs(world, s.availability_zones)
    if not launch.azs:
        raise invalid("At least one Availability Zone or VPC Subnet is required.")
    if not launch.vpc_zone_identifier:
        launch.vpc_zone_identifier = ",".join(world.subnet_for(az) for az in launch.azs)


def create_group(world: State, name: str, s: GroupSettings) -> AutoScalingGroup:
    """A new group; the reconciler launches its instances on the next tick.

    New instances run the group's revision: the revision of the instance named by InstanceId,
    else the `cutover:revision` tag's value, else "v1".
    """
    if name in world.asgs:
        raise WorldError(
            "AlreadyExists",
            f"AutoScalingGroup by this name already exists - A group with the name {name} "
            "already exists",
        )
    sources = [
        s.launch_configuration,
        s.launch_template,
        s.mixed_instances_policy,
        s.instance_id,
    ]
    if len([x for x in sources if x]) != 1:
        raise invalid(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, "
            "InstanceId or MixedInstancesPolicy parameter."
        )
    min_size, max_size = int(s.min_size or 0), int(s.max_size or 0)
    desired = min_size if s.desired is None else int(s.desired)
    check_sizes(min_size, max_size, desired)
    tags = tags_in(s.tags or [], name)
    revision = next((t["Value"] for t in tags if t["Key"] == REVISION_TAG), "v1")
    launch = _launch(world, name, s, revision)
    _place(world, launch, s)
    asg = AutoScalingGroup(
        name=name,
        arn=world.arn(
            "autoscaling", f"autoScalingGroup:{world.new_uuid()}:autoScalingGroupName/{name}"
        ),
        min_size=min_size,
        max_size=max_size,
        desired=desired,
        azs=launch.azs,
        instance_type=launch.instance_type,
        revision=launch.revision,
        created=world.now(),
        launch_template=launch.launch_template,
        launch_configuration_name=launch.launch_configuration,
        target_group_arns=check_target_groups(world, s.target_group_arns or []),
        load_balancer_names=check_load_balancers(world, s.load_balancer_names or []),
        health_check_type=check_health_check_type(s.health_check_type or "EC2"),
        health_check_grace_period=int(s.health_check_grace_period or 0),
        default_cooldown=int(300 if s.default_cooldown is None else s.default_cooldown),
        termination_policies=list(s.termination_policies or ["Default"]),
        tags=tags,
        vpc_zone_identifier=launch.vpc_zone_identifier,
        new_instances_protected=bool(s.new_instances_protected),
    )
    world.asgs[name] = asg
    return asg
