"""CodeDeploy's deployment engine for EC2 (computePlatform Server).

The `CodeDeploy` object at `world.deploy` holds applications, deployment configs, deployment
groups and deployments, and moves deployments along the way CodeDeploy does, driven by
sandbox time from a tick hook (`World.tick` runs it under the world lock about every 0.1 s
real). `state(world)` attaches it on first use; `configure` changes its settings.

Blue/green with traffic control: provision the replacement fleet (a copy of the group's Auto
Scaling group, or instances discovered from `targetInstances`), install the revision on it in
batches, optionally wait in `Ready`, register the replacement instances with every target
group / Classic Load Balancer of the group and wait for them to pass real health checks,
deregister the original instances and wait until they drained, move the load balancer
attachments to the replacement group, then terminate the originals (after the termination
wait) or keep them. In-place: per batch, optionally block traffic, install, optionally allow
traffic. Stops, failures and alarms end a deployment; a rollback is a new deployment
(creator `codeDeployRollback`) that restores the previous revision: for blue/green it routes
traffic back to the original instances and removes the replacement fleet.

Batches follow the deployment config's minimum healthy hosts, as CodeDeploy applies them: a
target may start while (fleet - failed - in progress - 1) stays at or above the minimum;
FLEET_PERCENT is rounded up; CodeDeployDefault.OneAtATime (MOST_CONCURRENCY 1) keeps all but
one instance healthy, so a failure on the last instance still succeeds; a deployment succeeds
when at least the minimum, and at least one, target succeeded.

Auto Scaling: every Auto Scaling group of a deployment group carries CodeDeploy's launch
lifecycle hook (`sync_launch_hooks`; after a COPY_AUTO_SCALING_GROUP reroute the copy gets a
new one and the original's goes). An instance launched into such a group waits in
Pending:Wait while an `autoscaling` deployment installs the group's last successful revision
on it (install events only: Auto Scaling adds it to its load balancers once InService); its
success continues the launch, its failure abandons it (the instance is terminated and Auto
Scaling launches another). These run beside the group's own deployment; instances launched
during one that then succeeds get a `CodeDeployAutoUpdate` follow-on deployment of its
revision, unless the group's outdatedInstancesStrategy is IGNORE.

Lifecycle hook scripts are run by a replaceable strategy (`LifecycleHooks`): the default
waits a configured duration per event. AllowTraffic and BlockTraffic are CodeDeploy's own
work and always act on the world's load balancers. Faults for testing live on
`state(world).faults`.
"""

from __future__ import annotations

import logging
import math
import posixpath
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cutover.sandbox.services import autoscaling as asg_ops
from cutover.sandbox.world import (
    HEALTHY,
    LAUNCHING,
    AsgMember,
    AutoScalingGroup,
    Instance,
    LifecycleAction,
    LifecycleHook,
    World,
    WorldError,
)
from cutover.sandbox.world import autoscaling as asg_rules

log = logging.getLogger("cutover.sandbox")

# ----- vocabulary ------------------------------------------------------------------------------

INSTALL_EVENTS = (
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
)
ALLOW_EVENTS = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
BLOCK_EVENTS = ("BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic")
IN_PLACE_EVENTS = BLOCK_EVENTS + INSTALL_EVENTS + ALLOW_EVENTS
LIFECYCLE_EVENTS = IN_PLACE_EVENTS
# Done by CodeDeploy itself against the load balancers, not by scripts on the instance.
TRAFFIC_EVENTS = ("AllowTraffic", "BlockTraffic")
# ignoreApplicationStopFailures lets a failure of these continue the instance's deployment.
STOP_EVENTS = ("ApplicationStop", "BeforeBlockTraffic", "AfterBlockTraffic")

ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")
FINISHED = ("Succeeded", "Failed", "Stopped")
ROLLBACK_CREATOR = "codeDeployRollback"
# Deployments CodeDeploy starts by itself: one per instance Auto Scaling launches into a
# group with the deployment group's launch hook, and the follow-on that updates instances
# launched during a deployment (outdatedInstancesStrategy UPDATE).
AUTOSCALING_CREATOR = "autoscaling"
AUTO_UPDATE_CREATOR = "CodeDeployAutoUpdate"
AUTOMATIC_CREATORS = (AUTOSCALING_CREATOR, AUTO_UPDATE_CREATOR)
# The launch hook CodeDeploy installs: what DescribeLifecycleHooks shows for it.
LAUNCH_HOOK_HEARTBEAT = 600

DEFAULT_CONFIG = "CodeDeployDefault.OneAtATime"
# Minimum healthy hosts of the predefined Server configs as GetDeploymentConfig reports them.
BUILTIN_CONFIGS = {
    "CodeDeployDefault.OneAtATime": ("MOST_CONCURRENCY", 1),
    "CodeDeployDefault.HalfAtATime": ("FLEET_PERCENT", 50),
    "CodeDeployDefault.AllAtOnce": ("HOST_COUNT", 0),
}

# Sandbox seconds each hook takes by default; Install (copying files) is the longest.
DEFAULT_DURATIONS: dict[str, float] = {
    "ApplicationStop": 2.0,
    "DownloadBundle": 3.0,
    "BeforeInstall": 2.0,
    "Install": 8.0,
    "AfterInstall": 2.0,
    "ApplicationStart": 3.0,
    "ValidateService": 3.0,
    "BeforeAllowTraffic": 1.0,
    "AfterAllowTraffic": 1.0,
    "BeforeBlockTraffic": 1.0,
    "AfterBlockTraffic": 1.0,
}

HEALTH_CONSTRAINTS_MESSAGE = (
    "The overall deployment failed because too many individual instances failed deployment, "
    "too few healthy instances are available for deployment, or some instances in your "
    "deployment group are experiencing problems."
)
MANUAL_STOP_MESSAGE = "The deployment was stopped by the user"
READY_TIMEOUT_MESSAGE = (
    "The deployment timed out while waiting for traffic to be rerouted to the replacement "
    "environment. Traffic rerouting was not started within the specified wait time."
)
NO_INSTANCES_MESSAGE = (
    "The deployment failed because no instances were found for your deployment group. Check "
    "your deployment group settings to make sure the tags for your Amazon EC2 instances or "
    "Auto Scaling groups correctly identify the instances you want to deploy to, and then try "
    "again."
)
AGENT_LOST_MESSAGE = (
    "CodeDeploy agent was not able to receive the lifecycle event. Check the CodeDeploy agent "
    "logs on your host and make sure the agent is running and can connect to the CodeDeploy "
    "server."
)
STOP_STATUS_MESSAGE = "Stopping Active Deployment"

SCRIPTS = {
    "ApplicationStop": "scripts/stop_server.sh",
    "BeforeInstall": "scripts/install_dependencies.sh",
    "AfterInstall": "scripts/after_install.sh",
    "ApplicationStart": "scripts/start_server.sh",
    "ValidateService": "scripts/validate_service.sh",
    "BeforeAllowTraffic": "scripts/before_allow_traffic.sh",
    "AfterAllowTraffic": "scripts/after_allow_traffic.sh",
    "BeforeBlockTraffic": "scripts/before_block_traffic.sh",
    "AfterBlockTraffic": "scripts/after_block_traffic.sh",
}
_SUCCESS_DIAGNOSTICS = {
    "errorCode": "Success",
    "scriptName": "",
    "message": "Succeeded",
    "logTail": "",
}
LIFECYCLE_ERROR_CODES = (
    "ScriptMissing",
    "ScriptNotExecutable",
    "ScriptTimedOut",
    "ScriptFailed",
    "UnknownError",
)


