"""CloudWatch in the sandbox: ELB metrics from real traffic, and alarms that evaluate themselves.

Most tests start a real sandbox on free ports at time_scale 60 (a 60-second period passes in
one real second) and drive it with boto3 over HTTP; the AWS CLI and botocore clients forced
onto each CloudWatch wire protocol check the other encodings. Alarm rules and validation are
also checked directly against small worlds, where no time has to pass.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cutover.sandbox import services
from cutover.sandbox.cloudwatch import live as cloudwatch
from cutover.sandbox.cloudwatch.alarms import MetricAlarm, Period, evaluate, java_double
from cutover.sandbox.dataplane.metrics import RequestMetrics
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import CodeDeploySpec, load_scenario
from cutover.sandbox.testing import aws_client, wait_for
from cutover.sandbox.wire import ApiError
from cutover.sandbox.world import Clock, World

from tests.unit.test_elb_services import check_shape

pytestmark = pytest.mark.timeout(90)

SCALE = 60.0  # one sandbox minute per real second
MODEL = botocore.session.get_session().get_service_model("cloudwatch")
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
ALB = "AWS/ApplicationELB"

services.load_all()


# ----- helpers ----------------------------------------------------------------------------------


def client(sandbox: Sandbox) -> Any:
    return aws_client(sandbox, "cloudwatch", config=NO_RETRY)


def loaded_sandbox(scenario: str, load_rps: float) -> Sandbox:
    """A started sandbox of `scenario` under load, without its CodeDeploy part: these tests
    need no deployments, and leaving it out keeps them about CloudWatch."""
    spec = load_scenario(scenario)
    spec.codedeploy = CodeDeploySpec()
    # Only the web fleet (the default scenario's estate has more): one load balancer, so the
    # load generator's counts are that balancer's.
    spec.load_balancers = [b for b in spec.load_balancers if b.name.startswith("web")]
    spec.classic_load_balancers = [
        b for b in spec.classic_load_balancers if b.name.startswith("web")
    ]
    spec.target_groups = [t for t in spec.target_groups if t.name.startswith("web")]
    spec.auto_scaling_groups = [a for a in spec.auto_scaling_groups if a.name.startswith("web")]
    sandbox = Sandbox(spec, free_listener_ports=True, time_scale=SCALE, load_rps=load_rps)
    # So host counts are sampled from the first second, not from the first CloudWatch call.
    cloudwatch.attach(sandbox.world)
    try:
        sandbox.start()
    except Exception:
        sandbox.stop()
        raise
    return sandbox


def dims(**values: str) -> list[dict]:
    return [{"Name": k, "Value": v} for k, v in values.items()]


def resource(arn: str) -> str:
    return arn.split(":", 5)[-1]


def alb_dims(world: World) -> tuple[list[dict], list[dict]]:
    """(LoadBalancer, TargetGroup+LoadBalancer) dimensions of web-alb and web-tg."""
    with world.lock:
        [lb] = world.load_balancers.values()
        [tg] = world.target_groups.values()
    lb_value = resource(lb.arn).removeprefix("loadbalancer/")
    return dims(LoadBalancer=lb_value), dims(TargetGroup=resource(tg.arn), LoadBalancer=lb_value)


def stat_query(qid: str, namespace: str, name: str, dimensions: list, period: int, stat: str):
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
    }


def metric_data(cw: Any, queries: list[dict], start: datetime, end: datetime) -> dict:
    """Id -> [(timestamp, value)] oldest first, following NextToken."""
    out: dict[str, list] = {}
    token = None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end, **kwargs)
        for result in page["MetricDataResults"]:
            out.setdefault(result["Id"], []).extend(
                zip(result["Timestamps"], result["Values"], strict=True)
            )
        token = page.get("NextToken")
        if not token:
            return {k: sorted(v) for k, v in out.items()}


def total(points: list) -> float:
    return sum(v for _, v in points)


# ----- real traffic -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured() -> Iterator[tuple[Sandbox, dict, datetime, datetime]]:
    """A default sandbox that ran under load for about 3 real seconds, then stopped the load.

    Yields (sandbox, the load generator's stats, when the fleet had settled, when the load
    stopped), in sandbox time.
    """
    sandbox = loaded_sandbox("default", load_rps=60)
    try:
        settled = sandbox.world.now()
        time.sleep(3.0)  # the traffic under test: three sandbox minutes of it
        assert sandbox.load is not None
        sandbox.call(sandbox.load.stop())
        stopped = sandbox.world.now()
        yield sandbox, sandbox.load.stats(), settled, stopped
    finally:
        sandbox.stop()


def test_request_count_matches_the_load_generator(measured) -> None:
    sandbox, stats, settled, stopped = measured
    cw = client(sandbox)
    lb, tg = alb_dims(sandbox.world)
    start, end = settled - timedelta(minutes=5), stopped + timedelta(minutes=2)
    data = metric_data(
        cw,
        [
            stat_query("lb", ALB, "RequestCount", lb, 60, "Sum"),
            stat_query("tg", ALB, "RequestCount", tg, 60, "Sum"),
            stat_query("ok", ALB, "HTTPCode_Target_2XX_Count", lb, 60, "Sum"),
            stat_query("err", ALB, "HTTPCode_Target_5XX_Count", lb, 60, "Sum"),
        ],
        start,
        end,
    )
    issued = stats["sent"] - stats["dropped"]
    answered = stats["ok"] + stats["errors"] + stats["client_errors"]
    assert issued > 100, stats
    # The acceptance criterion: CloudWatch's count is the load generator's, within 1%.
    assert total(data["lb"]) == pytest.approx(issued, rel=0.01), (total(data["lb"]), stats)
    assert total(data["lb"]) == pytest.approx(answered, rel=0.01)
    assert total(data["tg"]) == total(data["lb"])
    assert total(data["ok"]) == pytest.approx(stats["ok"], rel=0.01)
    assert data["err"] == []  # nothing failed, so no datapoint at all (not a 0)
    # Timestamps sit on whole minutes and every period has data (the load never paused).
    assert all(ts.second == 0 and ts.microsecond == 0 for ts, _ in data["lb"])
    assert all(v > 0 for _, v in data["lb"])


def test_response_time_and_host_counts(measured) -> None:
    sandbox, stats, settled, stopped = measured
    cw = client(sandbox)
    lb, tg = alb_dims(sandbox.world)
    data = metric_data(
        cw,
        [
            stat_query("avg", ALB, "TargetResponseTime", lb, 3600, "Average"),
            stat_query("p50", ALB, "TargetResponseTime", lb, 3600, "p50"),
            stat_query("p99", ALB, "TargetResponseTime", tg, 3600, "p99"),
            stat_query("low", ALB, "HealthyHostCount", tg, 10, "Minimum"),
            stat_query("high", ALB, "HealthyHostCount", tg, 10, "Maximum"),
            stat_query("bad", ALB, "UnHealthyHostCount", tg, 10, "Maximum"),
        ],
        settled + timedelta(seconds=10),
        stopped,
    )
    [(_, avg)], [(_, p50)], [(_, p99)] = data["avg"], data["p50"], data["p99"]
    # Sandbox seconds. The target's time is part of what the load generator waits for, so its
    # median is at most the client's; the mean is pulled up by the few slow /work requests,
    # which the load generator caps at half the 60 s idle timeout.
    [listener] = stats["listeners"].values()
    client_median = listener["latency_ms"]["median"] / 1000 * SCALE
    assert 0 < p50 <= client_median * 1.1
    assert p50 <= p99 and p50 <= avg <= 30.0
    assert data["low"] and {v for _, v in data["low"]} == {4.0}
    assert {v for _, v in data["high"]} == {4.0}
    assert {v for _, v in data["bad"]} == {0.0}


def test_get_metric_statistics_agrees_with_get_metric_data(measured) -> None:
    sandbox, _, settled, stopped = measured
    cw = client(sandbox)
    lb, tg = alb_dims(sandbox.world)
    start, end = settled - timedelta(minutes=5), stopped + timedelta(minutes=2)
    for dimensions in (lb, tg):
        gms = cw.get_metric_statistics(
            Namespace=ALB,
            MetricName="RequestCount",
            Dimensions=dimensions,
            StartTime=start,
            EndTime=end,
            Period=60,
            Statistics=["Sum", "SampleCount", "Average", "Minimum", "Maximum"],
        )
        assert gms["Label"] == "RequestCount"
        by_time = {p["Timestamp"]: p for p in gms["Datapoints"]}
        gmd = metric_data(
            cw, [stat_query("m", ALB, "RequestCount", dimensions, 60, "Sum")], start, end
        )
        assert {ts: v for ts, v in gmd["m"]} == {ts: p["Sum"] for ts, p in by_time.items()}
        for point in gms["Datapoints"]:
            assert point["Unit"] == "Count"
            assert point["SampleCount"] == point["Sum"]
            assert point["Average"] == point["Minimum"] == point["Maximum"] == 1.0
    latency = cw.get_metric_statistics(
        Namespace=ALB,
        MetricName="TargetResponseTime",
        Dimensions=lb,
        StartTime=start,
        EndTime=end,
        Period=3600,
        ExtendedStatistics=["p50", "p99.9"],
    )
    [point] = latency["Datapoints"]
    assert point["Unit"] == "Seconds"
    assert 0 < point["ExtendedStatistics"]["p50"] <= point["ExtendedStatistics"]["p99.9"]
    # A unit the metric does not have matches nothing, as on AWS.
    bytes_only = cw.get_metric_statistics(
        Namespace=ALB,
        MetricName="RequestCount",
        Dimensions=lb,
        StartTime=start,
        EndTime=end,
        Period=60,
        Statistics=["Sum"],
        Unit="Bytes",
    )
    assert bytes_only["Datapoints"] == []


def test_get_metric_data_scan_order_paging_labels_and_math(measured) -> None:
    sandbox, stats, settled, stopped = measured
    cw = client(sandbox)
    lb, _ = alb_dims(sandbox.world)
    start, end = settled - timedelta(minutes=1), stopped + timedelta(minutes=1)
    queries = [
        {**stat_query("requests", ALB, "RequestCount", lb, 10, "Sum"), "ReturnData": False},
        {"Id": "rate", "Expression": "requests / 10", "Label": "per second"},
        stat_query("bytes", ALB, "ProcessedBytes", lb, 10, "Sum"),
    ]
    page = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    assert [r["Id"] for r in page["MetricDataResults"]] == ["rate", "bytes"]
    rate, nbytes = page["MetricDataResults"]
    assert rate["Label"] == "per second" and nbytes["Label"] == "ProcessedBytes"
    assert rate["Timestamps"] == sorted(rate["Timestamps"], reverse=True)
    assert sum(rate["Values"]) * 10 == pytest.approx(stats["sent"] - stats["dropped"], rel=0.01)
    ascending = cw.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )["MetricDataResults"][0]
    assert ascending["Timestamps"] == sorted(rate["Timestamps"])
    assert all(ts.second % 10 == 0 for ts in rate["Timestamps"])
    # MaxDatapoints pages the same datapoints.
    first = cw.get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=end, MaxDatapoints=5
    )
    assert first["NextToken"] and sum(len(r["Values"]) for r in first["MetricDataResults"]) == 5
    assert first["MetricDataResults"][0]["StatusCode"] == "PartialData"
    assert metric_data(cw, queries, start, end)["rate"] == sorted(
        zip(rate["Timestamps"], rate["Values"], strict=True)
    )


def test_list_metrics_names_alb_dimensions(measured) -> None:
    sandbox, *_ = measured
    cw = client(sandbox)
    lb, tg = alb_dims(sandbox.world)
    listed = cw.list_metrics(Namespace=ALB)["Metrics"]
    by_lb = {m["MetricName"] for m in listed if m["Dimensions"] == lb}
    by_tg = {m["MetricName"] for m in listed if m["Dimensions"] == tg}
    assert {"RequestCount", "HTTPCode_Target_2XX_Count", "TargetResponseTime"} <= by_lb
    assert "HealthyHostCount" not in by_lb
    assert {"RequestCount", "HealthyHostCount", "UnHealthyHostCount"} <= by_tg
    hosts = cw.list_metrics(MetricName="HealthyHostCount", Dimensions=[{"Name": "TargetGroup"}])[
        "Metrics"
    ]
    assert hosts == [{"Namespace": ALB, "MetricName": "HealthyHostCount", "Dimensions": tg}]
    assert cw.list_metrics(Namespace="AWS/EC2")["Metrics"] == []
    assert (
        cw.list_metrics(Dimensions=[{"Name": "LoadBalancer", "Value": "app/x/1"}])["Metrics"] == []
    )


def test_classic_and_network_load_balancers() -> None:
    for scenario in ("classic", "nlb"):
        sandbox = loaded_sandbox(scenario, load_rps=40)
        try:
            settled = sandbox.world.now()
            time.sleep(2.0)  # the traffic under test: two sandbox minutes of it
            assert sandbox.load is not None
            sandbox.call(sandbox.load.stop())
            stats = sandbox.load.stats()
            cw = client(sandbox)
            start, end = settled - timedelta(minutes=2), sandbox.world.now() + timedelta(minutes=1)
            window = (settled + timedelta(seconds=10), sandbox.world.now())
            if scenario == "classic":
                name = dims(LoadBalancerName="web-clb")
                data = metric_data(
                    cw,
                    [
                        stat_query("n", "AWS/ELB", "RequestCount", name, 60, "Sum"),
                        stat_query("ok", "AWS/ELB", "HTTPCode_Backend_2XX", name, 60, "Sum"),
                        stat_query("lat", "AWS/ELB", "Latency", name, 3600, "Average"),
                    ],
                    start,
                    end,
                )
                issued = stats["sent"] - stats["dropped"]
                assert total(data["n"]) == pytest.approx(issued, rel=0.01)
                assert total(data["ok"]) == pytest.approx(stats["ok"], rel=0.01)
                assert data["lat"][0][1] > 0
                hosts = metric_data(
                    cw,
                    [stat_query("h", "AWS/ELB", "HealthyHostCount", name, 10, "Minimum")],
                    *window,
                )
                names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/ELB")["Metrics"]}
                assert {"RequestCount", "Latency", "HTTPCode_Backend_2XX"} <= names
            else:
                with sandbox.world.lock:
                    [lb] = sandbox.world.load_balancers.values()
                    [tg] = sandbox.world.target_groups.values()
                lb_value = resource(lb.arn).removeprefix("loadbalancer/")
                assert lb_value.startswith("net/")
                by_lb = dims(LoadBalancer=lb_value)
                by_tg = dims(TargetGroup=resource(tg.arn), LoadBalancer=lb_value)
                data = metric_data(
                    cw,
                    [
                        stat_query("new", "AWS/NetworkELB", "NewFlowCount", by_lb, 60, "Sum"),
                        stat_query(
                            "act", "AWS/NetworkELB", "ActiveFlowCount", by_lb, 60, "Maximum"
                        ),
                        stat_query("b", "AWS/NetworkELB", "ProcessedBytes", by_lb, 60, "Sum"),
                    ],
                    start,
                    end,
                )
                assert total(data["new"]) > 0 and total(data["b"]) > 0
                assert data["act"]
                hosts = metric_data(
                    cw,
                    [stat_query("h", "AWS/NetworkELB", "HealthyHostCount", by_tg, 10, "Minimum")],
                    *window,
                )
            assert {v for _, v in hosts["h"]} == {4.0}
        finally:
            sandbox.stop()


# ----- alarms on real traffic ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded() -> Iterator[Sandbox]:
    sandbox = loaded_sandbox("default", load_rps=40)
    try:
        # Sandbox time must pass: the boot (targets not yet healthy) falls out of the alarms'
        # first windows.
        time.sleep(2.5)
        yield sandbox
    finally:
        sandbox.stop()


def alarm_state(cw: Any, name: str) -> dict:
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return alarm


def test_5xx_alarm_goes_to_alarm_and_back(loaded: Sandbox) -> None:
    cw = client(loaded)
    world = loaded.world
    _, tg = alb_dims(world)
    cw.put_metric_alarm(
        AlarmName="web-5xx",
        AlarmDescription="Targets answer 5xx",
        Namespace=ALB,
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=tg,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=["arn:aws:sns:us-east-1:123456789012:ops"],
    )
    fresh = alarm_state(cw, "web-5xx")
    assert fresh["StateValue"] in ("INSUFFICIENT_DATA", "OK")
    assert fresh["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-5xx"
    wait_for(lambda: alarm_state(cw, "web-5xx")["StateValue"] == "OK", 5, "OK")
    assert world.alarms["web-5xx"].state_value == "OK"  # what the CodeDeploy engine reads

    with world.lock:
        victim = next(iter(world.asgs["web-asg"].members))
        world.instances[victim].fault.error_rate = 1.0
    began = time.monotonic()
    alarmed = wait_for(
        lambda: (a := alarm_state(cw, "web-5xx"))["StateValue"] == "ALARM" and a, 6, "ALARM"
    )
    # Within about two periods (two real seconds at this time scale).
    assert time.monotonic() - began < 3.5
    assert world.alarms["web-5xx"].state_value == "ALARM"
    assert re.fullmatch(
        r"Threshold Crossed: 1 out of the last 1 datapoints \[\d+\.\d+(E\d+)? "
        r"\(\d\d/\d\d/\d\d \d\d:\d\d:00\)\] was greater than the threshold \(0\.0\) "
        r"\(minimum 1 datapoint for OK -> ALARM transition\)\.",
        alarmed["StateReason"],
    ), alarmed["StateReason"]
    reason_data = json.loads(alarmed["StateReasonData"])
    assert reason_data["version"] == "1.0" and reason_data["statistic"] == "Sum"
    assert reason_data["period"] == 60 and reason_data["threshold"] == 0.0
    assert reason_data["recentDatapoints"][0] > 0
    assert reason_data["evaluatedDatapoints"][0]["timestamp"].endswith(":00.000+0000")
    assert alarmed["StateTransitionedTimestamp"] >= fresh["StateUpdatedTimestamp"]
    errors = cw.get_metric_statistics(
        Namespace=ALB,
        MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=tg,
        StartTime=world.now() - timedelta(minutes=5),
        EndTime=world.now(),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(p["Sum"] for p in errors) > 0

    with world.lock:
        world.instances[victim].fault.error_rate = 0.0
    wait_for(lambda: alarm_state(cw, "web-5xx")["StateValue"] == "OK", 6, "OK again")
    assert (
        "was not greater than the threshold (0.0)" in alarm_state(cw, "web-5xx")["StateReason"]
        or "treated as [NonBreaching]" in alarm_state(cw, "web-5xx")["StateReason"]
    )

    history = cw.describe_alarm_history(AlarmName="web-5xx", HistoryItemType="StateUpdate")
    summaries = [h["HistorySummary"] for h in history["AlarmHistoryItems"]]
    assert summaries[:2] == ["Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM"]
    item = history["AlarmHistoryItems"][1]
    data = json.loads(item["HistoryData"])
    assert data["oldState"]["stateValue"] == "OK" and data["newState"]["stateValue"] == "ALARM"
    assert data["newState"]["stateReason"] == alarmed["StateReason"]
    assert item["AlarmType"] == "MetricAlarm"
    created = cw.describe_alarm_history(AlarmName="web-5xx", HistoryItemType="ConfigurationUpdate")
    assert [h["HistorySummary"] for h in created["AlarmHistoryItems"]] == [
        'Alarm "web-5xx" created'
    ]


def test_set_alarm_state_holds_until_the_next_evaluation(loaded: Sandbox) -> None:
    cw = client(loaded)
    _, tg = alb_dims(loaded.world)
    cw.put_metric_alarm(
        AlarmName="hosts-low",
        Namespace=ALB,
        MetricName="HealthyHostCount",
        Dimensions=tg,
        Statistic="Minimum",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=1,
        Threshold=2,
        ComparisonOperator="LessThanThreshold",
    )
    wait_for(lambda: alarm_state(cw, "hosts-low")["StateValue"] == "OK", 5, "OK")
    assert (
        "(minimum 2 datapoints for ALARM -> OK transition)"
        in alarm_state(cw, "hosts-low")["StateReason"]
    )
    cw.set_alarm_state(
        AlarmName="hosts-low",
        StateValue="ALARM",
        StateReason="testing the pager",
        StateReasonData='{"by": "test"}',
    )
    forced = alarm_state(cw, "hosts-low")
    assert forced["StateValue"] == "ALARM" and forced["StateReason"] == "testing the pager"
    assert json.loads(forced["StateReasonData"]) == {"by": "test"}
    wait_for(lambda: alarm_state(cw, "hosts-low")["StateValue"] == "OK", 5, "re-evaluation")
    summaries = [
        h["HistorySummary"]
        for h in cw.describe_alarm_history(AlarmName="hosts-low", ScanBy="TimestampAscending")[
            "AlarmHistoryItems"
        ]
    ]
    assert summaries == [
        'Alarm "hosts-low" created',
        "Alarm updated from INSUFFICIENT_DATA to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    with pytest.raises(ClientError) as caught:
        cw.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as caught:
        cw.set_alarm_state(
            AlarmName="hosts-low", StateValue="OK", StateReason="x", StateReasonData="{nope"
        )
    assert caught.value.response["Error"]["Code"] == "InvalidFormat"


def test_describe_filters_actions_and_delete(loaded: Sandbox) -> None:
    cw = client(loaded)
    lb, _ = alb_dims(loaded.world)
    for n in range(3):
        cw.put_metric_alarm(
            AlarmName=f"page-{n}",
            Namespace=ALB,
            MetricName="TargetResponseTime",
            Dimensions=lb,
            ExtendedStatistic="p99",
            Period=60,
            EvaluationPeriods=3,
            Threshold=5.0 + n,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            OKActions=[f"arn:aws:sns:us-east-1:123456789012:team-{n}"],
            Tags=[{"Key": "team", "Value": str(n)}],
        )
    first = cw.describe_alarms(AlarmNamePrefix="page-", MaxRecords=2)
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == ["page-0", "page-1"]
    assert first["CompositeAlarms"] == []
    rest = cw.describe_alarms(AlarmNamePrefix="page-", MaxRecords=2, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == ["page-2"]
    assert "NextToken" not in rest
    paginated = cw.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix="page-", PaginationConfig={"PageSize": 1}
    )
    assert [a["AlarmName"] for p in paginated for a in p["MetricAlarms"]] == [
        "page-0",
        "page-1",
        "page-2",
    ]
    by_action = cw.describe_alarms(ActionPrefix="arn:aws:sns:us-east-1:123456789012:team-1")
    assert [a["AlarmName"] for a in by_action["MetricAlarms"]] == ["page-1"]
    assert cw.describe_alarms(AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == []
    alarm = alarm_state(cw, "page-2")
    assert alarm["ExtendedStatistic"] == "p99" and "Statistic" not in alarm
    assert alarm["Threshold"] == 7.0 and alarm["Dimensions"] == lb
    assert alarm["ActionsEnabled"] is True and alarm["AlarmActions"] == []
    assert "DatapointsToAlarm" not in alarm and "TreatMissingData" not in alarm

    cw.disable_alarm_actions(AlarmNames=["page-1"])
    assert alarm_state(cw, "page-1")["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=["page-1"])
    assert alarm_state(cw, "page-1")["ActionsEnabled"] is True

    for_metric = cw.describe_alarms_for_metric(
        Namespace=ALB, MetricName="TargetResponseTime", Dimensions=lb, ExtendedStatistic="p99"
    )
    assert [a["AlarmName"] for a in for_metric["MetricAlarms"]] == ["page-0", "page-1", "page-2"]
    assert (
        cw.describe_alarms_for_metric(Namespace=ALB, MetricName="TargetResponseTime")[
            "MetricAlarms"
        ]
        == []
    )
    tags = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "2"}]

    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=["page-0", "no-such-alarm"])
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    assert len(cw.describe_alarms(AlarmNamePrefix="page-")["MetricAlarms"]) == 3
    cw.delete_alarms(AlarmNames=["page-0", "page-1", "page-2"])
    assert cw.describe_alarms(AlarmNamePrefix="page-")["MetricAlarms"] == []
    deleted = cw.describe_alarm_history(AlarmName="page-0", HistoryItemType="ConfigurationUpdate")
    assert deleted["AlarmHistoryItems"][0]["HistorySummary"] == 'Alarm "page-0" deleted'


def test_update_keeps_state_and_overwrites_config(loaded: Sandbox) -> None:
    cw = client(loaded)
    lb, _ = alb_dims(loaded.world)
    base = {
        "AlarmName": "busy",
        "Namespace": ALB,
        "MetricName": "RequestCount",
        "Dimensions": lb,
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "AlarmDescription": "first",
    }
    cw.put_metric_alarm(**base)
    wait_for(lambda: alarm_state(cw, "busy")["StateValue"] == "ALARM", 5, "ALARM")
    transitioned = alarm_state(cw, "busy")["StateTransitionedTimestamp"]
    base.pop("AlarmDescription")
    cw.put_metric_alarm(**{**base, "Threshold": 2.0})
    updated = alarm_state(cw, "busy")
    assert updated["StateValue"] == "ALARM" and updated["Threshold"] == 2.0
    assert "AlarmDescription" not in updated
    assert updated["StateTransitionedTimestamp"] == transitioned
    assert updated["AlarmConfigurationUpdatedTimestamp"] >= transitioned
    cw.delete_alarms(AlarmNames=["busy"])


# ----- validation -------------------------------------------------------------------------------


def call(world: World, name: str, params: dict) -> dict:
    """Dispatch like the wire does and check the result against botocore's output shape."""
    result = services.dispatch(world, "cloudwatch", name, params)
    shape = MODEL.operation_model(name).output_shape
    if shape is None:
        assert result == {}
    else:
        check_shape(result, shape)
    return result


