"""Every action Cutover can take, once, as data: the one place a new action is added.

Each `Action` says what the front ends show (the dashboard's key, footer word, help line and
command palette entry, the command line's subcommand and help), how it is confirmed, which
deployment styles it applies to, what it asks a person for, its planner and its
availability check. The dashboard's bindings, help screen and palette and the command line's
action subcommands are built from `CATALOGUE`; `status` and the Snapshot list the checks in
its order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cutover.backend.actions import availability, cleanup, deployment, preview, repair, shift
from cutover.backend.actions.plan import Plan, Request
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import GateSettings
from cutover.backend.model import Check, Snapshot

BLUE_GREEN, IN_PLACE = "BLUE_GREEN", "IN_PLACE"
BOTH = frozenset({BLUE_GREEN, IN_PLACE})

Planner = Callable[[Plan, Snapshot, Request, AwsSession], Plan]
# What an action asks a person for beyond confirming: a revision (deploy), the choice of
# weights or a move (shift), or leave to override a failed gate (command line only).
Ask = Literal["revision", "reroute", "override-gates"]


@dataclass(frozen=True)
class Action:
    name: str  # the command line's subcommand; the name in status, the audit log and plans
    key: str  # the dashboard's key
    binding: str  # the dashboard's action (and its binding id, `dashboard.<binding>`)
    label: str  # the footer's word
    title: str  # the command palette's entry
    palette_help: str  # under the palette entry; the key is added in brackets
    keys_help: str  # the help screen's line for the key
    cli_help: str  # the subcommand's help
    # "y", or a word read off the screen (the deployment id's last four characters, or the
    # group's name when there is no deployment) for the irreversible and the traffic-moving.
    confirm: Literal["y", "typed"]
    styles: frozenset[str]  # the deployment styles it applies to; elsewhere it has no key
    explain: frozenset[str]  # styles where the dashboard says why its key is dimmed
    asks: tuple[Ask, ...]
    planner: Planner
    check: Callable[[Snapshot], Check]
    # Where it stands in the footer, help and palette: what decides the next minute first.
    place: int
    # Whether planning reads AWS (so the dashboard plans it off the event loop).
    plan_reads_aws: Callable[[Snapshot], bool] = lambda snap: False
    # Whether the footer lists its key; one that is not says it where it applies (a panel).
    in_footer: bool = True


CATALOGUE: tuple[Action, ...] = (
    Action(
        name="deploy",
        key="d",
        binding="deploy",
        label="Deploy",
        title="New deployment",
        palette_help="CreateDeployment",
        keys_help="new deployment: asks for the revision (default: the group's target revision)",
        cli_help="start a deployment (the group's last revision unless --revision)",
        confirm="y",
        styles=BOTH,
        explain=BOTH,
        asks=("revision",),
        planner=deployment.plan_deploy,
        check=availability.deploy,
        place=5,
    ),
    Action(
        name="approve",
        key="r",
        binding="approve",
        label="Approve",
        title="Approve reroute",
        palette_help="ContinueDeployment READY_WAIT",
        keys_help="approve the reroute (ContinueDeployment READY_WAIT); needs y",
        cli_help="approve the traffic reroute of a deployment waiting in Ready",
        confirm="y",
        styles=frozenset({BLUE_GREEN}),
        explain=frozenset({BLUE_GREEN}),
        asks=("override-gates",),
        planner=deployment.plan_approve,
        check=availability.approve,
        place=1,
    ),
    Action(
        name="terminate-original",
        key="t",
        binding="terminate",
        label="Terminate",
        title="Terminate original now",
        palette_help="ends the termination wait",
        keys_help="terminate the originals now (ends the termination wait); type the id's end",
        cli_help="terminate the original instances now (ends the wait)",
        confirm="typed",
        styles=frozenset({BLUE_GREEN}),
        explain=frozenset({BLUE_GREEN}),
        asks=("override-gates",),
        planner=deployment.plan_terminate_original,
        check=availability.terminate_original,
        place=2,
    ),
    Action(
        name="stop",
        key="s",
        binding="stop",
        label="Stop",
        title="Stop deployment",
        palette_help="StopDeployment, no rollback",
        keys_help="stop the deployment without rolling back; needs y",
        cli_help="stop the deployment without rolling back",
        confirm="y",
        styles=BOTH,
        explain=frozenset(),
        asks=(),
        planner=deployment.plan_stop,
        check=availability.stop,
        place=4,
    ),
    Action(
        name="rollback",
        key="b",
        binding="rollback",
        label="Roll back",
        title="Stop and roll back",
        palette_help="StopDeployment with auto rollback",
        keys_help="stop and roll back; type the end of the deployment id",
        cli_help="stop and roll back (or redeploy the previous revision)",
        confirm="typed",
        styles=BOTH,
        explain=frozenset(),
        asks=(),
        planner=deployment.plan_rollback,
        check=availability.rollback,
        place=3,
        plan_reads_aws=deployment.reads_history,
    ),
    Action(
        name="shift",
        key="m",
        binding="shift",
        label="Reroute",
        title="Reroute by hand",
        palette_help="listener weights or move an environment",
        keys_help="manual reroute: listener weights 0/10/50/100, or move an environment in or out",
        cli_help="reroute by hand: listener weights or move an environment in or out",
        confirm="typed",
        styles=frozenset({BLUE_GREEN}),
        explain=frozenset(),
        asks=("reroute",),
        planner=shift.plan_shift,
        check=availability.shift,
        place=6,
    ),
    Action(
        name="repair",
        key="f",
        binding="repair",
        label="Repair",
        title="Repair leftovers",
        palette_help="in-place: Standby, out of the load balancer, MinSize",
        keys_help="in-place: repair leftovers (Standby, out of its load balancer, MinSize);"
        " needs y",
        cli_help="in-place: put back what an interrupted deployment left (Standby, out of a load"
        " balancer, lowered MinSize, suspended processes)",
        confirm="y",
        styles=frozenset({IN_PLACE}),
        explain=frozenset({IN_PLACE}),
        asks=(),
        planner=repair.plan_repair,
        check=availability.repair,
        place=7,
    ),
    Action(
        name="cleanup",
        key="c",
        binding="cleanup",
        label="Clean up",
        title="Remove left replacement fleet",
        palette_help="blue/green: DeleteAutoScalingGroup of a fleet a stop left",
        keys_help="blue/green: remove the replacement fleet a stop without rollback left"
        " (deregister, then delete its Auto Scaling group); type the id's end",
        cli_help="blue/green: remove the replacement fleet a stopped deployment left running"
        " (deregistered where registered, then its Auto Scaling group deleted)",
        confirm="typed",
        styles=frozenset({BLUE_GREEN}),
        explain=frozenset(),
        asks=(),
        planner=cleanup.plan_cleanup,
        check=availability.cleanup,
        place=8,
        # At 80 columns the footer holds no more keys: the unowned capacity panel names it.
        in_footer=False,
    ),
    Action(
        name="preview",
        key="p",
        binding="preview",
        label="Preview",
        title="Preview the replacement",
        palette_help="RegisterTargets in the preview target group (a test listener)",
        keys_help="preview (a target with `preview:` in its config): at Ready, register the"
        " replacements in the preview target group behind its test listener; approve, stop and"
        " rollback take them out again; needs y",
        cli_help="register the replacement instances in the target's preview target group (a"
        " test listener of the load balancer) before approving the reroute",
        confirm="y",
        styles=frozenset({BLUE_GREEN}),
        explain=frozenset(),
        asks=(),
        planner=preview.plan_preview,
        check=availability.preview,
        place=9,
        # Named in the preview panel, which only a target with a preview shows.
        in_footer=False,
    ),
)

NAMES: tuple[str, ...] = tuple(a.name for a in CATALOGUE)
BY_NAME: dict[str, Action] = {a.name: a for a in CATALOGUE}
BY_BINDING: dict[str, Action] = {a.binding: a for a in CATALOGUE}
# The dashboard's order: the footer, the help screen and the command palette.
BY_PLACE: tuple[Action, ...] = tuple(sorted(CATALOGUE, key=lambda a: a.place))


def style_of(snapshot: Snapshot | None) -> str:
    """The deployment style the group shows: in place when it has a fleet and no original
    environment; blue/green otherwise (also before the first snapshot)."""
    in_place = snapshot is not None and snapshot.fleet is not None and snapshot.original is None
    return IN_PLACE if in_place else BLUE_GREEN


def applying(snapshot: Snapshot | None) -> tuple[Action, ...]:
    """The actions that apply to the group's deployment style (and the preview to a target
    that has one), in the dashboard's order."""
    style = style_of(snapshot)
    # The preview exists only for a target whose config names a preview target group.
    preview = snapshot is not None and snapshot.preview is not None
    return tuple(a for a in BY_PLACE if style in a.styles and (a.name != "preview" or preview))


def action(name: str) -> Action:
    """The catalogue's entry for `name`; ValueError for a name it does not hold."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown action {name}") from None


def action_checks(
    snapshot: Snapshot, settings: GateSettings | None = None, *, read_only: bool = False
) -> tuple[Check, ...]:
    """For every action, in catalogue order: allowed now, and the reason (what it will do, or
    why not). Uses `snapshot.gates` for approve and terminate-original (fill them first with
    `gates.evaluate`). `settings` is accepted for the callers that pass it; the checks read
    the gates already evaluated on the snapshot."""
    out = []
    for entry in CATALOGUE:
        check = entry.check(snapshot)
        if read_only and check.passed:
            check = Check(entry.name, False, "read-only target: mutating actions are turned off")
        elif read_only:
            check = Check(entry.name, False, f"read-only target; besides, {check.reason}")
        out.append(check)
    return tuple(out)
