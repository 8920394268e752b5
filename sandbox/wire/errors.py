"""Exceptions a service handler (or the request hook) raises to answer with an AWS error."""

from __future__ import annotations


class ApiError(Exception):
    """An AWS error response.

    ``code`` is the error code boto3 reports as ``Error.Code`` (for example
    ``DeploymentDoesNotExistException`` or ``TargetGroupNotFound``). When ``code`` is not a
    modeled error code but is the name of a modeled error shape whose wire code differs (elbv2's
    ``TargetGroupNotFoundException`` is sent as ``TargetGroupNotFound``), the wire code is sent,
    so boto3 still raises the modeled exception class.

    ``status`` is the HTTP status; when None it comes from the service model's error shape
    (``error.httpStatusCode``), else 400.
    """

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class Throttled(Exception):
    """Answer with the protocol's own throttling error, which botocore retries.

    ec2: ``RequestLimitExceeded`` (HTTP 503); query services: ``Throttling`` (400, Sender);
    json and rpc-v2-cbor services: ``ThrottlingException`` (400).
    """

    def __init__(self, message: str = "Rate exceeded") -> None:
        super().__init__(message)
        self.message = message
