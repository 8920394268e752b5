"""What the hooks change in an Auto Scaling group while an instance is out, and put back: its
suspended processes and MinSize, each recorded on the group before it is changed."""

from __future__ import annotations

from cutover.backend.core import hooktags

from .changes import group_shows, min_size_is
from .hook import Hook
from .records import group_tags_are, set_group_tag


def suspended_of(group: dict) -> set[str]:
    return {p["ProcessName"] for p in group.get("SuspendedProcesses") or []}


def shows_suspended(group: dict) -> str:
    return "has suspended: " + (", ".join(sorted(suspended_of(group))) or "nothing")


def min_size_changed(asg_name: str, current: int, record: tuple[int, int]) -> str:
    return (
        f"MinSize of {asg_name} is {current}, not the {record[1]} the hooks set: changed by"
        " someone else since"
    )


def suspend(hook: Hook, group: dict) -> None:
    name = group["AutoScalingGroupName"]
    already = suspended_of(group)
    ours = [p for p in hook.options.suspend_processes if p not in already]
    if not ours:
        return
    recorded = hooktags.parse_suspended(hook.group_tags(group).get(hooktags.SUSPENDED, ""))
    # The record first: if the suspend succeeds and we die, the next register resumes them.
    set_group_tag(hook, name, hooktags.SUSPENDED, hooktags.suspended_text([*recorded, *ours]))
    hook.send(
        "autoscaling",
        "suspend_processes",
        group_shows(hook, name, lambda g: set(ours) <= suspended_of(g), shows_suspended),
        AutoScalingGroupName=name,
        ScalingProcesses=ours,
    )
    hook.say.info(f"suspended {', '.join(ours)} in {name} (recorded in {hooktags.SUSPENDED})")


def lower_min_size(hook: Hook, group: dict) -> None:
    """Lower MinSize by one when it equals the desired capacity, recording `ORIGINAL>SET`
    first. With a record whose SET is the current MinSize (another instance still out, or
    an interrupted deployment), lower on from it and keep its ORIGINAL; a record that does
    not match (changed by someone else) is stale: the current value becomes the original."""
    name = group["AutoScalingGroupName"]
    min_size, desired = group["MinSize"], group["DesiredCapacity"]
    if not hook.options.lower_min_size or not (min_size == desired > 0):
        return
    raw = hook.group_tags(group).get(hooktags.MIN_SIZE)
    record = hooktags.parse_min_size(raw) if raw is not None else None
    original = min_size
    if record is not None and min_size == record[1]:
        original = record[0]
    elif record is not None and min_size != record[0]:
        hook.say.info(
            f"{min_size_changed(name, min_size, record)}; starting afresh: {min_size} is"
            " the value to restore"
        )
    elif raw is not None and record is None:
        hook.say.info(
            f"{hooktags.MIN_SIZE}={raw!r} is not a record the hooks wrote; starting afresh:"
            f" {min_size} is the value to restore"
        )
    value = hooktags.min_size_text(original, min_size - 1)
    # The record first: if the update succeeds and we die, the next register restores it.
    set_group_tag(hook, name, hooktags.MIN_SIZE, value)
    hook.send(
        "autoscaling",
        "update_auto_scaling_group",
        min_size_is(hook, name, min_size - 1),
        AutoScalingGroupName=name,
        MinSize=min_size - 1,
    )
    hook.say.info(
        f"lowered MinSize of {name} from {min_size} to {min_size - 1}"
        f" (recorded {hooktags.MIN_SIZE}={value})"
    )


def restore(hook: Hook, asg_name: str) -> None:
    """The restore rule: MinSize and suspended processes come back once no other member is
    still out (in Standby with a `cutover:hook:out` tag)."""
    group = hook.group(asg_name)
    gtags = hook.group_tags(group)
    if hooktags.MIN_SIZE not in gtags and hooktags.SUSPENDED not in gtags:
        return
    still_out = others_still_out(hook, group)
    if still_out:
        hook.say.info(
            f"not restoring {asg_name} yet: {', '.join(still_out)} still out "
            "(the last one back restores it)"
        )
        return
    delete = []
    if hooktags.MIN_SIZE in gtags:
        restore_min_size(hook, asg_name, group["MinSize"], gtags[hooktags.MIN_SIZE])
        delete.append(hooktags.MIN_SIZE)
    if hooktags.SUSPENDED in gtags:
        processes = hooktags.parse_suspended(gtags[hooktags.SUSPENDED])
        if processes:
            hook.send(
                "autoscaling",
                "resume_processes",
                group_shows(
                    hook,
                    asg_name,
                    lambda g: not set(processes) & suspended_of(g),
                    shows_suspended,
                ),
                AutoScalingGroupName=asg_name,
                ScalingProcesses=processes,
            )
            hook.say.info(f"resumed {', '.join(processes)} in {asg_name}")
        delete.append(hooktags.SUSPENDED)
    hook.send(
        "autoscaling",
        "delete_tags",
        group_tags_are(hook, asg_name, dict.fromkeys(delete)),
        Tags=[
            {"ResourceId": asg_name, "ResourceType": "auto-scaling-group", "Key": k} for k in delete
        ],
    )
    hook.say.info(f"removed {', '.join(delete)} from {asg_name}")


def others_still_out(hook: Hook, group: dict) -> list[str]:
    """The group's other members in Standby that the hooks took out (their out tag is on)."""
    others = [
        m["InstanceId"]
        for m in group.get("Instances") or []
        if m["InstanceId"] != hook.instance_id
        and m["LifecycleState"] in ("Standby", "EnteringStandby")
    ]
    if not others:
        return []
    out = hook.client("ec2").describe_tags(
        Filters=[
            {"Name": "resource-id", "Values": others},
            {"Name": "key", "Values": [hooktags.OUT]},
        ]
    )["Tags"]
    return sorted({t["ResourceId"] for t in out})


def restore_min_size(hook: Hook, asg_name: str, current: int, raw: str) -> None:
    """MinSize back to the record's original, unless someone set it since (theirs stands)."""
    record = hooktags.parse_min_size(raw)
    if record is None:
        hook.say.error(f"{hooktags.MIN_SIZE}={raw!r} is not a record: MinSize left alone")
    elif current == record[1]:
        hook.send(
            "autoscaling",
            "update_auto_scaling_group",
            min_size_is(hook, asg_name, record[0]),
            AutoScalingGroupName=asg_name,
            MinSize=record[0],
        )
        hook.say.info(f"restored MinSize of {asg_name} to {record[0]}")
    elif current == record[0]:
        hook.say.info(f"MinSize of {asg_name} is already {current}: nothing to restore")
    else:
        hook.say.info(
            f"{min_size_changed(asg_name, current, record)}, so left at {current}"
            f" (it was {record[0]} before the hooks lowered it)"
        )
