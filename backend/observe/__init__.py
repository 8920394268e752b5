"""Read-only: AWS (or the sandbox) -> a frozen Snapshot of one deployment group.

`Observer` (in `reader`) is kept per target (one per AwsSession and deployment group) because
it caches the facts that do not move during a deployment (target group ARNs, health-check
settings, deregistration delays, listener ARNs, the caller's account) so every later snapshot
costs only what is fresh: the group, the deployment, its targets (25 per
BatchGetDeploymentTargets), one DescribeInstances, one DescribeAutoScalingGroups, one
DescribeTargetHealth per target group, one DescribeInstanceHealth per classic load balancer,
DescribeRules per listener that forwards to the group, one DescribeAlarms and one
GetMetricData; in a blue/green termination wait, one more GetMetricData a minute at most for
the bake verdict (`bake`). The number of calls grows with the fleet only by AWS's batch limits.

In-place groups without a load balancer of their own (appspec hooks such as `cutover hook` take
instances out) also get one DescribeTargetHealth / DescribeInstanceHealth per target group or
classic LB their instances serve in (named by the instances' `cutover:hook:home` tags and the
Auto Scaling groups' attachments; described once and cached), and those join GetMetricData.
The leftovers check (`core.leftovers`) costs no call: it reads the tags, Auto Scaling groups
and health the snapshot already has.

Errors: a failure that makes the snapshot meaningless (credentials, a missing application, group
or deployment, an unreachable endpoint) raises `ObserveError`; any other failed call leaves a
plain-words note in `Snapshot.notes` (and a key in `Snapshot.unread`) and the rest is kept.

The path: `reader` (parallel reads, cache, retries through `calls`) -> the reads per service
(`codedeploy`, `elb`, `autoscaling`, `ec2`, `cloudwatch`) -> `assemble` (named steps over
`reads`, with `fleet`) -> Snapshot. `diff` gives the timeline's events between two snapshots.
"""

from cutover.backend.core.timeline import diff
from cutover.backend.observe.calls import WRONG_GROUP, ObserveError
from cutover.backend.observe.observers import bake, observer, recent_deployments, snapshot
from cutover.backend.observe.reader import Observer

__all__ = [
    "WRONG_GROUP",
    "ObserveError",
    "Observer",
    "bake",
    "diff",
    "observer",
    "recent_deployments",
    "snapshot",
]
