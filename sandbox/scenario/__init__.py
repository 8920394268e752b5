"""Scenario files: YAML worlds for the sandbox, validated with the file and line of each problem.

A scenario names load balancers, target groups, classic load balancers, Auto Scaling groups and
standalone instances. `load_scenario` turns a name (a file in `scenarios/`) or a path into a
`Scenario`; `build_world` turns that into a `World`. Every problem is one `ScenarioError` line:
`path:line: what is wrong`.

Besides the resources: `imds: {tokens: optional|required}` (the instance metadata service
answers IMDSv1 too, or only requests with an IMDSv2 token) and `codedeploy.bundles:
{<revision label or "*">: <directory relative to the scenario file>}` (revisions that are local
directories, whose appspec hooks the sandbox's agent runs; see agent.py).

The package: `spec` (the typed scenario), `load` (reading a file, section by section through
`elb`, `fleet`, `cloudwatch`, `codedeploy` and `bundles`, with what they share in `fields`) and
`build` (the World). What the rest of the sandbox, the command line and the tests use is
exported here.
"""

from .build import build_world
from .load import available_scenarios, load_scenario
from .spec import CodeDeploySpec, Scenario, ScenarioError

__all__ = [
    "CodeDeploySpec",
    "Scenario",
    "ScenarioError",
    "available_scenarios",
    "build_world",
    "load_scenario",
]
