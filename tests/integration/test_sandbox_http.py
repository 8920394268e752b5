"""The sandbox as clients see it: unmodified boto3 over HTTP against a running Sandbox."""

from __future__ import annotations

import time
import urllib.request

import botocore.exceptions
import pytest
from botocore.config import Config
from cutover.sandbox.control.client import ControlError
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import available_scenarios
from cutover.sandbox.testing import aws_client, control, running_sandbox, wait_for

TIME_SCALE = 60


pytestmark = pytest.mark.sandbox("default", time_scale=TIME_SCALE)


def make_client(sb: Sandbox, service: str, **config: object):  # type: ignore[no-untyped-def]
    return aws_client(sb, service, config=Config(**config) if config else None)


@pytest.fixture(scope="module")
def sb(shared_sandbox: Sandbox) -> Sandbox:
    return shared_sandbox


# huge starts 1,000 instance servers (about a minute on a shared machine): its own test,
# test_snapshot_cost.py::test_huge_starts_and_a_snapshot_reads_every_instance, starts it once.
@pytest.mark.parametrize("name", [n for n in available_scenarios() if n != "huge"])
def test_every_scenario_lists_through_boto3(name: str) -> None:
    # 200 instances are health-checked at the scenario's own pace: at 60x every check would
    # have to answer within a few milliseconds of real time on a shared machine.
    scale = None if name == "big" else TIME_SCALE
    with running_sandbox(name, time_scale=scale) as sandbox:
        assert sandbox.settled()
        ec2 = make_client(sandbox, "ec2")
        instances = [
            i
            for r in ec2.describe_instances(
                Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
            )["Reservations"]
            for i in r["Instances"]
        ]
        in_groups = sum(g.desired for g in sandbox.scenario.auto_scaling_groups)
        assert instances and len(instances) >= in_groups
        elbv2 = make_client(sandbox, "elbv2")
        elb = make_client(sandbox, "elb")
        lbs = elbv2.describe_load_balancers()["LoadBalancers"]
        classic = elb.describe_load_balancers()["LoadBalancerDescriptions"]
        assert lbs or classic
        for lb in lbs:
            listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])
            assert listeners["Listeners"]
            groups = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])
            for tg in groups["TargetGroups"]:
                health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
                states = {d["TargetHealth"]["State"] for d in health["TargetHealthDescriptions"]}
                assert states <= {"healthy"}  # a load balancer of quiet groups has none
        for clb in classic:
            health = elb.describe_instance_health(LoadBalancerName=clb["LoadBalancerName"])
            assert {s["State"] for s in health["InstanceStates"]} <= {"InService"}
        asgs = make_client(sandbox, "autoscaling").describe_auto_scaling_groups()
        desired = {g.name: g.desired for g in sandbox.scenario.auto_scaling_groups}
        assert {
            g["AutoScalingGroupName"]: len(g["Instances"]) for g in asgs["AutoScalingGroups"]
        } == desired


def test_waiters_and_state_timing(sb: Sandbox) -> None:
    """initial -> healthy takes about HealthyThresholdCount x interval of sandbox time."""
    elbv2 = make_client(sb, "elbv2")
    (tg,) = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"]
    arn = tg["TargetGroupArn"]
    target = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"][0]
    ident = {"Id": target["Target"]["Id"]}

    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[ident])
    elbv2.get_waiter("target_deregistered").wait(
        TargetGroupArn=arn, Targets=[ident], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    (gone,) = elbv2.describe_target_health(TargetGroupArn=arn, Targets=[ident])[
        "TargetHealthDescriptions"
    ]
    assert gone["TargetHealth"]["State"] == "unused"
    assert gone["TargetHealth"]["Reason"] == "Target.NotRegistered"

    t0 = time.monotonic()
    elbv2.register_targets(TargetGroupArn=arn, Targets=[ident])
    (first,) = elbv2.describe_target_health(TargetGroupArn=arn, Targets=[ident])[
        "TargetHealthDescriptions"
    ]
    assert first["TargetHealth"]["State"] == "initial"
    elbv2.get_waiter("target_in_service").wait(
        TargetGroupArn=arn, Targets=[ident], WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
    )
    took = (time.monotonic() - t0) * TIME_SCALE
    implied = tg["HealthyThresholdCount"] * tg["HealthCheckIntervalSeconds"]
    # The first check runs at registration, so healthy comes after (threshold - 1) intervals;
    # allow a generous upper bound for a loaded machine.
    assert implied - tg["HealthCheckIntervalSeconds"] - 1 <= took <= implied * 3, took


def test_fault_reason_within_threshold_times_interval(sb: Sandbox) -> None:
    elbv2 = make_client(sb, "elbv2")
    (tg,) = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"]
    arn = tg["TargetGroupArn"]
    wait_for(sb.settled)
    iid = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"][1]
    iid = iid["Target"]["Id"]
    try:
        t0 = time.monotonic()
        control(sb).set_instance_fault(iid, unhealthy=True)

        def health() -> dict:
            (d,) = elbv2.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": iid}])[
                "TargetHealthDescriptions"
            ]
            return d["TargetHealth"]

        wait_for(lambda: health()["State"] == "unhealthy")
        took = (time.monotonic() - t0) * TIME_SCALE
        assert took <= tg["UnhealthyThresholdCount"] * tg["HealthCheckIntervalSeconds"] * 1.5 + 5
        assert health()["Reason"] == "Target.ResponseCodeMismatch"
        assert "503" in health()["Description"]
    finally:
        control(sb).clear_faults(iid)
    wait_for(lambda: health()["State"] == "healthy")


