"""Elastic Load Balancing v2 (Application and Network Load Balancers) over the sandbox world.

Results follow botocore's `elbv2` output shapes; errors carry the modeled wire codes
(`LoadBalancerNotFound`, `TargetGroupNotFound`, `ListenerNotFound`, `RuleNotFound`,
`InvalidTarget`, `InvalidConfigurationRequest`, ...) or `ValidationError` where AWS rejects a
value its own request validation catches. Every function here runs under `world.lock`
(`dispatch` holds it), so read-modify-write sequences are atomic.
"""

from __future__ import annotations

from cutover.sandbox.services import operation
from cutover.sandbox.services.elbv2_shapes import (
    health,
    health_entry,
    paginate,
    render_attributes,
    render_lb,
    render_listener,
    render_rule,
    render_tg,
    result,
    tag_list,
)
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import REASON_TEXT, UNUSED, Rule, World
from cutover.sandbox.world import listeners as listener_rules
from cutover.sandbox.world import loadbalancers as balancing
from cutover.sandbox.world import target_groups as tg_rules

SERVICE = "elbv2"


# ----- load balancers, listeners, rules -------------------------------------------------------


@operation(SERVICE, "DescribeLoadBalancers")
def describe_load_balancers(world: World, params: dict) -> dict:
    """Load balancers by ARN or name (all when neither is given), paginated."""
    if params.get("LoadBalancerArns") and params.get("Names"):
        raise ApiError("ValidationError", "Load balancer ARNs and names cannot both be specified")
    if params.get("LoadBalancerArns"):
        lbs = balancing.lookup_all(
            params["LoadBalancerArns"],
            world.load_balancers.get,
            "LoadBalancerNotFound",
            "load balancers",
        )
    elif params.get("Names"):
        lbs = balancing.lookup_all(
            params["Names"], world.load_balancer_by_name, "LoadBalancerNotFound", "load balancers"
        )
    else:
        lbs = list(world.load_balancers.values())
    page, marker = paginate(lbs, params)
    return result("LoadBalancers", [render_lb(world, lb) for lb in page], marker)


@operation(SERVICE, "DescribeListeners")
def describe_listeners(world: World, params: dict) -> dict:
    """Listeners of one load balancer, or the listeners asked for by ARN; paginated."""
    if params.get("ListenerArns"):
        by_arn = {listener.arn: listener for listener in world.listeners()}
        listeners = balancing.lookup_all(
            params["ListenerArns"], by_arn.get, "ListenerNotFound", "listeners"
        )
        if params.get("LoadBalancerArn"):
            listeners = [x for x in listeners if x.lb_arn == params["LoadBalancerArn"]]
    elif params.get("LoadBalancerArn"):
        listeners = list(balancing.find_lb(world, params["LoadBalancerArn"]).listeners.values())
    else:
        raise ApiError(
            "ValidationError", "You must specify either listener ARNs or a load balancer ARN"
        )
    page, marker = paginate(listeners, params)
    return result("Listeners", [render_listener(x) for x in page], marker)


def _rule_order(rule: Rule) -> tuple[int, int]:
    return (1, 0) if rule.is_default else (0, int(rule.priority))


@operation(SERVICE, "DescribeRules")
def describe_rules(world: World, params: dict) -> dict:
    """A listener's rules by priority with the default rule last, or the rules asked for."""
    if params.get("RuleArns"):
        rules = [balancing.find_rule(world, arn)[1] for arn in params["RuleArns"]]
    elif params.get("ListenerArn"):
        rules = sorted(balancing.find_listener(world, params["ListenerArn"]).rules, key=_rule_order)
    else:
        raise ApiError("ValidationError", "You must specify either listener ARN or rule ARNs")
    page, marker = paginate(rules, params)
    return result("Rules", [render_rule(r) for r in page], marker)


@operation(SERVICE, "ModifyListener")
def modify_listener(world: World, params: dict) -> dict:
    """Change a listener's port, protocol, certificate, security policy and/or default
    actions (see `listeners.modify_listener`); returns the listener."""
    listener = balancing.find_listener(world, params["ListenerArn"])
    listener_rules.modify_listener(
        world,
        listener,
        port=params.get("Port"),
        protocol=params.get("Protocol"),
        certificates=params.get("Certificates"),
        ssl_policy=params.get("SslPolicy"),
        default_actions=params.get("DefaultActions"),
    )
    return {"Listeners": [render_listener(listener)]}


@operation(SERVICE, "ModifyRule")
def modify_rule(world: World, params: dict) -> dict:
    """Replace a rule's actions and/or conditions; returns the rule."""
    listener, rule = balancing.find_rule(world, params["RuleArn"])
    listener_rules.modify_rule(
        world, listener, rule, params.get("Actions"), params.get("Conditions")
    )
    return {"Rules": [render_rule(rule)]}


# ----- target groups ----------------------------------------------------------------------------