def revision_label(location: dict) -> str:
    """What instances serve after installing a revision: an S3 key's file name without its
    extension (`web/v2.zip` -> `v2`, `web/v2.tar.gz` -> `v2`), or a GitHub commit id."""
    if location.get("revisionType") == "GitHub":
        return str((location.get("gitHubLocation") or {}).get("commitId") or "")
    key = str((location.get("s3Location") or {}).get("key") or "")
    name = key.rsplit("/", 1)[-1]
    for ext in (".tar.gz", ".tgz", ".tar", ".zip"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name.rsplit(".", 1)[0] if "." in name else name


def revision_key(location: dict) -> tuple:
    """Identity of a revision: what makes two RevisionLocations the same revision."""
    if location.get("revisionType") == "GitHub":
        gh = location.get("gitHubLocation") or {}
        return ("GitHub", gh.get("repository"), gh.get("commitId"))
    s3 = location.get("s3Location") or {}
    return ("S3", s3.get("bucket"), s3.get("key"), s3.get("bundleType"), s3.get("version"))


def script_failure(
    event: str,
    *,
    exit_code: int = 1,
    script: str | None = None,
    error_code: str = "ScriptFailed",
    log_tail: str | None = None,
    deployment_group_id: str = "",
    deployment_id: str = "",
    timeout: float = 300,
) -> dict:
    """Diagnostics of a failed lifecycle event as the CodeDeploy agent reports them
    (`timeout`: the script's limit in seconds, for ScriptTimedOut)."""
    if event in ("DownloadBundle", "Install") and script is None:
        message = {
            "DownloadBundle": "The specified key does not exist.",
            "Install": (
                "The deployment failed because a specified file already exists at this "
                "location: /var/www/html/index.html"
            ),
        }[event]
        return {
            "errorCode": "UnknownError",
            "scriptName": "",
            "message": message,
            "logTail": log_tail or "",
        }
    script = script or SCRIPTS.get(event, f"scripts/{event}.sh")
    if error_code == "ScriptMissing":
        root = f"/opt/codedeploy-agent/deployment-root/{deployment_group_id}/{deployment_id}"
        # The agent prints File.expand_path of the joined path: `..` already resolved.
        where = posixpath.normpath(f"{root}/deployment-archive/{script}")
        message = f"Script does not exist at specified location: {where}"
    elif error_code == "ScriptNotExecutable":
        message = f"Script at specified location: {script} is not executable"
    elif error_code == "ScriptTimedOut":
        message = (
            f"Script at specified location: {script} failed to complete in {timeout:g} seconds"
        )
    elif error_code == "UnknownError":
        message = AGENT_LOST_MESSAGE
    else:
        message = (
            f"Script at specified location: {script} run as user root failed with exit code "
            f"{exit_code}"
        )
    if log_tail is None:
        log_tail = _LOG_TAILS.get(event, _DEFAULT_TAIL).format(
            script=script.rsplit("/", 1)[-1], code=exit_code
        )
    return {"errorCode": error_code, "scriptName": script, "message": message, "logTail": log_tail}


_DEFAULT_TAIL = "[stdout]Running {script}\n[stderr]{script}: command failed\n"
_LOG_TAILS = {
    "ValidateService": (
        "[stdout]Waiting for http://localhost:80/health to answer 200\n"
        "[stdout]attempt 1/5: HTTP 503\n"
        "[stdout]attempt 2/5: HTTP 503\n"
        "[stdout]attempt 3/5: HTTP 503\n"
        "[stdout]attempt 4/5: HTTP 503\n"
        "[stdout]attempt 5/5: HTTP 503\n"
        "[stderr]{script}: the service did not become healthy after 5 attempts\n"
    ),
    "ApplicationStart": (
        "[stdout]Starting web.service\n"
        "[stderr]Job for web.service failed because the control process exited with error code.\n"
        '[stderr]See "systemctl status web.service" and "journalctl -xe" for details.\n'
    ),
    "ApplicationStop": (
        "[stdout]Stopping web.service\n[stderr]Failed to stop web.service: Unit not loaded.\n"
    ),
    "BeforeInstall": (
        "[stdout]Installing dependencies\n"
        "[stderr]E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2731\n"
    ),
    "AfterInstall": (
        '[stdout]Running database migrations\n[stderr]ERROR: relation "orders" already exists\n'
    ),
}


# ----- the lifecycle-hook strategy -------------------------------------------------------------


@dataclass(frozen=True)
class HookContext:
    """Everything a strategy may need to run one lifecycle event on one instance."""

    world: World
    deployment_id: str
    deployment_group_id: str
    application: str
    deployment_group: str
    instance_id: str
    instance_label: str | None  # Blue, Green, or None for in-place
    event: str
    revision: dict
    revision_label: str
    started: float  # sandbox seconds (World.elapsed) at which the event starts
    duration: float  # the configured duration in sandbox seconds
    # The revision the instance runs as the event starts (Instance.revision): the one whose
    # appspec ApplicationStop and the block-traffic hooks run, as the agent runs them.
    installed_label: str | None = None


@dataclass(frozen=True)
class HookResult:
    """How a lifecycle event ended: `diagnostics` as the API shows them when it failed;
    `at` is when it ended in sandbox seconds (None: when it was noticed)."""

    ok: bool
    diagnostics: dict | None = None
    at: float | None = None


class HookRun(Protocol):
    def poll(self, now: float) -> HookResult | None:
        """None while the event runs; its result once it ended. Must not block."""

    def cancel(self) -> None:
        """The deployment no longer waits for it (stopped or failed elsewhere)."""


class LifecycleHooks(Protocol):
    """Runs the lifecycle events that are scripts on the instance (all but AllowTraffic and
    BlockTraffic). `start` is called under the world lock and must return at once."""

    def start(self, ctx: HookContext) -> HookRun: ...


class TimedRun:
    """A run that ends at sandbox second `ends` with `result` (success when None)."""

    def __init__(self, ends: float, result: HookResult | None = None) -> None:
        self.ends = ends
        self.result = result

    def poll(self, now: float) -> HookResult | None:
        if now < self.ends:
            return None
        if self.result is not None:
            return HookResult(self.result.ok, self.result.diagnostics, self.ends)
        return HookResult(True, None, self.ends)

    def cancel(self) -> None:
        pass


class TimedHooks:
    """The default strategy: every script succeeds after its configured duration."""

    def start(self, ctx: HookContext) -> HookRun:
        return TimedRun(ctx.started + ctx.duration)


# ----- faults ----------------------------------------------------------------------------------


@dataclass
class HookFault:
    """A lifecycle script that fails: on `instance_id`, or (None) on the next instance of a
    non-rollback deployment that runs `event`."""

    event: str
    instance_id: str | None = None
    exit_code: int = 1
    script: str | None = None
    error_code: str = "ScriptFailed"
    log_tail: str | None = None
    remaining: int = 1

    def describe(self) -> dict:
        return {
            "event": self.event,
            "instance_id": self.instance_id,
            "exit_code": self.exit_code,
            "script": self.script,
            "error_code": self.error_code,
            "remaining": self.remaining,
        }


@dataclass
class KillFault:
    """An instance that dies (is terminated) as `event` starts on it: on `instance_id`, or
    (None) on the next instance of a non-rollback deployment that runs `event`."""

    event: str
    instance_id: str | None = None
    remaining: int = 1

    def describe(self) -> dict:
        return {"event": self.event, "instance_id": self.instance_id, "remaining": self.remaining}


class DeployFaults:
    """Faults that make deployments go wrong, for testing the app. Methods take the lock."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.hooks: list[HookFault] = []
        self.kills: list[KillFault] = []
        self.unhealthy_replacements = False
        self._made_unhealthy: set[str] = set()

    def fail_hook(
        self,
        event: str,
        instance_id: str | None = None,
        *,
        exit_code: int = 1,
        script: str | None = None,
        error_code: str = "ScriptFailed",
        log_tail: str | None = None,
        times: int = 1,
    ) -> HookFault:
        """Make a lifecycle script fail `times` times (its diagnostics carry a log tail).

        `event` is any lifecycle event but AllowTraffic / BlockTraffic (those are not scripts;
        use `make_replacements_unhealthy` or `kill_instance`). Raises ValueError on bad input.
        """
        if event not in LIFECYCLE_EVENTS or event in TRAFFIC_EVENTS:
            raise ValueError(
                f"'{event}' is not a lifecycle hook; choose one of "
                + ", ".join(e for e in LIFECYCLE_EVENTS if e not in TRAFFIC_EVENTS)
            )
        if error_code not in LIFECYCLE_ERROR_CODES:
            raise ValueError(f"error_code must be one of {', '.join(LIFECYCLE_ERROR_CODES)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = HookFault(event, instance_id, exit_code, script, error_code, log_tail, times)
        with self.world.lock:
            self.hooks.append(fault)
        return fault

    def kill_instance(
        self, event: str, instance_id: str | None = None, *, times: int = 1
    ) -> KillFault:
        """Terminate an instance as `event` starts on it; the event then fails."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"'{event}' is not a lifecycle event")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = KillFault(event, instance_id, times)
        with self.world.lock:
            self.kills.append(fault)
        return fault

    def make_replacements_unhealthy(self, on: bool = True) -> None:
        """While on, every instance that installs a revision in a non-rollback deployment
        answers 503 from then on (`fault.unhealthy`), so AllowTraffic times out. Turning it
        off heals the instances it made unhealthy."""
        with self.world.lock:
            self.unhealthy_replacements = on
            if not on:
                for iid in self._made_unhealthy:
                    inst = self.world.instances.get(iid)
                    if inst is not None:
                        inst.fault.unhealthy = False
                self._made_unhealthy.clear()

    def clear(self) -> None:
        """Remove every deployment fault and heal instances made unhealthy by one."""
        with self.world.lock:
            self.hooks.clear()
            self.kills.clear()
            self.make_replacements_unhealthy(False)

    def describe(self) -> dict:
        """JSON-ready summary of the faults that are set."""
        with self.world.lock:
            return {
                "hook_failures": [f.describe() for f in self.hooks],
                "instance_kills": [f.describe() for f in self.kills],
                "unhealthy_replacements": self.unhealthy_replacements,
            }

    # The engine calls these under the lock.

    def _take(self, faults: list, dep: Deployment, target: DeploymentTarget, event: str) -> Any:
        for fault in faults:
            if fault.event != event:
                continue
            if fault.instance_id is None and dep.is_rollback:
                continue
            if fault.instance_id not in (None, target.instance_id):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.remove(fault)
            return fault
        return None

    def _installed(self, dep: Deployment, inst: Instance) -> None:
        if dep.is_rollback:
            if inst.id in self._made_unhealthy:
                inst.fault.unhealthy = False
                self._made_unhealthy.discard(inst.id)
        elif self.unhealthy_replacements:
            inst.fault.unhealthy = True
            self._made_unhealthy.add(inst.id)


# ----- state -----------------------------------------------------------------------------------


@dataclass
class Settings:
    """How long things take. Durations and timeouts are sandbox seconds."""

    durations: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS))
    # AllowTraffic gives up after this long; None: max(300, 3 x (HealthyThreshold + 1) x
    # interval) over the group's load balancers.
    allow_traffic_timeout: float | None = None
    # BlockTraffic gives up this long after the longest deregistration delay.
    block_traffic_margin: float = 300.0
    provision_timeout: float = 3600.0
    # After StopDeployment, lifecycle events running on instances get this long to finish
    # before they are cut short.
    stop_grace: float = 300.0
    # A floor in real seconds under the traffic and provisioning timeouts: at a high time
    # scale the data plane's real-time granularity (a reconcile pass every 0.1 s, health
    # checks started on the next pass) would otherwise fail healthy targets.
    min_real_timeout: float = 2.0


@dataclass
class RevisionRecord:
    location: dict
    description: str | None = None
    registered: datetime | None = None
    first_used: datetime | None = None
    last_used: datetime | None = None
    groups: list[str] = field(default_factory=list)


@dataclass
class Application:
    name: str
    id: str
    created: datetime
    compute_platform: str = "Server"
    tags: list[dict] = field(default_factory=list)
    revisions: dict[tuple, RevisionRecord] = field(default_factory=dict)


@dataclass
class DeploymentConfig:
    name: str
    id: str
    created: datetime
    min_type: str
    min_value: int
    compute_platform: str = "Server"
    builtin: bool = False
    zonal: dict | None = None

    def minimum(self, fleet: int) -> tuple[int, int | None]:
        """(minimum healthy instances, most at once or None) for a fleet of `fleet`."""
        return minimum_healthy(self.min_type, self.min_value, fleet)


def minimum_healthy(kind: str, value: int, fleet: int) -> tuple[int, int | None]:
    """(minimum healthy instances, most at once or None) of a minimum-healthy-hosts setting
    for a fleet: FLEET_PERCENT rounds up; MOST_CONCURRENCY (OneAtATime) keeps all but one."""
    if kind == "MOST_CONCURRENCY":
        return max(fleet - 1, 0), max(value, 1)
    if kind == "FLEET_PERCENT":
        return math.ceil(fleet * value / 100), None
    return value, None


@dataclass
class DeploymentGroup:
    """`spec` holds the group's settings exactly as DeploymentGroupInfo shows them."""

    application: str
    name: str
    id: str
    spec: dict
    target_revision: dict | None = None
    last_successful: str | None = None
    last_attempted: str | None = None
    tags: list[dict] = field(default_factory=list)
    # engine-private: a succeeded deployment's id and the instances launched during it, to
    # update once their own (autoscaling) deployments are over.
    follow_on: tuple[str, list[str]] | None = None


@dataclass
class LifecycleEvent:
    name: str
    status: str = "Pending"
    start: datetime | None = None
    end: datetime | None = None
    diagnostics: dict | None = None


