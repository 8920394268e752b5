"""Issue 12: Elastic Load Balancing as AWS documents it, checked over HTTP with boto3.

Each test starts a sandbox on free ports and drives it the way an engineer's tools do. Times
are read from the sandbox's clock (the one its API timestamps and `Date` headers come from),
so the assertions hold at any time scale; the scales chosen keep each test to a few seconds.
docs/aws-behaviour.md quotes what AWS documents for each behaviour.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.testing import aws_client, wait_for

pytestmark = pytest.mark.timeout(120)

NOT_REGISTERED = "Instance is not currently registered with the LoadBalancer."
DEREGISTERING = "Instance deregistration currently in progress."
NOT_PASSED = (
    "Instance has not passed the configured HealthyThreshold number of health checks consecutively."
)
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
COGNITO = {
    "Type": "authenticate-cognito",
    "Order": 1,
    "AuthenticateCognitoConfig": {
        "UserPoolArn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_EXAMPLE",
        "UserPoolClientId": "1example23456789",
        "UserPoolDomain": "web-auth",
    },
}


class Cloud:
    """A running sandbox and boto3 clients on it."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.elbv2 = aws_client(sb, "elbv2")
        self.elb = aws_client(sb, "elb")
        self.ec2 = aws_client(sb, "ec2")
        self.asg = aws_client(sb, "autoscaling")
        self.cd = aws_client(sb, "codedeploy")

    def now(self) -> float:
        """Sandbox seconds since it started."""
        return self.sb.world.clock.elapsed()

    def tagged(self, app: str) -> list[str]:
        rows = self.ec2.describe_instances(Filters=[{"Name": "tag:app", "Values": [app]}])
        return sorted(i["InstanceId"] for r in rows["Reservations"] for i in r["Instances"])

    def tg(self, name: str) -> dict:
        return self.elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]

    def listener(self, lb_name: str) -> dict:
        lb = self.elbv2.describe_load_balancers(Names=[lb_name])["LoadBalancers"][0]
        return self.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]

    def target_health(self, tg_arn: str, iid: str) -> dict:
        rows = self.elbv2.describe_target_health(TargetGroupArn=tg_arn, Targets=[{"Id": iid}])
        return rows["TargetHealthDescriptions"][0]["TargetHealth"]

    def instance_health(self, lb: str, iid: str) -> dict:
        rows = self.elb.describe_instance_health(
            LoadBalancerName=lb, Instances=[{"InstanceId": iid}]
        )["InstanceStates"]
        assert len(rows) == 1, rows
        return rows[0]