def test_weighted_reroute_moves_real_traffic(sb: Sandbox) -> None:
    """ModifyListener weights change where real requests go."""
    elbv2 = make_client(sb, "elbv2")
    ec2 = make_client(sb, "ec2")
    (lb,) = elbv2.describe_load_balancers(Names=["web-alb"])["LoadBalancers"]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    (blue,) = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"]
    # A second target group with one standalone instance: an all-scenario-free green side.
    world = sb.world
    from cutover.sandbox.world import HealthCheck, TargetGroup

    with world.lock:
        green_arn = world.arn("elasticloadbalancing", "targetgroup/green-tg/00000000000000aa")
        world.target_groups[green_arn] = TargetGroup(
            arn=green_arn,
            name="green-tg",
            protocol="HTTP",
            port=80,
            vpc_id=world.vpc_id,
            health_check=HealthCheck(interval=5, timeout=2, healthy_threshold=2),
            attributes={"deregistration_delay.timeout_seconds": "5"},
        )
        inst = world.launch_instance(az="us-east-1a", revision="v2")
    ec2.get_waiter("instance_running").wait(
        InstanceIds=[inst.id], WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    elbv2.register_targets(TargetGroupArn=green_arn, Targets=[{"Id": inst.id}])

    def set_weights(blue_w: int, green_w: int) -> None:
        elbv2.modify_listener(
            ListenerArn=listener["ListenerArn"],
            DefaultActions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": blue["TargetGroupArn"], "Weight": blue_w},
                            {"TargetGroupArn": green_arn, "Weight": green_w},
                        ]
                    },
                }
            ],
        )

    def revisions(n: int) -> dict[str, int]:
        seen: dict[str, int] = {}
        for _ in range(n):
            with urllib.request.urlopen(f"http://127.0.0.1:{listener['Port']}/", timeout=5) as r:
                rev = r.headers["X-Revision"]
                seen[rev] = seen.get(rev, 0) + 1
        return seen

    try:
        set_weights(100, 0)
        elbv2.get_waiter("target_in_service").wait(
            TargetGroupArn=green_arn,
            Targets=[{"Id": inst.id}],
            WaiterConfig={"Delay": 0.1, "MaxAttempts": 300},
        )
        assert revisions(40) == {"v1": 40}
        set_weights(50, 50)
        split = revisions(100)
        assert 40 <= split.get("v2", 0) <= 60, split
        set_weights(0, 100)
        assert revisions(40) == {"v2": 40}
        rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        weights = {
            g["TargetGroupArn"]: g["Weight"]
            for g in rules[0]["Actions"][0]["ForwardConfig"]["TargetGroups"]
        }
        assert weights == {blue["TargetGroupArn"]: 0, green_arn: 100}
    finally:
        set_weights(1, 0)
        elbv2.deregister_targets(TargetGroupArn=green_arn, Targets=[{"Id": inst.id}])
        ec2.terminate_instances(InstanceIds=[inst.id])


