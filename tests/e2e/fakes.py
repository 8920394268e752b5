"""Hand-built snapshots with fixed times, for deterministic screens."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cutover.backend.config import TargetConfig
from cutover.backend.model import (
    Check,
    Deployment,
    Environment,
    Instance,
    LifecycleEvent,
    Series,
    Snapshot,
    TargetHealth,
    Timer,
    Traffic,
)

NOW = datetime(2026, 3, 4, 3, 12, 0, tzinfo=UTC)
DEP = "d-7QK2M4XZA"
TARGET = TargetConfig(
    name="prod-web",
    region="eu-west-1",
    application="web",
    deployment_group="web-prod",
    poll_interval=2.0,
)
INSTALL = ("ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall")


def _instance(n: int, role: str, *, status: str, health: str, event: str | None) -> Instance:
    az = "eu-west-1a" if n % 2 else "eu-west-1b"
    events = tuple(
        LifecycleEvent(name, "Succeeded", NOW - timedelta(minutes=9 - i))
        for i, name in enumerate(INSTALL)
    )
    return Instance(
        id=f"i-0{role[0]}{n:02d}5f3c2a9d1e7b",
        az=az,
        instance_type="t3.micro",
        ec2_state="running",
        asg_name="web-asg" if role == "original" else f"CodeDeploy_web-prod_{DEP}",
        asg_lifecycle="InService",
        label="Blue" if role == "original" else "Green",
        lifecycle_status=status,
        current_event=event,
        events=events if role == "replacement" else (),
        revision="v1" if role == "original" else "v2",
        health=(TargetHealth("web-tg", "target-group", health, port=80),),
    )


def snapshot(phase: str = "ready") -> Snapshot:
    """A blue/green deployment of v2 over v1 on four instances, in `phase`."""
    ready = phase == "ready"
    status = "Ready" if ready else "InProgress"
    originals = tuple(
        _instance(n, "original", status="Succeeded", health="healthy", event=None)
        for n in range(1, 5)
    )
    replacements = tuple(
        _instance(
            n,
            "replacement",
            status="Ready" if ready else "InProgress",
            health="healthy" if ready else "initial",
            event=None if ready else "Install",
        )
        for n in range(1, 5)
    )
    deadline = NOW + timedelta(minutes=47, seconds=30)
    dep = Deployment(
        id=DEP,
        status=status,
        phase=phase,
        application="web",
        deployment_group="web-prod",
        style="BLUE_GREEN",
        traffic_control=True,
        config_name="CodeDeployDefault.HalfAtATime",
        revision="s3://web-revisions/web/v2.zip",
        previous_revision="s3://web-revisions/web/v1.zip",
        creator="user",
        create_time=NOW - timedelta(minutes=12),
        start_time=NOW - timedelta(minutes=12),
        overview={
            "Pending": 0,
            "InProgress": 0 if ready else 4,
            "Succeeded": 0,
            "Ready": 4 if ready else 0,
        },
        waiting_for="reroute-approval" if ready else None,
        deadline=deadline if ready else None,
        ready_action="STOP_DEPLOYMENT",
        ready_wait_minutes=60,
        termination_action="TERMINATE",
        termination_wait_minutes=60,
    )
    rate = tuple((NOW - timedelta(minutes=5 - i), 1180.0 + 7 * i) for i in range(5))
    gates = (
        Check("replacement-healthy", True, "4 of 4 replacement instances healthy in web-tg"),
        Check("capacity", True, "replacement capacity 4 >= original 4"),
        Check("alarms", True, "web-tg-5xx OK"),
    )
    actions = (
        Check("deploy", False, f"deployment {DEP} is {status}"),
        Check("approve", ready, "ContinueDeployment" if ready else "not waiting for approval"),
        Check("terminate-original", False, "not in the termination wait"),
        Check("stop", True, "StopDeployment"),
        Check("rollback", True, "StopDeployment with rollback"),
        Check("shift", True, "listener weights"),
    )
    return Snapshot(
        target="prod-web",
        server_time=NOW - timedelta(seconds=2),
        application="web",
        deployment_group="web-prod",
        account="123456789012",
        region="eu-west-1",
        deployment=dep,
        original=Environment(
            "original",
            originals,
            asg_name="web-asg",
            desired=4,
            metrics=(Series("RequestCount", rate, "web-tg", "Sum"),),
        ),
        replacement=Environment(
            "replacement", replacements, asg_name=f"CodeDeploy_web-prod_{DEP}", desired=4
        ),
        traffic=Traffic(100.0, 0.0, "healthy registered targets in web-tg: 4 original"),
        timers=(Timer("ready-wait", deadline),) if ready else (),
        gates=gates if ready else (),
        actions=actions,
        style="BLUE_GREEN",
        target_revision="s3://web-revisions/web/v2.zip",
        active_deployment=DEP,
    )


def installing_then_ready() -> tuple[Snapshot, Snapshot]:
    """Two successive snapshots, so the timeline and sparklines have something to show."""
    first = replace(snapshot("installing"), server_time=NOW - timedelta(minutes=3))
    return first, snapshot("ready")


def verdict_state(level: str) -> Snapshot:
    """The termination wait of `snapshot()`, as SAFE (all healthy), DEGRADED (2 of 4
    replacements unhealthy and answering 5xx) or OUTAGE (no healthy target behind the
    listener): for the verdict's snapshot tests and unit tests."""
    from cutover.backend.model import Alarm, Serving, SourceHealth

    base = snapshot("ready")
    deadline = NOW + timedelta(minutes=53, seconds=10)
    dep = replace(
        base.deployment,  # type: ignore[arg-type]
        status="InProgress",
        phase="termination-wait",
        waiting_for="termination",
        deadline=deadline,
        termination_wait_started=True,
    )
    bad = {"SAFE": 0, "DEGRADED": 2, "OUTAGE": 4}[level]
    reps = tuple(
        replace(
            i,
            lifecycle_status="Succeeded",
            health=(
                TargetHealth(
                    "web-tg", "target-group", "unhealthy", "Target.ResponseCodeMismatch", port=80
                ),
            )
            if n < bad
            else i.health,
        )
        for n, i in enumerate(base.replacement.instances)  # type: ignore[union-attr]
    )
    origs = tuple(replace(i, health=()) for i in base.original.instances)  # type: ignore[union-attr]
    fives = tuple((NOW - timedelta(minutes=3 - k), 38.0 * (k + 1) / 3) for k in range(3))
    metrics = (
        Series("RequestCount", tuple((t, 1200.0) for t, _ in fives), "web-tg", "Sum"),
        Series("HTTPCode_Target_5XX_Count", fives if bad else (), "web-tg", "Sum"),
        Series(
            "HTTPCode_ELB_5XX_Count",
            ((NOW - timedelta(minutes=1), 310.0),) if level == "OUTAGE" else (),
            "web-alb",
            "Sum",
        ),
    )
    actions = tuple(
        Check(a.name, a.name in ("rollback", "stop", "terminate-original"), a.reason)
        for a in base.actions
    )
    return replace(
        base,
        deployment=dep,
        original=replace(base.original, instances=origs),  # type: ignore[arg-type]
        replacement=replace(base.replacement, instances=reps),  # type: ignore[arg-type]
        traffic=Traffic(0.0, 100.0, "healthy registered targets in web-tg: 4 replacement"),
        timers=(Timer("termination-wait", deadline),),
        gates=(),
        actions=actions,
        metrics=metrics,
        sources=(SourceHealth("web-tg", "target-group", 4 - bad, 4, bad, ("web-alb",)),),
        serving=(Serving("web-alb:80", ("web-tg",)),),
        alarms=(Alarm("web-tg-5xx", "OK"),),
        target_groups=("web-tg",),
    )