@operation(SERVICE, "DescribeTargetGroups")
def describe_target_groups(world: World, params: dict) -> dict:
    """Target groups by load balancer, ARN or name (all when none is given), paginated.

    LoadBalancerArns lists the load balancers whose listeners or rules forward to the group.
    """
    groups = list(world.target_groups.values())
    if params.get("LoadBalancerArn"):
        lb = balancing.find_lb(world, params["LoadBalancerArn"])
        groups = [tg for tg in groups if any(x.arn == lb.arn for x in world.load_balancers_of(tg))]
    if params.get("TargetGroupArns"):
        groups = balancing.lookup_all(
            params["TargetGroupArns"],
            world.target_groups.get,
            "TargetGroupNotFound",
            "target groups",
        )
    elif params.get("Names"):
        groups = balancing.lookup_all(
            params["Names"], world.target_group_by_name, "TargetGroupNotFound", "target groups"
        )
    page, marker = paginate(groups, params)
    return result("TargetGroups", [render_tg(world, tg) for tg in page], marker)


@operation(SERVICE, "DescribeTargetGroupAttributes")
def describe_target_group_attributes(world: World, params: dict) -> dict:
    """Every attribute of the group's type: defaults overlaid with what was set."""
    return {"Attributes": render_attributes(balancing.find_tg(world, params["TargetGroupArn"]))}


@operation(SERVICE, "ModifyTargetGroupAttributes")
def modify_target_group_attributes(world: World, params: dict) -> dict:
    """Validate and store attributes (all or none); returns every attribute."""
    tg = balancing.find_tg(world, params["TargetGroupArn"])
    tg_rules.modify_attributes(tg, params["Attributes"])
    return {"Attributes": render_attributes(tg)}


# ----- targets ----------------------------------------------------------------------------------


@operation(SERVICE, "DescribeTargetHealth")
def describe_targethealth(world: World, params: dict) -> dict:
    """Health of a group's targets.

    Without Targets: every registered target, draining ones included. With Targets: one
    entry per registration of each asked-for target (just that port when Port is given); a
    target that is not registered reads `unused` / `Target.NotRegistered`, which the
    `target_deregistered` waiter relies on. An instance id the world does not know at all is
    `InvalidTarget`.
    """
    tg = balancing.find_tg(world, params["TargetGroupArn"])
    include = params.get("Include") or []
    if not params.get("Targets"):
        return {
            "TargetHealthDescriptions": [health(world, tg, t, include) for t in tg.targets.values()]
        }
    tg_rules.check_instances_exist(world, tg, params["Targets"])
    out = []
    for wanted in params["Targets"]:
        port = wanted.get("Port")
        matches = [
            t
            for t in tg.targets.values()
            if t.id == wanted["Id"] and (port is None or t.port == port)
        ]
        if matches:
            out.extend(health(world, tg, t, include) for t in matches)
        else:
            out.append(
                health_entry(
                    tg,
                    wanted["Id"],
                    port or tg.port,
                    UNUSED,
                    "Target.NotRegistered",
                    REASON_TEXT["Target.NotRegistered"],
                    include,
                )
            )
    return {"TargetHealthDescriptions": out}


@operation(SERVICE, "RegisterTargets")
def register_targets(world: World, params: dict) -> dict:
    """Register instances (all or none); see `target_groups.register_targets`."""
    tg = balancing.find_tg(world, params["TargetGroupArn"])
    tg_rules.register_targets(world, tg, params["Targets"])
    return {}


@operation(SERVICE, "DeregisterTargets")
def deregister_targets(world: World, params: dict) -> dict:
    """Start draining targets (all or none); see `target_groups.deregister_targets`."""
    tg = balancing.find_tg(world, params["TargetGroupArn"])
    tg_rules.deregister_targets(world, tg, params["Targets"])
    return {}


# ----- tags -------------------------------------------------------------------------------------


@operation(SERVICE, "DescribeTags")
def describe_tags(world: World, params: dict) -> dict:
    """Tags of up to 20 load balancers and target groups (listeners and rules have none)."""
    arns = params["ResourceArns"]
    if len(arns) > 20:
        raise ApiError(
            "ValidationError",
            "1 validation error detected: Value at 'resourceArns' failed to satisfy "
            "constraint: Member must have length less than or equal to 20",
        )
    out = []
    for arn in arns:
        store = balancing.taggable(world, arn)
        out.append({"ResourceArn": arn, "Tags": tag_list(store or {})})
    return {"TagDescriptions": out}


@operation(SERVICE, "AddTags")
def add_tags_op(world: World, params: dict) -> dict:
    """Add or overwrite tags on load balancers and target groups (all or none)."""
    stores = [balancing.tag_store(world, arn) for arn in params["ResourceArns"]]
    balancing.add_tags_to_all(stores, params["Tags"])
    return {}


@operation(SERVICE, "RemoveTags")
def remove_tags(world: World, params: dict) -> dict:
    """Remove tag keys from load balancers and target groups; absent keys are ignored."""
    stores = [balancing.tag_store(world, arn) for arn in params["ResourceArns"]]
    balancing.remove_tags(stores, params["TagKeys"])
    return {}