def get(port: int, path: str = "/") -> tuple[int, str | None]:
    """One request through a listener: (status, the instance that answered)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Instance-Id")
    finally:
        conn.close()


@pytest.fixture
def cloud(request: pytest.FixtureRequest, sandbox_factory: Callable[..., Sandbox]) -> Cloud:
    scenario, scale = getattr(request, "param", ("hooks", 20))
    return Cloud(sandbox_factory(scenario, time_scale=scale))


# ----- 1. draining lasts the deregistration delay ----------------------------------------------


def test_aws_12_01_a_deregistered_target_reads_draining_until_the_delay_runs_out(
    cloud: Cloud,
) -> None:
    """No request is in flight, so AWS completes the deregistration at once, yet shows the
    target `draining` (and sends it nothing) until the deregistration delay (30 s) is over."""
    tg = cloud.tg("api-tg")
    port = cloud.listener("api-alb")["Port"]
    iid = cloud.tagged("api")[0]
    assert cloud.target_health(tg["TargetGroupArn"], iid)["State"] == "healthy"
    cloud.elbv2.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": iid}])
    started = cloud.now()
    answered_by: set[str | None] = set()
    seen_draining_at = started
    while True:
        health = cloud.target_health(tg["TargetGroupArn"], iid)
        if health["State"] != "draining":
            break
        seen_draining_at = cloud.now()
        assert health["Reason"] == "Target.DeregistrationInProgress"
        status, who = get(port)
        assert status == 200
        answered_by.add(who)
        assert cloud.now() - started < 30 + 15, "still draining long after the delay"
    ended = cloud.now()
    assert (health["State"], health["Reason"]) == ("unused", "Target.NotRegistered")
    assert iid not in answered_by, "a draining target was sent a new request"
    assert len(answered_by) == 2  # the other two targets served every request meanwhile
    # Seen draining until the delay was (nearly) over, and gone soon after it: polls are a
    # few sandbox seconds apart at this time scale.
    assert seen_draining_at - started >= 30 - 5, seen_draining_at - started
    assert ended - started >= 30, ended - started


def test_aws_12_01_b_enter_standby_lasts_the_deregistration_delay(cloud: Cloud) -> None:
    """EnteringStandby ends when the instance has left the group's target group: after the
    deregistration delay, not as soon as its last request ended."""
    iid = sorted(
        m["InstanceId"]
        for m in cloud.asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
            "AutoScalingGroups"
        ][0]["Instances"]
    )[0]
    cloud.asg.enter_standby(
        AutoScalingGroupName="web-asg", InstanceIds=[iid], ShouldDecrementDesiredCapacity=False
    )
    started = cloud.now()

    def lifecycle() -> str:
        return cloud.asg.describe_auto_scaling_instances(InstanceIds=[iid])["AutoScalingInstances"][
            0
        ]["LifecycleState"]

    assert lifecycle() == "EnteringStandby"
    wait_for(lambda: lifecycle() == "Standby", 30, "Standby")
    assert cloud.now() - started >= 30  # web-tg's deregistration delay


@pytest.mark.parametrize("cloud", [("default", 200)], indirect=True)
def test_aws_12_01_c_block_traffic_lasts_the_deregistration_delay(cloud: Cloud) -> None:
    """CodeDeploy's BlockTraffic waits for each original instance to leave web-tg, which now
    takes web-tg's 60-second deregistration delay."""
    dep = cloud.cd.create_deployment(
        applicationName="web",
        deploymentGroupName="web-prod",
        revision={
            "revisionType": "S3",
            "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
        },
    )["deploymentId"]

    def info() -> dict:
        return cloud.cd.get_deployment(deploymentId=dep)["deploymentInfo"]

    wait_for(lambda: info()["status"] == "Ready", 60, "Ready")
    cloud.cd.continue_deployment(deploymentId=dep, deploymentWaitType="READY_WAIT")
    wait_for(lambda: info().get("instanceTerminationWaitTimeStarted"), 60, "the reroute")
    ids = cloud.cd.list_deployment_targets(
        deploymentId=dep, targetFilters={"ServerInstanceLabel": ["Blue"]}
    )["targetIds"]
    targets = cloud.cd.batch_get_deployment_targets(deploymentId=dep, targetIds=ids)[
        "deploymentTargets"
    ]
    assert len(targets) == 4
    for target in targets:
        event = next(
            e
            for e in target["instanceTarget"]["lifecycleEvents"]
            if e["lifecycleEventName"] == "BlockTraffic"
        )
        assert event["status"] == "Succeeded"
        lasted = (event["endTime"] - event["startTime"]).total_seconds()
        assert lasted >= 60, (target["instanceTarget"]["targetId"], lasted)


# ----- 1 and 2. Classic connection draining, and the health of a deregistered instance ---------


def test_aws_12_02_a_deregistered_classic_instance_reads_out_of_service(cloud: Cloud) -> None:
    """While a request is in flight the instance reads InService, "Instance deregistration
    currently in progress."; when it ends, deregistration is complete and DescribeInstanceHealth
    with the instance still answers: OutOfService, "Instance is not currently registered with
    the LoadBalancer." An instance the load balancer never had is InvalidInstance."""
    port = next(
        d["Listener"]["LoadBalancerPort"]
        for d in cloud.elb.describe_load_balancers(LoadBalancerNames=["legacy-elb"])[
            "LoadBalancerDescriptions"
        ][0]["ListenerDescriptions"]
    )
    legacy = cloud.tagged("legacy")
    # One slow request to each instance (round robin), so the one leaving has one in flight.
    slow = [threading.Thread(target=get, args=(port, "/work?ms=600")) for _ in legacy]
    for t in slow:
        t.start()
    iid = legacy[0]
    wait_for(lambda: cloud.sb.world.classic_lbs["legacy-elb"].instances[iid].inflight, 5, "slow")
    cloud.elb.deregister_instances_from_load_balancer(
        LoadBalancerName="legacy-elb", Instances=[{"InstanceId": iid}]
    )
    health = cloud.instance_health("legacy-elb", iid)
    assert (health["State"], health["Description"]) == ("InService", DEREGISTERING)
    for t in slow:
        t.join()
    health = wait_for(
        lambda: (h := cloud.instance_health("legacy-elb", iid))["State"] == "OutOfService" and h,
        5,
        "the end of connection draining",
    )
    assert health["Description"] == NOT_REGISTERED
    # The load balancer's own list (no instances asked for) has only the registered ones.
    listed = cloud.elb.describe_instance_health(LoadBalancerName="legacy-elb")["InstanceStates"]
    assert sorted(s["InstanceId"] for s in listed) == legacy[1:]
    with pytest.raises(ClientError) as never:
        cloud.elb.describe_instance_health(
            LoadBalancerName="legacy-elb", Instances=[{"InstanceId": cloud.tagged("api")[0]}]
        )
    assert never.value.response["Error"]["Code"] == "InvalidInstance"


