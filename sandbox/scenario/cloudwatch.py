"""The cloudwatch section of a scenario file: metric alarms, as PutMetricAlarm parameters whose
dimensions still name the scenario's target groups and load balancers."""

from __future__ import annotations

import yaml
from cutover.common.yamlcheck import NULL, YamlReader
from cutover.sandbox.cloudwatch.alarms import COMPARISONS

from .fields import Names
from .spec import AlarmSpec, Scenario


def parse_cloudwatch(r: YamlReader, node: yaml.Node, sc: Scenario, names: Names) -> None:
    m = r.mapping(node, "cloudwatch", optional=("alarms",))
    seen: set[str] = set()
    for an in r.sequence(m.get("alarms", NULL), "alarms"):
        am = r.mapping(
            an,
            "an alarm",
            required=("name", "metric", "threshold"),
            optional=(
                "description",
                "namespace",
                "dimensions",
                "statistic",
                "period",
                "evaluation_periods",
                "datapoints_to_alarm",
                "comparison",
                "treat_missing_data",
            ),
        )
        name = r.string(am["name"], "alarm name")
        if name in seen:
            raise r.fail(am["name"], f"alarm '{name}' is defined twice")
        seen.add(name)
        refs: dict[str, str] = {}
        if "dimensions" in am:
            dm = r.mapping(am["dimensions"], "dimensions", optional=("TargetGroup", "LoadBalancer"))
            for key, vn in dm.items():
                value = r.string(vn, f"dimension {key}")
                known = names.target_groups if key == "TargetGroup" else names.load_balancers
                if value not in known:
                    kind = "target group" if key == "TargetGroup" else "load balancer"
                    raise r.fail(vn, f"unknown {kind} '{value}' in dimension {key}")
                refs[key] = value
        evaluation = (
            r.integer(am["evaluation_periods"], "evaluation_periods", 1, 100)
            if "evaluation_periods" in am
            else 1
        )
        params = {
            "AlarmName": name,
            "AlarmDescription": r.string(am["description"], "description")
            if "description" in am
            else "",
            "Namespace": r.string(am["namespace"], "namespace")
            if "namespace" in am
            else "AWS/ApplicationELB",
            "MetricName": r.string(am["metric"], "metric"),
            "Statistic": r.choice(
                am["statistic"],
                "statistic",
                ("Sum", "Average", "Maximum", "Minimum", "SampleCount"),
            )
            if "statistic" in am
            else "Sum",
            "Period": _alarm_period(r, am["period"]) if "period" in am else 60,
            "EvaluationPeriods": evaluation,
            "DatapointsToAlarm": r.integer(
                am["datapoints_to_alarm"], "datapoints_to_alarm", 1, evaluation
            )
            if "datapoints_to_alarm" in am
            else evaluation,
            "Threshold": r.number(am["threshold"], "threshold", -1e12, 1e12),
            "ComparisonOperator": r.choice(am["comparison"], "comparison", tuple(COMPARISONS))
            if "comparison" in am
            else "GreaterThanThreshold",
            "TreatMissingData": r.choice(
                am["treat_missing_data"],
                "treat_missing_data",
                ("missing", "notBreaching", "breaching", "ignore"),
            )
            if "treat_missing_data" in am
            else "notBreaching",
        }
        sc.alarms.append(AlarmSpec(name=name, params=params, dimension_refs=refs))


def _alarm_period(r: YamlReader, node: yaml.Node) -> int:
    period = r.integer(node, "period", 10, 86400)
    if period not in (10, 20, 30) and period % 60:
        raise r.fail(node, f"period must be 10, 20, 30 or a multiple of 60, not {period}")
    return period
