"""EC2 instances as users move and tag them: start, stop, terminate, tags.

Each call is all or none: EC2 refuses the whole call when any instance named cannot make the
change. The data plane finishes each transition (pending -> running, stopping -> stopped,
shutting-down -> terminated).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cutover.sandbox.world.model import Instance, WorldError
from cutover.sandbox.world.state import State

INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")


def check_ids(world: State, ids: list[str]) -> list[Instance]:
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


def transition(
    world: State, ids: list[str], act: Callable[[Instance], str], refuse: tuple[str, ...], verb: str
) -> list[tuple[Instance, dict]]:
    """Apply `act` to every named instance, unless any is in a state in `refuse`; each
    instance with the state it had before."""
    if not ids:
        raise WorldError("MissingParameter", "The request must contain the parameter InstanceId")
    instances = check_ids(world, ids)
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
        changes.append((inst, before))
    return changes


def start(world: State, inst: Instance) -> str:
    """A stopped instance starts with a fresh LaunchTime, as EC2 gives it."""
    if inst.state == "stopped":
        inst.launch_time = world.now().replace(microsecond=0)
    return world.start_instance(inst)


# ----- tags ------------------------------------------------------------------------------------


def _tagged(world: State, resources: list[str]) -> list[Instance]:
    if not resources:
        raise WorldError("MissingParameter", "The request must contain the parameter resourceIdSet")
    for rid in resources:
        if not rid.startswith("i-"):
            raise WorldError("InvalidID", f"The ID '{rid}' is not valid")
    return check_ids(world, resources)


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


def create_tags(world: State, resources: list[str], tags: list[dict]) -> None:
    """Add or overwrite tags on instances (all or none; at most 50 a resource)."""
    instances = _tagged(world, resources)
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


def delete_tags(world: State, resources: list[str], tags: list[dict] | None) -> None:
    """Remove tags: a tag given with a Value goes only when the value matches; no tags at all
    (None) removes every tag the user can remove (not aws: ones)."""
    instances = _tagged(world, resources)
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
