"""Finding the places to act on: the configured target groups and Classic Load Balancers (or
those the home record names), and those the instance's Auto Scaling group has attached."""

from __future__ import annotations

from cutover.backend.core import hooktags

from .hook import Hook
from .places import ClbPlace, TgPlace, recorded_home


def explicit_places(
    hook: Hook, *, into: bool, home: str | None, exclude_arns: set[str], exclude_elbs: set[str]
) -> tuple[list[TgPlace], list[ClbPlace], bool]:
    """The configured target groups / classic LBs (or, registering with nothing configured,
    the home tag's), with the ports to act on. Third value: anything configured at all."""
    opts = hook.options
    home_tgs: list[tuple[str, int]] = []
    home_elbs: list[str] = []
    if home:
        home_tgs, home_elbs = recorded_home(home)
    tg_refs = list(opts.target_groups)
    elb_names = list(opts.elbs)
    from_home = False
    if not opts.configured and into and (home_tgs or home_elbs):
        tg_refs = list(dict.fromkeys(name for name, _ in home_tgs))
        elb_names = home_elbs
        from_home = True
    tgs: list[TgPlace] = []
    for info in hook.target_groups(tg_refs):
        if info["TargetGroupArn"] in exclude_arns:
            continue
        name = info["TargetGroupName"]
        tg = TgPlace(name=name, arn=info["TargetGroupArn"], ports=[], info=info)
        if into and opts.port is not None:
            tg.ports = [opts.port]
        elif into:
            recorded = [p for n, p in home_tgs if n == name]
            tg.ports = recorded or [int(info.get("Port") or 80)]
        else:
            found = {r["Target"]["Port"] for r in hook.registrations(tg.arn)}
            if opts.port is not None:
                found &= {opts.port}
            tg.ports = sorted(found)
        tgs.append(tg)
    clbs = [
        ClbPlace(name=lb["LoadBalancerName"], info=lb)
        for lb in hook.classic_lbs(n for n in elb_names if n not in exclude_elbs)
    ]
    if from_home and (tgs or clbs):
        hook.say.info(f"nothing configured: registering where {hooktags.HOME} says ({home})")
    return tgs, clbs, bool(tg_refs or elb_names) or from_home


def group_places(hook: Hook, group: dict) -> tuple[list[TgPlace], list[ClbPlace]]:
    tgs = []
    for info in hook.target_groups(group.get("TargetGroupARNs") or []):
        ports = sorted({r["Target"]["Port"] for r in hook.registrations(info["TargetGroupArn"])})
        tgs.append(
            TgPlace(
                name=info["TargetGroupName"],
                arn=info["TargetGroupArn"],
                ports=ports or [int(info.get("Port") or 80)],
                info=info,
                managed=True,
            )
        )
    clbs = [
        ClbPlace(name=lb["LoadBalancerName"], info=lb, managed=True)
        for lb in hook.classic_lbs(group.get("LoadBalancerNames") or [])
    ]
    return tgs, clbs
