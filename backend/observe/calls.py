"""How the observer calls AWS: the calls a snapshot cannot do without (retried on throttling
for a while, else `ObserveError`) and the ones it can (a failure becomes a note in the
snapshot and the rest is kept)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from cutover.backend.aws.errors import GONE_CODES, NOT_FOUND_CODES, THROTTLING_CODES, explain
from cutover.backend.aws.errors import is_fatal as _fatal
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig

T = TypeVar("T")

# Extra rounds for the calls a snapshot cannot do without, on throttling only.
CORE_THROTTLE_RETRIES = 4
# ...but only while the snapshot is younger than this (seconds): each attempt also carries
# botocore's own retries, and at 90% throttling unbounded patience made `cutover status` take
# 40 s. Past it, a throttled core call ends the snapshot (the view goes stale, says why).
CORE_THROTTLE_BUDGET = 6.0

# ObserveError's code when a deployment chosen by id belongs to another group (a usage error).
WRONG_GROUP = "DeploymentNotInGroup"


class ObserveError(Exception):
    """A snapshot could not be taken at all; str() is one plain line ending with the code.

    `aws_code` is AWS's error code (or the botocore error's name when AWS never answered).
    """

    def __init__(self, message: str, aws_code: str | None = None) -> None:
        super().__init__(f"{message} ({aws_code})" if aws_code else message)
        self.message = message
        self.aws_code = aws_code

    @property
    def throttled(self) -> bool:
        """AWS throttled the calls: ask again later, and less often."""
        return self.aws_code in THROTTLING_CODES

    @property
    def gone(self) -> bool:
        """The deployment asked for does not exist (any more): asking again will not help."""
        return self.aws_code in GONE_CODES


@dataclass
class Parts:
    """What one snapshot could not read. Failures land in notes/unread."""

    notes: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, key: str, what: str, exc: BaseException) -> None:
        words, code = explain(exc)
        with self.lock:
            self.unread.append(key)
            self.notes.append(f"{what} could not be read: {words}" + (f" ({code})" if code else ""))


class Calls:
    """The calls of one Observer: its session's clients, with the two kinds of patience."""

    def __init__(self, session: AwsSession, target: TargetConfig) -> None:
        self.session = session
        self.target = target
        self.throttle_deadline = float("inf")  # see CORE_THROTTLE_BUDGET

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def core(self, what: str, fn: Callable[[], T]) -> T:
        """A call the snapshot cannot do without: any failure raises ObserveError.

        Throttling gets more patience here than botocore's own retries give: without these
        calls there is no view at all, and throttling passes.
        """
        try:
            for attempt in range(CORE_THROTTLE_RETRIES):
                try:
                    return fn()
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if (
                        code not in THROTTLING_CODES
                        or attempt == CORE_THROTTLE_RETRIES - 1
                        or time.monotonic() > self.throttle_deadline
                    ):
                        raise
                    # Full jitter, as AWS recommends, so many clients do not retry in step.
                    time.sleep(random.uniform(0, min(4.0, 0.5 * 2**attempt)))
            raise AssertionError("unreachable")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in NOT_FOUND_CODES:
                words = NOT_FOUND_CODES[code].format(
                    app=self.target.application,
                    group=self.target.deployment_group,
                    deployment=what,
                )
                raise ObserveError(words, code) from None
            words, code = explain(exc)
            raise ObserveError(words, code) from None
        except (BotoCoreError, OSError) as exc:
            words, code = explain(exc)
            raise ObserveError(words, code) from None

    def part(self, parts: Parts, key: str, what: str, fn: Callable[[], T], default: T) -> T:
        """A call the snapshot can do without: a failure becomes a note (credential errors
        still raise, because nothing else would work either)."""
        try:
            return fn()
        except (ClientError, BotoCoreError, OSError) as exc:
            if _fatal(exc):
                words, code = explain(exc)
                raise ObserveError(words, code) from None
            parts.failed(key, what, exc)
            return default

    def identity(self, parts: Parts) -> str | None:
        """The caller's account. Only nice to have (the account shown in the header): a
        throttled STS costs a note, while bad credentials or a dark endpoint still end the
        snapshot here. None when it could not be read."""
        sts = self.client("sts")
        try:
            ident = sts.get_caller_identity()
        except (ClientError, BotoCoreError, OSError) as exc:
            if _fatal(exc) or not isinstance(exc, ClientError):
                words, code = explain(exc)
                raise ObserveError(words, code) from None
            parts.failed("identity", "the caller's identity", exc)
            return None
        return ident.get("Account")


def pages(client: Any, operation: str, **params: Any) -> Iterable[dict]:
    """Every page of a paginated call, through botocore's own paginator for it."""
    return client.get_paginator(operation).paginate(**params)


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
