"""CodeDeploy for EC2 (computePlatform Server): its resources and the deployment engine.

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

    model.py        resources and settings (dataclasses); revisions.py, diagnostics.py
    state.py        CodeDeploy: the state at `world.deploy`, lookups, creating deployments
    phases.py       the phase table and `advance`; stage.py (batches), events.py (lifecycle
                    events on a target), traffic.py (AllowTraffic, BlockTraffic)
    fleet.py        blue/green fleets: copy, reroute the attachments, remove
    endings.py      success, failure, stop, rollback; control.py (Continue/StopDeployment)
    launches.py     Auto Scaling's launch hook and follow-on deployments; alarms.py
    history.py      past deployments; engine.py: state(), configure(), tick
    hooks.py        the lifecycle-hook strategy; agent.py runs appspec hooks for real
    faults.py       deployment faults for testing

Import from here: the names below are the package's interface.
"""

from __future__ import annotations

from .control import continue_deployment, stop_deployment
from .diagnostics import LIFECYCLE_ERROR_CODES, script_failure
from .engine import configure, record_past_deployment, state
from .faults import DeployFaults, HookFault, KillFault
from .hooks import HookContext, HookResult, HookRun, LifecycleHooks, TimedHooks, TimedRun
from .launches import launch_hook_name, sync_launch_hooks
from .model import (
    BUILTIN_CONFIGS,
    DEFAULT_CONFIG,
    DEFAULT_DURATIONS,
    Application,
    Deployment,
    DeploymentConfig,
    DeploymentGroup,
    DeploymentTarget,
    LifecycleEvent,
    RevisionRecord,
    Settings,
    clone,
    minimum_healthy,
)
from .revisions import revision_key, revision_label
from .state import CodeDeploy

__all__ = [
    "BUILTIN_CONFIGS",
    "DEFAULT_CONFIG",
    "DEFAULT_DURATIONS",
    "LIFECYCLE_ERROR_CODES",
    "Application",
    "CodeDeploy",
    "DeployFaults",
    "Deployment",
    "DeploymentConfig",
    "DeploymentGroup",
    "DeploymentTarget",
    "HookContext",
    "HookFault",
    "HookResult",
    "HookRun",
    "KillFault",
    "LifecycleEvent",
    "LifecycleHooks",
    "RevisionRecord",
    "Settings",
    "TimedHooks",
    "TimedRun",
    "clone",
    "configure",
    "continue_deployment",
    "launch_hook_name",
    "minimum_healthy",
    "record_past_deployment",
    "revision_key",
    "revision_label",
    "script_failure",
    "state",
    "stop_deployment",
    "sync_launch_hooks",
]
