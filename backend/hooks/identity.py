"""Which instance the hook runs on, and in which region: --instance-id and --region, else
instance metadata (IMDSv2, token first)."""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from .errors import HookError, HookUsage
from .options import HookOptions

DEFAULT_IMDS = "http://169.254.169.254/"


@dataclass(frozen=True)
class Identity:
    instance_id: str
    region: str | None = None
    availability_zone: str | None = None


class ImdsError(HookError):
    pass


class Imds:
    """Instance metadata, IMDSv2 first.

    The token PUT comes first; only a 404 or 405 to it (an old proxy in the way) falls back to
    IMDSv1. A 401 on a GET with a token means the token expired: fetch a new one, once. Each
    request has a 1 s timeout and up to 3 attempts with full-jitter backoff.
    """

    TOKEN_TTL = "21600"

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout: float = 1.0,
        attempts: int = 3,
        rng: random.Random | None = None,
    ) -> None:
        self.endpoint = endpoint or DEFAULT_IMDS
        self.timeout = timeout
        self.attempts = attempts
        self.rng = rng or random.Random()
        self._token: str | None = None
        self._v1 = False

    def url(self, path: str) -> str:
        """Joined like botocore's IMDSFetcher: the endpoint may carry a path prefix."""
        sep = "" if self.endpoint.endswith("/") else "/"
        return f"{self.endpoint}{sep}{path}"

    def _request(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body); connection problems are retried, then raise ImdsError."""
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.rng.uniform(0, min(1.0, 0.1 * 2**attempt)))
            req = urllib.request.Request(self.url(path), method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return resp.status, resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code >= 500 or exc.code == 429:
                    last = exc
                    continue
                return exc.code, b""
            except (urllib.error.URLError, OSError) as exc:
                last = exc
        reason = getattr(last, "reason", last)
        raise ImdsError(f"instance metadata at {self.endpoint} did not answer: {reason}")

    def _fetch_token(self) -> None:
        status, body = self._request(
            "PUT", "latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": self.TOKEN_TTL}
        )
        if status == 200 and body:
            self._token = body.decode().strip()
        elif status in (404, 405):
            self._v1 = True  # an old proxy that only passes IMDSv1
        else:
            raise ImdsError(f"instance metadata refused a session token (HTTP {status})")

    def get(self, path: str) -> str:
        if self._token is None and not self._v1:
            self._fetch_token()
        for retry in (True, False):
            headers = {} if self._v1 else {"X-aws-ec2-metadata-token": self._token or ""}
            status, body = self._request("GET", path, headers)
            if status == 200:
                return body.decode()
            if status == 401 and not self._v1 and retry:
                self._fetch_token()  # the token expired: a new one, once
                continue
            raise ImdsError(f"instance metadata {path}: HTTP {status}")
        raise ImdsError(f"instance metadata {path}: no answer")  # pragma: no cover

    def identity(self) -> Identity:
        instance_id = self.get("latest/meta-data/instance-id").strip()
        try:
            doc = json.loads(self.get("latest/dynamic/instance-identity/document"))
        except ValueError:
            raise ImdsError("instance metadata: the identity document is not JSON") from None
        return Identity(
            instance_id=instance_id or doc.get("instanceId", ""),
            region=doc.get("region"),
            availability_zone=doc.get("availabilityZone"),
        )


def find_identity(options: HookOptions, env: dict[str, str]) -> Identity:
    """--instance-id, else instance metadata (unless AWS_EC2_METADATA_DISABLED=true)."""
    disabled = env.get("AWS_EC2_METADATA_DISABLED", "").strip().lower() == "true"
    region = options.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    if options.instance_id:
        if region or disabled:
            return Identity(options.instance_id, region)
        # The instance id is known, the region is not: the identity document has it.
        try:
            ident = Imds(env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")).identity()
        except ImdsError as exc:
            raise HookUsage(
                f"--region: no AWS region (pass --region or set AWS_REGION; {exc})"
            ) from None
        return Identity(options.instance_id, ident.region, ident.availability_zone)
    if disabled:
        raise HookUsage(
            "--instance-id: required when AWS_EC2_METADATA_DISABLED=true "
            "(instance metadata is switched off)"
        )
    ident = Imds(env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")).identity()
    if not ident.instance_id:
        raise ImdsError("instance metadata gave no instance id")
    return Identity(ident.instance_id, region or ident.region, ident.availability_zone)
