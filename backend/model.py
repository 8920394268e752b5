"""What the UI and the command line render: frozen snapshots of one deployment group.

Nothing here is a boto3 dict. `backend.observe` builds these from AWS responses; the
dashboard, `cutover status` and the gates read them. All times are the server's (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

Phase = Literal[
    "provisioning",
    "installing",
    "ready",
    "rerouting",
    "termination-wait",
    "terminating",
    "succeeded",
    "failed",
    "stopped",
    "rolling-back",
]
PHASES: tuple[str, ...] = get_args(Phase)

ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")


@dataclass(frozen=True)
class LifecycleEvent:
    name: str
    status: str  # Pending InProgress Succeeded Failed Skipped Unknown
    start: datetime | None = None
    end: datetime | None = None
    error_code: str | None = None
    script_name: str | None = None
    message: str | None = None
    log_tail: str | None = None


@dataclass(frozen=True)
class TargetHealth:
    """An instance's health in one target group or classic load balancer."""

    name: str  # the target group's or classic load balancer's name
    kind: Literal["target-group", "classic"]
    state: str  # ELBv2 states; classic InService/OutOfService/Unknown as reported
    reason: str | None = None
    description: str | None = None
    port: int | None = None
    drain_deadline: datetime | None = None  # the latest a drain can end (delay from its start)

    @property
    def healthy(self) -> bool:
        return self.state in ("healthy", "InService") and not self.draining

    @property
    def draining(self) -> bool:
        return self.state in ("draining", "unhealthy.draining") or (
            self.kind == "classic"
            and "deregistration currently in progress" in (self.description or "")
        )

    @property
    def registered(self) -> bool:
        return not (self.state == "unused" and self.reason == "Target.NotRegistered")

    @property
    def failing(self) -> bool:
        """Failing its health checks (not: still being registered or checked, draining).
        A classic load balancer says OutOfService for both; its description tells them apart."""
        if self.draining:
            return False
        if self.kind == "classic":
            return self.state == "OutOfService" and "failed at least" in (self.description or "")
        return self.state == "unhealthy"


@dataclass(frozen=True)
class Instance:
    id: str
    az: str | None = None
    instance_type: str | None = None
    ec2_state: str | None = None
    launch_time: datetime | None = None
    asg_name: str | None = None
    asg_lifecycle: str | None = None  # InService, Standby, Pending, Terminating...
    label: str | None = None  # CodeDeploy's Blue (original) / Green (replacement)
    lifecycle_status: str | None = None  # CodeDeploy target status in this deployment
    current_event: str | None = None
    events: tuple[LifecycleEvent, ...] = ()
    last_updated: datetime | None = None
    revision: str | None = None  # what it runs, as far as CodeDeploy tells
    health: tuple[TargetHealth, ...] = ()

    @property
    def failed_event(self) -> LifecycleEvent | None:
        return next((e for e in self.events if e.status == "Failed"), None)


@dataclass(frozen=True)
class Series:
    """A metric over time: (timestamp, value) oldest first."""

    name: str
    points: tuple[tuple[datetime, float], ...] = ()
    source: str | None = None  # the target group or classic load balancer it describes
    statistic: str | None = None  # Sum, Average...

    @property
    def last(self) -> float | None:
        return self.points[-1][1] if self.points else None


@dataclass(frozen=True)
class BakeCheck:
    """One measure of the bake verdict: before and after the reroute, against its limit."""

    name: str  # 5xx | p95 | p99
    level: str  # ok | watch | bad
    before: float | None  # 5xx: percent of requests; p95/p99: milliseconds
    after: float | None
    limit: float | None  # the absolute objective (same unit)
    text: str  # `5xx 4.8% after vs 0.1% before (limit 1%)`