def fails(world: World, name: str, params: dict, code: str) -> str:
    with pytest.raises(ApiError) as caught:
        services.dispatch(world, "cloudwatch", name, params)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message
    return caught.value.message


NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ALARM_PARAMS = {
    "AlarmName": "a",
    "Namespace": ALB,
    "MetricName": "RequestCount",
    "Dimensions": dims(LoadBalancer="app/web/1"),
    "Statistic": "Sum",
    "Period": 60,
    "EvaluationPeriods": 3,
    "Threshold": 1.0,
    "ComparisonOperator": "GreaterThanThreshold",
}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Period": 45}, "InvalidParameterValue"),
        ({"Period": 5}, "InvalidParameterValue"),
        ({"Statistic": None}, "InvalidParameterCombination"),
        ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination"),
        ({"Statistic": "Median"}, "ValidationError"),
        ({"Statistic": None, "ExtendedStatistic": "p101"}, "InvalidParameterValue"),
        ({"DatapointsToAlarm": 4}, "ValidationError"),
        ({"TreatMissingData": "sometimes"}, "ValidationError"),
        ({"ComparisonOperator": "Bigger"}, "ValidationError"),
        ({"ComparisonOperator": "GreaterThanUpperThreshold"}, "ValidationError"),
        ({"EvaluationPeriods": 1441}, "ValidationError"),
        ({"Threshold": None}, "MissingParameter"),
        ({"MetricName": None}, "MissingParameter"),
        ({"Unit": "Parsecs"}, "ValidationError"),
        ({"AlarmActions": ["not-an-arn"]}, "ValidationError"),
        ({"Metrics": [{"Id": "m1", "Expression": "1"}]}, "ValidationError"),
        ({"EvaluateLowSampleCountPercentile": "ignore"}, "InvalidParameterCombination"),
        ({"Dimensions": dims(LoadBalancer="a") * 2}, "InvalidParameterValue"),
    ],
)
def test_put_metric_alarm_validation(change: dict, code: str) -> None:
    world = World()
    params = {k: v for k, v in {**ALARM_PARAMS, **change}.items() if v is not None}
    fails(world, "PutMetricAlarm", params, code)
    assert world.alarms == {}


