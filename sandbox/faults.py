"""Injected faults: how the app copes when AWS or an instance misbehaves.

API faults act on every AWS call before it reaches a service: a share throttled with the
protocol's own throttling error, added latency, or the whole endpoint unreachable for a while.
One acts after: a lost answer (the call is performed, then the connection is closed without
a response), what a client sees when the network drops between AWS and it.
Instance faults live on each `Instance` (see `world.InstanceFault`); the data plane reads them
on every request and health check.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import asdict, dataclass, field

from cutover.sandbox.wire import ApiError, Throttled
from cutover.sandbox.world import InstanceFault, World, WorldError


@dataclass
class ApiFaults:
    throttle_rate: float = 0.0  # share of calls answered with a throttling error
    latency_ms: int = 0  # added to every call
    services: list[str] = field(default_factory=list)  # empty means every service
    operations: list[str] = field(default_factory=list)  # empty means every operation
    # "access": the caller may not perform `deny_operations` (every operation when empty);
    # "credentials": every call is refused as if the access key were revoked.
    deny: str | None = None
    deny_operations: list[str] = field(default_factory=list)
    # The next `drop_response` answers to `drop_operations` (every operation when empty) are
    # lost: the call takes effect, the client gets no response.
    drop_response: int = 0
    drop_operations: list[str] = field(default_factory=list)
    calls: int = 0
    throttled: int = 0
    denied: int = 0
    dropped: int = 0

    def applies(self, service: str, operation: str) -> bool:
        return (not self.services or service in self.services) and (
            not self.operations or operation in self.operations
        )


class Faults:
    """The sandbox's fault switchboard, shared by the control API and the request path."""

    def __init__(self, world: World, *, seed: int | None = None) -> None:
        self.world = world
        self.api = ApiFaults()
        self._rng = random.Random(seed)
        self.unreachable_until: float | None = None  # loop time, set by the runner
        # Every routed call by operation name, faulted ones included (never reset), so a test
        # can prove a mutating call reached the endpoint exactly once.
        self.requests: Counter[str] = Counter()

    async def on_request(self, service: str, operation: str) -> None:
        """Called by the wire layer before each AWS call: may sleep, may raise Throttled."""
        api = self.api
        api.calls += 1
        self.requests[operation] += 1
        if api.deny == "credentials" or (
            api.deny == "access" and (not api.deny_operations or operation in api.deny_operations)
        ):
            api.denied += 1
            raise denial(api.deny, service, operation, self.world)
        if not api.applies(service, operation):
            return
        if api.latency_ms:
            await asyncio.sleep(api.latency_ms / 1000)
        if api.throttle_rate and self._rng.random() < api.throttle_rate:
            api.throttled += 1
            raise Throttled()

    def drop_answer(self, service: str, operation: str) -> bool:
        """Called by the wire layer once a call is performed: True means close the connection
        without answering it."""
        api = self.api
        if api.drop_response <= 0 or (api.drop_operations and operation not in api.drop_operations):
            return False
        api.drop_response -= 1
        api.dropped += 1
        return True

    def set_api(
        self,
        *,
        throttle_rate: float | None = None,
        latency_ms: int | None = None,
        services: list[str] | None = None,
        operations: list[str] | None = None,
        deny: str | None = None,
        deny_operations: list[str] | None = None,
        drop_response: int | None = None,
        drop_operations: list[str] | None = None,
    ) -> None:
        if drop_response is not None:
            if not 0 <= drop_response <= 1000:
                raise ValueError("drop_response must be from 0 to 1000 answers")
            self.api.drop_response = drop_response
            self.api.drop_operations = list(drop_operations or [])
        if deny is not None:
            if deny not in ("access", "credentials", "none"):
                raise ValueError("deny must be access, credentials or none")
            self.api.deny = None if deny == "none" else deny
            self.api.deny_operations = list(deny_operations or [])
        if throttle_rate is not None:
            if not 0 <= throttle_rate <= 1:
                raise ValueError("throttle must be a share from 0 to 1")
            self.api.throttle_rate = throttle_rate
        if latency_ms is not None:
            if not 0 <= latency_ms <= 120_000:
                raise ValueError("latency must be from 0 to 120000 ms")
            self.api.latency_ms = latency_ms
        if services is not None:
            self.api.services = services
        if operations is not None:
            self.api.operations = operations

    def set_instance(self, instance_id: str, **changes: object) -> InstanceFault:
        """Change an instance's fault; unknown fields and bad values raise ValueError."""
        with self.world.lock:
            try:
                inst = self.world.instance(instance_id)
            except WorldError as exc:
                raise ValueError(exc.message) from None
            fault = inst.fault
            for key, value in changes.items():
                if value is None:
                    continue
                if key in ("unhealthy", "down"):
                    setattr(fault, key, bool(value))
                elif key == "unhealthy_path":
                    path = str(value)
                    if path and not path.startswith("/"):
                        raise ValueError("unhealthy_path must start with / (or be empty to clear)")
                    fault.unhealthy_path = path
                elif key == "slow_ms":
                    ms = int(value)  # type: ignore[call-overload]
                    if not 0 <= ms <= 600_000:
                        raise ValueError("slow must be from 0 to 600000 ms")
                    fault.slow_ms = ms
                elif key == "error_rate":
                    rate = float(value)  # type: ignore[arg-type]
                    if not 0 <= rate <= 1:
                        raise ValueError("errors must be a share from 0 to 1")
                    fault.error_rate = rate
                else:
                    raise ValueError(f"unknown instance fault '{key}'")
            return fault

    def clear(self, instance_id: str | None = None) -> None:
        """Clear one instance's faults, or every fault (API and instances) when none is named."""
        with self.world.lock:
            if instance_id is not None:
                self.world.instance(instance_id).fault = InstanceFault()
                return
            self.api = ApiFaults(
                calls=self.api.calls,
                throttled=self.api.throttled,
                denied=self.api.denied,
                dropped=self.api.dropped,
            )
            for inst in self.world.instances.values():
                inst.fault = InstanceFault()
            deploy_faults = getattr(self.world.deploy, "faults", None)
            if deploy_faults is not None:
                deploy_faults.clear()

    def describe(self) -> dict:
        """Every active fault, JSON-ready."""
        with self.world.lock:
            instances = {
                i.id: asdict(i.fault) for i in self.world.instances.values() if i.fault.active()
            }
        api = asdict(self.api)
        deploy_faults = getattr(self.world.deploy, "faults", None)
        return {
            "api": api,
            "instances": instances,
            "unreachable": self.unreachable_until is not None,
            "deployment": deploy_faults.describe() if deploy_faults is not None else {},
            "requests": dict(self.requests),
        }


