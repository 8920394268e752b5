"""The hooks' records in tags (format: `cutover.backend.core.hooktags`): where the instance
serves and that it is out, on the instance; MinSize and suspended processes, on its group."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from cutover.backend.core import hooktags

from .changes import group_shows
from .hook import Hook


def group_tags_are(hook: Hook, asg: str, wanted: dict[str, str | None]) -> Callable:
    """`wanted`: key -> value, None for absent."""

    def done(group: dict) -> bool:
        tags = hook.group_tags(group)
        return all(tags.get(k) == v for k, v in wanted.items())

    def what(group: dict) -> str:
        tags = hook.group_tags(group)
        return "has " + ", ".join(f"{k}={tags[k]!r}" if k in tags else f"no {k}" for k in wanted)

    return group_shows(hook, asg, done, what)


def instance_tags_are(hook: Hook, wanted: dict[str, str | None]) -> Callable:
    def check() -> tuple[bool, str]:
        tags = hook.instance_tags()
        shown = ", ".join(f"{k}={tags[k]!r}" if k in tags else f"no {k}" for k in wanted)
        return all(tags.get(k) == v for k, v in wanted.items()), f"the instance has {shown}"

    return check


def out_value(hook: Hook) -> str:
    d = hook.options.deployment
    now = hook.clock.now() if hook.clock.known else datetime.now(UTC)
    return hooktags.out_text(d.deployment_id, now, d.event)


def write_instance_tags(hook: Hook, home: str) -> None:
    out = out_value(hook)
    hook.send(
        "ec2",
        "create_tags",
        instance_tags_are(hook, {hooktags.HOME: home, hooktags.OUT: out}),
        Resources=[hook.instance_id],
        Tags=[{"Key": hooktags.HOME, "Value": home}, {"Key": hooktags.OUT, "Value": out}],
    )
    hook.say.info(f"recorded {hooktags.HOME}={home!r} and {hooktags.OUT} on the instance")


def delete_out_tag(hook: Hook) -> None:
    hook.send(
        "ec2",
        "delete_tags",
        instance_tags_are(hook, {hooktags.OUT: None}),
        Resources=[hook.instance_id],
        Tags=[{"Key": hooktags.OUT}],
    )
    hook.say.info(f"removed {hooktags.OUT}: the instance is back in service")


def set_group_tag(hook: Hook, asg_name: str, key: str, value: str) -> None:
    hook.send(
        "autoscaling",
        "create_or_update_tags",
        group_tags_are(hook, asg_name, {key: value}),
        Tags=[
            {
                "ResourceId": asg_name,
                "ResourceType": "auto-scaling-group",
                "Key": key,
                "Value": value,
                "PropagateAtLaunch": False,
            }
        ],
    )