def test_metric_query_validation() -> None:
    world = World()
    base = {
        "Namespace": ALB,
        "MetricName": "RequestCount",
        "StartTime": NOW,
        "EndTime": NOW + timedelta(hours=1),
        "Period": 60,
        "Statistics": ["Sum"],
    }
    assert call(world, "GetMetricStatistics", base) == {"Label": "RequestCount", "Datapoints": []}
    fails(world, "GetMetricStatistics", {**base, "Period": 7}, "InvalidParameterValue")
    fails(world, "GetMetricStatistics", {**base, "EndTime": NOW}, "InvalidParameterValue")
    fails(world, "GetMetricStatistics", {**base, "Statistics": []}, "MissingParameter")
    fails(
        world,
        "GetMetricStatistics",
        {**base, "ExtendedStatistics": ["p90"]},
        "InvalidParameterCombination",
    )
    fails(world, "GetMetricStatistics", {**base, "Statistics": ["Mean"]}, "ValidationError")
    message = fails(
        world,
        "GetMetricStatistics",
        {**base, "Period": 1, "EndTime": NOW + timedelta(hours=2)},
        "InvalidParameterCombination",
    )
    assert "exceeds the limit of 1,440" in message

    def gmd(queries: list, **extra: Any) -> dict:
        return {
            "MetricDataQueries": queries,
            "StartTime": NOW,
            "EndTime": NOW + timedelta(hours=1),
            **extra,
        }

    good = stat_query("m1", ALB, "RequestCount", dims(LoadBalancer="app/a/1"), 60, "Sum")
    result = call(world, "GetMetricData", gmd([good]))
    assert result["MetricDataResults"] == [
        {
            "Id": "m1",
            "Label": "RequestCount",
            "Timestamps": [],
            "Values": [],
            "StatusCode": "Complete",
        }
    ]
    bad_period = copy.deepcopy(good)
    bad_period["MetricStat"]["Period"] = 90
    bad_stat = copy.deepcopy(good)
    bad_stat["MetricStat"]["Stat"] = "tm99"
    for queries in (
        [],
        [{**good, "Id": "M1"}],
        [good, good],
        [{"Id": "e1"}],
        [{**good, "Expression": "m1"}],
        [bad_period],
        [bad_stat],
        [good, {"Id": "e1", "Expression": "SUM(METRICS())"}],
        [good, {"Id": "e1", "Expression": "m1 + "}],
        [good, {"Id": "e1", "Expression": "e1 * 2"}],
        [good, {"Id": "e1", "Expression": "m2 * 2"}],
    ):
        fails(world, "GetMetricData", gmd(queries), "ValidationError")
    fails(world, "GetMetricData", gmd([good], EndTime=NOW), "ValidationError")
    fails(world, "GetMetricData", gmd([good], NextToken="garbage"), "InvalidNextToken")
    fails(world, "DescribeAlarms", {"NextToken": "garbage"}, "InvalidNextToken")
    fails(world, "DescribeAlarms", {"MaxRecords": 101}, "ValidationError")
    fails(world, "DescribeAlarms", {"StateValue": "RED"}, "ValidationError")
    fails(
        world,
        "DescribeAlarms",
        {"AlarmNames": ["a"], "AlarmNamePrefix": "a"},
        "InvalidParameterCombination",
    )
    fails(world, "ListMetrics", {"RecentlyActive": "PT1H"}, "ValidationError")
    assert call(world, "ListMetrics", {}) == {"Metrics": []}
    fails(world, "DeleteAlarms", {"AlarmNames": ["ghost"]}, "ResourceNotFound")


