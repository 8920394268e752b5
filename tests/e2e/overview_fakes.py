"""Hand-built overview rows at a frozen clock, for the overview screen's tests and snapshots."""

from __future__ import annotations

from datetime import timedelta

from cutover.backend.model import (
    Attention,
    EnvironmentHealth,
    OverviewDeployment,
    OverviewRow,
    Traffic,
)

from tests.e2e.fakes import NOW


def row(
    app: str,
    group: str,
    rank: int,
    reason: str,
    *,
    dep: OverviewDeployment | None = None,
    source: str = "prod",
    **kw: object,
) -> OverviewRow:
    return OverviewRow(
        source=source,
        application=app,
        deployment_group=group,
        account="123456789012",
        region="us-east-1",
        deployment=dep,
        server_time=NOW,
        attention=Attention(rank, reason),
        **kw,  # type: ignore[arg-type]
    )


def waiting(dep_id: str = "d-WAIT00001") -> OverviewDeployment:
    return OverviewDeployment(
        dep_id,
        "Ready",
        "waiting-reroute",
        create_time=NOW - timedelta(minutes=7),
        waiting_for="reroute-approval",
        deadline=NOW + timedelta(minutes=42, seconds=10),
    )


def estate(waiting_id: str = "d-WAIT00001") -> list[OverviewRow]:
    """A dozen groups in attention order: one waiting for approval, one failed, one in
    progress, the rest quiet."""
    done = OverviewDeployment(
        "d-DONE00001", "Succeeded", "succeeded", create_time=NOW - timedelta(hours=3)
    )
    failed = OverviewDeployment(
        "d-FAIL00001",
        "Failed",
        "failed",
        create_time=NOW - timedelta(minutes=20),
        complete_time=NOW - timedelta(minutes=12),
        error_code="HEALTH_CONSTRAINTS",
    )
    going = OverviewDeployment(
        "d-GOING0001", "InProgress", "installing", create_time=NOW - timedelta(minutes=2)
    )
    rows = [
        row(
            "web",
            "web-prod",
            0,
            f"waiting for approval to reroute traffic ({waiting_id})",
            dep=waiting(waiting_id),
            style="BLUE_GREEN",
            traffic_control=True,
            traffic=Traffic(100.0, 0.0, "registered targets"),
            health=(EnvironmentHealth("original", 4, 4), EnvironmentHealth("replacement", 4, 4)),
        ),
        row(
            "payments",
            "payments-prod",
            1,
            "d-FAIL00001 failed within the last hour",
            dep=failed,
            recent_failure=failed,
            style="BLUE_GREEN",
            traffic_control=True,
        ),
        row(
            "api",
            "api-prod",
            3,
            "in progress: installing (d-GOING0001)",
            dep=going,
            style="BLUE_GREEN",
            traffic_control=True,
            traffic=Traffic(100.0, 0.0, "registered targets"),
            health=(EnvironmentHealth("original", 2, 2), EnvironmentHealth("replacement", 1, 2)),
            alarms=("api-5xx",),
        ),
    ]
    for app, group in (
        ("search", "search-indexer"),
        ("search", "search-prod"),
        ("search", "search-staging"),
        ("worker", "worker-batch"),
        ("worker", "worker-prod"),
        ("worker", "worker-reports"),
        ("payments", "payments-eu"),
        ("payments", "payments-refunds"),
        ("api", "api-staging"),
    ):
        rows.append(row(app, group, 5, "quiet", dep=done))
    return rows


def large_estate(groups: int = 500) -> list[OverviewRow]:
    """The dozen groups of `estate`, then quiet groups up to `groups` rows."""
    done = OverviewDeployment(
        "d-DONE00002", "Succeeded", "succeeded", create_time=NOW - timedelta(days=2)
    )
    rows = estate()
    rows += [
        row(f"svc{i // 10:03d}", f"svc{i:04d}", 5, "quiet", dep=done)
        for i in range(groups - len(rows))
    ]
    return rows
