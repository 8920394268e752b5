"""AWS CodeDeploy (EC2/on-premises, computePlatform Server): the API handlers for
applications, revisions, deployment configs, deployment groups, deployments and their
targets.

Each handler decodes its request (names, ids, filters), calls CodeDeploy's domain
(`cutover.sandbox.codedeploy`), which holds the rules and raises the modeled errors, and
shapes the answer exactly as boto3 returns it. Deployments themselves move in the engine's
tick. S3 and GitHub revisions are accepted without fetching anything: instances then serve the
revision's label (the S3 key's file name without extension, or the commit id).

    common.py       limits, paging, the state, decoding names and ids
    resources.py    applications, revisions, deployment configs, deployment groups
    deployments.py  deployments, their targets and instances
"""

from __future__ import annotations

from . import deployments, resources

__all__ = ["deployments", "resources"]