def test_alarm_results_match_botocore_shapes() -> None:
    world = World()
    call(world, "PutMetricAlarm", {**ALARM_PARAMS, "DatapointsToAlarm": 2, "Unit": "Count"})
    call(world, "SetAlarmState", {"AlarmName": "a", "StateValue": "ALARM", "StateReason": "r"})
    described = call(world, "DescribeAlarms", {})
    [alarm] = described["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM" and alarm["DatapointsToAlarm"] == 2
    assert alarm["Unit"] == "Count"
    call(world, "DescribeAlarmsForMetric", {"Namespace": ALB, "MetricName": "RequestCount"})
    history = call(world, "DescribeAlarmHistory", {})
    assert [h["HistoryItemType"] for h in history["AlarmHistoryItems"]] == [
        "StateUpdate",
        "ConfigurationUpdate",
    ]
    created = json.loads(history["AlarmHistoryItems"][1]["HistoryData"])
    assert created["type"] == "Create" and created["createdAlarm"]["alarmName"] == "a"
    # A world without a load balancer: the alarm has no data and says so on evaluation.
    cloudwatch.evaluate_alarm(world, world.alarms["a"])
    assert world.alarms["a"].state_value == "INSUFFICIENT_DATA"
    assert world.alarms["a"].state_reason == "Insufficient Data: 3 datapoints were unknown."


# ----- alarm rules (no time passes) -------------------------------------------------------------


def rule_alarm(**kwargs: Any) -> MetricAlarm:
    config: dict[str, Any] = {
        "name": "a",
        "arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
        "namespace": ALB,
        "metric_name": "HTTPCode_Target_5XX_Count",
        "dimensions": [],
        "period": 60,
        "evaluation_periods": 3,
        "threshold": 10.0,
        "comparison": "GreaterThanThreshold",
        "created": NOW,
        "statistic": "Sum",
    }
    config.update(kwargs)
    return MetricAlarm(**config)


def periods(*values: float | None) -> list[Period]:
    return [
        Period(NOW + timedelta(minutes=n), v, None if v is None else 1.0)
        for n, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("values", "treat", "state"),
    [
        # 3 out of 3, rows of CloudWatch's missing-data table (0 calm, X breaching, - missing).
        ((0, None, 12), "missing", "OK"),
        ((0, None, 12), "breaching", "OK"),
        ((None, None, 12), "missing", "ALARM"),
        ((None, None, 12), "notBreaching", "OK"),
        ((None, None, None), "missing", "INSUFFICIENT_DATA"),
        ((None, None, None), "ignore", None),
        ((None, None, None), "breaching", "ALARM"),
        ((None, None, None), "notBreaching", "OK"),
        ((12, 12, 12), "missing", "ALARM"),
        ((12, None, 12), "breaching", "ALARM"),
        ((12, None, 12), "notBreaching", "OK"),
        ((None, None, 0), "missing", "OK"),
    ],
)
def test_missing_data_rules(values: tuple, treat: str, state: str | None) -> None:
    outcome = evaluate(rule_alarm(treat_missing_data=treat), periods(*values), NOW)
    assert (outcome.state if outcome else None) == state


def test_m_out_of_n_and_reason_words() -> None:
    alarm = rule_alarm(datapoints_to_alarm=2, comparison="GreaterThanOrEqualToThreshold")
    outcome = evaluate(alarm, periods(10, 3, 12.5), NOW + timedelta(minutes=3))
    assert outcome is not None and outcome.state == "ALARM"
    assert outcome.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [12.5 (01/01/30 12:02:00), "
        "10.0 (01/01/30 12:00:00)] were greater than or equal to the threshold (10.0) "
        "(minimum 2 datapoints for OK -> ALARM transition)."
    )
    data = json.loads(outcome.reason_data)
    assert data["recentDatapoints"] == [10.0, 3.0, 12.5]
    assert data["startDate"] == "2030-01-01T12:00:00.000+0000"
    assert data["queryDate"] == "2030-01-01T12:03:00.000+0000"
    assert data["evaluatedDatapoints"][0] == {
        "timestamp": "2030-01-01T12:02:00.000+0000",
        "sampleCount": 1.0,
        "value": 12.5,
    }
    calm = evaluate(alarm, periods(1, 3, 12.5), NOW)
    assert calm is not None and calm.state == "OK"
    assert calm.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [3.0 (01/01/30 12:01:00), "
        "1.0 (01/01/30 12:00:00)] were not greater than or equal to the threshold (10.0) "
        "(minimum 2 datapoints for ALARM -> OK transition)."
    )
    one = evaluate(rule_alarm(evaluation_periods=1), periods(12), NOW)
    assert one is not None and one.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [12.0 (01/01/30 12:00:00)] was "
        "greater than the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    lonely = evaluate(
        rule_alarm(evaluation_periods=1, treat_missing_data="notBreaching"), periods(None), NOW
    )
    assert lonely is not None and lonely.reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint "
        "was treated as [NonBreaching]."
    )
    for op, value, state in (
        ("LessThanThreshold", 9.9, "ALARM"),
        ("LessThanOrEqualToThreshold", 10.0, "ALARM"),
        ("GreaterThanThreshold", 10.0, "OK"),
    ):
        got = evaluate(rule_alarm(comparison=op, evaluation_periods=1), periods(value), NOW)
        assert got is not None and got.state == state, op