@dataclass
class DeploymentTarget:
    instance_id: str
    label: str | None  # Blue, Green, or None (in-place)
    events: list[LifecycleEvent]
    updated: datetime
    status: str = "Pending"
    # engine-private: the events of the segment being run, the position in it, the run of
    # the current event, and the sandbox time the next event starts at.
    segment: list[int] = field(default_factory=list)
    cursor: int = 0
    run: Any = None
    clock: float = 0.0

    def event(self, name: str) -> LifecycleEvent | None:
        return next((e for e in self.events if e.name == name), None)


@dataclass
class Deployment:
    id: str
    application: str
    group: str
    group_id: str
    config: str
    revision: dict
    label: str
    previous_revision: dict | None
    creator: str
    description: str | None
    style: dict
    blue_green: dict | None
    lb_info: dict | None
    auto_rollback: dict
    alarms: dict
    target_instances: dict | None
    ignore_stop_failures: bool
    update_outdated_only: bool
    file_exists: str | None
    created: datetime
    min_type: str = "MOST_CONCURRENCY"
    min_value: int = 1
    status: str = "Created"
    started: datetime | None = None
    completed: datetime | None = None
    error: dict | None = None
    rollback_info: dict | None = None
    termination_wait_started: bool = False
    status_messages: list[str] = field(default_factory=list)
    targets: dict[str, DeploymentTarget] = field(default_factory=dict)
    override_alarms: dict | None = None
    ec2_options: dict | None = None
    # engine-private
    phase: str = "start"
    stage: Any = None
    originals: list[str] = field(default_factory=list)
    replacements: list[str] = field(default_factory=list)
    original_asgs: list[str] = field(default_factory=list)
    replacement_asgs: list[str] = field(default_factory=list)
    copied_asg: str | None = None
    group_asgs_before: list[dict] = field(default_factory=list)
    moved_tgs: list[str] = field(default_factory=list)
    moved_clbs: list[str] = field(default_factory=list)
    swapped: bool = False
    deadline: float | None = None
    install_failed: int = 0
    rollback_of: str | None = None
    originals_terminated: bool = False
    # An autoscaling deployment's launch: (Auto Scaling group, hook name, instance id).
    launch: tuple[str, str, str] | None = None
    launched_during: list[str] = field(default_factory=list)
    # StopDeployment: the rollback flag while the stop is pending (events still finishing),
    # its deadline, and whether a stop request ended the deployment.
    stop_rollback: bool | None = None
    stop_deadline: float = 0.0
    stopped_on_request: bool = False

    @property
    def is_rollback(self) -> bool:
        return self.creator == ROLLBACK_CREATOR

    @property
    def automatic(self) -> bool:
        return self.creator in AUTOMATIC_CREATORS

    @property
    def blue_green_style(self) -> bool:
        return self.style.get("deploymentType") == "BLUE_GREEN"

    @property
    def traffic_control(self) -> bool:
        return self.style.get("deploymentOption") == "WITH_TRAFFIC_CONTROL"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def overview(self) -> dict[str, int]:
        counts = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped"), 0)
        counts["Ready"] = 0
        for t in self.targets.values():
            if t.status in counts:
                counts[t.status] += 1
        return counts


# ----- attaching -------------------------------------------------------------------------------


def state(world: World) -> CodeDeploy:
    """The world's CodeDeploy state, created and attached (with its tick hook) on first use."""
    with world.lock:
        if not isinstance(world.deploy, CodeDeploy):
            world.deploy = CodeDeploy(world)
            world.tick_hooks.append(world.deploy.tick)
        return world.deploy


_UNSET: Any = object()


def configure(
    world: World,
    *,
    durations: dict[str, float] | None = None,
    hooks: LifecycleHooks | None = None,
    allow_traffic_timeout: float | None = _UNSET,
    block_traffic_margin: float | None = None,
    provision_timeout: float | None = None,
    min_real_timeout: float | None = None,
) -> CodeDeploy:
    """Change how the engine runs; returns the state. Only the arguments given change.

    `durations` maps lifecycle event names to sandbox seconds (AllowTraffic and BlockTraffic
    take as long as the load balancers need and cannot be set); `hooks` replaces the strategy
    that runs lifecycle scripts; `allow_traffic_timeout` (sandbox seconds, None: derived from
    the health checks) bounds AllowTraffic. Raises ValueError on an unknown event name or a
    negative number.
    """
    cd = state(world)
    with world.lock:
        if durations:
            for name, seconds in durations.items():
                if name not in LIFECYCLE_EVENTS or name in TRAFFIC_EVENTS:
                    raise ValueError(f"no duration can be set for '{name}'")
                if seconds < 0:
                    raise ValueError(f"the duration of {name} must not be negative")
            cd.settings.durations.update({k: float(v) for k, v in durations.items()})
        if hooks is not None:
            cd.hooks = hooks
        if allow_traffic_timeout is not _UNSET:
            if allow_traffic_timeout is not None and allow_traffic_timeout <= 0:
                raise ValueError("allow_traffic_timeout must be positive")
            cd.settings.allow_traffic_timeout = allow_traffic_timeout
        for name, value in (
            ("block_traffic_margin", block_traffic_margin),
            ("provision_timeout", provision_timeout),
            ("min_real_timeout", min_real_timeout),
        ):
            if value is not None:
                if value < 0:
                    raise ValueError(f"{name} must not be negative")
                setattr(cd.settings, name, float(value))
    return cd


def record_past_deployment(
    world: World,
    application: str,
    group: str,
    revision_label: str,
    status: str = "Succeeded",
    *,
    ago: float = 3600.0,
    duration: float = 600.0,
    revision: dict | None = None,
    description: str | None = None,
    creator: str = "user",
    config: str | None = None,
) -> str:
    """Seed history: a finished deployment of `revision_label` that was created `ago` sandbox
    seconds before now and took `duration`. Returns its id.

    The application and deployment group must exist (DeploymentGroupDoesNotExistException
    otherwise). The revision defaults to `s3://<application>-revisions/<application>/
    <label>.zip`. Its targets are the group's current instances with every event finished.
    The group's lastAttemptedDeployment (and, when Succeeded, lastSuccessfulDeployment and
    targetRevision) point at it unless a newer deployment already does; ListDeployments shows
    it in creation order.
    """
    if status not in FINISHED:
        raise ValueError(f"status must be one of {', '.join(FINISHED)}")
    cd = state(world)
    with world.lock:
        grp = cd.group(application, group)
        config = config or grp.spec["deploymentConfigName"]
        if config not in cd.configs:
            raise WorldError(
                "DeploymentConfigDoesNotExistException", f"No deployment config named {config}"
            )
        location = revision or {
            "revisionType": "S3",
            "s3Location": {
                "bucket": f"{application.lower()}-revisions",
                "key": f"{application}/{revision_label}.zip",
                "bundleType": "zip",
            },
        }
        now = world.elapsed()
        created = cd.at(now - ago)
        finished = cd.at(now - ago + duration)
        dep = cd.new_deployment(
            grp,
            revision=location,
            config=config,
            creator=creator,
            description=description,
            created=created,
        )
        dep.label = revision_label
        dep.status = status
        dep.phase = "done"
        dep.started = created
        dep.completed = finished
        for i, iid in enumerate(cd.group_instances(grp.spec)):
            if dep.blue_green_style:
                names = INSTALL_EVENTS + ALLOW_EVENTS
                target = DeploymentTarget(
                    iid, "Green", [LifecycleEvent(n) for n in names], finished
                )
            else:
                target = cd._in_place_target(dep, iid)
            # A failed or stopped deployment failed ValidateService on its first instance and
            # skipped the others.
            failing = status != "Succeeded" and i == 0
            skipped = status != "Succeeded" and i > 0
            for ev in target.events:
                if ev.status != "Pending":
                    continue
                if skipped or target.status == "Failed":
                    ev.status = "Skipped"
                    continue
                ev.start, ev.end = created, finished
                if failing and ev.name == "ValidateService":
                    ev.status, ev.diagnostics = "Failed", script_failure("ValidateService")
                    target.status = "Failed"
                else:
                    ev.status, ev.diagnostics = "Succeeded", dict(_SUCCESS_DIAGNOSTICS)
            if target.status == "Pending":
                target.status = "Skipped" if skipped else "Succeeded"
            target.updated = finished
            dep.targets[iid] = target
        if status == "Failed":
            dep.error = {"code": "HEALTH_CONSTRAINTS", "message": HEALTH_CONSTRAINTS_MESSAGE}
        elif status == "Stopped":
            dep.error = {"code": "MANUAL_STOP", "message": MANUAL_STOP_MESSAGE}
        cd.deployments[dep.id] = dep
        cd.note_revision_use(grp, location, created)

        def newer(other: str | None) -> bool:
            return other is None or cd.deployments[other].created <= created

        if newer(grp.last_attempted):
            grp.last_attempted = dep.id
            grp.target_revision = location
        if status == "Succeeded" and newer(grp.last_successful):
            grp.last_successful = dep.id
        return dep.id


# ----- the engine ------------------------------------------------------------------------------


