"""EC2's request filters: wildcard values, AND across filters and OR within one, and the
filter names each Describe call knows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from cutover.sandbox.world import WorldError


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


def apply_filters(
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


def names(*names: str, tags: bool = False) -> Callable[[str], bool]:
    allowed = frozenset(names)

    def known(name: str) -> bool:
        if tags and (name.startswith("tag:") or name in ("tag-key", "tag-value")):
            return True
        return name in allowed

    return known


def tag_fields(tags: dict[str, str], name: str) -> list[str] | None:
    if name.startswith("tag:"):
        key = name[4:]
        return [tags[key]] if key in tags else []
    if name == "tag-key":
        return list(tags)
    if name == "tag-value":
        return list(tags.values())
    return None


INSTANCE_FILTERS = names(
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
STATUS_FILTERS = names(
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
