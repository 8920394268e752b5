"""Moved to `cutover.backend.aws.errors` (the one AWS error vocabulary); these names stay
importable from here while their callers move."""

from __future__ import annotations

from cutover.backend.aws.errors import PLAIN, describe_aws_error

__all__ = ["PLAIN", "describe_aws_error"]
