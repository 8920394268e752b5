"""The `estate` scenario starts and answers an overview's reads; two sandboxes run side by side
as two sources, neither seeing the other's deployments nor showing the same deployment ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client

pytestmark = pytest.mark.timeout(180)
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]


def deployments(cd: Any, **params: Any) -> list[dict]:
    ids = [
        i for p in cd.get_paginator("list_deployments").paginate(**params) for i in p["deployments"]
    ]
    out: list[dict] = []
    for i in range(0, len(ids), 25):
        out += cd.batch_get_deployments(deploymentIds=ids[i : i + 25])["deploymentsInfo"]
    return out


def test_estate_starts_with_500_groups_and_a_history(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory("estate")
    cd = aws_client(sb, "codedeploy")
    apps = [a for p in cd.get_paginator("list_applications").paginate() for a in p["applications"]]
    assert len(apps) == 50
    groups = []
    for app in apps:
        pages = cd.get_paginator("list_deployment_groups").paginate(applicationName=app)
        names = [n for p in pages for n in p["deploymentGroups"]]
        got = cd.batch_get_deployment_groups(applicationName=app, deploymentGroupNames=names)
        groups += got["deploymentGroupsInfo"]
    assert len(groups) == 500
    styles = Counter(tuple(g["deploymentStyle"].values()) for g in groups)
    assert set(styles) == {
        ("BLUE_GREEN", "WITH_TRAFFIC_CONTROL"),
        ("IN_PLACE", "WITH_TRAFFIC_CONTROL"),
        ("IN_PLACE", "WITHOUT_TRAFFIC_CONTROL"),
    }
    history = deployments(cd)
    statuses = Counter(d["status"] for d in history)
    assert statuses["Failed"] and statuses["Stopped"] and statuses["Succeeded"] > 100
    rollbacks = [d for d in history if d["creator"] == "codeDeployRollback"]
    assert rollbacks
    for rb in rollbacks:
        failed = cd.get_deployment(
            deploymentId=rb["rollbackInfo"]["rollbackTriggeringDeploymentId"]
        )
        info = failed["deploymentInfo"]
        assert info["rollbackInfo"]["rollbackDeploymentId"] == rb["deploymentId"]
        assert info["status"] in ("Failed", "Stopped")
    assert cd.list_deployments(includeOnlyStatuses=ACTIVE)["deployments"] == []
    # The live groups (shop's and accounts') hold 20 deployments at once, as the bench needs.
    live = [
        (g["applicationName"], g["deploymentGroupName"])
        for g in groups
        if g.get("autoScalingGroups")
    ]
    assert len(live) == 20
    started = {
        cd.create_deployment(
            applicationName=app,
            deploymentGroupName=group,
            revision={
                "revisionType": "S3",
                "s3Location": {
                    "bucket": f"{app}-revisions",
                    "key": f"{app}/v9.zip",
                    "bundleType": "zip",
                },
            },
        )["deploymentId"]
        for app, group in live
    }
    active = [
        i
        for p in cd.get_paginator("list_deployments").paginate(includeOnlyStatuses=ACTIVE)
        for i in p["deployments"]
    ]
    assert set(active) == started


def test_two_sandboxes_at_once_are_two_sources(sandbox_factory: Callable[..., Sandbox]) -> None:
    one, two = sandbox_factory("default"), sandbox_factory("default")
    assert one.port != two.port
    a, b = aws_client(one, "codedeploy"), aws_client(two, "codedeploy")
    ids_a = {d["deploymentId"] for d in deployments(a)}
    ids_b = {d["deploymentId"] for d in deployments(b)}
    assert ids_a and ids_b and not ids_a & ids_b
    did = a.create_deployment(
        applicationName="web",
        deploymentGroupName="web-prod",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
        },
    )["deploymentId"]
    assert a.list_deployments(includeOnlyStatuses=ACTIVE)["deployments"] == [did]
    assert b.list_deployments(includeOnlyStatuses=ACTIVE)["deployments"] == []
    assert {d["deploymentId"] for d in deployments(b)} == ids_b
