"""CloudWatch over the sandbox: Elastic Load Balancing metrics and metric alarms.

Metrics come from the proxies' real counters (`world.metrics`, a RequestMetrics) under AWS's
namespaces, names and dimensions:

- AWS/ApplicationELB, by `LoadBalancer` (`app/<name>/<id>`): RequestCount,
  HTTPCode_Target_{2,3,4,5}XX_Count, HTTPCode_ELB_{3,4,5}XX_Count, HTTPCode_ELB_{502,503,504}_Count,
  TargetResponseTime, ProcessedBytes; by `TargetGroup` (`targetgroup/<name>/<id>`) +
  `LoadBalancer`: RequestCount, HTTPCode_Target_*, TargetResponseTime, HealthyHostCount,
  UnHealthyHostCount.
- AWS/NetworkELB, by `LoadBalancer` (`net/<name>/<id>`): ActiveFlowCount, NewFlowCount,
  ProcessedBytes; by `TargetGroup` + `LoadBalancer`: HealthyHostCount, UnHealthyHostCount.
- AWS/ELB, by `LoadBalancerName`: RequestCount, HTTPCode_Backend_{2,3,4,5}XX,
  HTTPCode_ELB_{4,5}XX, Latency, HealthyHostCount, UnHealthyHostCount.

As on AWS, a period in which nothing happened has no datapoint (ELB publishes its counters
only when they are non-zero); Healthy/UnHealthyHostCount are sampled every sandbox second by a
tick hook. All times are sandbox time; periods are sandbox seconds.

Alarms (`cutover.sandbox.cloudwatch.alarms.MetricAlarm`) live in `world.alarms` and evaluate
themselves at every period boundary of their own Period, over their last EvaluationPeriods
complete periods. The domain lives in `cutover.sandbox.cloudwatch`; the handlers here decode
the parameters, call it and encode the answer. Every function here runs under `world.lock`
(`dispatch` holds it, and so does `World.tick` for the hook).
"""

from . import alarms, metrics, put_alarm

__all__ = ["alarms", "metrics", "put_alarm"]
