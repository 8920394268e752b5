"""One vocabulary of AWS errors: what a code means, and how an error reads to a person.

- `THROTTLING_CODES`: AWS refused for the request rate; nothing was done (botocore's
  standard retry mode counts the same codes as throttling).
- `REFUSALS`: a change refused before AWS did anything (throttling, and Auto Scaling's
  ResourceContention, "You already have a pending update"): sending it again is safe.
- `CREDENTIAL_CODES`: the credentials themselves are wrong, so nothing else will work either
  (with the sentence that says so); `is_fatal` tells such an error.
- `NOT_FOUND_CODES`: the application, group or deployment asked for is not there (templates
  naming it); `GONE_CODES`: the deployment asked for does not exist (any more).
- `PLAIN`: the short words put before AWS's own message by `describe_aws_error`.

Two renderings, for two readers: `describe_aws_error` is the one line an action or a hook
ends with (AWS's message and its code); `explain` gives (plain words, code) for a snapshot's
notes and `ObserveError`, where the code travels separately.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
REFUSALS = THROTTLING_CODES | {"ResourceContention"}

# Error codes that mean the credentials themselves are wrong: nothing else will work either.
CREDENTIAL_CODES = {
    "ExpiredToken": "the AWS credentials have expired; refresh them (e.g. aws sso login)",
    "ExpiredTokenException": "the AWS credentials have expired; refresh them (e.g. aws sso login)",
    "RequestExpired": "the request expired: is this machine's clock right?",
    "InvalidClientTokenId": "the AWS access key is not valid",
    "UnrecognizedClientException": "the AWS access key is not valid",
    "InvalidSignatureException": "the AWS secret key does not match the access key",
    "SignatureDoesNotMatch": "the AWS secret key does not match the access key",
    "AuthFailure": "AWS did not accept the credentials",
    "IncompleteSignature": "the request signature is incomplete",
    "MissingAuthenticationToken": "no AWS credentials were sent",
}
# What the snapshot asked for is not there: the words name it ({app}, {group}, {deployment}).
NOT_FOUND_CODES = {
    "ApplicationDoesNotExistException": "application {app} does not exist",
    "DeploymentGroupDoesNotExistException": "deployment group {group} of {app} does not exist",
    "DeploymentDoesNotExistException": "deployment {deployment} does not exist",
    "InvalidDeploymentIdException": "{deployment} is not a deployment id",
}
# The deployment asked for is not there (an endpoint reset, a mistyped id): stop asking for it.
GONE_CODES = frozenset({"DeploymentDoesNotExistException", "InvalidDeploymentIdException"})

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


def error_code(exc: BaseException) -> str | None:
    """AWS's error code of a ClientError (None for any other error)."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


def explain(exc: BaseException) -> tuple[str, str | None]:
    """(plain words, code) for a boto3 / botocore error: AWS's code, or the botocore error's
    name when AWS never answered (None for anything else)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "Unknown")
        message = str(err.get("Message") or "").strip()
        if code in CREDENTIAL_CODES:
            return CREDENTIAL_CODES[code], code
        if code in THROTTLING_CODES:
            return "AWS is throttling requests (retried, still throttled)", code
        if code.startswith("AccessDenied") or code == "UnauthorizedOperation":
            op = exc.operation_name
            return f"access denied to {op}" + (f": {message}" if message else ""), code
        return message or f"{exc.operation_name} failed", code
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no usable AWS credentials found (set AWS_PROFILE, --profile or the AWS_ACCESS_KEY_ID"
            " variables)",
            type(exc).__name__,
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or "the AWS endpoint"
        return f"cannot reach {url}", type(exc).__name__
    if isinstance(exc, ReadTimeoutError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or "AWS"
        return f"{url} did not answer in time", type(exc).__name__
    if isinstance(exc, BotoCoreError):
        return str(exc), type(exc).__name__
    return f"{type(exc).__name__}: {exc}", None


def is_fatal(exc: BaseException) -> bool:
    """Whether the credentials are at fault (missing or refused): then any snapshot is
    meaningless, whichever call met the error."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return True
    return error_code(exc) in CREDENTIAL_CODES


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
