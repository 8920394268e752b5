"""`cutover hook deregister` (ApplicationStop): take the instance out of service, by Standby
in its Auto Scaling group or by deregistering it, and wait until it has drained."""

from __future__ import annotations

from cutover.backend.core import hooktags

from .autoscaling import lower_min_size, suspend
from .changes import lifecycle_is, move_clb, move_tg
from .errors import HookUsage
from .hook import Hook
from .locate import explicit_places, group_places
from .places import TgPlace, home_value
from .records import write_instance_tags
from .timeouts import derive_timeout
from .waits import wait_lifecycle, wait_out


def deregister(hook: Hook) -> None:
    where = hook.options.deployment.where()
    hook.say.info("taking the instance out of service" + (f" ({where})" if where else ""))
    member = hook.membership()
    tags = hook.instance_tags()
    if member is not None:
        deregister_asg(hook, member, tags)
    else:
        deregister_plain(hook, tags)


def previous_home(tags: dict[str, str]) -> str:
    """Entries to keep from an earlier run that took the instance out and never put it back
    (it may be registered nowhere now, and the tag is the only memory of where it was)."""
    return tags.get(hooktags.HOME, "") if hooktags.OUT in tags else ""


def deregister_plain(hook: Hook, tags: dict[str, str]) -> None:
    tgs, clbs, configured = explicit_places(
        hook, into=False, home=None, exclude_arns=set(), exclude_elbs=set()
    )
    if not configured:
        raise HookUsage(
            "no target groups or load balancers: set --target-groups/--elbs, "
            "TARGET_GROUP_LIST/ELB_LIST, or hooks: in the config"
        )
    registered_clbs = []
    for clb in clbs:
        state, _, _ = hook.clb_health(clb.name)
        if state is None:
            hook.say.info(f"not registered in load balancer {clb.name}: already out")
        else:
            registered_clbs.append(clb)
    for tg in tgs:
        if not tg.ports:
            hook.say.info(f"not registered in target group {tg.name}: already out")
    # The home tag names every place it belongs, registered now or not (for register).
    home_tgs = [
        TgPlace(t.name, t.arn, t.ports or [hook.options.port or int(t.info.get("Port") or 80)])
        for t in tgs
    ]
    write_instance_tags(hook, home_value(None, home_tgs, clbs, previous_home(tags)))
    active_tgs = [t for t in tgs if t.ports]
    if not active_tgs and not registered_clbs:
        hook.say.info("not registered anywhere: nothing to take out")
        return
    timeout = derive_timeout(hook, active_tgs, registered_clbs, into=False)
    for tg in active_tgs:
        move_tg(hook, tg, tg.ports, into=False)
        ports = ", ".join(map(str, tg.ports))
        hook.say.info(f"deregistering from target group {tg.name} (port {ports})")
    for clb in registered_clbs:
        move_clb(hook, clb.name, into=False)
        hook.say.info(f"deregistering from load balancer {clb.name}")
    wait_out(hook, active_tgs, registered_clbs, timeout)
    hook.say.info("out of service")


def deregister_asg(hook: Hook, member: dict, tags: dict[str, str]) -> None:
    asg_name = member["AutoScalingGroupName"]
    state = member["LifecycleState"]
    hook.say.info(f"member of Auto Scaling group {asg_name}, {state}")
    if state not in ("InService", "Standby", "EnteringStandby"):
        # As the sample scripts do: a launching (Pending:Wait) or leaving instance is not
        # serving traffic; there is nothing to take out.
        hook.say.info(f"{state}: not in service, nothing to take out (skipped)")
        return
    group = hook.group(asg_name)
    tgs, clbs = group_places(hook, group)
    extra_tgs, extra_clbs, _ = explicit_places(
        hook,
        into=False,
        home=None,
        exclude_arns={t.arn for t in tgs},
        exclude_elbs={c.name for c in clbs},
    )
    extra_tgs = [t for t in extra_tgs if t.ports]
    home = home_value(asg_name, [*tgs, *extra_tgs], [*clbs, *extra_clbs], previous_home(tags))
    write_instance_tags(hook, home)
    timeout = derive_timeout(hook, [*tgs, *extra_tgs], [*clbs, *extra_clbs], into=False)
    if state == "InService":
        suspend(hook, group)
        lower_min_size(hook, group)
        hook.send(
            "autoscaling",
            "enter_standby",
            lifecycle_is(hook, asg_name, "EnteringStandby", "Standby"),
            AutoScalingGroupName=asg_name,
            InstanceIds=[hook.instance_id],
            ShouldDecrementDesiredCapacity=True,
        )
        hook.say.info(f"entering Standby in {asg_name} (desired capacity decremented)")
    else:
        hook.say.info(f"already {state} (an earlier run?): waiting for it to be out")
    for tg in extra_tgs:
        move_tg(hook, tg, tg.ports, into=False)
        hook.say.info(f"deregistering from target group {tg.name}")
    for clb in extra_clbs:
        if hook.clb_health(clb.name)[0] is not None:
            move_clb(hook, clb.name, into=False)
            hook.say.info(f"deregistering from load balancer {clb.name}")
    # Standby is not enough: the sample scripts stop there while targets still drain.
    wait_out(hook, [*tgs, *extra_tgs], [*clbs, *extra_clbs], timeout)
    wait_lifecycle(hook, asg_name, "Standby", timeout)
    hook.say.info("out of service")
