"""The Snapshot: one deployment group at one moment, everything the front ends render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cutover.backend.model.deployment import Deployment, DeploymentSummary
from cutover.backend.model.evidence import (
    Alarm,
    BakeVerdict,
    Check,
    ListenerWeights,
    Preview,
    Serving,
    SourceHealth,
    Timer,
    Traffic,
)
from cutover.backend.model.fleet import Environment, Instance, Series
from cutover.backend.model.leftovers import Leftover, PendingAction


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