@dataclass(frozen=True)
class BakeVerdict:
    """After the reroute: the replacements' errors and latency against the originals' in the
    minutes before it (backend/core/bake.py). `verdict` is ok, watch, bad or not enough data;
    `reason` says which numbers and limits decided it."""

    verdict: str
    reason: str
    checks: tuple[BakeCheck, ...] = ()
    baseline_start: datetime | None = None
    baseline_end: datetime | None = None
    after_start: datetime | None = None
    after_end: datetime | None = None
    baseline_minutes: int = 0
    after_minutes: int = 0
    baseline_requests: float = 0.0
    after_requests: float = 0.0
    sources: tuple[str, ...] = ()  # the target groups / classic load balancers compared
    unmeasured: str | None = None  # what the load balancer publishes no metric for (NLB)
    thresholds: tuple[tuple[str, float], ...] = ()  # (setting, value) that applied
    read_at: datetime | None = None  # the server time of the CloudWatch read


# The 5xx a load balancer answers itself (Application, classic): by load balancer, never by
# target group or environment. And the 5xx its targets answer (per target group / classic LB).
LB_OWN_5XX = ("HTTPCode_ELB_5XX_Count", "HTTPCode_ELB_5XX")
TARGET_5XX = ("HTTPCode_Target_5XX_Count", "HTTPCode_Backend_5XX")


@dataclass(frozen=True)
class Environment:
    role: Literal["original", "replacement", "fleet"]
    instances: tuple[Instance, ...] = ()
    asg_name: str | None = None
    desired: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    metrics: tuple[Series, ...] = ()
    in_flight: tuple[str, ...] = ()  # instance ids CodeDeploy is working on now (the batch)
    target_groups: tuple[str, ...] = ()  # groups that serve this environment alone (weighted)

    @property
    def healthy_count(self) -> int:
        return sum(1 for i in self.instances if i.health and all(h.healthy for h in i.health))

    @property
    def capacity(self) -> int:
        """Instances that count as running capacity (not terminated or on their way out)."""
        return sum(
            1
            for i in self.instances
            if i.ec2_state in (None, "pending", "running")
            and (i.asg_lifecycle or "InService") in ("InService", "Pending", "Pending:Wait")
        )


@dataclass(frozen=True)
class Traffic:
    original_percent: float
    replacement_percent: float
    basis: str  # what the split is computed from, in words


@dataclass(frozen=True)
class Timer:
    name: Literal["ready-wait", "termination-wait"]
    deadline: datetime
    started: datetime | None = None


@dataclass(frozen=True)
class Check:
    """A gate or an action's availability: passed/allowed with the reason a person can act on."""

    name: str
    passed: bool
    reason: str
    # An action refused only because a readiness gate failed: `--override-gates` may send it
    # anyway (audited as an override). Nothing else can be overridden.
    overridable: bool = False


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str  # OK ALARM INSUFFICIENT_DATA, or MISSING when the group names an absent alarm
    reason: str = ""


@dataclass(frozen=True)
class ListenerWeights:
    """A listener or rule forwarding to more than one target group."""

    load_balancer: str
    port: int
    rule_arn: str
    listener_arn: str
    weights: tuple[tuple[str, int], ...]  # (target group name, weight)
    is_default: bool = True
    arns: tuple[tuple[str, str], ...] = ()  # (target group name, ARN)
    # The rule's whole action list as ELB returned it (JSON): a weight change sends it back
    # with only the weights changed, so authentication actions and stickiness survive.
    actions: str = ""


@dataclass(frozen=True)
class SourceHealth:
    """A target group or classic load balancer as read this time: its targets' health counts,
    the load balancers in front of it, and which environments its registered targets are."""

    name: str
    kind: Literal["target-group", "classic"]
    healthy: int
    registered: int  # registered and not draining
    unhealthy: int  # registered, not draining, failing health checks
    load_balancers: tuple[str, ...] = ()  # names (a classic load balancer is its own)
    roles: tuple[str, ...] = ()  # original / replacement / fleet / other, of its targets


