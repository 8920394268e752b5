"""AWS errors in plain words, always with their AWS error code."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

PLAIN = {
    "AccessDenied": "access denied",
    "AccessDeniedException": "access denied",
    "UnauthorizedOperation": "access denied",
    "ExpiredToken": "the credentials have expired",
    "ExpiredTokenException": "the credentials have expired",
    "InvalidClientTokenId": "the credentials were rejected",
    "UnrecognizedClientException": "the credentials were rejected",
    "SignatureDoesNotMatch": "the credentials were rejected",
    "AuthFailure": "the credentials were rejected",
    "Throttling": "AWS is throttling requests",
    "ThrottlingException": "AWS is throttling requests",
    "RequestLimitExceeded": "AWS is throttling requests",
    "DeploymentDoesNotExistException": "no such deployment",
    "DeploymentGroupDoesNotExistException": "no such deployment group",
    "ApplicationDoesNotExistException": "no such application",
    "DeploymentIsNotInReadyStateException": "the deployment is not waiting for that",
    "DeploymentAlreadyCompletedException": "the deployment has already finished",
    "InvalidDeploymentWaitTypeException": "the deployment is not in that wait",
    "UnsupportedActionForDeploymentTypeException": "not possible for this type of deployment",
    "DeploymentLimitExceededException": "another deployment is already running in this group",
    "InvalidRevisionException": "the revision is not valid",
    "RevisionDoesNotExistException": "no such revision",
    "TargetGroupNotFound": "no such target group",
    "ListenerNotFound": "no such listener",
}


def describe_aws_error(exc: BaseException) -> str:
    """One line: what went wrong in plain words, then AWS's message and code.

    e.g. `access denied: User … is not authorized to perform codedeploy:StopDeployment
    (AWS error AccessDeniedException)`.
    """
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or "Unknown"
        message = (err.get("Message") or "").strip().rstrip(".")
        op = getattr(exc, "operation_name", None)
        plain = PLAIN.get(code)
        parts = [p for p in (plain, message) if p]
        where = f" in {op}" if op else ""
        return f"{': '.join(parts) or 'AWS refused the request'}{where} (AWS error {code})"
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or --profile, or sign in (aws sso login)"
    if isinstance(exc, ProfileNotFound):
        return f"--profile: {exc}"
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return f"cannot reach AWS: {exc}"
    if isinstance(exc, ReadTimeoutError):
        return f"AWS did not answer in time: {exc}"
    if isinstance(exc, BotoCoreError):
        return f"AWS request failed: {exc}"
    return str(exc) or type(exc).__name__