def test_auto_scaling_launches_real_servers_and_registers_them(sb: Sandbox) -> None:
    asg = make_client(sb, "autoscaling")
    elbv2 = make_client(sb, "elbv2")
    (tg,) = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"]
    try:
        asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=5)

        def five_healthy() -> bool:
            d = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
            states = [t["TargetHealth"]["State"] for t in d["TargetHealthDescriptions"]]
            return states.count("healthy") == 5

        wait_for(five_healthy)
        (group,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
            "AutoScalingGroups"
        ]
        assert [i["LifecycleState"] for i in group["Instances"]] == ["InService"] * 5
    finally:
        asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=4)

    def back_to_four() -> bool:
        (g,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
            "AutoScalingGroups"
        ]
        return len(g["Instances"]) == 4

    wait_for(back_to_four)
    wait_for(sb.settled)


def test_terminated_member_is_replaced(sb: Sandbox) -> None:
    ec2 = make_client(sb, "ec2")
    asg = make_client(sb, "autoscaling")
    wait_for(sb.settled)
    (group,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
        "AutoScalingGroups"
    ]
    victim = group["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[victim])
    ec2.get_waiter("instance_terminated").wait(
        InstanceIds=[victim], WaiterConfig={"Delay": 0.1, "MaxAttempts": 200}
    )

    def replaced() -> bool:
        (g,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])[
            "AutoScalingGroups"
        ]
        ids = {i["InstanceId"] for i in g["Instances"] if i["LifecycleState"] == "InService"}
        return victim not in ids and len(ids) == 4

    wait_for(replaced)
    wait_for(sb.settled)


def test_sts_and_unserved_operation(sb: Sandbox) -> None:
    ident = make_client(sb, "sts").get_caller_identity()
    assert ident["Account"] == "123456789012"
    ec2 = make_client(sb, "ec2", retries={"mode": "standard", "total_max_attempts": 1})
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ec2.run_instances(ImageId="ami-1", MinCount=1, MaxCount=1)
    assert err.value.response["Error"]["Code"] == "InvalidAction"
    assert "RunInstances" in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_throttling_is_retried_by_boto3(sb: Sandbox) -> None:
    control(sb).set_api_fault(throttle=0.5, services=["elbv2"])
    try:
        elbv2 = make_client(sb, "elbv2", retries={"mode": "standard", "max_attempts": 10})
        retried = 0
        while retried == 0:  # backoff sleeps are real, so stop at the first retried call
            out = elbv2.describe_load_balancers()
            retried += out["ResponseMetadata"]["RetryAttempts"]
        no_retry = make_client(sb, "elbv2", retries={"mode": "standard", "total_max_attempts": 1})
        codes = set()
        for _ in range(20):
            try:
                no_retry.describe_load_balancers()
            except botocore.exceptions.ClientError as exc:
                codes.add(exc.response["Error"]["Code"])
        assert codes == {"Throttling"}
        ec2 = make_client(sb, "ec2")
        ec2.describe_instances()  # other services are not throttled
    finally:
        control(sb).clear_faults()


def test_latency_and_unreachable(sb: Sandbox) -> None:
    sts = make_client(
        sb, "sts", retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1
    )
    control(sb).set_api_fault(latency_ms=300)
    try:
        t0 = time.monotonic()
        sts.get_caller_identity()
        assert time.monotonic() - t0 >= 0.3
    finally:
        control(sb).clear_faults()
    control(sb).set_api_fault(unreachable_s=1.0)
    wait_for(lambda: _refused(sts), timeout=5, what="the endpoint to refuse connections")
    wait_for(lambda: _reachable(sts), timeout=10)


def _refused(client) -> bool:  # type: ignore[no-untyped-def]
    try:
        client.get_caller_identity()
    except botocore.exceptions.EndpointConnectionError:
        return True
    except botocore.exceptions.ConnectionClosedError:
        return False  # the listener closed under this call: not dark yet
    except botocore.exceptions.ReadTimeoutError:
        return False  # a loaded machine answered late: not dark yet
    return False


def _reachable(client) -> bool:  # type: ignore[no-untyped-def]

    try:
        client.get_caller_identity()
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ReadTimeoutError):
        return False
    return True


def test_control_api_rejects_bad_input(sb: Sandbox) -> None:
    api = control(sb)
    for call, words in [
        (lambda: api.set_api_fault(throttle=2), "share from 0 to 1"),
        (lambda: api.set_api_fault(colour=1), "unknown API fault field"),
        (lambda: api.set_instance_fault("i-00000000000000000", down=True), "does not exist"),
    ]:
        with pytest.raises(ControlError) as err:
            call()
        assert err.value.status == 400
        assert words in str(err.value)
