"""What the bench scripts share: a Cutover session on an in-process sandbox, and a counter of
the calls a session makes (a `cutover sandbox` subprocess: cutover.cli.sandbox_process).

The scripts run as `python bench/NAME.py`, so this folder is on the import path.
"""

from __future__ import annotations

from collections import Counter

import boto3
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.sandbox.runtime import Sandbox


def sandbox_session(
    sb: Sandbox, application: str = "web", deployment_group: str = "web-prod"
) -> tuple[TargetConfig, AwsSession]:
    """A target on the sandbox's endpoint and its session, signing with throwaway keys (the
    sandbox takes any SigV4-shaped signature), clients created."""
    target = TargetConfig(
        name="bench",
        region="us-east-1",
        endpoint_url=sb.endpoint_url,
        application=application,
        deployment_group=deployment_group,
    )
    session = AwsSession(target)
    session.session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    session.create_clients()
    return target, session


SERVICES = ("codedeploy", "ec2", "autoscaling", "elbv2", "elb", "cloudwatch", "sts")


class Ops:
    """Counts the operations called through a session's clients."""

    def __init__(self, session: AwsSession) -> None:
        self.ops: Counter[str] = Counter()
        for name in SERVICES:
            session.client(name).meta.events.register("before-call", self._called)

    def _called(self, model: object = None, **_: object) -> None:
        self.ops[getattr(model, "name", "?")] += 1

    def take(self) -> Counter[str]:
        out, self.ops = self.ops, Counter()
        return out