@dataclass(frozen=True)
class Serving:
    """A listener (`web-alb:8080`) and the group's target groups it sends clients to (a
    forward with weight above 0, in any of its rules)."""

    listener: str
    target_groups: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    """The preview target group a target names (`preview:` in the config): where `preview`
    registers the replacement instances before the reroute is approved, the test listener that
    forwards to it, and the health of the instances registered there (ELB's own checks).

    `problem` says why it cannot be used as evidence (not found, on no listener, unread); the
    gate then ignores it. `targets` holds every registered target, by instance id."""

    target_group: str  # the name (or the ARN as configured, until it is read)
    arn: str | None = None
    port: int | None = None  # the target group's port: registrations use it
    listener: str | None = None  # `web-alb:8443`, or `web-alb:443 rule 3` for a rule
    address: str | None = None  # what a person can send requests to: DNS name:port
    health_path: str | None = None
    problem: str | None = None
    targets: tuple[TargetHealth, ...] = ()  # name = instance id, state as ELB reports it

    def health_of(self, instance_id: str) -> TargetHealth | None:
        return next((t for t in self.targets if t.name == instance_id), None)

    @property
    def registered(self) -> tuple[str, ...]:
        """Instance ids registered (draining ones included: they still need deregistering)."""
        return tuple(t.name for t in self.targets if t.registered)


@dataclass(frozen=True)
class Deployment:
    id: str
    status: str
    phase: str
    application: str
    deployment_group: str
    style: str  # BLUE_GREEN | IN_PLACE
    traffic_control: bool
    config_name: str | None = None
    revision: str | None = None
    previous_revision: str | None = None
    revision_location: dict | None = None
    previous_revision_location: dict | None = None  # CodeDeploy's RevisionLocation, for redeploys
    creator: str | None = None
    create_time: datetime | None = None
    start_time: datetime | None = None
    complete_time: datetime | None = None
    overview: dict[str, int] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    status_messages: tuple[str, ...] = ()
    waiting_for: str | None = None  # reroute-approval | termination | None
    deadline: datetime | None = None
    ready_action: str | None = None  # STOP_DEPLOYMENT | CONTINUE_DEPLOYMENT
    ready_wait_minutes: int | None = None
    termination_action: str | None = None  # TERMINATE | KEEP_ALIVE
    termination_wait_minutes: int | None = None
    termination_wait_started: bool = False
    rollback_of: str | None = None
    rolled_back_by: str | None = None
    rollback_message: str | None = None
    replacement_asg: str | None = None
    # The replacement instance ids when the deployment was first seen Ready: the fleet the
    # gates compare against (carried from snapshot to snapshot by observe).
    ready_fleet: tuple[str, ...] | None = None
    ready_fleet_seen: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class DeploymentSummary:
    """A row of the deployment picker."""

    id: str
    status: str
    revision: str | None
    creator: str | None
    create_time: datetime | None
    complete_time: datetime | None
    error_code: str | None = None
    instances: tuple[str, ...] = ()  # its targets, when read (automatic deployments)
    # Ready and waiting for the reroute: when its ready wait ends (read for the group's
    # current deployment beside a pinned one).
    deadline: datetime | None = None
    ready_action: str | None = None  # STOP_DEPLOYMENT | CONTINUE_DEPLOYMENT

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


# Deployments CodeDeploy starts by itself: for an instance Auto Scaling launched (or is
# terminating), or to bring outdated instances up to date after a deployment.
AUTOMATIC_CREATORS = ("autoscaling", "autoscalingTermination", "CodeDeployAutoUpdate")


@dataclass(frozen=True)
class Event:
    """Something that changed between two snapshots, for the timeline."""

    time: datetime
    kind: str  # deployment | instance | health | traffic | alarm | action
    text: str
    instance_id: str | None = None


LeftoverKind = Literal[
    "standby",
    "out-of-service",
    "min-size",
    "suspended",
    # blue/green (Snapshot.unowned): capacity no deployment of the group owns
    "replacement-fleet",
    "unowned-instance",
    # blue/green: a preview registration left after the wait for approval ended
    "preview-registration",
]
LEFTOVER_KINDS: tuple[str, ...] = get_args(LeftoverKind)