def test_aws_12_02_without_requests_in_flight_classic_deregistration_completes_at_once(
    cloud: Cloud,
) -> None:
    """Classic connection draining, unlike a target group's delay, ends with the last request:
    with none in flight the instance is out long before the 30-second timeout."""
    iid = cloud.tagged("legacy")[1]
    cloud.elb.deregister_instances_from_load_balancer(
        LoadBalancerName="legacy-elb", Instances=[{"InstanceId": iid}]
    )
    started = cloud.now()
    wait_for(
        lambda: cloud.instance_health("legacy-elb", iid)["State"] == "OutOfService",
        5,
        "OutOfService",
    )
    assert cloud.now() - started < 30
    assert cloud.instance_health("legacy-elb", iid)["Description"] == NOT_REGISTERED


# ----- 4. DeregisterTargets of a target that is not registered --------------------------------


def test_aws_12_04_deregistering_a_target_that_is_not_registered_succeeds(cloud: Cloud) -> None:
    arn = cloud.tg("api-tg")["TargetGroupArn"]
    legacy = cloud.tagged("legacy")[0]  # a running instance, never in api-tg
    before = cloud.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert cloud.elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": legacy}])
    api = cloud.tagged("api")[0]
    # Registered on port 80: the same instance on another port is not registered.
    cloud.elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": api, "Port": 8443}])
    after = cloud.elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert [(r["Target"], r["TargetHealth"]["State"]) for r in after] == [
        (r["Target"], r["TargetHealth"]["State"]) for r in before
    ]
    assert cloud.target_health(arn, legacy)["Reason"] == "Target.NotRegistered"
    # An id that is no instance at all is still refused.
    with pytest.raises(ClientError) as bad:
        cloud.elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "i-0123456789abcdef0"}])
    assert bad.value.response["Error"]["Code"] == "InvalidTarget"


# ----- 5. ModifyListener changes only what it is given ---------------------------------------


def test_aws_12_05_modify_listener_keeps_certificates_and_policy_it_is_not_given(
    cloud: Cloud,
) -> None:
    listener = cloud.listener("api-alb")
    arn, actions = listener["ListenerArn"], listener["DefaultActions"]
    assert "Certificates" not in listener and "SslPolicy" not in listener
    with pytest.raises(ClientError) as no_cert:
        cloud.elbv2.modify_listener(ListenerArn=arn, Protocol="HTTPS", SslPolicy=POLICY)
    assert no_cert.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as policy_on_http:
        cloud.elbv2.modify_listener(ListenerArn=arn, SslPolicy=POLICY)
    assert policy_on_http.value.response["Error"]["Code"] == "ValidationError"
    got = cloud.elbv2.modify_listener(
        ListenerArn=arn,
        Protocol="HTTPS",
        Certificates=[{"CertificateArn": CERT}],
        SslPolicy=POLICY,
    )["Listeners"][0]
    assert (got["Protocol"], got["Certificates"], got["SslPolicy"]) == (
        "HTTPS",
        [{"CertificateArn": CERT}],
        POLICY,
    )
    # Only the actions: the protocol, certificate and policy stay as they are.
    cloud.elbv2.modify_listener(ListenerArn=arn, DefaultActions=actions)
    cloud.elbv2.modify_listener(ListenerArn=arn, Port=listener["Port"])
    shown = cloud.elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]
    assert (shown["Protocol"], shown["Certificates"], shown["SslPolicy"]) == (
        "HTTPS",
        [{"CertificateArn": CERT}],
        POLICY,
    )
    # The listener still serves (the sandbox's proxy speaks plain HTTP on loopback).
    assert get(shown["Port"])[0] == 200
    # Back to HTTP: the certificate and policy go with it.
    cloud.elbv2.modify_listener(ListenerArn=arn, Protocol="HTTP")
    shown = cloud.elbv2.describe_listeners(ListenerArns=[arn])["Listeners"][0]
    assert shown["Protocol"] == "HTTP"
    assert "Certificates" not in shown and "SslPolicy" not in shown


