"""One boto3 Session and its clients per target, sharing one ServerClock.

Clients are created once (boto3 client creation is slow and not thread-safe) with adaptive
retries and short timeouts, so a slow or throttling AWS degrades the view instead of freezing
it. Every response's `Date` header feeds a `ServerClock`: countdowns and ages shown to a
person are computed against AWS's time, not the laptop's.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from cutover.backend.aws.clock import ServerClock
from cutover.backend.config import TargetConfig

# What a Cutover sandbox says on every answer (the product never imports the sandbox: the
# name is agreed, not shared).
SANDBOX_HEADER = "x-cutover-sandbox"

SERVICES = ("codedeploy", "ec2", "autoscaling", "elbv2", "elb", "cloudwatch", "sts")


def resolve_region(configured: str | None) -> str | None:
    """The region to use: `--region` or the config target's (`configured`), else AWS_REGION,
    else None so that boto3 goes on to AWS_DEFAULT_REGION and then the profile.

    boto3 reads only AWS_DEFAULT_REGION; the AWS SDKs and tools reference guide names
    AWS_REGION as the region's environment variable, and the AWS CLI v2 lets it override
    AWS_DEFAULT_REGION and the profile (docs/aws-behaviour.md).
    """
    return configured or os.environ.get("AWS_REGION") or None


class AwsSession:
    """The clients for one target, sharing one boto3 Session and one ServerClock."""

    def __init__(
        self,
        target: TargetConfig,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_attempts: int = 4,
    ) -> None:
        self.target = target
        self.session = boto3.session.Session(
            profile_name=target.profile, region_name=resolve_region(target.region)
        )
        self.clock = ServerClock()
        self.config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            user_agent_extra="cutover",
        )
        # Mutating calls are sent once: a resend after a lost answer can act twice, or fail
        # although the first send worked. A lost answer is settled by reading the state again.
        self.send_config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=max(read_timeout, 20.0),
            user_agent_extra="cutover",
        )
        self._clients: dict[str, Any] = {}
        self._senders: dict[str, Any] = {}
        # Set once an answer says the endpoint is a sandbox: its clock's rate (sandbox seconds
        # per real second). None for AWS, which never sends the header.
        self.sandbox_rate: float | None = None
        self.calls = 0  # API calls sent (retries included), for the bench and the status bar
        self._calls_lock = threading.Lock()

    @property
    def region(self) -> str | None:
        return self.session.region_name

    def client(self, service: str) -> Any:
        """The shared client for a service (created on first use; create them up front with
        `create_clients` on the main thread)."""
        return self._get(self._clients, service, self.config)

    def sender(self, service: str) -> Any:
        """The client that sends mutating calls for a service: once, no SDK retries."""
        return self._get(self._senders, service, self.send_config)

    def _get(self, cache: dict[str, Any], service: str, config: Config) -> Any:
        client = cache.get(service)
        if client is None:
            client = self.session.client(
                service, endpoint_url=self.target.endpoint_url, config=config
            )
            client.meta.events.register("after-call", self._after_call)
            client.meta.events.register("before-send", self._before_send)
            cache[service] = client
        return client

    def create_clients(self) -> None:
        for service in SERVICES:
            self.client(service)
        for service in ("codedeploy", "elbv2", "elb", "autoscaling", "ec2"):
            self.sender(service)

    def endpoint_url(self, service: str = "codedeploy") -> str:
        """Where calls to `service` go: AWS's regional endpoint, or the one given."""
        return self.client(service).meta.endpoint_url

    @property
    def custom_endpoint(self) -> str | None:
        """The endpoint the person pointed Cutover at (--endpoint-url, the config, or
        AWS_ENDPOINT_URL, as every AWS SDK reads it), or None for AWS's own endpoints."""
        return self.target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def _before_send(self, **kwargs: Any) -> None:
        with self._calls_lock:
            self.calls += 1

    def _after_call(self, http_response: Any = None, **kwargs: Any) -> None:
        if http_response is not None:
            self.clock.observe(http_response.headers.get("Date"))
            said = http_response.headers.get(SANDBOX_HEADER)
            if said:
                self._sandbox_said(said)

    def _sandbox_said(self, header: str) -> None:
        """`sandbox; clock-rate=20`: the endpoint is a Cutover sandbox, its clock that fast."""
        rate = 1.0
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == "clock-rate":
                try:
                    rate = float(value)
                except ValueError:
                    continue
        rate = rate if 0.001 <= rate <= 100_000 else 1.0
        if self.sandbox_rate != rate:
            self.sandbox_rate = rate
            self.clock.declare_rate(rate)
