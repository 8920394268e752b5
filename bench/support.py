"""What the bench scripts share: a Cutover session on an in-process sandbox.

The scripts run as `python bench/NAME.py`, so this folder is on the import path.
"""

from __future__ import annotations

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