# ----- 6. authenticate-* actions only on HTTPS listeners --------------------------------------


def test_aws_12_06_authenticate_actions_only_on_https_listeners(cloud: Cloud) -> None:
    listener = cloud.listener("api-alb")
    arn = listener["ListenerArn"]
    forward = {**listener["DefaultActions"][0], "Order": 2}
    oidc = {
        "Type": "authenticate-oidc",
        "Order": 1,
        "AuthenticateOidcConfig": {
            "Issuer": "https://idp.example.com",
            "AuthorizationEndpoint": "https://idp.example.com/authorize",
            "TokenEndpoint": "https://idp.example.com/token",
            "UserInfoEndpoint": "https://idp.example.com/userinfo",
            "ClientId": "cutover",
            "ClientSecret": "s3cret",
        },
    }
    rule = cloud.elbv2.describe_rules(ListenerArn=arn)["Rules"][0]
    for auth in (COGNITO, oidc):
        with pytest.raises(ClientError) as refused:
            cloud.elbv2.modify_listener(ListenerArn=arn, DefaultActions=[auth, forward])
        error = refused.value.response["Error"]
        assert error["Code"] == "InvalidLoadBalancerAction"
        assert error["Message"] == (
            f"Actions of type '{auth['Type']}' are supported only on HTTPS listeners."
        )
        with pytest.raises(ClientError) as by_rule:
            cloud.elbv2.modify_rule(RuleArn=rule["RuleArn"], Actions=[auth, forward])
        assert by_rule.value.response["Error"]["Code"] == "InvalidLoadBalancerAction"
    # Nothing changed, and the listener serves as before.
    assert cloud.listener("api-alb")["DefaultActions"] == listener["DefaultActions"]
    cloud.elbv2.modify_listener(
        ListenerArn=arn,
        Protocol="HTTPS",
        Certificates=[{"CertificateArn": CERT}],
        SslPolicy=POLICY,
        DefaultActions=[COGNITO, forward],
    )
    assert [a["Type"] for a in cloud.listener("api-alb")["DefaultActions"]] == [
        "authenticate-cognito",
        "forward",
    ]
    # An HTTPS listener with an authenticate action cannot go back to HTTP with it.
    with pytest.raises(ClientError) as back:
        cloud.elbv2.modify_listener(ListenerArn=arn, Protocol="HTTP")
    assert back.value.response["Error"]["Code"] == "InvalidLoadBalancerAction"
    assert cloud.listener("api-alb")["Protocol"] == "HTTPS"


# ----- 10. Classic health after the first health check ----------------------------------------


@pytest.mark.parametrize("cloud", [("hooks", 10)], indirect=True)
def test_aws_12_10_classic_health_says_the_healthy_threshold_is_not_reached_yet(
    cloud: Cloud,
) -> None:
    """A newly registered instance reads "Instance registration is still in progress." until
    its first health check completes, then "Instance has not passed the configured
    HealthyThreshold number of health checks consecutively." until it passes 3 in a row."""
    iid = cloud.tagged("api")[0]  # healthy, never in legacy-elb
    cloud.elb.register_instances_with_load_balancer(
        LoadBalancerName="legacy-elb", Instances=[{"InstanceId": iid}]
    )
    seen: list[tuple[str, str, str]] = []
    while not seen or seen[-1][0] != "InService":
        h = cloud.instance_health("legacy-elb", iid)
        row = (h["State"], h["ReasonCode"], h["Description"])
        if not seen or seen[-1] != row:
            seen.append(row)
        assert len(seen) < 10, seen
        time.sleep(0.02)
    assert seen[-2:] == [("OutOfService", "Instance", NOT_PASSED), ("InService", "N/A", "N/A")]
    assert set(seen[:-2]) <= {
        ("OutOfService", "ELB", "Instance registration is still in progress.")
    }