@dataclass(frozen=True)
class Leftover:
    """Something an interrupted in-place deployment (or its hooks) left out of shape.

    `kind`: "standby" (an Auto Scaling member left in Standby), "out-of-service" (an instance
    not registered where it serves traffic), "min-size" (a lowered MinSize, or its record left
    behind), "suspended" (Auto Scaling processes the hooks suspended). `resource` is the
    instance id or the Auto Scaling group's name; `detail` says it in plain words. The other
    fields are what the repair needs.
    """

    kind: LeftoverKind
    resource: str
    detail: str
    instance_id: str | None = None
    asg_name: str | None = None
    target_group: str | None = None
    target_group_arn: str | None = None
    port: int | None = None
    classic_lb: str | None = None
    min_size: int | None = None  # recorded MinSize (cutover:hook:min-size) to restore
    processes: tuple[str, ...] = ()  # still suspended, to resume
    record_tag: str | None = None  # the group tag (or instance tag) that records it
    tagged: bool = False  # the instance carries cutover:hook:out
    asg_desired: int | None = None
    asg_max: int | None = None
    stale: bool = False  # only the record is left: repair deletes the tag
    # blue/green: the deployment that left it, the instances, and where they are registered
    # (target group name, its ARN, or "" for a classic load balancer; the instance ids).
    deployment_id: str | None = None
    instance_ids: tuple[str, ...] = ()
    registered_in: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    @property
    def key(self) -> tuple:
        """What identifies it across snapshots (not the wording)."""
        return (
            self.kind,
            self.resource,
            self.asg_name,
            self.target_group,
            self.port,
            self.classic_lb,
            self.min_size,
            self.processes,
            self.stale,
            self.tagged,
            self.instance_ids,
            self.registered_in,
        )

    def text(self) -> str:
        """One line: `standby i-0abc: ...`."""
        return f"{self.kind} {self.resource}: {self.detail}"


@dataclass(frozen=True)
class PendingAction:
    """An action whose intent was recorded but whose outcome was not (Ctrl-C, a crash, a
    lost answer), and what the state read with this snapshot says about it."""

    action: str
    attempt: str
    summary: str
    sent_at: str  # the server's time when the intent was recorded (ISO 8601)
    plan: tuple[str, ...]
    verdict: str  # unknown | done | not-done (done/not-done are recorded as its outcome)
    evidence: str
    deployment_id: str | None = None


