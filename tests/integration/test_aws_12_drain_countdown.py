"""Issue 12, item 1, as the dashboard shows it: the drain countdown (`drain_deadline`, first
seen draining + the target group's deregistration delay) runs out when the drain does.

A target reads `draining` for the whole deregistration delay (ALB user guide), so a countdown
of the delay is what an engineer watching a deregistered instance needs; the target must not
be gone while it still counts down, nor still draining long after it reached zero.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import boto3
import pytest
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox

# web-tg's 60 s deregistration delay passes in 3 real seconds.
pytestmark = [pytest.mark.timeout(60), pytest.mark.sandbox("default", time_scale=20)]


def test_aws_12_01_the_drain_countdown_runs_out_when_the_drain_does(sandbox: Sandbox) -> None:
    target = TargetConfig(
        name="sandbox",
        region="us-east-1",
        endpoint_url=sandbox.endpoint_url,
        application="web",
        deployment_group="web-prod",
    )
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    observer = Observer(session, target)
    try:
        snap = observer.snapshot()
        iid = sorted(i.id for i in snap.original.instances)[0]
        elbv2 = session.client("elbv2")
        arn = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"][0]["TargetGroupArn"]
        elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": iid}])
        deadline: datetime | None = None
        last_draining: datetime | None = None
        while True:
            snap = observer.snapshot(previous=snap)
            inst = next(i for i in snap.original.instances if i.id == iid)
            h = next(h for h in inst.health if h.name == "web-tg")
            if not h.draining:
                break
            deadline = deadline or h.drain_deadline
            assert h.drain_deadline == deadline  # it does not move between snapshots
            last_draining = snap.server_time
            time.sleep(0.05)  # sampling the countdown, snapshot by snapshot
        gone = snap.server_time
    finally:
        observer.close()
    assert deadline is not None and last_draining is not None, "never seen draining"
    assert not h.registered
    # The countdown runs out when the drain does. Not before: when the target is gone, no
    # time is left on it (server times have one-second resolution). Nor long after: the
    # target is not still draining well past zero. "Well past" is 5 sandbox seconds, a quarter
    # of a real second at this time scale, which a busy machine's event loop can lag by; how
    # far apart two snapshots are is not bounded, for the same reason.
    second = timedelta(seconds=1)
    assert deadline <= gone + second, (deadline, gone)
    assert last_draining <= deadline + 5 * second, (last_draining, deadline)