def test_java_double_formatting() -> None:
    assert [java_double(v) for v in (12, 0, 0.5, 1e7, 1.5e-5, 123456.789, -2.5e20)] == [
        "12.0",
        "0.0",
        "0.5",
        "1.0E7",
        "1.5E-5",
        "123456.789",
        "-2.5E20",
    ]


def test_host_gauges_and_minute_alignment() -> None:
    clock = Clock(start=datetime(2030, 1, 1, 12, 0, 37, tzinfo=UTC))
    m = RequestMetrics(clock, fine_retention=60, retention=3600)
    for second in range(0, 300):
        m.sample_gauge("tg", "arn:tg", "HealthyHostCount", 4 if second < 203 else 3, ts=second)
    assert m.totals("tg", "arn:tg")["HealthyHostCount"] == 3
    # Rolled-up minutes start on the clock's whole minutes (elapsed 23 is 12:01:00).
    points = m.query("tg", "arn:tg", "HealthyHostCount", 23, 203, 60, "SampleCount")
    assert points == [(23, 60.0), (83, 60.0), (143, 60.0)]
    assert m.query("tg", "arn:tg", "HealthyHostCount", 143, 263, 60, "Minimum") == [
        (143, 4.0),
        (203, 3.0),
    ]
    with pytest.raises(ValueError):
        m.sample_gauge("tg", "arn:tg", "RequestCount", 1)