@dataclass(frozen=True)
class Snapshot:
    target: str
    server_time: datetime
    application: str | None
    deployment_group: str | None
    account: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    # The endpoint said it is a sandbox (x-cutover-sandbox): its clock's rate, sandbox seconds
    # per real second. None on AWS.
    sandbox_rate: float | None = None
    deployment: Deployment | None = None
    original: Environment | None = None
    replacement: Environment | None = None
    fleet: Environment | None = None  # in-place: the whole group
    traffic: Traffic | None = None
    timers: tuple[Timer, ...] = ()
    gates: tuple[Check, ...] = ()
    actions: tuple[Check, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    listeners: tuple[ListenerWeights, ...] = ()
    target_groups: tuple[str, ...] = ()
    target_group_arns: tuple[tuple[str, str], ...] = ()  # (name, ARN) of the group's groups
    classic_load_balancers: tuple[str, ...] = ()
    api_calls: int = 0
    elapsed_ms: float = 0.0
    notes: tuple[str, ...] = ()  # partial failures: what could not be read, in plain words
    # What could not be read this time, as keys the gates understand: "targets", "instances",
    # "auto-scaling", "alarms", "metrics", "rules", "health:NAME" (a target group or classic LB).
    unread: tuple[str, ...] = ()
    style: str | None = None  # the group's deployment type: BLUE_GREEN | IN_PLACE
    target_revision: str | None = None  # the group's current revision (what deploy redeploys)
    metrics: tuple[Series, ...] = ()  # per target group / classic LB, whichever env they serve
    read_only: bool = False
    # The group's running deployment (which may not be the one shown when one was chosen).
    active_deployment: str | None = None
    # In-place groups: what an interrupted deployment left out of shape. None = not checked,
    # and `leftovers_note` says why (blue/green, a deployment running, something unread).
    leftovers: tuple[Leftover, ...] | None = None
    leftovers_note: str | None = None
    # The group's last attempted deployment, whichever is shown (deploy plans are made from it).
    latest_deployment: str | None = None
    # Actions sent from this machine whose outcome was not recorded (filled by the Controller).
    pending: tuple[PendingAction, ...] = ()
    # The group's latest deployment when CodeDeploy started it by itself (Auto Scaling's, an
    # auto-update): shown beside the deployment under supervision, never in its place.
    automatic: DeploymentSummary | None = None
    # Per target group / classic load balancer read this time (the verdict counts from it);
    # a source whose health could not be read is absent.
    sources: tuple[SourceHealth, ...] = ()
    # The listeners sending clients to the group's target groups; None when the listener
    # rules were not read (no target group, or the read failed).
    serving: tuple[Serving, ...] | None = None
    # A pinned deployment is shown (`--deployment`, the picker) and the group's current one
    # (active, else latest) is another: that one, so the screen can say it is waiting.
    group_deployment: DeploymentSummary | None = None
    # Blue/green groups: capacity no deployment owns (a replacement fleet a stop without
    # rollback left running, instances serving that no deployment installed). None = not
    # checked, and `unowned_note` says why.
    unowned: tuple[Leftover, ...] | None = None
    unowned_note: str | None = None
    # In place: the revision of the group's last successful deployment (what `d` offers;
    # target_revision names the last attempted one, which may have failed).
    last_good_revision: str | None = None
    # Blue/green in the termination wait: the bake verdict (CloudWatch, before vs after the
    # reroute), read once a CloudWatch period at most. None = not judged (another phase).
    bake: BakeVerdict | None = None
    # The target's preview target group (`preview:` in the config), read; None when none is set.
    preview: Preview | None = None

    def action(self, name: str) -> Check:
        return next(
            (a for a in self.actions if a.name == name),
            Check(name, False, "not available"),
        )

    def instances(self) -> tuple[Instance, ...]:
        out: tuple[Instance, ...] = ()
        for env in (self.original, self.replacement, self.fleet):
            if env is not None:
                out += env.instances
        return out


# ----- the overview: one row per deployment group of every source ------------------------------


@dataclass(frozen=True)
class OverviewDeployment:
    """A group's latest deployment as the overview shows it."""

    id: str
    status: str
    phase: str  # model.PHASES, or the status in lower case when the phase was not derived
    create_time: datetime | None = None
    complete_time: datetime | None = None
    waiting_for: str | None = None  # reroute-approval | termination | None
    deadline: datetime | None = None
    rollback: bool = False  # CodeDeploy started it to roll another deployment back
    error_code: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class EnvironmentHealth:
    role: str  # original | replacement | fleet
    healthy: int
    total: int


@dataclass(frozen=True)
class Attention:
    """Where a row sorts (0 first) and why, in words."""

    rank: int
    reason: str


@dataclass(frozen=True)
class OverviewRow:
    """One deployment group in the overview. `stale` says (in words, with AWS's code) why the
    row is the last one read; `health` and `traffic` are read only for groups with an active
    deployment (empty/None otherwise); `alarms` for every group (a quiet group's with the
    inventory, on its slower cadence)."""

    source: str
    application: str
    deployment_group: str
    account: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    style: str = "IN_PLACE"  # BLUE_GREEN | IN_PLACE
    traffic_control: bool = False  # a load balancer in the group's deployment style
    deployment: OverviewDeployment | None = None
    recent_failure: OverviewDeployment | None = None  # failed or stopped within the last hour
    traffic: Traffic | None = None
    health: tuple[EnvironmentHealth, ...] = ()
    alarms: tuple[str, ...] = ()  # alarms in ALARM
    leftovers: int | None = None  # in-place groups: how many; None = not checked
    leftovers_note: str | None = None
    stale: str | None = None
    server_time: datetime | None = None
    sandbox_rate: float | None = None
    attention: Attention | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.application, self.deployment_group)
