"""EC2 reads: the instances' placement, type, state, launch time, Auto Scaling group and the
hooks' tags, in one DescribeInstances; instances EC2 has forgotten are remembered and not
asked for again."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError
from cutover.backend.core import hooktags
from cutover.backend.core.facts import Ec2
from cutover.backend.observe.calls import Calls, Parts, pages


class InstanceReads:
    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self.gone: set[str] = set()  # instance ids EC2 no longer knows

    def instances(self, ids: list[str], parts: Parts) -> dict[str, Ec2]:
        if not ids:
            return {}
        ec2 = self._calls.client("ec2")

        def read() -> dict[str, Ec2]:
            wanted = list(ids)
            for _ in range(3):
                try:
                    return _describe_instances(ec2, wanted)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "InvalidInstanceID.NotFound":
                        raise
                    # EC2 forgets terminated instances after about an hour, and one unknown
                    # id fails the whole call: drop the ones it names and ask again.
                    gone = set(re.findall(r"i-[0-9a-f]+", exc.response["Error"].get("Message", "")))
                    if not gone:
                        raise
                    self.gone |= gone
                    wanted = [i for i in wanted if i not in gone]
                    if not wanted:
                        return {}
            return _describe_instances(ec2, wanted)

        return self._calls.part(parts, "instances", "instance details", read, {})


def _describe_instances(ec2: Any, ids: list[str]) -> dict[str, Ec2]:
    out = {}
    for got in pages(ec2, "describe_instances", InstanceIds=ids):
        for res in got.get("Reservations", []):
            for i in res.get("Instances", []):
                tags = {t["Key"]: t.get("Value", "") for t in i.get("Tags") or []}
                out[i["InstanceId"]] = Ec2(
                    id=i["InstanceId"],
                    az=(i.get("Placement") or {}).get("AvailabilityZone"),
                    instance_type=i.get("InstanceType"),
                    state=(i.get("State") or {}).get("Name"),
                    launch_time=i.get("LaunchTime"),
                    asg=tags.get("aws:autoscaling:groupName"),
                    tags={k: v for k, v in tags.items() if k.startswith(hooktags.PREFIX)},
                )
    return out