# ----- other clients and protocols ---------------------------------------------------------------


def forced_protocol_client(sandbox: Sandbox, protocol: str, tmp_path: Path) -> Any:
    """A botocore client that speaks `protocol` to CloudWatch, whatever botocore prefers."""
    reader = botocore.session.get_session().get_component("data_loader")
    api_version = reader.determine_latest_version("cloudwatch", "service-2")
    model = copy.deepcopy(reader.load_service_model("cloudwatch", "service-2", api_version))
    model["metadata"]["protocols"] = [protocol]
    model["metadata"]["protocol"] = protocol
    target = tmp_path / protocol / "cloudwatch" / api_version
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    # A fresh session: loaders cache the models they have read.
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path / protocol))
    env = sandbox.env()
    made = session.create_client(
        "cloudwatch",
        endpoint_url=sandbox.endpoint_url,
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=NO_RETRY,
    )
    assert made.meta.service_model.resolved_protocol == protocol
    return made


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "json", "query"])
def test_every_cloudwatch_protocol(loaded: Sandbox, protocol: str, tmp_path: Path) -> None:
    cw = forced_protocol_client(loaded, protocol, tmp_path)
    lb, tg = alb_dims(loaded.world)
    name = f"proto-{protocol}"
    cw.put_metric_alarm(
        AlarmName=name,
        Namespace=ALB,
        MetricName="TargetResponseTime",
        Dimensions=lb,
        ExtendedStatistic="p90",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=1,
        Threshold=123.5,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="breaching",
    )
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["Threshold"] == 123.5 and alarm["Dimensions"] == lb
    assert isinstance(alarm["AlarmConfigurationUpdatedTimestamp"], datetime)
    now = loaded.world.now()
    data = cw.get_metric_data(
        MetricDataQueries=[stat_query("r", ALB, "RequestCount", tg, 60, "Sum")],
        StartTime=now - timedelta(minutes=10),
        EndTime=now,
    )
    [result] = data["MetricDataResults"]
    assert result["Values"] and all(isinstance(v, float) for v in result["Values"])
    assert all(ts.tzinfo is not None for ts in result["Timestamps"])
    with pytest.raises(ClientError) as caught:
        cw.get_metric_statistics(
            Namespace=ALB,
            MetricName="RequestCount",
            StartTime=now,
            EndTime=now + timedelta(minutes=1),
            Period=61,
            Statistics=["Sum"],
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    cw.delete_alarms(AlarmNames=[name])


def test_aws_cli(loaded: Sandbox) -> None:
    cli = Path(sys.executable).with_name("aws")
    if not cli.exists():
        pytest.skip("the AWS CLI is not installed in this environment")
    env = {**os.environ, **loaded.env(), "AWS_PAGER": "", "AWS_CONFIG_FILE": os.devnull}
    env.pop("AWS_PROFILE", None)
    cw = client(loaded)
    _, tg = alb_dims(loaded.world)
    cw.put_metric_alarm(
        AlarmName="cli-visible",
        Namespace=ALB,
        MetricName="UnHealthyHostCount",
        Dimensions=tg,
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )

    def aws(*args: str) -> dict:
        done = subprocess.run(
            [str(cli), "cloudwatch", *args, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    described = aws("describe-alarms", "--alarm-names", "cli-visible")
    [alarm] = described["MetricAlarms"]
    assert alarm["AlarmName"] == "cli-visible" and alarm["Dimensions"] == tg
    listed = aws("list-metrics", "--namespace", ALB, "--metric-name", "HealthyHostCount")
    assert listed["Metrics"] == [
        {"Namespace": ALB, "MetricName": "HealthyHostCount", "Dimensions": tg}
    ]
    now = loaded.world.now()
    stats = aws(
        "get-metric-statistics",
        "--namespace",
        ALB,
        "--metric-name",
        "HealthyHostCount",
        "--dimensions",
        *(f"Name={d['Name']},Value={d['Value']}" for d in tg),
        "--start-time",
        (now - timedelta(minutes=2)).isoformat(),
        "--end-time",
        now.isoformat(),
        "--period",
        "60",
        "--statistics",
        "Maximum",
    )
    assert {p["Maximum"] for p in stats["Datapoints"]} == {4.0}
    done = subprocess.run(
        [
            str(cli),
            "cloudwatch",
            "set-alarm-state",
            "--alarm-name",
            "ghost",
            "--state-value",
            "OK",
            "--state-reason",
            "x",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "ResourceNotFound" in done.stderr
    cw.delete_alarms(AlarmNames=["cli-visible"])
