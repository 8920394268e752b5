"""`CodeDeploy`, the state at `world.deploy`: CodeDeploy's resources, their lookups, and the
creation of deployments."""

from __future__ import annotations

import random
import secrets
import string
from datetime import UTC, datetime, timedelta

from cutover.common.lifecycle import (
    BLOCK_EVENTS,
    IN_PLACE_EVENTS,
    INSTALL_EVENTS,
    LOAD_BALANCER_EVENTS,
)
from cutover.sandbox.world import AutoScalingGroup, World, WorldError

from .faults import DeployFaults
from .hooks import LifecycleHooks, TimedHooks
from .model import (
    AUTOSCALING_CREATOR,
    BUILTIN_CONFIGS,
    Application,
    Deployment,
    DeploymentConfig,
    DeploymentGroup,
    DeploymentTarget,
    LifecycleEvent,
    RevisionRecord,
    Settings,
    clone,
)
from .revisions import revision_key, revision_label


class CodeDeploy:
    """CodeDeploy's resources and what the deployments need to move; lives at `world.deploy`.

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
        # Deployment ids come from a stream of their own, not the scenario's seed: two sandboxes
        # of one scenario (two sources of one overview) must not show the same id for different
        # deployments, and a restarted sandbox must not reuse ids an earlier run's audit log
        # records as started from this machine.
        self._ids = random.Random(secrets.randbits(64))
        # Launch actions CodeDeploy took up, by token: the deployment started for each (None
        # when there was nothing to deploy).
        self.launches: dict[str, str | None] = {}
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
            did = "d-" + "".join(self._ids.choice(alphabet) for _ in range(9))
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
                out += in_service(world, asg)
        out += self.tagged(spec.get("ec2TagFilters") or [], spec.get("ec2TagSet"))
        return list(dict.fromkeys(out))

    def tagged(self, filters: list[dict], tag_set: dict | None) -> list[str]:
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
                dep.targets[iid] = self.in_place_target(dep, iid)

    def in_place_target(self, dep: Deployment, iid: str) -> DeploymentTarget:
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

    def ready_option(self, dep: Deployment) -> dict:
        return (dep.blue_green or {}).get("deploymentReadyOption") or {}

    def floor(self, sandbox_seconds: float) -> float:
        return max(sandbox_seconds, self.settings.min_real_timeout * self.world.clock.time_scale)


def in_service(world: World, asg: AutoScalingGroup | None) -> list[str]:
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


def rollback_on(dep: Deployment, event: str) -> bool:
    cfg = dep.auto_rollback or {}
    return bool(cfg.get("enabled")) and event in (cfg.get("events") or [])


def on_instances(dep: Deployment) -> bool:
    """Whether a lifecycle event runs on an instance now (AllowTraffic and BlockTraffic are
    CodeDeploy's own calls to the load balancers, and can be cut short at once)."""
    return any(
        t.run is not None and t.events[t.segment[t.cursor]].name not in LOAD_BALANCER_EVENTS
        for t in dep.targets.values()
    )
