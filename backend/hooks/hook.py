"""One run's hold on AWS for one instance: the clients, each change sent once (a lost answer
read back), the reads every step shares, and the server's clock (timeouts are measured in it)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NotSentError
from cutover.backend.aws.clock import ServerClock
from cutover.backend.aws.errors import REFUSALS, describe_aws_error, error_code
from cutover.backend.core import hooktags

from .errors import HookError
from .identity import Identity
from .options import HookOptions
from .places import TgPlace
from .report import Reporter
from .verdicts import classic_registered

# Tries of a change refused before AWS did anything (the reads' retry budget, too).
SEND_ATTEMPTS = 10


def lost_reason(exc: Exception) -> str:
    """Why the answer to a change is unknown, in plain words (AWS's code when it gave one)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or "Unknown"
        message = (error.get("Message") or "").strip().rstrip(".")
        if status and status >= 500:
            return (
                f"AWS answered HTTP {status}, which does not say whether it was done: {message}"
                f" (AWS error {code})"
            )
        return f"refused when sent again: {message} (AWS error {code})"
    if "timeout" in type(exc).__name__.lower():
        return f"the answer was lost (none came in time: {exc})"
    return f"the answer was lost ({str(exc).rstrip('.')})"


class Hook:
    """One run of `cutover hook deregister|register` for one instance: what it was told
    (`options`), where it reports (`say`), and its calls to AWS."""

    def __init__(
        self,
        options: HookOptions,
        identity: Identity,
        reporter: Reporter,
        *,
        session: boto3.session.Session | None = None,
        poll_base: float = 0.25,
        poll_cap: float = 5.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.instance_id = identity.instance_id
        self.region = identity.region
        self.say = reporter
        reporter.instance_id = identity.instance_id
        self.clock = ServerClock()
        self.poll_base = poll_base
        self.poll_cap = poll_cap
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.session = session or boto3.session.Session(region_name=self.region)
        timeouts = {"connect_timeout": 3, "read_timeout": 10, "user_agent_extra": "cutover-hook"}
        # Reads: botocore's standard retries (full-jitter backoff). Changes: sent once (see send).
        self.config = BotoConfig(retries={"mode": "standard", "max_attempts": 10}, **timeouts)
        self.once = BotoConfig(retries={"mode": "standard", "total_max_attempts": 1}, **timeouts)
        self._clients: dict[tuple[str, bool], Any] = {}

    def client(self, service: str, *, changes: bool = False) -> Any:
        """The reading client of `service`, or with `changes` the one that sends each call
        once (use `send` for calls that change something)."""
        c = self._clients.get((service, changes))
        if c is None:
            config = self.once if changes else self.config
            c = self.session.client(service, region_name=self.region, config=config)
            c.meta.events.register("after-call", self._after_call)
            self._clients[(service, changes)] = c
        return c

    def send(
        self, service: str, operation: str, check: Callable[[], tuple[bool, str]], **params: Any
    ) -> None:
        """One call that changes something, sent once: a resend after an answer that was lost
        would fail on what the first one did (EnterStandby: "not in InService"). Refusals that
        prove nothing was done (throttling, no connection) are sent again with full-jitter
        backoff. A lost answer (connection closed or timed out after sending, an HTTP 5xx that
        does not say whether it was done) or any error after a resend is settled by reading the
        state back: `check` -> (took effect, what was seen). Took effect: one line saying so,
        and on. Else HookError with the error and what was seen."""
        client = self.client(service, changes=True)
        api = client.meta.method_to_api_mapping.get(operation, operation)
        last: Exception | None = None
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self.sleep(self.rng.uniform(0, min(self.poll_cap, self.poll_base * 2**attempt)))
            try:
                getattr(client, operation)(**params)
                return
            except ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if error_code(exc) in REFUSALS:
                    last = exc
                    continue
                if status < 500 and not attempt:
                    raise  # the only send was refused: AWS's own answer stands
                lost: Exception = exc
            except NotSentError as exc:
                last = exc
                continue
            except HTTPClientError as exc:
                lost = exc
            self._read_back(api, lost, check)
            return
        assert last is not None
        raise last

    def _read_back(self, api: str, exc: Exception, check: Callable[[], tuple[bool, str]]) -> None:
        why = lost_reason(exc)
        seen = ""
        try:
            for delay in (0.0, 0.5, 1.0):  # what was done may take a moment to show
                if delay:
                    self.sleep(delay)
                done, seen = check()
                if done:
                    self.say.info(f"{api}: {why}; read back: {seen}: it took effect, going on")
                    return
        except (ClientError, BotoCoreError) as read_exc:
            raise HookError(
                f"{api}: {why}; reading the state back failed too: {describe_aws_error(read_exc)}"
            ) from None
        raise HookError(f"{api}: {why}; read back: {seen}: it did not take effect")

    def _after_call(self, http_response: Any = None, **_: Any) -> None:
        if http_response is not None:
            self.clock.observe(http_response.headers.get("Date"))

    # ----- reading ---------------------------------------------------------------------------

    @staticmethod
    def group_tags(group: dict) -> dict[str, str]:
        return {t["Key"]: t.get("Value", "") for t in group.get("Tags") or []}

    def membership(self) -> dict | None:
        rows = self.client("autoscaling").describe_auto_scaling_instances(
            InstanceIds=[self.instance_id]
        )["AutoScalingInstances"]
        return rows[0] if rows else None

    def group(self, name: str) -> dict:
        groups = self.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[name]
        )["AutoScalingGroups"]
        if not groups:
            raise HookError(f"Auto Scaling group {name} not found")
        return groups[0]

    def instance_tags(self) -> dict[str, str]:
        tags = self.client("ec2").describe_tags(
            Filters=[
                {"Name": "resource-id", "Values": [self.instance_id]},
                {"Name": "key", "Values": list(hooktags.INSTANCE_TAGS)},
            ]
        )["Tags"]
        return {t["Key"]: t["Value"] for t in tags}

    def target_groups(self, refs: Iterable[str]) -> list[dict]:
        refs = list(dict.fromkeys(refs))
        arns = [r for r in refs if r.startswith("arn:")]
        names = [r for r in refs if not r.startswith("arn:")]
        elbv2 = self.client("elbv2")
        out = []
        if arns:
            out += elbv2.describe_target_groups(TargetGroupArns=arns)["TargetGroups"]
        if names:
            out += elbv2.describe_target_groups(Names=names)["TargetGroups"]
        return out

    def registrations(self, tg_arn: str) -> list[dict]:
        """This instance's registrations in a group (every port), draining ones included."""
        rows = self.client("elbv2").describe_target_health(TargetGroupArn=tg_arn)[
            "TargetHealthDescriptions"
        ]
        return [r for r in rows if r["Target"]["Id"] == self.instance_id]

    def tg_health(self, tg: TgPlace, port: int) -> tuple[str, str | None, str | None]:
        rows = self.client("elbv2").describe_target_health(
            TargetGroupArn=tg.arn, Targets=[{"Id": self.instance_id, "Port": port}]
        )["TargetHealthDescriptions"]
        if not rows:
            return "unused", "Target.NotRegistered", None
        h = rows[0]["TargetHealth"]
        return h.get("State", ""), h.get("Reason"), h.get("Description")

    def clb_health(self, name: str) -> tuple[str | None, str | None, str | None]:
        """(State, ReasonCode, Description) of this instance; State None when it is not
        registered (the description says so, or AWS does not know it: InvalidInstance or, for
        a terminated instance, no answer at all)."""
        try:
            rows = self.client("elb").describe_instance_health(
                LoadBalancerName=name, Instances=[{"InstanceId": self.instance_id}]
            )["InstanceStates"]
        except ClientError as exc:
            if error_code(exc) == "InvalidInstance":
                return None, None, None
            raise
        if not rows:
            return None, None, None
        r = rows[0]
        state, description = r.get("State"), r.get("Description")
        return (
            state if classic_registered(state, description) else None,
            r.get("ReasonCode"),
            description,
        )

    def classic_lbs(self, names: Iterable[str]) -> list[dict]:
        names = list(dict.fromkeys(names))
        if not names:
            return []
        return self.client("elb").describe_load_balancers(LoadBalancerNames=names)[
            "LoadBalancerDescriptions"
        ]
