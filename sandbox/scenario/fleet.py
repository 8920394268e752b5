"""The fleet sections of a scenario file: auto_scaling_groups and standalone instances."""

from __future__ import annotations

import re

import yaml
from cutover.common.yamlcheck import NULL, YamlReader

from .fields import Names, azs
from .spec import AsgSpec, InstanceSpec, Scenario

_ASG_NAME_RE = re.compile(r"^[\w.-]{1,255}$")
# The largest group a scenario may start with: the huge scenario's 1,000 instances, doubled by
# a blue/green copy (each instance is a server on this machine).
MAX_GROUP_SIZE = 2000


def _attachments(
    r: YamlReader, m: dict[str, yaml.Node], names: Names
) -> tuple[list[str], list[str]]:
    """(target groups, classic load balancers) an instance or a group is attached to."""
    groups = r.strings(m["target_groups"], "target_groups") if "target_groups" in m else []
    clbs = r.strings(m["load_balancers"], "load_balancers") if "load_balancers" in m else []
    names.check_lbs(r, clbs, groups)
    return [g for g, _ in groups], [c for c, _ in clbs]


def parse_auto_scaling_groups(
    r: YamlReader, top: dict[str, yaml.Node], sc: Scenario, names: Names
) -> None:
    for node in r.sequence(top.get("auto_scaling_groups", NULL), "auto_scaling_groups"):
        m = r.mapping(
            node,
            "an Auto Scaling group",
            required=("name",),
            optional=(
                "min",
                "max",
                "desired",
                "availability_zones",
                "instance_type",
                "revision",
                "target_groups",
                "load_balancers",
                "health_check_type",
                "health_check_grace_period",
                "tags",
            ),
        )
        name = r.string(m["name"], "group name", pattern=_ASG_NAME_RE)
        if name in names.auto_scaling_groups:
            raise r.fail(m["name"], f"Auto Scaling group '{name}' is defined twice")
        names.auto_scaling_groups.add(name)
        desired = r.integer(m["desired"], "desired", 0, MAX_GROUP_SIZE) if "desired" in m else 2
        min_size = r.integer(m["min"], "min", 0, MAX_GROUP_SIZE) if "min" in m else desired
        max_size = (
            r.integer(m["max"], "max", 0, MAX_GROUP_SIZE)
            if "max" in m
            else max(desired, min_size) * 2
        )
        if not min_size <= desired <= max_size:
            raise r.fail(
                node,
                f"group {name} needs min <= desired <= max ({min_size}, {desired}, {max_size})",
            )
        groups, clbs = _attachments(r, m, names)
        sc.auto_scaling_groups.append(
            AsgSpec(
                name=name,
                min_size=min_size,
                max_size=max_size,
                desired=desired,
                availability_zones=azs(
                    r, m.get("availability_zones"), "availability_zones", sc.region
                ),
                instance_type=r.string(m["instance_type"], "instance_type")
                if "instance_type" in m
                else "t3.micro",
                revision=r.string(m["revision"], "revision") if "revision" in m else "v1",
                target_groups=groups,
                load_balancers=clbs,
                health_check_type=r.choice(
                    m["health_check_type"], "health_check_type", ("EC2", "ELB")
                )
                if "health_check_type" in m
                else "EC2",
                health_check_grace_period=r.integer(
                    m["health_check_grace_period"], "health_check_grace_period", 0, 7200
                )
                if "health_check_grace_period" in m
                else 300,
                tags=r.tags(m["tags"], "tags") if "tags" in m else {},
            )
        )


def parse_instances(r: YamlReader, top: dict[str, yaml.Node], sc: Scenario, names: Names) -> None:
    region = sc.region
    for node in r.sequence(top.get("instances", NULL), "instances"):
        m = r.mapping(
            node,
            "an instance",
            required=("name",),
            optional=(
                "availability_zone",
                "instance_type",
                "revision",
                "tags",
                "target_groups",
                "load_balancers",
            ),
        )
        name = r.string(m["name"], "instance name")
        groups, clbs = _attachments(r, m, names)
        az = f"{region}a"
        if "availability_zone" in m:
            az = r.string(m["availability_zone"], "availability_zone")
            if not re.fullmatch(rf"{re.escape(region)}[a-z]", az):
                raise r.fail(
                    m["availability_zone"], f"'{az}' is not an Availability Zone of {region}"
                )
        sc.instances.append(
            InstanceSpec(
                name=name,
                availability_zone=az,
                instance_type=r.string(m["instance_type"], "instance_type")
                if "instance_type" in m
                else "t3.micro",
                revision=r.string(m["revision"], "revision") if "revision" in m else "v1",
                tags=r.tags(m["tags"], "tags") if "tags" in m else {},
                target_groups=groups,
                load_balancers=clbs,
            )
        )