# Services answering in AWS's json/rpc-v2-cbor protocols name their errors with "Exception".
_JSON_SERVICES = ("codedeploy", "cloudwatch")


def denial(kind: str, service: str, operation: str, world: World) -> ApiError:
    """The error AWS answers when the caller's credentials are rejected or its policy does not
    allow the operation, in the service's own words and codes."""
    if kind == "credentials":
        if service == "ec2":
            return ApiError(
                "AuthFailure", "AWS was not able to validate the provided access credentials", 401
            )
        code = (
            "UnrecognizedClientException" if service in _JSON_SERVICES else "InvalidClientTokenId"
        )
        return ApiError(code, "The security token included in the request is invalid.", 403)
    user = f"arn:aws:iam::{world.account_id}:user/sandbox-operator"
    action = f"{_IAM_PREFIX.get(service, service)}:{operation}"
    if service == "ec2":
        return ApiError(
            "UnauthorizedOperation",
            f"You are not authorized to perform this operation. "
            f"User: {user} is not authorized to perform: {action}",
            403,
        )
    code = "AccessDeniedException" if service in _JSON_SERVICES else "AccessDenied"
    return ApiError(
        code,
        f"User: {user} is not authorized to perform: {action} because no identity-based policy "
        "allows the action",
        400 if service in _JSON_SERVICES else 403,
    )


_IAM_PREFIX = {"elbv2": "elasticloadbalancing", "elb": "elasticloadbalancing"}