class CodeDeploy:
    """CodeDeploy's resources and the deployment state machine; lives at `world.deploy`.

    Every method expects the caller to hold `world.lock` (the API services and the tick hook
    do).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.settings = Settings()
        self.hooks: LifecycleHooks = TimedHooks()
        self.faults = DeployFaults(world)
        self.applications: dict[str, Application] = {}
        self.groups: dict[tuple[str, str], DeploymentGroup] = {}
        self.deployments: dict[str, Deployment] = {}
        # Launch actions CodeDeploy took up, by token: the deployment started for each (None
        # when there was nothing to deploy).
        self._launches: dict[str, str | None] = {}
        # Sandbox second 0 as a datetime, read once so converted times keep their order.
        self._epoch = world.now() - timedelta(seconds=world.elapsed())
        epoch = datetime(2014, 11, 12, tzinfo=UTC)
        self.configs: dict[str, DeploymentConfig] = {
            name: DeploymentConfig(
                name=name,
                id=world.new_uuid(),
                created=epoch,
                min_type=kind,
                min_value=value,
                builtin=True,
            )
            for name, (kind, value) in BUILTIN_CONFIGS.items()
        }

    # ----- lookups --------------------------------------------------------------------------

    def at(self, t: float) -> datetime:
        """The datetime of sandbox elapsed second `t`."""
        return self._epoch + timedelta(seconds=t)

    def application(self, name: str | None) -> Application:
        app = self.applications.get(name or "")
        if app is None:
            raise WorldError(
                "ApplicationDoesNotExistException", f"No application found for name: {name}"
            )
        return app

    def group(self, application: str, name: str | None) -> DeploymentGroup:
        self.application(application)
        grp = self.groups.get((application, name or ""))
        if grp is None:
            raise WorldError(
                "DeploymentGroupDoesNotExistException",
                f"No Deployment Group found for name: {name}",
            )
        return grp

    def deployment(self, deployment_id: str | None) -> Deployment:
        dep = self.deployments.get(deployment_id or "")
        if dep is None:
            raise WorldError(
                "DeploymentDoesNotExistException",
                f"The deployment {deployment_id} could not be found.",
            )
        return dep

    def active_deployment(self, application: str, group: str) -> Deployment | None:
        """The group's active deployment, Auto Scaling's per-instance ones aside: those run
        beside any other ("Each deployment to a scaled-up Amazon EC2 instance ... counts as a
        single concurrent deployment", CodeDeploy quotas)."""
        return next(
            (
                d
                for d in self.deployments.values()
                if d.application == application
                and d.group == group
                and d.active
                and d.creator != AUTOSCALING_CREATOR
            ),
            None,
        )

    def new_deployment_id(self) -> str:
        alphabet = string.ascii_uppercase + string.digits
        while True:
            did = "d-" + "".join(self.world.rng.choice(alphabet) for _ in range(9))
            if did not in self.deployments:
                return did

    # ----- instances of a group -------------------------------------------------------------

    def group_instances(self, spec: dict) -> list[str]:
        """Instances a deployment group targets now: InService members of its Auto Scaling
        groups and running instances its EC2 tag filters / tag set match."""
        world = self.world
        out: list[str] = []
        for entry in spec.get("autoScalingGroups") or []:
            asg = world.asgs.get(entry["name"])
            if asg is not None:
                out += _in_service(world, asg)
        out += self._tagged(spec.get("ec2TagFilters") or [], spec.get("ec2TagSet"))
        return list(dict.fromkeys(out))

    def _tagged(self, filters: list[dict], tag_set: dict | None) -> list[str]:
        sets = [s for s in (tag_set or {}).get("ec2TagSetList") or [] if s]
        if not filters and not sets:
            return []
        out = []
        for inst in self.world.instances.values():
            if inst.state not in ("pending", "running"):
                continue
            by_filter = any(_tag_matches(inst.tags, f) for f in filters)
            by_set = bool(sets) and all(any(_tag_matches(inst.tags, f) for f in s) for s in sets)
            if by_filter or by_set:
                out.append(inst.id)
        return out

    # ----- creating deployments -------------------------------------------------------------

    def note_revision_use(self, grp: DeploymentGroup, location: dict, when: datetime) -> None:
        app = self.applications[grp.application]
        rec = app.revisions.setdefault(revision_key(location), RevisionRecord(location))
        rec.first_used = rec.first_used or when
        rec.last_used = max(rec.last_used or when, when)
        if grp.name not in rec.groups:
            rec.groups.append(grp.name)

    def new_deployment(
        self,
        grp: DeploymentGroup,
        *,
        revision: dict,
        config: str,
        creator: str = "user",
        description: str | None = None,
        created: datetime | None = None,
        auto_rollback: dict | None = None,
        alarms: dict | None = None,
        target_instances: dict | None = None,
        ignore_stop_failures: bool = False,
        update_outdated_only: bool = False,
        file_exists: str | None = None,
        ec2_options: dict | None = None,
    ) -> Deployment:
        """A deployment object in status Created for the group's current settings (not yet
        registered in `deployments`). The caller has validated its inputs."""
        spec = grp.spec
        cfg = self.configs[config]
        last = self.deployments.get(grp.last_successful or "")
        dep = Deployment(
            id=self.new_deployment_id(),
            application=grp.application,
            group=grp.name,
            group_id=grp.id,
            config=config,
            revision=revision,
            label=revision_label(revision),
            previous_revision=last.revision if last else None,
            creator=creator,
            description=description,
            style=dict(spec["deploymentStyle"]),
            blue_green=clone(spec.get("blueGreenDeploymentConfiguration"))
            if spec["deploymentStyle"].get("deploymentType") == "BLUE_GREEN"
            else None,
            lb_info=clone(spec.get("loadBalancerInfo")),
            auto_rollback=clone(auto_rollback or spec["autoRollbackConfiguration"]),
            alarms=clone(alarms or spec["alarmConfiguration"]),
            target_instances=clone(target_instances),
            ignore_stop_failures=ignore_stop_failures,
            update_outdated_only=update_outdated_only,
            file_exists=file_exists,
            created=created or self.world.now(),
            min_type=cfg.min_type,
            min_value=cfg.min_value,
            override_alarms=clone(alarms),
            ec2_options=clone(ec2_options),
        )
        dep.group_asgs_before = [dict(e) for e in spec.get("autoScalingGroups") or []]
        return dep

    def start_deployment(self, dep: Deployment) -> None:
        """Register a new deployment (from `new_deployment`) and point its group at it.
        In-place deployments get their targets now; blue/green ones as the fleet is known."""
        grp = self.groups[(dep.application, dep.group)]
        self.deployments[dep.id] = dep
        grp.last_attempted = dep.id
        grp.target_revision = dep.revision
        self.note_revision_use(grp, dep.revision, dep.created)
        if dep.is_rollback:
            return
        if dep.blue_green_style:
            self._prepare_blue_green(dep, grp)
        else:
            dep.originals = self.group_instances(grp.spec)
            for iid in dep.originals:
                dep.targets[iid] = self._in_place_target(dep, iid)

    def _in_place_target(self, dep: Deployment, iid: str) -> DeploymentTarget:
        # "For in-place deployments, the six hooks related to blocking and allowing traffic
        # apply only if you specify a ... load balancer ... in the deployment group."
        names = IN_PLACE_EVENTS if dep.traffic_control else INSTALL_EVENTS
        return DeploymentTarget(iid, None, [LifecycleEvent(n) for n in names], self.world.now())

    def _prepare_blue_green(self, dep: Deployment, grp: DeploymentGroup) -> None:
        world = self.world
        action = (dep.blue_green or {}).get("greenFleetProvisioningOption", {}).get("action")
        dep.original_asgs = [e["name"] for e in grp.spec.get("autoScalingGroups") or []]
        dep.originals = self.group_instances(grp.spec)
        for iid in dep.originals:
            dep.targets[iid] = DeploymentTarget(
                iid, "Blue", [LifecycleEvent(n) for n in BLOCK_EVENTS], world.now()
            )
        if action == "COPY_AUTO_SCALING_GROUP":
            dep.copied_asg = f"CodeDeploy_{dep.group}_{dep.id}"
            dep.replacement_asgs = [dep.copied_asg]
            dep.target_instances = {"autoScalingGroups": [dep.copied_asg]}
        else:
            ti = dep.target_instances or {}
            dep.replacement_asgs = list(ti.get("autoScalingGroups") or [])

    # ----- continuing and stopping ----------------------------------------------------------

    def continue_deployment(self, dep: Deployment, wait_type: str) -> None:
        """ContinueDeployment: READY_WAIT starts the reroute of a Ready deployment;
        TERMINATION_WAIT ends the wait before the originals are terminated."""
        if dep.status in FINISHED:
            raise WorldError(
                "DeploymentAlreadyCompletedException",
                f"The deployment {dep.id} has already completed.",
            )
        if not dep.blue_green_style:
            raise WorldError(
                "UnsupportedActionForDeploymentTypeException",
                "This action is only available for blue/green deployments.",
            )
        now = self.world.elapsed()
        if wait_type == "READY_WAIT":
            if dep.status != "Ready" or dep.phase != "ready":
                raise WorldError(
                    "DeploymentIsNotInReadyStateException",
                    f"The deployment {dep.id} is not in the Ready state and cannot be continued.",
                )
            dep.status = "InProgress"
            self._begin_allow(dep, now)
        else:
            if dep.phase != "termination_wait":
                raise WorldError(
                    "DeploymentIsNotInReadyStateException",
                    f"The deployment {dep.id} is not waiting to terminate the original instances.",
                )
            dep.deadline = now
        self._advance(dep, now)

    def stop_deployment(self, dep: Deployment, auto_rollback: bool | None) -> dict:
        """StopDeployment. With no lifecycle event running on an instance the deployment is
        Stopped (MANUAL_STOP) at once and the answer is Succeeded; otherwise the answer is
        Pending and the deployment stays active until those events end (at most
        `stop_grace`), starting no new ones. With rollback (asked for, or
        DEPLOYMENT_STOP_ON_REQUEST when not refused) a rollback deployment follows the stop.
        Asked again once a stop has ended the deployment, the answer is Succeeded."""
        if dep.status in FINISHED:
            if dep.stopped_on_request:
                return {"status": "Succeeded", "statusMessage": STOP_STATUS_MESSAGE}
            raise WorldError(
                "DeploymentAlreadyCompletedException",
                f"The deployment {dep.id} has already completed.",
            )
        if dep.stop_rollback is not None:
            return {"status": "Pending", "statusMessage": STOP_STATUS_MESSAGE}
        if auto_rollback is None:
            auto_rollback = _rollback_on(dep, "DEPLOYMENT_STOP_ON_REQUEST")
        dep.stopped_on_request = True
        if not _on_instances(dep):
            self._finish(dep, "Stopped", "MANUAL_STOP", MANUAL_STOP_MESSAGE, rollback=auto_rollback)
            return {"status": "Succeeded", "statusMessage": STOP_STATUS_MESSAGE}
        dep.stop_rollback = auto_rollback
        dep.stop_deadline = self.world.elapsed() + self._floor(self.settings.stop_grace)
        return {"status": "Pending", "statusMessage": STOP_STATUS_MESSAGE}

    def _step_stopping(self, dep: Deployment, now: float) -> None:
        """A pending stop: let the events running on instances end, then stop."""
        for t in dep.targets.values():
            if t.run is not None:
                self._drive(dep, t, now)
        if _on_instances(dep) and now < dep.stop_deadline:
            return
        rollback = bool(dep.stop_rollback)
        dep.stop_rollback = None
        self._finish(dep, "Stopped", "MANUAL_STOP", MANUAL_STOP_MESSAGE, rollback=rollback)

    # ----- time passes ----------------------------------------------------------------------

    def tick(self) -> None:
        """Start deployments for launching instances, advance every active deployment to now,
        then start follow-on deployments (the world calls this under its lock)."""
        now = self.world.elapsed()
        self._start_launch_deployments()
        for dep in [d for d in self.deployments.values() if d.active]:
            try:
                if dep.launch is not None:
                    self._heartbeat(dep, now)
                if dep.stop_rollback is None and not dep.is_rollback and self._alarms_stop(dep):
                    continue
                self._advance(dep, now)
            except Exception as exc:
                # A world rule refused something the engine did (a group vanished under it),
                # or a bug: that deployment fails; the world's tick and its other hooks go on.
                if not isinstance(exc, WorldError):
                    log.exception("deployment %s failed in the engine", dep.id)
                if dep.active:
                    message = exc.message if isinstance(exc, WorldError) else repr(exc)
                    self._finish(dep, "Failed", "INTERNAL_ERROR", message, rollback=False)
        for grp in list(self.groups.values()):
            if grp.follow_on is not None:
                self._start_follow_on(grp)

    def _advance(self, dep: Deployment, now: float) -> None:
        # Each phase returns True when it moved on, so several may pass in one tick.
        for _ in range(20):
            if not dep.active:
                return
            if dep.stop_rollback is not None:
                self._step_stopping(dep, now)
                return
            step = getattr(self, f"_phase_{dep.phase}")
            if not step(dep, now):
                return

    # ----- phases: common -------------------------------------------------------------------

    def _phase_start(self, dep: Deployment, now: float) -> bool:
        dep.status = "InProgress"
        dep.started = self.world.now()
        if dep.is_rollback and dep.blue_green_style:
            blues = [t for t in dep.targets.values() if t.label == "Blue"]
            self._begin_stage(dep, "rb_allow", blues, ALLOW_EVENTS, now, strict=True)
            return True
        if dep.blue_green_style:
            dep.phase = "provision"
            dep.deadline = now + self._floor(self.settings.provision_timeout)
            return not dep.copied_asg or self._copy_group(dep)
        if not dep.targets:
            self._finish(dep, "Failed", "NO_INSTANCES", NO_INSTANCES_MESSAGE, rollback=False)
            return False
        if dep.automatic:
            # A few named instances, each of which must succeed: no minimum to keep healthy.
            events = [e.name for e in next(iter(dep.targets.values())).events]
            self._begin_stage(dep, "install", list(dep.targets.values()), events, now, strict=True)
            return True
        if not self._check_constraints(dep, len(dep.targets)):
            return False
        segment_events = [
            e.name for e in next(iter(dep.targets.values())).events if e.status == "Pending"
        ]
        self._begin_stage(dep, "install", list(dep.targets.values()), segment_events, now)
        return True

    def _phase_done(self, dep: Deployment, now: float) -> bool:
        return False

    # ----- phases: blue/green ---------------------------------------------------------------

    def _copy_group(self, dep: Deployment) -> bool:
        world = self.world
        source = world.asgs.get(dep.original_asgs[0]) if dep.original_asgs else None
        if source is None:
            self._finish(
                dep,
                "Failed",
                "AUTO_SCALING_CONFIGURATION",
                "The Auto Scaling group of the deployment group to copy for the replacement "
                "environment was not found.",
                rollback=False,
            )
            return False
        # "The number of currently healthy instances in the Amazon EC2 Auto Scaling group
        # you select is created in your replacement environment."
        in_service = set(_in_service(world, source))
        healthy = [
            m
            for m in source.members.values()
            if m.health_status == "Healthy" and m.instance_id in in_service
        ]
        params: dict[str, Any] = {
            "AutoScalingGroupName": dep.copied_asg,
            "MinSize": min(source.min_size, len(healthy)),
            "MaxSize": max(source.max_size, len(healthy)),
            "DesiredCapacity": len(healthy),
            "AvailabilityZones": list(source.azs),
            "VPCZoneIdentifier": source.vpc_zone_identifier,
            "HealthCheckType": source.health_check_type,
            "HealthCheckGracePeriod": source.health_check_grace_period,
            "DefaultCooldown": source.default_cooldown,
            "TerminationPolicies": list(source.termination_policies),
            "NewInstancesProtectedFromScaleIn": source.new_instances_protected,
            "Tags": [
                {
                    "Key": t["Key"],
                    "Value": t.get("Value", ""),
                    "PropagateAtLaunch": t.get("PropagateAtLaunch", True),
                }
                for t in source.tags
            ],
        }
        if source.launch_template:
            params["LaunchTemplate"] = {
                "LaunchTemplateId": source.launch_template["LaunchTemplateId"],
                "Version": source.launch_template.get("Version", "$Default"),
            }
        else:
            params["LaunchConfigurationName"] = source.launch_configuration_name or source.name
        asg_ops.create_auto_scaling_group(world, params)
        copy = world.asgs[dep.copied_asg or ""]
        # The copy launches what the original launches: same template, instance type and
        # application revision (the deployment installs the new one).
        copy.launch_template = dict(source.launch_template) if source.launch_template else None
        copy.instance_type = source.instance_type
        copy.revision = source.revision
        return True

    def _phase_provision(self, dep: Deployment, now: float) -> bool:
        world = self.world
        if dep.copied_asg:
            copy = world.asgs.get(dep.copied_asg)
            members = _in_service(world, copy) if copy else []
            ready = copy is not None and len(members) >= copy.desired
        else:
            ti = dep.target_instances or {}
            members = []
            for name in ti.get("autoScalingGroups") or []:
                asg = world.asgs.get(name)
                if asg is not None:
                    members += _in_service(world, asg)
            members += self._tagged(ti.get("tagFilters") or [], ti.get("ec2TagSet"))
            members = [m for m in dict.fromkeys(members) if m not in dep.originals]
            ready = True
        if not ready:
            if now >= (dep.deadline or now):
                self._finish(
                    dep,
                    "Failed",
                    "AUTO_SCALING_CONFIGURATION",
                    f"The replacement Auto Scaling group {dep.copied_asg} did not reach its "
                    "desired capacity in time.",
                    rollback=False,
                )
            return False
        if not dep.originals or not members:
            self._finish(dep, "Failed", "NO_INSTANCES", NO_INSTANCES_MESSAGE, rollback=False)
            return False
        dep.replacements = members
        for iid in members:
            dep.targets[iid] = DeploymentTarget(
                iid,
                "Green",
                [LifecycleEvent(n) for n in INSTALL_EVENTS + ALLOW_EVENTS],
                world.now(),
            )
        if not self._check_constraints(dep, len(members)):
            return False
        waits = self._ready_option(dep).get("actionOnTimeout") == "STOP_DEPLOYMENT"
        self._begin_stage(
            dep,
            "install",
            [dep.targets[i] for i in members],
            INSTALL_EVENTS,
            now,
            done_status="Ready" if waits else "InProgress",
        )
        return True

    def _phase_install(self, dep: Deployment, now: float) -> bool:
        if not self._step_stage(dep, now):
            return False
        if not dep.blue_green_style:
            self._succeed(dep)
            return False
        dep.install_failed = len(dep.stage.failed)
        ready = self._ready_option(dep)
        if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT":
            dep.status = "Ready"
            dep.phase = "ready"
            dep.deadline = dep.stage.finished_at + 60.0 * int(ready.get("waitTimeInMinutes") or 0)
            dep.stage = None
            return True
        self._begin_allow(dep, dep.stage.finished_at)
        return True

    def _phase_ready(self, dep: Deployment, now: float) -> bool:
        if now < (dep.deadline or 0.0):
            return False
        self._finish(
            dep,
            "Stopped",
            "TIMEOUT",
            READY_TIMEOUT_MESSAGE,
            rollback=_rollback_on(dep, "DEPLOYMENT_FAILURE"),
        )
        return False

    def _begin_allow(self, dep: Deployment, at: float) -> None:
        installed = [
            dep.targets[i]
            for i in dep.replacements
            if dep.targets[i].status in ("Ready", "InProgress")
        ]
        self._begin_stage(
            dep, "allow", installed, ALLOW_EVENTS, at, failed_before=dep.install_failed
        )

    def _phase_allow(self, dep: Deployment, now: float) -> bool:
        if not self._step_stage(dep, now):
            return False
        blues = [dep.targets[i] for i in dep.originals]
        self._begin_stage(dep, "block", blues, BLOCK_EVENTS, dep.stage.finished_at, strict=True)
        return True

    def _phase_block(self, dep: Deployment, now: float) -> bool:
        if not self._step_stage(dep, now):
            return False
        finished_at = dep.stage.finished_at
        dep.stage = None
        self._swap_attachments(dep, forward=True)
        option = (dep.blue_green or {}).get("terminateBlueInstancesOnDeploymentSuccess") or {}
        if option.get("action", "TERMINATE") == "TERMINATE":
            dep.termination_wait_started = True
            dep.phase = "termination_wait"
            dep.deadline = finished_at + 60.0 * int(option.get("terminationWaitTimeInMinutes", 0))
            return True
        self._succeed(dep)
        return False

    def _phase_termination_wait(self, dep: Deployment, now: float) -> bool:
        if now < (dep.deadline or 0.0):
            return False
        dep.originals_terminated = True
        self._remove_fleet(dep.original_asgs, dep.originals)
        dep.phase = "terminating"
        return True

    def _phase_terminating(self, dep: Deployment, now: float) -> bool:
        if self._gone(dep.originals, dep.original_asgs):
            self._succeed(dep)
        return False

    def _swap_attachments(self, dep: Deployment, *, forward: bool) -> None:
        """Move the load balancer attachments from the original Auto Scaling groups to the
        replacement ones (or back), so scale-outs register where the traffic is, and point the
        deployment group at the groups that now serve."""
        world = self.world
        grp = self.groups.get((dep.application, dep.group))
        if forward:
            tgs: list[str] = []
            clbs: list[str] = []
            for name in dep.original_asgs:
                asg = world.asgs.get(name)
                if asg is not None:
                    tgs += asg.target_group_arns
                    clbs += asg.load_balancer_names
            dep.moved_tgs = list(dict.fromkeys(tgs))
            dep.moved_clbs = list(dict.fromkeys(clbs))
            sources, dests = dep.original_asgs, dep.replacement_asgs
        else:
            sources, dests = dep.replacement_asgs, dep.original_asgs
        if not dests:
            return
        for name in dests:
            if name not in world.asgs:
                continue
            if dep.moved_tgs:
                arns = [a for a in dep.moved_tgs if a in world.target_groups]
                asg_ops.attach_load_balancer_target_groups(
                    world, {"AutoScalingGroupName": name, "TargetGroupARNs": arns}
                )
            if dep.moved_clbs:
                names = [n for n in dep.moved_clbs if n in world.classic_lbs]
                asg_ops.attach_load_balancers(
                    world, {"AutoScalingGroupName": name, "LoadBalancerNames": names}
                )
            if forward:
                # Scale-outs of the new group launch what it now serves.
                world.asgs[name].revision = dep.label
        for name in sources:
            if name not in world.asgs:
                continue
            if dep.moved_tgs:
                asg_ops.detach_load_balancer_target_groups(
                    world, {"AutoScalingGroupName": name, "TargetGroupARNs": dep.moved_tgs}
                )
            if dep.moved_clbs:
                asg_ops.detach_load_balancers(
                    world, {"AutoScalingGroupName": name, "LoadBalancerNames": dep.moved_clbs}
                )
        dep.swapped = forward
        if grp is None:
            return
        before = grp.spec["autoScalingGroups"]
        if forward:
            # The groups that now serve become the deployment group's, with a new launch hook
            # each; the originals' hooks go.
            grp.spec["autoScalingGroups"] = [
                {"name": name, "hook": launch_hook_name(world, dep.group)} for name in dests
            ]
        else:
            grp.spec["autoScalingGroups"] = [dict(e) for e in dep.group_asgs_before]
        sync_launch_hooks(world, grp.id, before, grp.spec["autoScalingGroups"])

    # ----- phases: blue/green rollback ------------------------------------------------------

    def _phase_rb_allow(self, dep: Deployment, now: float) -> bool:
        if not self._step_stage(dep, now):
            return False
        greens = [t for t in dep.targets.values() if t.label == "Green"]
        self._begin_stage(dep, "rb_block", greens, BLOCK_EVENTS, dep.stage.finished_at, strict=True)
        return True

    def _phase_rb_block(self, dep: Deployment, now: float) -> bool:
        if not self._step_stage(dep, now):
            return False
        dep.stage = None
        trigger = self.deployments[dep.rollback_of or ""]
        if trigger.swapped:
            self._swap_attachments(trigger, forward=False)
        self._remove_replacements(trigger)
        dep.phase = "rb_removing"
        return True

    def _phase_rb_removing(self, dep: Deployment, now: float) -> bool:
        trigger = self.deployments[dep.rollback_of or ""]
        if self._gone(trigger.replacements, trigger.replacement_asgs):
            self._succeed(dep)
        return False

    def _gone(self, instance_ids: list[str], asg_names: list[str]) -> bool:
        """Whether the instances are terminated and the groups deleted."""
        world = self.world
        return all(
            (inst := world.instances.get(iid)) is None or inst.state == "terminated"
            for iid in instance_ids
        ) and not any(name in world.asgs for name in asg_names)

    def _step_stage(self, dep: Deployment, now: float) -> bool:
        """Step the current stage: True once it has finished well. A failed stage fails the
        deployment here, so callers only move on."""
        outcome = dep.stage.step(self, dep, now)
        if outcome == "failed":
            self._failed(dep)
        return outcome is not None and outcome != "failed"

    def _remove_fleet(self, asg_names: Iterable[str], instance_ids: Iterable[str]) -> None:
        """Delete the groups (their members terminate with them) and terminate the rest."""
        world = self.world
        in_groups: set[str] = set()
        for name in asg_names:
            asg = world.asgs.get(name)
            if asg is None:
                continue
            in_groups.update(asg.members)
            asg_ops.delete_auto_scaling_group(
                world, {"AutoScalingGroupName": name, "ForceDelete": True}
            )
        for iid in instance_ids:
            inst = world.instances.get(iid)
            if inst is not None and iid not in in_groups:
                world.terminate_instance(inst, "User initiated")

    def _remove_replacements(self, trigger: Deployment) -> None:
        self._remove_fleet(trigger.replacement_asgs, trigger.replacements)
        grp = self.groups.get((trigger.application, trigger.group))
        if grp is not None and not trigger.swapped:
            grp.spec["autoScalingGroups"] = [dict(e) for e in trigger.group_asgs_before]

    # ----- stages ---------------------------------------------------------------------------

    def _begin_stage(
        self,
        dep: Deployment,
        phase: str,
        targets: list[DeploymentTarget],
        events: Iterable[str],
        at: float,
        *,
        strict: bool = False,
        failed_before: int = 0,
        done_status: str = "Succeeded",
    ) -> None:
        cfg_min, cap = minimum_healthy(dep.min_type, dep.min_value, len(targets) + failed_before)
        dep.phase = phase
        dep.stage = _Stage(
            targets,
            tuple(events),
            at,
            fleet=len(targets) + failed_before,
            minimum=cfg_min,
            cap=cap,
            failed_before=failed_before,
            strict=strict,
            done_status=done_status,
        )

    def _check_constraints(self, dep: Deployment, fleet: int) -> bool:
        if dep.min_type == "MOST_CONCURRENCY" or fleet == 0:
            return True
        minimum, _ = minimum_healthy(dep.min_type, dep.min_value, fleet)
        if minimum < fleet:
            return True
        self._finish(
            dep,
            "Failed",
            "HEALTH_CONSTRAINTS_INVALID",
            f"The deployment failed because the minimum number of healthy instances ({minimum})"
            f" is not less than the number of instances in the deployment ({fleet}). Choose a "
            "deployment configuration with a lower minimum number of healthy hosts, or add "
            "instances.",
            rollback=False,
        )
        return False

    def _begin_target(self, dep: Deployment, t: DeploymentTarget, events: tuple, at: float) -> None:
        names = set(events)
        t.segment = [i for i, e in enumerate(t.events) if e.name in names and e.status == "Pending"]
        t.cursor = 0
        t.clock = at
        t.status = "InProgress"
        t.updated = self.at(at)

    def _drive(self, dep: Deployment, t: DeploymentTarget, now: float) -> str | None:
        """Run the target's segment as far as time allows: "ok", "failed" or None (running)."""
        while True:
            if t.run is None:
                if t.cursor >= len(t.segment):
                    return "ok"
                if dep.stop_rollback is not None:
                    return None
                self._start_event(dep, t, t.events[t.segment[t.cursor]])
            ev = t.events[t.segment[t.cursor]]
            result = self._poll_event(dep, t, ev, now)
            if result is None:
                return None
            end = now if result.at is None else min(result.at, now)
            t.run = None
            t.clock = end
            ev.end = self.at(end)
            t.updated = ev.end
            ignorable = dep.ignore_stop_failures and ev.name in STOP_EVENTS
            if result.ok or ignorable:
                ev.status = "Succeeded" if result.ok else "Failed"
                ev.diagnostics = dict(_SUCCESS_DIAGNOSTICS) if result.ok else result.diagnostics
                self._event_succeeded(dep, t, ev)
                t.cursor += 1
                continue
            ev.status = "Failed"
            ev.diagnostics = result.diagnostics
            t.status = "Failed"
            for later in t.events:
                if later.status == "Pending":
                    later.status = "Skipped"
            return "failed"

    def _start_event(self, dep: Deployment, t: DeploymentTarget, ev: LifecycleEvent) -> None:
        world = self.world
        ev.status = "InProgress"
        ev.start = self.at(t.clock)
        t.updated = ev.start
        inst = world.instances.get(t.instance_id)
        if self.faults._take(self.faults.kills, dep, t, ev.name) and inst is not None:
            world.terminate_instance(inst, "Instance terminated during a deployment")
        if inst is None or inst.state not in ("pending", "running"):
            # Nothing to run on a dead instance; _poll_event fails the event.
            t.run = TimedRun(t.clock)
            return
        if ev.name == "AllowTraffic":
            t.run = _AllowTraffic(self, dep, t.instance_id, t.clock)
            return
        if ev.name == "BlockTraffic":
            t.run = _BlockTraffic(self, dep, t.instance_id, t.clock)
            return
        if ev.name == "ApplicationStart":
            # The application starts as the event begins, so the revision's own start
            # scripts (ApplicationStart hooks) find it running.
            inst.app_running = True
        duration = self.settings.durations.get(ev.name, 1.0)
        fault = self.faults._take(self.faults.hooks, dep, t, ev.name)
        if fault is not None:
            diagnostics = script_failure(
                ev.name,
                exit_code=fault.exit_code,
                script=fault.script,
                error_code=fault.error_code,
                log_tail=fault.log_tail,
                deployment_group_id=dep.group_id,
                deployment_id=dep.id,
            )
            # A failing script runs a while before it exits.
            t.run = TimedRun(t.clock + duration / 2, HookResult(False, diagnostics))
            return
        t.run = self.hooks.start(
            HookContext(
                world=world,
                deployment_id=dep.id,
                deployment_group_id=dep.group_id,
                application=dep.application,
                deployment_group=dep.group,
                instance_id=t.instance_id,
                instance_label=t.label,
                event=ev.name,
                revision=dep.revision,
                revision_label=dep.label,
                started=t.clock,
                duration=duration,
                installed_label=inst.revision,
            )
        )

    def _poll_event(
        self, dep: Deployment, t: DeploymentTarget, ev: LifecycleEvent, now: float
    ) -> HookResult | None:
        inst = self.world.instances.get(t.instance_id)
        if inst is None or inst.state not in ("pending", "running"):
            t.run.cancel()
            return HookResult(
                False,
                {
                    "errorCode": "UnknownError",
                    "scriptName": "",
                    "message": AGENT_LOST_MESSAGE,
                    "logTail": "",
                },
                now,
            )
        return t.run.poll(now)

    def _event_succeeded(self, dep: Deployment, t: DeploymentTarget, ev: LifecycleEvent) -> None:
        inst = self.world.instances.get(t.instance_id)
        if inst is None:
            return
        if ev.name == "ApplicationStop":
            # The application stops once the event's scripts ran (a deregistering hook
            # script still finds it serving its in-flight requests).
            inst.app_running = False
        elif ev.name == "Install":
            inst.revision = dep.label
            self.faults._installed(dep, inst)

    # ----- endings --------------------------------------------------------------------------

    def _succeed(self, dep: Deployment) -> None:
        dep.stage = None
        dep.phase = "done"
        dep.status = "Succeeded"
        dep.completed = self.world.now()
        self._complete_launch(dep, "CONTINUE")
        grp = self.groups.get((dep.application, dep.group))
        if grp is not None:
            grp.last_successful = dep.id
            if dep.launched_during and grp.spec.get("outdatedInstancesStrategy") != "IGNORE":
                grp.follow_on = (dep.id, list(dep.launched_during))
            if not dep.blue_green_style and not dep.automatic:
                # Instances the group launches later get the revision it now runs (CodeDeploy
                # deploys it to them through the Auto Scaling lifecycle hook).
                for entry in grp.spec.get("autoScalingGroups") or []:
                    asg = self.world.asgs.get(entry["name"])
                    if asg is not None:
                        asg.revision = dep.label
        if dep.rollback_of:
            trigger = self.deployments.get(dep.rollback_of)
            if trigger is not None and trigger.rollback_info is not None:
                trigger.rollback_info["rollbackMessage"] = (
                    f"Deployment {trigger.id} was rolled back by {dep.id}"
                )

    def _failed(self, dep: Deployment) -> None:
        self._finish(
            dep,
            "Failed",
            "HEALTH_CONSTRAINTS",
            HEALTH_CONSTRAINTS_MESSAGE,
            rollback=_rollback_on(dep, "DEPLOYMENT_FAILURE"),
        )

    def _finish(
        self, dep: Deployment, status: str, code: str, message: str, *, rollback: bool
    ) -> None:
        """End an active deployment unsuccessfully, cutting short what is under way."""
        now = self.world.elapsed()
        for t in dep.targets.values():
            if t.run is not None:
                t.run.cancel()
                t.run = None
                ev = t.events[t.segment[t.cursor]]
                ev.status = "Failed"
                ev.end = self.at(now)
                ev.diagnostics = {
                    "errorCode": "UnknownError",
                    "scriptName": "",
                    "message": f"The lifecycle event was cut short: {message}",
                    "logTail": "",
                }
                t.status = "Failed"
                t.updated = ev.end
            elif t.status in ("Pending", "Ready", "InProgress"):
                t.status = "Skipped"
                t.updated = self.at(now)
            for ev in t.events:
                if ev.status in ("Pending", "InProgress"):
                    ev.status = "Skipped"
        dep.stage = None
        dep.phase = "done"
        dep.status = status
        dep.error = {"code": code, "message": message}
        dep.completed = self.world.now()
        self._complete_launch(dep, "ABANDON")
        if dep.rollback_of:
            trigger = self.deployments.get(dep.rollback_of)
            if trigger is not None and trigger.rollback_info is not None:
                trigger.rollback_info["rollbackMessage"] = (
                    f"The rollback of deployment {trigger.id} by {dep.id} did not succeed: {code}"
                )
            return
        if rollback:
            self._roll_back(dep)

    def _roll_back(self, dep: Deployment) -> None:
        grp = self.groups.get((dep.application, dep.group))
        reason = None
        if grp is None:
            reason = "its deployment group no longer exists"
        elif dep.previous_revision is None:
            reason = "there is no previous successful revision to roll back to"
        elif dep.originals_terminated:
            reason = "the original instances were terminated"
        if reason is not None:
            dep.rollback_info = {
                "rollbackMessage": f"The deployment {dep.id} could not be rolled back because "
                f"{reason}."
            }
            dep.status_messages.append(dep.rollback_info["rollbackMessage"])
            return
        assert grp is not None and dep.previous_revision is not None
        rb = self.new_deployment(
            grp,
            revision=dep.previous_revision,
            config=dep.config,
            creator=ROLLBACK_CREATOR,
            auto_rollback=dep.auto_rollback,
            alarms=dep.alarms,
            ignore_stop_failures=dep.ignore_stop_failures,
            file_exists=dep.file_exists,
        )
        rb.style = dict(dep.style)
        rb.blue_green = clone(dep.blue_green)
        rb.lb_info = clone(dep.lb_info)
        rb.target_instances = clone(dep.target_instances)
        rb.min_type, rb.min_value = dep.min_type, dep.min_value
        rb.rollback_of = dep.id
        rb.rollback_info = {
            "rollbackTriggeringDeploymentId": dep.id,
            "rollbackMessage": f"Rollback of deployment {dep.id}",
        }
        dep.rollback_info = {
            "rollbackDeploymentId": rb.id,
            "rollbackMessage": f"Deployment {dep.id} is being rolled back by {rb.id}",
        }
        world = self.world
        alive = [
            iid
            for iid in (dep.originals if dep.blue_green_style else list(dep.targets))
            if (inst := world.instances.get(iid)) is not None
            and inst.state in ("pending", "running")
        ]
        if dep.blue_green_style:
            rb.originals = alive
            rb.replacements = list(dep.replacements)
            for iid in alive:
                rb.targets[iid] = DeploymentTarget(
                    iid, "Blue", [LifecycleEvent(n) for n in ALLOW_EVENTS], world.now()
                )
            # Dead replacement instances have nothing left to block; their group goes anyway.
            for iid in dep.replacements:
                inst = world.instances.get(iid)
                if inst is None or inst.state not in ("pending", "running"):
                    continue
                rb.targets[iid] = DeploymentTarget(
                    iid, "Green", [LifecycleEvent(n) for n in BLOCK_EVENTS], world.now()
                )
        else:
            rb.originals = alive
            for iid in alive:
                rb.targets[iid] = self._in_place_target(rb, iid)
        self.start_deployment(rb)

    # ----- Auto Scaling's launches ---------------------------------------------------------

    def _start_launch_deployments(self) -> None:
        """One autoscaling deployment for each instance waiting on a group's launch hook."""
        world = self.world
        for grp in list(self.groups.values()):
            for entry in grp.spec.get("autoScalingGroups") or []:
                asg = world.asgs.get(entry["name"])
                hook = entry.get("hook")
                if asg is None or hook not in asg.lifecycle_hooks:
                    continue
                for member in list(asg.members.values()):
                    action = member.launch_actions.get(hook)
                    if (
                        member.lifecycle_state == "Pending:Wait"
                        and action is not None
                        and action.result is None
                        and action.token not in self._launches
                    ):
                        self._launch_deployment(grp, asg, member, action)

    def _launch_deployment(
        self,
        grp: DeploymentGroup,
        asg: AutoScalingGroup,
        member: AsgMember,
        action: LifecycleAction,
    ) -> None:
        """Deploy the group's last successful revision to a launching instance ("CodeDeploy
        ... starts to deploy your application to the new EC2 instance using the last
        successful revision"). Without one there is nothing to install: the launch goes on."""
        world = self.world
        iid = member.instance_id
        last = self.deployments.get(grp.last_successful or "")
        if last is None:
            self._launches[action.token] = None
            asg_rules.complete_lifecycle_action(world, asg, member, action.hook, "CONTINUE")
            return
        dep = self.new_deployment(
            grp,
            revision=last.revision,
            config=grp.spec["deploymentConfigName"],
            creator=AUTOSCALING_CREATOR,
            auto_rollback={"enabled": False, "events": []},
        )
        # The instance is not in any load balancer yet (Auto Scaling adds it once InService):
        # the deployment installs the revision and nothing more.
        dep.style = {"deploymentType": "IN_PLACE", "deploymentOption": "WITHOUT_TRAFFIC_CONTROL"}
        dep.blue_green = dep.lb_info = None
        dep.launch = (asg.name, action.hook, iid)
        dep.originals = [iid]
        dep.targets[iid] = self._in_place_target(dep, iid)
        self._launches[action.token] = dep.id
        self.deployments[dep.id] = dep
        grp.last_attempted = dep.id
        self.note_revision_use(grp, dep.revision, dep.created)
        # Launched while another revision is being deployed: updated once that one succeeds.
        running = self.active_deployment(grp.application, grp.name)
        if running is not None and running.label != dep.label:
            running.launched_during.append(iid)

    def _heartbeat(self, dep: Deployment, now: float) -> None:
        """CodeDeploy keeps the launch waiting while the deployment runs."""
        asg_name, hook, iid = dep.launch or ("", "", "")
        asg = self.world.asgs.get(asg_name)
        member = asg.members.get(iid) if asg else None
        action = member.launch_actions.get(hook) if member else None
        if asg is not None and action is not None and hook in asg.lifecycle_hooks:
            action.deadline = now + asg.lifecycle_hooks[hook].heartbeat_timeout

    def _complete_launch(self, dep: Deployment, result: str) -> None:
        """CONTINUE the launch when its deployment succeeded, ABANDON it otherwise (Auto
        Scaling then terminates the instance and launches another)."""
        if dep.launch is None:
            return
        asg_name, hook, iid = dep.launch
        asg = self.world.asgs.get(asg_name)
        member = asg.members.get(iid) if asg else None
        if asg is not None and member is not None:
            asg_rules.complete_lifecycle_action(self.world, asg, member, hook, result)

    def _start_follow_on(self, grp: DeploymentGroup) -> None:
        """Update instances launched during a deployment that succeeded, once their own
        deployments are over: CodeDeploy's follow-on deployment (creator
        CodeDeployAutoUpdate) of the revision they missed, to them only."""
        did, ids = grp.follow_on or ("", [])
        if any(d.active and d.launch and d.launch[2] in ids for d in self.deployments.values()):
            return
        grp.follow_on = None
        source = self.deployments.get(did)
        if source is None or self.active_deployment(grp.application, grp.name) is not None:
            return
        world = self.world
        outdated = [
            i
            for i in self.group_instances(grp.spec)
            if i in ids and world.instances[i].revision != source.label
        ]
        if not outdated:
            return
        dep = self.new_deployment(
            grp,
            revision=source.revision,
            config=source.config,
            creator=AUTO_UPDATE_CREATOR,
            auto_rollback={"enabled": False, "events": []},
            update_outdated_only=True,
        )
        lb = grp.spec.get("loadBalancerInfo") or {}
        traffic = bool(lb.get("targetGroupInfoList") or lb.get("elbInfoList"))
        dep.style = {
            "deploymentType": "IN_PLACE",
            "deploymentOption": "WITH_TRAFFIC_CONTROL" if traffic else "WITHOUT_TRAFFIC_CONTROL",
        }
        dep.blue_green = None
        dep.lb_info = clone(lb) if traffic else None
        dep.originals = outdated
        for iid in outdated:
            dep.targets[iid] = self._in_place_target(dep, iid)
        self.deployments[dep.id] = dep
        grp.last_attempted = dep.id
        self.note_revision_use(grp, dep.revision, dep.created)

    # ----- alarms ---------------------------------------------------------------------------

    def _alarms_stop(self, dep: Deployment) -> bool:
        cfg = dep.alarms or {}
        names = [a.get("name") for a in cfg.get("alarms") or [] if a.get("name")]
        if not cfg.get("enabled") or not names:
            return False
        firing, missing = [], []
        for name in names:
            alarm = self.world.alarms.get(name)
            if alarm is None:
                missing.append(name)
            elif getattr(alarm, "state_value", None) == "ALARM":
                firing.append(name)
        if firing:
            message = (
                "One or more alarms have been activated according to the Amazon CloudWatch "
                "metrics you selected, and the affected deployments have been stopped. "
                f"Activated alarms: <{', '.join(firing)}>"
            )
        elif missing and not cfg.get("ignorePollAlarmFailure"):
            message = (
                "The deployment was stopped because the state of its alarms could not be "
                f"retrieved from Amazon CloudWatch. Alarms not found: <{', '.join(missing)}>"
            )
        else:
            return False
        self._finish(
            dep,
            "Stopped",
            "ALARM_ACTIVE",
            message,
            rollback=_rollback_on(dep, "DEPLOYMENT_STOP_ON_ALARM"),
        )
        return True

    # ----- helpers --------------------------------------------------------------------------

    def _ready_option(self, dep: Deployment) -> dict:
        return (dep.blue_green or {}).get("deploymentReadyOption") or {}

    def _floor(self, sandbox_seconds: float) -> float:
        return max(sandbox_seconds, self.settings.min_real_timeout * self.world.clock.time_scale)


class _Stage:
    """One segment of lifecycle events over a set of targets, as many at once as the minimum
    healthy hosts allow. `step` returns None while running, then "ok" or "failed"."""

    def __init__(
        self,
        targets: list[DeploymentTarget],
        events: tuple[str, ...],
        started: float,
        *,
        fleet: int,
        minimum: int,
        cap: int | None,
        failed_before: int,
        strict: bool,
        done_status: str,
    ) -> None:
        self.pending = list(targets)
        self.running: list[DeploymentTarget] = []
        self.ok: list[DeploymentTarget] = []
        self.failed: list[DeploymentTarget] = []
        self.events = events
        self.started = started
        self.finished_at = started
        self.fleet = fleet
        self.minimum = minimum
        self.cap = cap
        self.failed_before = failed_before
        self.strict = strict
        self.done_status = done_status

    def _can_start(self) -> bool:
        if self.cap is not None and len(self.running) >= self.cap:
            return False
        if self.strict:
            # Every target must succeed; batches still follow the config.
            batch = max(1, self.fleet - self.minimum)
            return len(self.running) < batch
        failed = self.failed_before + len(self.failed)
        return self.fleet - failed - len(self.running) - 1 >= self.minimum

    def step(self, engine: CodeDeploy, dep: Deployment, now: float) -> str | None:
        progress = True
        while progress:
            progress = False
            for t in list(self.running):
                outcome = engine._drive(dep, t, now)
                if outcome is None:
                    continue
                self.running.remove(t)
                self.finished_at = max(self.finished_at, t.clock)
                if outcome == "ok":
                    t.status = self.done_status
                    self.ok.append(t)
                else:
                    self.failed.append(t)
                progress = True
            if self.failed and self.strict:
                return "failed"
            while self.pending and self._can_start():
                t = self.pending.pop(0)
                engine._begin_target(dep, t, self.events, self.finished_at)
                self.running.append(t)
                progress = True
        if self.running:
            return None
        if self.pending:
            return "failed"
        if self.strict:
            return "ok"
        return "ok" if len(self.ok) >= max(self.minimum, 1) else "failed"


class _AllowTraffic:
    """Register the instance with every target group and Classic Load Balancer of the
    deployment and wait until it passes their health checks."""

    def __init__(self, cd: CodeDeploy, dep: Deployment, instance_id: str, at: float) -> None:
        world = cd.world
        self.world = world
        self.iid = instance_id
        self.tgs, self.clbs, self.missing = _load_balancers(world, dep.lb_info)
        limit = cd.settings.allow_traffic_timeout
        if limit is None:
            checks = [tg.health_check for tg in self.tgs] + [c.health_check for c in self.clbs]
            limit = max([300.0] + [3.0 * (hc.healthy_threshold + 1) * hc.interval for hc in checks])
        self.limit = cd._floor(limit)
        self.deadline = at + self.limit
        for tg in self.tgs:
            world.register(tg, instance_id)
        for clb in self.clbs:
            world.register_classic(clb, instance_id)

    def _states(self) -> list[tuple[str, str, bool, bool, str]]:
        """(kind, name, healthy, failing, description) per load balancer."""
        world = self.world
        out = []
        for tg in self.tgs:
            target = tg.targets.get((self.iid, tg.port))
            if target is None or target.draining:
                out.append(("target group", tg.name, False, True, "unused"))
                continue
            state, reason, _ = world.effective_state(tg, target)
            failing = target.fails > 0 or state not in (HEALTHY, "initial")
            out.append(("target group", tg.name, state == HEALTHY, failing, f"{state} ({reason})"))
        for clb in self.clbs:
            target = clb.instances.get(self.iid)
            if target is None or target.draining:
                out.append(("load balancer", clb.name, False, True, "OutOfService"))
                continue
            state, reason, _ = world.classic_state(clb, target)
            ok = state == "InService"
            out.append(("load balancer", clb.name, ok, target.fails > 0, f"{state} ({reason})"))
        return out

    def poll(self, now: float) -> HookResult | None:
        if self.missing:
            return HookResult(False, _elb_missing(self.missing), now)
        states = self._states()
        if all(ok for _, _, ok, _, _ in states):
            return HookResult(True, None, now)
        if now < self.deadline:
            return None
        # At the time limit a target whose checks fail has failed. One whose checks pass but
        # have not yet added up (a data plane lagging behind a high time scale) gets longer.
        if not any(failing for _, _, ok, failing, _ in states if not ok) and (
            now < self.deadline + 4 * self.limit
        ):
            return None
        kind, name, _, _, last = next(s for s in states if not s[2])
        message = (
            f"Instance {self.iid} did not pass the health checks of {kind} {name} within "
            f"{self.limit:.0f} seconds; its last state was {last}."
        )
        return HookResult(False, _unknown_error(message))

    def cancel(self) -> None:
        pass


class _BlockTraffic:
    """Deregister the instance from every target group and Classic Load Balancer of the
    deployment and wait until it has drained out of all of them."""

    def __init__(self, cd: CodeDeploy, dep: Deployment, instance_id: str, at: float) -> None:
        world = cd.world
        self.world = world
        self.iid = instance_id
        self.tgs, self.clbs, self.missing = _load_balancers(world, dep.lb_info)
        delay = max(
            [0]
            + [tg.deregistration_delay for tg in self.tgs]
            + [c.draining_timeout for c in self.clbs]
        )
        self.limit = cd._floor(delay + cd.settings.block_traffic_margin)
        self.deadline = at + self.limit
        # The (group, target key) pairs to wait on: one scan here, dictionary lookups after.
        self.keys = [(tg, key) for tg in self.tgs for key in tg.targets if key[0] == instance_id]
        for tg, (_, port) in self.keys:
            world.deregister(tg, instance_id, port)
        for clb in self.clbs:
            world.deregister_classic(clb, instance_id)

    def poll(self, now: float) -> HookResult | None:
        if self.missing:
            return HookResult(False, _elb_missing(self.missing), now)
        still = [tg.name for tg, key in self.keys if key in tg.targets]
        still += [clb.name for clb in self.clbs if self.iid in clb.instances]
        if not still:
            return HookResult(True, None, now)
        if now < self.deadline:
            return None
        message = (
            f"Instance {self.iid} did not finish deregistering from {', '.join(still)} within "
            f"{self.limit:.0f} seconds."
        )
        return HookResult(False, _unknown_error(message))

    def cancel(self) -> None:
        pass


# ----- small helpers ---------------------------------------------------------------------------


def _load_balancers(world: World, lb_info: dict | None) -> tuple[list, list, list[str]]:
    tgs, clbs, missing = [], [], []
    for entry in (lb_info or {}).get("targetGroupInfoList") or []:
        tg = world.target_group_by_name(entry.get("name", ""))
        if tg is None:
            missing.append(entry.get("name", ""))
        else:
            tgs.append(tg)
    for entry in (lb_info or {}).get("elbInfoList") or []:
        clb = world.classic_lbs.get(entry.get("name", ""))
        if clb is None:
            missing.append(entry.get("name", ""))
        else:
            clbs.append(clb)
    return tgs, clbs, missing


def _unknown_error(message: str) -> dict:
    return {"errorCode": "UnknownError", "scriptName": "", "message": message, "logTail": ""}


def _elb_missing(names: list[str]) -> dict:
    return {
        "errorCode": "UnknownError",
        "scriptName": "",
        "message": "The Elastic Load Balancing load balancer or target group "
        f"{', '.join(names)} was not found.",
        "logTail": "",
    }


def _in_service(world: World, asg: AutoScalingGroup | None) -> list[str]:
    if asg is None:
        return []
    return [
        m.instance_id
        for m in asg.members.values()
        if m.lifecycle_state == "InService"
        and (inst := world.instances.get(m.instance_id)) is not None
        and inst.state == "running"
    ]


def _tag_matches(tags: dict[str, str], f: dict) -> bool:
    key, value = f.get("Key"), f.get("Value")
    kind = f.get("Type") or ("KEY_AND_VALUE" if key and value is not None else "KEY_ONLY")
    if kind == "KEY_ONLY":
        return key in tags
    if kind == "VALUE_ONLY":
        return value in tags.values()
    return key in tags and tags[key] == value


def _rollback_on(dep: Deployment, event: str) -> bool:
    cfg = dep.auto_rollback or {}
    return bool(cfg.get("enabled")) and event in (cfg.get("events") or [])


def launch_hook_name(world: World, group: str) -> str:
    """The name CodeDeploy gives the launch lifecycle hook it puts on a group's ASG."""
    return f"CodeDeploy-managed-automatic-launch-deployment-hook-{group}-{world.new_uuid()}"


def sync_launch_hooks(world: World, group_id: str, before: list[dict], after: list[dict]) -> None:
    """Make the Auto Scaling groups carry the launch hooks a deployment group's
    `autoScalingGroups` entries name: remove those of `before` that `after` no longer has,
    install those of `after` (DefaultResult ABANDON, HeartbeatTimeout 600, the deployment
    group's id as NotificationMetadata)."""
    keep = {(e["name"], e.get("hook")) for e in after}
    for entry in before:
        asg = world.asgs.get(entry["name"])
        if asg is not None and (entry["name"], entry.get("hook")) not in keep:
            asg.lifecycle_hooks.pop(entry.get("hook") or "", None)
    for entry in after:
        asg = world.asgs.get(entry["name"])
        hook = entry.get("hook")
        if asg is not None and hook and hook not in asg.lifecycle_hooks:
            asg.lifecycle_hooks[hook] = LifecycleHook(
                name=hook,
                transition=LAUNCHING,
                default_result="ABANDON",
                heartbeat_timeout=LAUNCH_HOOK_HEARTBEAT,
                metadata=group_id,
            )


def _on_instances(dep: Deployment) -> bool:
    """Whether a lifecycle event runs on an instance now (AllowTraffic and BlockTraffic are
    CodeDeploy's own calls to the load balancers, and can be cut short at once)."""
    return any(
        t.run is not None and t.events[t.segment[t.cursor]].name not in TRAFFIC_EVENTS
        for t in dep.targets.values()
    )


def clone(value: Any) -> Any:
    """A deep copy of a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value
