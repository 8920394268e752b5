"""The instance metadata service (IMDS) of every sandbox instance, on one local HTTP server.

EC2 answers each instance at http://169.254.169.254/; the sandbox answers instance `i-...` at
`http://127.0.0.1:PORT/i-.../`, the value for its AWS_EC2_METADATA_SERVICE_ENDPOINT (botocore
joins `latest/...` onto it). Both versions of the protocol, as EC2 speaks them:

- IMDSv2: `PUT latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1 to 21600) gives
  a token bound to that instance, valid for that many REAL seconds (a token is a client's
  session, not something the sandbox clock should age); a request carrying
  `X-Forwarded-For` is refused with 403, a missing or bad TTL with 400. GETs then send it as
  `X-aws-ec2-metadata-token`; an invalid or expired token is 401.
- IMDSv1: GETs without a token answer, unless the scenario makes tokens required
  (`imds: {tokens: required}`, EC2's HttpTokens=required): then 401.

Unknown instances and paths are 404; an instance that is not pending or running (stopped,
terminated) answers nothing at all: the connection is closed, as nothing listens there.
`iam/security-credentials/<role>` hands out the sandbox's own credentials, so botocore's
credential chain on an "instance" works as on EC2.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from cutover.sandbox.world import World

log = logging.getLogger("cutover.sandbox")

ROLE_NAME = "cutover-sandbox-instance"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600
TOKEN_MODES = ("optional", "required")
# The session token handed out with the sandbox's credentials (the sandbox checks no
# signature, but clients expect a token with role credentials).
SESSION_TOKEN = "SandboxInstanceRoleSessionToken" + "x" * 32


class MetadataService:
    """One aiohttp server answering every instance's metadata under `/<instance-id>/`.

    `start()` / `stop()` run on the sandbox's loop; `url(instance_id)` is what a process on
    that instance sets AWS_EC2_METADATA_SERVICE_ENDPOINT to.
    """

    def __init__(
        self,
        world: World,
        *,
        access_key: str,
        secret_key: str,
        tokens: str = "optional",
    ) -> None:
        if tokens not in TOKEN_MODES:
            raise ValueError(f"tokens must be one of {', '.join(TOKEN_MODES)}")
        self.world = world
        self.access_key = access_key
        self.secret_key = secret_key
        self.tokens_required = tokens == "required"
        # token -> (instance id, monotonic expiry)
        self._tokens: dict[str, tuple[str, float]] = {}
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def url(self, instance_id: str) -> str:
        """The AWS_EC2_METADATA_SERVICE_ENDPOINT of an instance (ends with `/`)."""
        return f"{self.base_url}{instance_id}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{instance_id}/{path:.*}", self._handle)
        app.router.add_route("*", "/{instance_id}", self._handle)
        # Metadata answers are instant: do not wait the default minute for handlers on stop.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----- requests -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        iid = request.match_info["instance_id"]
        path = request.match_info.get("path", "")
        with self.world.lock:
            inst = self.world.instances.get(iid)
            if inst is None:
                return _text("Not Found", 404)
            if inst.state not in ("pending", "running"):
                # Nothing runs on a stopped or terminated instance to ask.
                if request.transport is not None:
                    request.transport.close()
                return _text("", 404)
            facts = self._facts(inst)
        if path.rstrip("/") == "latest/api/token":
            if request.method != "PUT":
                return _text("Method Not Allowed", 405)
            return self._token(request, iid)
        if request.method not in ("GET", "HEAD"):
            return _text("Method Not Allowed", 405)
        token = request.headers.get(TOKEN_HEADER)
        if token is not None or self.tokens_required:
            bound = self._tokens.get(token or "")
            if bound is None or bound[0] != iid or bound[1] <= time.monotonic():
                return _text("Unauthorized", 401)
        value = _lookup(self._tree(facts), path)
        if value is None:
            return _text("Not Found", 404)
        return _text(value, 200)

    def _token(self, request: web.Request, iid: str) -> web.Response:
        if "X-Forwarded-For" in request.headers:
            return _text("Forbidden", 403)
        raw = request.headers.get(TOKEN_TTL_HEADER, "")
        try:
            ttl = int(raw)
        except ValueError:
            return _text("Bad Request", 400)
        if not 1 <= ttl <= MAX_TTL:
            return _text("Bad Request", 400)
        now = time.monotonic()
        if len(self._tokens) > 1000:
            self._tokens = {t: b for t, b in self._tokens.items() if b[1] > now}
        token = secrets.token_urlsafe(42)
        self._tokens[token] = (iid, now + ttl)
        response = _text(token, 200)
        response.headers[TOKEN_TTL_HEADER] = str(ttl)
        return response

    # ----- what an instance sees ------------------------------------------------------------

    def _facts(self, inst: Any) -> dict:
        world = self.world
        return {
            "instance_id": inst.id,
            "instance_type": inst.instance_type,
            "az": inst.az,
            "region": world.region,
            "account_id": world.account_id,
            "image_id": inst.image_id,
            "private_ip": inst.private_ip,
            "launch_time": inst.launch_time,
        }

    def _tree(self, f: dict) -> dict:
        hostname = "ip-" + f["private_ip"].replace(".", "-") + ".ec2.internal"
        # Credentials age in real time: botocore compares Expiration with the laptop's clock.
        now = datetime.now(UTC).replace(microsecond=0)
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        credentials = {
            "Code": "Success",
            "LastUpdated": now.strftime(stamp),
            "Type": "AWS-HMAC",
            "AccessKeyId": self.access_key,
            "SecretAccessKey": self.secret_key,
            "Token": SESSION_TOKEN,
            "Expiration": (now + timedelta(hours=6)).strftime(stamp),
        }
        info = {
            "Code": "Success",
            "LastUpdated": now.strftime(stamp),
            "InstanceProfileArn": f"arn:aws:iam::{f['account_id']}:instance-profile/{ROLE_NAME}",
            "InstanceProfileId": "AIPASANDBOXINSTANCE01",
        }
        document = {
            "accountId": f["account_id"],
            "architecture": "x86_64",
            "availabilityZone": f["az"],
            "billingProducts": None,
            "devpayProductCodes": None,
            "marketplaceProductCodes": None,
            "imageId": f["image_id"],
            "instanceId": f["instance_id"],
            "instanceType": f["instance_type"],
            "kernelId": None,
            "pendingTime": f["launch_time"].astimezone(UTC).strftime(stamp),
            "privateIp": f["private_ip"],
            "ramdiskId": None,
            "region": f["region"],
            "version": "2017-09-30",
        }
        return {
            "latest": {
                "api": {"token": None},
                "meta-data": {
                    "ami-id": f["image_id"],
                    "hostname": hostname,
                    "iam": {
                        "info": json.dumps(info, indent=2),
                        "security-credentials": {ROLE_NAME: json.dumps(credentials, indent=2)},
                    },
                    "instance-id": f["instance_id"],
                    "instance-type": f["instance_type"],
                    "local-hostname": hostname,
                    "local-ipv4": f["private_ip"],
                    "placement": {
                        "availability-zone": f["az"],
                        "region": f["region"],
                    },
                },
                "dynamic": {"instance-identity": {"document": json.dumps(document, indent=2)}},
            }
        }


def _lookup(tree: dict, path: str) -> str | None:
    """The text at `path`: a leaf's value, or a directory's listing (subdirectories end with
    `/`), as IMDS answers both with and without a trailing slash."""
    node: Any = tree
    for part in [p for p in path.split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if node is None:
        return None
    if isinstance(node, dict):
        return "\n".join(k + "/" if isinstance(v, dict) else k for k, v in node.items())
    return str(node)


def _text(body: str, status: int) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/plain")
