"""The sandbox's world: instances, Auto Scaling groups, load balancers and their targets.

One `World` holds everything, guarded by one re-entrant lock, and keeps one clock. The API
services mutate it; the data plane (real servers, proxies and health checkers) reconciles
itself against it and reports health-check results back through `record_check`.

    clock.py          Clock: sandbox time, `time_scale` times faster than real time
    model.py          instances, target groups, listeners, load balancers (dataclasses)
    groups.py         Auto Scaling groups, members, lifecycle hooks, activities (dataclasses)
    state.py          State: the containers, ids, lookups, and the rules of load balancing
    instances.py      EC2 instances as users move and tag them: start, stop, terminate
    autoscaling.py    Auto Scaling's rules: launch, lifecycle hooks, termination, reconcile
    asg_config.py     Auto Scaling groups' definitions: the checks, creating a group
    asg_changes.py    changing a group: definition, size, processes, tags; deleting it
    asg_members.py    what users do to members: load balancers, standby, termination, hooks
    loadbalancers.py  finding load balancers, listeners, rules, target groups; their tags
    listeners.py      listeners and rules: actions, conditions, security settings, changes
    target_groups.py  target groups' attributes, registering and deregistering targets
    classic.py        Classic Load Balancers: instances and attributes
    world.py          World: the state as time passes (`tick`)

Import from here: the names below are the package's interface.
"""

from __future__ import annotations

from cutover.sandbox.world.clock import Clock
from cutover.sandbox.world.groups import (
    LAUNCHING,
    TERMINATING,
    Activity,
    AsgMember,
    AutoScalingGroup,
    LifecycleAction,
    LifecycleHook,
)
from cutover.sandbox.world.model import (
    DRAINING,
    HEALTHY,
    INITIAL,
    REASON_TEXT,
    UNAVAILABLE,
    UNHEALTHY,
    UNHEALTHY_DRAINING,
    UNUSED,
    ClassicLoadBalancer,
    HealthCheck,
    Instance,
    InstanceFault,
    Listener,
    LoadBalancer,
    Rule,
    Target,
    TargetGroup,
    WorldError,
)
from cutover.sandbox.world.state import State
from cutover.sandbox.world.world import World

__all__ = [
    "DRAINING",
    "HEALTHY",
    "INITIAL",
    "LAUNCHING",
    "REASON_TEXT",
    "TERMINATING",
    "UNAVAILABLE",
    "UNHEALTHY",
    "UNHEALTHY_DRAINING",
    "UNUSED",
    "Activity",
    "AsgMember",
    "AutoScalingGroup",
    "ClassicLoadBalancer",
    "Clock",
    "HealthCheck",
    "Instance",
    "InstanceFault",
    "LifecycleAction",
    "LifecycleHook",
    "Listener",
    "LoadBalancer",
    "Rule",
    "State",
    "Target",
    "TargetGroup",
    "World",
    "WorldError",
]
