"""What a deployment or its hooks left out of shape, and actions whose outcome is not known
yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

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
