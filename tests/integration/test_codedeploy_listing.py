"""CodeDeploy's listing calls as an overview of many groups reads them through boto3: the
deployments of every application (no application filter) by status and creation time, page
by page, and the inventory of applications and groups in pages and batches."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from cutover.sandbox import codedeploy as engine
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client

# A scenario without CodeDeploy resources of its own: the counts below are all this file's.
pytestmark = [pytest.mark.timeout(120), pytest.mark.sandbox("weighted")]

ROLE = "arn:aws:iam::123456789012:role/CodeDeployServiceRole"
APPS = 3
GROUPS = 4
PER_GROUP = 20  # 3 x 4 x 20 = 240 seeded deployments: three pages of ListDeployments
STATUSES = ("Succeeded", "Failed", "Stopped")


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def cd(shared_sandbox: Sandbox) -> Any:
    """Applications lst-0..2 with groups g0..g3 (in-place, instances by a tag nothing has), each
    with a history of finished deployments a minute apart."""
    client = aws_client(shared_sandbox, "codedeploy")
    n = 0
    for a in range(APPS):
        app = f"lst-{a}"
        client.create_application(applicationName=app)
        for g in range(GROUPS):
            client.create_deployment_group(
                applicationName=app,
                deploymentGroupName=f"g{g}",
                serviceRoleArn=ROLE,
                ec2TagFilters=[{"Key": "fleet", "Value": app, "Type": "KEY_AND_VALUE"}],
            )
            for k in range(PER_GROUP):
                n += 1
                status = STATUSES[n % 3]
                engine.record_past_deployment(
                    shared_sandbox.world, app, f"g{g}", f"v{k}", status, ago=100_000 - 60 * n
                )
    return client


def infos(cd: Any, ids: list[str]) -> list[dict]:
    out: list[dict] = []
    for i in range(0, len(ids), 25):
        out += cd.batch_get_deployments(deploymentIds=ids[i : i + 25])["deploymentsInfo"]
    return out


def all_pages(cd: Any, **params: Any) -> list[list[str]]:
    pages, token = [], None
    while True:
        out = cd.list_deployments(**params, **({"nextToken": token} if token else {}))
        pages.append(out["deployments"])
        token = out.get("nextToken")
        if not token:
            return pages


def test_list_deployments_of_every_application_in_pages_of_100(cd: Any) -> None:
    pages = all_pages(cd)
    assert [len(p) for p in pages] == [100, 100, 40]
    ids = [i for p in pages for i in p]
    assert len(set(ids)) == len(ids)
    got = infos(cd, ids)
    assert {i["applicationName"] for i in got} == {"lst-0", "lst-1", "lst-2"}
    created = [i["createTime"] for i in got]
    assert created == sorted(created, reverse=True)
    # boto3's paginator follows the same tokens.
    listed = [i for p in cd.get_paginator("list_deployments").paginate() for i in p["deployments"]]
    assert listed == ids


def test_status_and_time_filters_across_applications(cd: Any) -> None:
    everything = infos(cd, [i for p in all_pages(cd) for i in p])
    failed = [i for p in all_pages(cd, includeOnlyStatuses=["Failed"]) for i in p]
    assert failed == [i["deploymentId"] for i in everything if i["status"] == "Failed"]
    assert len(failed) == 80
    two = [i for p in all_pages(cd, includeOnlyStatuses=["Failed", "Stopped"]) for i in p]
    assert len(two) == 160
    assert cd.list_deployments(includeOnlyStatuses=["InProgress", "Ready"])["deployments"] == []
    # The range includes both ends.
    newest_seeded = everything[:10]
    start, end = newest_seeded[-1]["createTime"], newest_seeded[0]["createTime"]
    window = cd.list_deployments(createTimeRange={"start": start, "end": end})["deployments"]
    assert window == [i["deploymentId"] for i in newest_seeded]
    since = cd.list_deployments(createTimeRange={"start": start}, includeOnlyStatuses=["Failed"])
    assert since["deployments"] == [
        i["deploymentId"] for i in newest_seeded if i["status"] == "Failed"
    ]
    with pytest.raises(ClientError) as exc:
        cd.list_deployments(createTimeRange={"start": end, "end": start})
    assert code(exc) == "InvalidTimeRangeException"


def test_list_deployments_names_both_or_neither(cd: Any) -> None:
    one_group = cd.list_deployments(applicationName="lst-1", deploymentGroupName="g2")
    assert len(one_group["deployments"]) == PER_GROUP
    with pytest.raises(ClientError) as exc:
        cd.list_deployments(deploymentGroupName="g2")
    assert code(exc) == "ApplicationNameRequiredException"
    with pytest.raises(ClientError) as exc:
        cd.list_deployments(applicationName="lst-1")
    assert code(exc) == "DeploymentGroupNameRequiredException"
    with pytest.raises(ClientError) as exc:
        cd.list_deployments(applicationName="nope", deploymentGroupName="g2")
    assert code(exc) == "ApplicationDoesNotExistException"
    with pytest.raises(ClientError) as exc:
        cd.list_deployments(includeOnlyStatuses=["Asleep"])
    assert code(exc) == "InvalidDeploymentStatusException"
    for token in ("garbage", cd.list_applications.__name__):
        with pytest.raises(ClientError) as exc:
            cd.list_deployments(nextToken=token)
        assert code(exc) == "InvalidNextTokenException"


def test_a_new_deployment_between_pages_shifts_nothing(shared_sandbox: Sandbox, cd: Any) -> None:
    first = cd.list_deployments()
    engine.record_past_deployment(shared_sandbox.world, "lst-0", "g0", "late", ago=0)
    second = cd.list_deployments(nextToken=first["nextToken"])["deployments"]
    fresh = [i for p in all_pages(cd) for i in p]
    # The new deployment heads a fresh listing; the second page goes on where the first stopped
    # (an offset would have served the first page's last id again).
    assert fresh[1:101] == first["deployments"]
    assert second == fresh[101:201]


def test_batch_get_deployments_takes_25_ids_and_leaves_unknown_ones_out(cd: Any) -> None:
    ids = cd.list_deployments()["deployments"]
    got = cd.batch_get_deployments(deploymentIds=[*ids[:24], "d-AAAAAAAAA"])["deploymentsInfo"]
    assert [i["deploymentId"] for i in got] == ids[:24]
    with pytest.raises(ClientError) as exc:
        cd.batch_get_deployments(deploymentIds=ids[:26])
    assert code(exc) == "BatchLimitExceededException"
    with pytest.raises(ClientError) as exc:
        cd.batch_get_deployments(deploymentIds=["not-an-id"])
    assert code(exc) == "InvalidDeploymentIdException"


def test_applications_and_groups_in_pages_and_batches(cd: Any) -> None:
    for i in range(101):
        cd.create_application(applicationName=f"many-{i:03}")
        cd.create_deployment_group(
            applicationName="lst-0",
            deploymentGroupName=f"more-{i:03}",
            serviceRoleArn=ROLE,
            ec2TagFilters=[{"Key": "fleet", "Value": "none", "Type": "KEY_AND_VALUE"}],
        )
    first = cd.list_applications()
    assert len(first["applications"]) == 100 and first["nextToken"]
    apps = [a for p in cd.get_paginator("list_applications").paginate() for a in p["applications"]]
    assert len(apps) == 101 + APPS and len(set(apps)) == len(apps)
    pages = list(cd.get_paginator("list_deployment_groups").paginate(applicationName="lst-0"))
    assert [len(p["deploymentGroups"]) for p in pages] == [100, GROUPS + 101 - 100]
    names = [n for p in pages for n in p["deploymentGroups"]]
    got = cd.batch_get_deployment_groups(applicationName="lst-0", deploymentGroupNames=names[:100])
    assert [g["deploymentGroupName"] for g in got["deploymentGroupsInfo"]] == names[:100]
    with pytest.raises(ClientError) as exc:
        cd.batch_get_deployment_groups(applicationName="lst-0", deploymentGroupNames=names)
    assert code(exc) == "BatchLimitExceededException"
    missing = cd.batch_get_deployment_groups(
        applicationName="lst-0", deploymentGroupNames=["g0", "gone"]
    )
    assert [g["deploymentGroupName"] for g in missing["deploymentGroupsInfo"]] == ["g0"]
    assert "gone" in missing["errorMessage"]
