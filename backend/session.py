"""Moved to `cutover.backend.aws.session` and `cutover.backend.aws.clock`; these names stay
importable from here while their callers move."""

from __future__ import annotations

from cutover.backend.aws.clock import ServerClock
from cutover.backend.aws.session import SERVICES, AwsSession, resolve_region

__all__ = ["SERVICES", "AwsSession", "ServerClock", "resolve_region"]
