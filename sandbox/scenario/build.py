"""A World built from a scenario: its resources made directly, then its alarms and CodeDeploy
resources created through the services' own API operations, as a user would."""

from __future__ import annotations

from cutover.sandbox.world import (
    AutoScalingGroup,
    ClassicLoadBalancer,
    Listener,
    LoadBalancer,
    Rule,
    TargetGroup,
    World,
)

from .spec import (
    AsgSpec,
    ClassicSpec,
    ForwardSpec,
    HistorySpec,
    ListenerSpec,
    LoadBalancerSpec,
    RuleSpec,
    Scenario,
    ScenarioError,
    TargetGroupSpec,
)


def build_world(sc: Scenario, *, time_scale: float | None = None) -> World:
    """A fresh World holding everything the scenario describes.

    Auto Scaling groups start empty with their desired capacity set: the first tick launches
    their instances, which the data plane boots and the groups then register, exactly as a
    scale-out would. Standalone instances are launched and registered directly.
    """
    world = World(
        region=sc.region,
        account_id=sc.account_id,
        time_scale=time_scale or sc.time_scale,
        seed=sc.seed,
    )
    with world.lock:
        tgs: dict[str, TargetGroup] = {}
        for spec in sc.target_groups:
            tg = _target_group(world, spec)
            world.target_groups[tg.arn] = tg
            tgs[spec.name] = tg
        for spec in sc.load_balancers:
            lb = _load_balancer(world, spec, tgs)
            world.load_balancers[lb.arn] = lb
        for spec in sc.classic_load_balancers:
            world.classic_lbs[spec.name] = _classic(world, spec)
        for spec in sc.auto_scaling_groups:
            world.asgs[spec.name] = _asg(world, spec, tgs)
        for spec in sc.instances:
            inst = world.launch_instance(
                az=spec.availability_zone,
                instance_type=spec.instance_type,
                revision=spec.revision,
                tags={"Name": spec.name, **spec.tags},
            )
            for name in spec.target_groups:
                world.register(tgs[name], inst.id)
            for name in spec.load_balancers:
                world.register_classic(world.classic_lbs[name], inst.id)
    if sc.alarms or sc.codedeploy.applications or sc.codedeploy.configs:
        _install_services(world, sc, tgs)
    return world


def _target_group(world: World, spec: TargetGroupSpec) -> TargetGroup:
    return TargetGroup(
        arn=world.arn("elasticloadbalancing", f"targetgroup/{spec.name}/{world.new_id('', 16)}"),
        name=spec.name,
        protocol=spec.protocol,
        port=spec.port,
        vpc_id=world.vpc_id,
        health_check=spec.health_check,
        attributes={
            "deregistration_delay.timeout_seconds": str(spec.deregistration_delay),
            "stickiness.enabled": "false",
            "stickiness.type": "lb_cookie" if spec.protocol == "HTTP" else "source_ip",
            "stickiness.lb_cookie.duration_seconds": "86400",
            "load_balancing.algorithm.type": "round_robin",
            "slow_start.duration_seconds": "0",
        },
    )


