"""`cutover hook register` (ApplicationStart): put the instance back in service, out of
Standby or registered again, wait until it is healthy, and restore what deregister changed."""

from __future__ import annotations

from cutover.backend.core import hooktags

from .autoscaling import restore
from .changes import lifecycle_is, move_clb, move_tg
from .errors import HookUsage
from .hook import Hook
from .locate import explicit_places, group_places
from .places import ClbPlace, TgPlace
from .records import delete_out_tag
from .timeouts import derive_timeout
from .waits import wait_in, wait_lifecycle


def register(hook: Hook) -> None:
    where = hook.options.deployment.where()
    hook.say.info("putting the instance back in service" + (f" ({where})" if where else ""))
    member = hook.membership()
    tags = hook.instance_tags()
    if member is not None:
        register_asg(hook, member, tags)
    else:
        register_plain(hook, tags)


def register_plain(hook: Hook, tags: dict[str, str]) -> None:
    tgs, clbs, configured = explicit_places(
        hook, into=True, home=tags.get(hooktags.HOME), exclude_arns=set(), exclude_elbs=set()
    )
    if not configured:
        raise HookUsage(
            "no target groups or load balancers: set --target-groups/--elbs, "
            f"TARGET_GROUP_LIST/ELB_LIST, or hooks: in the config (and no {hooktags.HOME} tag)"
        )
    timeout = derive_timeout(hook, tgs, clbs, into=True)
    register_explicit(hook, tgs, clbs)
    wait_in(hook, tgs, clbs, timeout)
    if hooktags.OUT in tags:
        delete_out_tag(hook)
    hook.say.info("in service")


def register_explicit(hook: Hook, tgs: list[TgPlace], clbs: list[ClbPlace]) -> None:
    for tg in tgs:
        move_tg(hook, tg, tg.ports, into=True)
        ports = ", ".join(map(str, tg.ports))
        hook.say.info(f"registering with target group {tg.name} (port {ports})")
    for clb in clbs:
        move_clb(hook, clb.name, into=True)
        hook.say.info(f"registering with load balancer {clb.name}")


def register_asg(hook: Hook, member: dict, tags: dict[str, str]) -> None:
    asg_name = member["AutoScalingGroupName"]
    state = member["LifecycleState"]
    hook.say.info(f"member of Auto Scaling group {asg_name}, {state}")
    if state not in ("InService", "Standby", "EnteringStandby", "Pending"):
        hook.say.info(f"{state}: not for this hook to put in service (skipped)")
        return
    group = hook.group(asg_name)
    tgs, clbs = group_places(hook, group)
    # A registration the group does not manage itself: configured, or recorded at deregister.
    home = tags.get(hooktags.HOME, "")
    extra_tgs, extra_clbs, _ = explicit_places(
        hook,
        into=True,
        home=home,
        exclude_arns={t.arn for t in tgs},
        exclude_elbs={c.name for c in clbs},
    )
    # The group's own port for its target groups: AWS registers members on the group's port.
    for tg in tgs:
        tg.ports = [int(tg.info.get("Port") or 80)]
    timeout = derive_timeout(hook, [*tgs, *extra_tgs], [*clbs, *extra_clbs], into=True)
    if state == "EnteringStandby":
        wait_lifecycle(hook, asg_name, "Standby", timeout)
        state = "Standby"
    if state == "Standby":
        hook.send(
            "autoscaling",
            "exit_standby",
            lifecycle_is(hook, asg_name, "Pending", "Pending:Wait", "Pending:Proceed", "InService"),
            AutoScalingGroupName=asg_name,
            InstanceIds=[hook.instance_id],
        )
        hook.say.info(f"leaving Standby in {asg_name}")
    if state != "InService":
        wait_lifecycle(hook, asg_name, "InService", timeout)
    register_explicit(hook, extra_tgs, extra_clbs)
    # InService is not healthy: the target groups decide when traffic may come.
    wait_in(hook, [*tgs, *extra_tgs], [*clbs, *extra_clbs], timeout)
    if hooktags.OUT in tags:
        delete_out_tag(hook)
    restore(hook, asg_name)
    hook.say.info("in service")
