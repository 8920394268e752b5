"""The load balancer's own 5xx, end to end: with no target behind its listener the sandbox's
ALB answers 503 itself, CloudWatch counts them as HTTPCode_ELB_5XX_Count by the LoadBalancer
dimension, the snapshot reads them in the GetMetricData it already sends (no call added), and
the verdict says OUTAGE with the count."""

from __future__ import annotations

import http.client
from collections import Counter
from datetime import timedelta

import boto3
import pytest
from cutover.backend import observe
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.core.verdict import verdict
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import wait_for


def status_of(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.sandbox("default", time_scale=20)
def test_503s_with_no_target_are_the_load_balancers_own_and_read_in_one_call(
    sandbox: Sandbox, clients
) -> None:
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
    ops: Counter[str] = Counter()
    session.client("cloudwatch").meta.events.register(
        "before-call", lambda model=None, **_: ops.update([getattr(model, "name", "?")])
    )
    before = observe.snapshot(session, target)
    assert verdict(before).level == "SAFE", verdict(before)
    assert ops["GetMetricData"] == 1

    elbv2 = clients("elbv2")
    tg = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"][0]
    targets = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
    elbv2.deregister_targets(
        TargetGroupArn=tg["TargetGroupArn"],
        Targets=[t["Target"] for t in targets["TargetHealthDescriptions"]],
    )
    [port] = [p for label, p in sandbox.scenario.listener_ports() if label.startswith("web-alb:")]
    wait_for(lambda: status_of(port) == 503, timeout=30, what="the ALB answering 503 itself")
    answered = 1 + sum(status_of(port) == 503 for _ in range(24))

    # CloudWatch: by the LoadBalancer dimension alone (AWS/ApplicationELB).
    cw = clients("cloudwatch")
    lb_value = tg["LoadBalancerArns"][0].split(":", 5)[-1].removeprefix("loadbalancer/")
    now = sandbox.world.clock.now()
    got = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "own",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": "HTTPCode_ELB_5XX_Count",
                        "Dimensions": [{"Name": "LoadBalancer", "Value": lb_value}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - timedelta(minutes=15),
        EndTime=now + timedelta(minutes=1),
    )
    assert sum(got["MetricDataResults"][0]["Values"]) >= answered

    ops.clear()
    snap = observe.snapshot(session, target, previous=before)
    assert ops["GetMetricData"] == 1, ops
    own = [s for s in snap.metrics if s.name == "HTTPCode_ELB_5XX_Count"]
    assert [s.source for s in own] == ["web-alb"]
    assert sum(v for _, v in own[0].points) >= answered
    # Never on an environment's panel: the load balancer answered, no instance did.
    for env in (snap.original, snap.replacement):
        assert env is None or all(s.name != "HTTPCode_ELB_5XX_Count" for s in env.metrics)
    v = verdict(snap)
    assert v.level == "OUTAGE", v
    assert v.lb_5xx["web-alb"] > 0 and "web-alb own 5xx" in v.why
    assert "0 healthy behind web-alb:" in v.why