def _actions(forward: list[ForwardSpec], tgs: dict[str, TargetGroup]) -> list[dict]:
    groups = [{"TargetGroupArn": tgs[f.target_group].arn, "Weight": f.weight} for f in forward]
    action: dict = {
        "Type": "forward",
        "Order": 1,
        "ForwardConfig": {
            "TargetGroups": groups,
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }
    if len(groups) == 1:
        action["TargetGroupArn"] = groups[0]["TargetGroupArn"]
    return [action]


def _load_balancer(
    world: World, spec: LoadBalancerSpec, tgs: dict[str, TargetGroup]
) -> LoadBalancer:
    short = "app" if spec.type == "application" else "net"
    lb_id = world.new_id("", 16)
    lb = LoadBalancer(
        arn=world.arn("elasticloadbalancing", f"loadbalancer/{short}/{spec.name}/{lb_id}"),
        name=spec.name,
        type=spec.type,
        scheme=spec.scheme,
        dns_name=world.dns_name(spec.name, spec.type),
        vpc_id=world.vpc_id,
        azs=list(spec.availability_zones),
        subnets={az: world.subnet_for(az) for az in spec.availability_zones},
        created=world.now(),
        security_groups=[world.new_id("sg-", 17)] if spec.type == "application" else [],
    )
    for ls in spec.listeners:
        l_id = world.new_id("", 16)
        l_arn = world.arn("elasticloadbalancing", f"listener/{short}/{spec.name}/{lb_id}/{l_id}")
        rule_prefix = world.arn(
            "elasticloadbalancing", f"listener-rule/{short}/{spec.name}/{lb_id}/{l_id}"
        )
        lb.listeners[l_arn] = Listener(
            arn=l_arn,
            lb_arn=lb.arn,
            port=ls.port,
            protocol=ls.protocol,
            rules=_rules(world, ls, rule_prefix, tgs),
        )
    return lb


def _rules(
    world: World, ls: ListenerSpec, rule_prefix: str, tgs: dict[str, TargetGroup]
) -> list[Rule]:
    """The listener's default rule, then its rules by priority."""
    rules = [
        Rule(
            arn=f"{rule_prefix}/{world.new_id('', 16)}",
            priority="default",
            conditions=[],
            actions=_actions(ls.forward, tgs),
        )
    ]
    for rs in sorted(ls.rules, key=lambda x: x.priority):
        rules.append(
            Rule(
                arn=f"{rule_prefix}/{world.new_id('', 16)}",
                priority=str(rs.priority),
                conditions=_conditions(rs),
                actions=_actions(rs.forward, tgs),
            )
        )
    return rules


def _conditions(rs: RuleSpec) -> list[dict]:
    conditions = []
    if rs.paths:
        conditions.append(
            {
                "Field": "path-pattern",
                "Values": rs.paths,
                "PathPatternConfig": {"Values": rs.paths},
            }
        )
    if rs.hosts:
        conditions.append(
            {
                "Field": "host-header",
                "Values": rs.hosts,
                "HostHeaderConfig": {"Values": rs.hosts},
            }
        )
    return conditions


def _classic(world: World, spec: ClassicSpec) -> ClassicLoadBalancer:
    return ClassicLoadBalancer(
        name=spec.name,
        dns_name=world.dns_name(spec.name, "classic"),
        azs=list(spec.availability_zones),
        subnets=[world.subnet_for(az) for az in spec.availability_zones],
        vpc_id=world.vpc_id,
        created=world.now(),
        listeners=spec.listeners,
        health_check=spec.health_check,
        health_target=spec.health_target,
        attributes={
            "ConnectionDraining": {
                "Enabled": spec.connection_draining is not None,
                "Timeout": spec.connection_draining or 300,
            },
            "ConnectionSettings": {"IdleTimeout": 60},
            "CrossZoneLoadBalancing": {"Enabled": True},
            "AccessLog": {"Enabled": False},
        },
    )


def _asg(world: World, spec: AsgSpec, tgs: dict[str, TargetGroup]) -> AutoScalingGroup:
    asg_uuid = world.new_uuid()
    return AutoScalingGroup(
        name=spec.name,
        arn=world.arn(
            "autoscaling", f"autoScalingGroup:{asg_uuid}:autoScalingGroupName/{spec.name}"
        ),
        min_size=spec.min_size,
        max_size=spec.max_size,
        desired=spec.desired,
        azs=list(spec.availability_zones),
        instance_type=spec.instance_type,
        revision=spec.revision,
        created=world.now(),
        launch_template={
            "LaunchTemplateId": world.new_id("lt-", 17),
            "LaunchTemplateName": f"{spec.name}-template",
            "Version": "$Default",
        },
        target_group_arns=[tgs[n].arn for n in spec.target_groups],
        load_balancer_names=list(spec.load_balancers),
        health_check_type=spec.health_check_type,
        health_check_grace_period=spec.health_check_grace_period,
        tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in spec.tags.items()],
        vpc_zone_identifier=",".join(world.subnet_for(az) for az in spec.availability_zones),
    )


def _install_services(world: World, sc: Scenario, tgs: dict[str, TargetGroup]) -> None:
    """Alarms and CodeDeploy resources, created through the services' own API operations."""
    from cutover.sandbox import services
    from cutover.sandbox.codedeploy import engine
    from cutover.sandbox.wire import ApiError

    services.load_all()

    def call(service: str, operation: str, params: dict) -> dict:
        try:
            return services.dispatch(world, service, operation, params)
        except ApiError as exc:
            raise ScenarioError(
                f"{sc.path}: {operation} refused: {exc.message} ({exc.code})"
            ) from None

    for alarm in sc.alarms:
        dimensions = []
        for key, name in alarm.dimension_refs.items():
            if key == "TargetGroup":
                value = tgs[name].arn.split(":", 5)[5]
            else:
                lb = world.load_balancer_by_name(name)
                assert lb is not None  # checked while parsing
                value = lb.arn.split(":loadbalancer/", 1)[1]
            dimensions.append({"Name": key, "Value": value})
        call("cloudwatch", "PutMetricAlarm", {**alarm.params, "Dimensions": dimensions})

    cd = sc.codedeploy
    if cd.durations:
        engine.configure(world, durations=cd.durations)
    for config in cd.configs:
        call("codedeploy", "CreateDeploymentConfig", config)
    # Launch the groups' first instances so past deployments have targets to name.
    world.tick()
    for app in cd.applications:
        call(
            "codedeploy",
            "CreateApplication",
            {"applicationName": app.name, "computePlatform": "Server"},
        )
        for group in app.groups:
            call(
                "codedeploy", "CreateDeploymentGroup", {**group.params, "applicationName": app.name}
            )
            _seed_history(world, app.name, group.name, group.history)


def _seed_history(world: World, app: str, group: str, history: list[HistorySpec]) -> None:
    """A group's past deployments, oldest first: an hour apart (the last half an hour ago)
    unless `minutes_ago` says when; a rolled-back one is followed by CodeDeploy's rollback
    deployment of the last successful revision, created when it ended."""
    from cutover.sandbox.codedeploy import engine

    last_good = None
    for i, past in enumerate(history):
        ago = 3600.0 * (len(history) - i) + 1800.0
        if past.minutes_ago is not None:
            ago = 60.0 * past.minutes_ago
        # Short enough that a deployment (and its rollback) ended before the sandbox started.
        duration = min(600.0, ago / 3)
        did = engine.record_past_deployment(
            world, app, group, past.revision, past.status, ago=ago, duration=duration
        )
        if past.rolled_back and last_good is not None:
            rb = engine.record_past_deployment(
                world,
                app,
                group,
                last_good,
                ago=ago - duration,
                duration=duration,
                creator="codeDeployRollback",
            )
            engine.link_rollback(world, did, rb)
        if past.status == "Succeeded":
            last_good = past.revision
