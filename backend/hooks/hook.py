"""In-place appspec hooks: take an instance out of service (`deregister`, ApplicationStop) and
put it back (`register`, ApplicationStart).

What AWS's public sample scripts do, without their problems (docs/hooks.md lists each one):
instance identity from IMDSv2 (token first); every target state understood; an `unhealthy`
target fails at once (ELB only says so after the group's unhealthy threshold); the Auto Scaling
path also waits on target-group and classic load balancer state; what was changed is recorded
in tags (`cutover:hook:*`), so a later run restores MinSize and suspended processes even after
a failed deployment, holding what they set so that a MinSize someone changed since is never
undone; timeouts derived from the groups' own settings and measured in the server's time;
full-jitter retries of reads and polling; each change sent once, a lost answer read back
(`Hook.send`).

The caller gives a `Reporter` for the one-line-per-step output; failures raise `HookError`
(exit 1) or `HookUsage` (exit 2) with one line saying why. No textual, no sandbox import.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as NotSentError
from cutover.backend.aws.clock import ServerClock
from cutover.backend.aws.errors import REFUSALS, describe_aws_error
from cutover.backend.config import DEFAULT_SUSPEND_PROCESSES, HookSettings

TAG_HOME = "cutover:hook:home"
TAG_OUT = "cutover:hook:out"
TAG_MIN_SIZE = "cutover:hook:min-size"
TAG_SUSPENDED = "cutover:hook:suspended"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_IMDS = "http://169.254.169.254/"
# Classic Load Balancer InstanceState descriptions (the API reference's list), lowercased.
DRAINING_TEXT = "deregistration currently in progress"
NOT_REGISTERED_TEXT = "instance is not currently registered with the loadbalancer"
UNHEALTHY_TEXT = "instance has failed at least the unhealthythreshold number of health checks"
STOPPED_TEXTS = ("instance is in stopped state", "instance is in terminated state")
# Without any load balancer to derive it from (an Auto Scaling group with none attached).
FALLBACK_TIMEOUT = 300.0
# Tries of a change refused before AWS did anything (the reads' retry budget, too).
SEND_ATTEMPTS = 10


class HookError(Exception):
    """The hook failed; str() is the one line saying why (exit 1)."""

    code = EXIT_FAILED


class HookUsage(HookError):
    """Bad input: str() names the flag, variable or config line (exit 2)."""

    code = EXIT_USAGE


# ----- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentEnv:
    """CodeDeploy's hook variables (for the log and the `cutover:hook:out` tag)."""

    deployment_id: str | None = None
    group: str | None = None
    application: str | None = None
    event: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DeploymentEnv:
        return cls(
            deployment_id=env.get("DEPLOYMENT_ID") or None,
            group=env.get("DEPLOYMENT_GROUP_NAME") or None,
            application=env.get("APPLICATION_NAME") or None,
            event=env.get("LIFECYCLE_EVENT") or None,
        )


@dataclass(frozen=True)
class HookOptions:
    """Everything one run needs, already merged (flags > env > config)."""

    action: str  # "deregister" | "register"
    instance_id: str | None = None
    region: str | None = None
    target_groups: tuple[str, ...] = ()
    elbs: tuple[str, ...] = ()
    port: int | None = None
    timeout: float | None = None
    suspend_processes: tuple[str, ...] = DEFAULT_SUSPEND_PROCESSES
    lower_min_size: bool = True
    # Whether target_groups/elbs were given at all (else register falls back to the home tag).
    configured: bool = False
    deployment: DeploymentEnv = field(default_factory=DeploymentEnv)


def split_list(text: str) -> list[str]:
    """TARGET_GROUP_LIST / ELB_LIST: names separated by spaces or commas, as the scripts take."""
    return [part for part in text.replace(",", " ").split() if part]


def merge_options(
    action: str,
    *,
    flags: dict[str, Any],
    env: dict[str, str],
    settings: HookSettings,
) -> HookOptions:
    """Flags > TARGET_GROUP_LIST / ELB_LIST / PORT > the config's settings for the group.

    `flags` holds target_groups, elbs, port, instance_id, region, timeout (None when absent).
    A bad PORT raises HookUsage naming the variable.
    """
    tgs: tuple[str, ...] | None = None
    elbs: tuple[str, ...] | None = None
    if flags.get("target_groups") is not None or flags.get("elbs") is not None:
        tgs = tuple(_names(flags.get("target_groups") or []))
        elbs = tuple(_names(flags.get("elbs") or []))
    elif env.get("TARGET_GROUP_LIST", "").strip() or env.get("ELB_LIST", "").strip():
        tgs = tuple(split_list(env.get("TARGET_GROUP_LIST", "")))
        elbs = tuple(split_list(env.get("ELB_LIST", "")))
    elif settings.target_groups or settings.elbs:
        tgs, elbs = settings.target_groups, settings.elbs
    port = flags.get("port")
    if port is None and env.get("PORT", "").strip():
        text = env["PORT"].strip()
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise HookUsage(f"PORT: '{text}' is not a port number (1-65535)")
        port = int(text)
    if port is None:
        port = settings.port
    return HookOptions(
        action=action,
        instance_id=flags.get("instance_id") or None,
        region=flags.get("region") or None,
        target_groups=tgs or (),
        elbs=elbs or (),
        port=port,
        timeout=flags.get("timeout"),
        suspend_processes=settings.suspend_processes,
        lower_min_size=settings.lower_min_size,
        configured=tgs is not None and bool(tgs or elbs),
        deployment=DeploymentEnv.from_env(env),
    )


def _names(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(split_list(value))
    return list(dict.fromkeys(out))


# ----- output ---------------------------------------------------------------------------------


class Reporter:
    """One line per step: `cutover hook deregister: i-0abc: message` (the CodeDeploy agent adds
    its own timestamps and [stdout]/[stderr] prefixes)."""

    def __init__(self, action: str, out: Any, err: Any) -> None:
        self.action = action
        self.instance_id: str | None = None
        self.out = out
        self.err = err

    def _line(self, message: str) -> str:
        who = f"{self.instance_id}: " if self.instance_id else ""
        return f"cutover hook {self.action}: {who}{message}"

    def info(self, message: str) -> None:
        print(self._line(message), file=self.out, flush=True)

    def error(self, message: str) -> None:
        print(self._line(message), file=self.err, flush=True)


# ----- instance metadata ----------------------------------------------------------------------


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


# ----- what target states mean ----------------------------------------------------------------

DONE, WAIT, FAIL, REREGISTER = "done", "wait", "fail", "reregister"


@dataclass(frozen=True)
class Verdict:
    action: str  # DONE | WAIT | FAIL | REREGISTER
    note: str = ""  # for the log (why done / why failed)


def target_verdict(
    state: str, reason: str | None, description: str | None, *, into: bool
) -> Verdict:
    """What one ELBv2 registration's health means while putting the instance in (`into`) or
    taking it out. Every state DescribeTargetHealth reports is handled; an unknown one waits."""
    why = f"{reason}: {description}" if reason and description else (reason or description or "")
    if not into:
        if state == "unused" and reason in (None, "Target.NotRegistered"):
            return Verdict(DONE)
        return Verdict(WAIT)  # draining, unhealthy.draining, or the deregistration not seen yet
    if state == "healthy":
        return Verdict(DONE)
    if state == "unavailable":
        # Health checks are off: ELB sends traffic to every registered target.
        return Verdict(DONE, f"health checks are disabled ({why}); registered counts as in")
    if state == "initial":
        return Verdict(WAIT)
    if state == "unhealthy":
        # ELB reports unhealthy only after UnhealthyThresholdCount failed checks: waiting on
        # cannot help. Elb.* reasons are the load balancer's own trouble: wait.
        if reason and reason.startswith("Elb."):
            return Verdict(WAIT, why)
        return Verdict(FAIL, f"unhealthy ({why})" if why else "unhealthy")
    if state == "unused":
        if reason in (None, "Target.NotRegistered"):
            return Verdict(WAIT)  # just registered: not visible yet
        if reason == "Target.NotInUse":
            return Verdict(
                FAIL, f"the target group is not used by any load balancer listener ({why})"
            )
        return Verdict(FAIL, f"cannot be used ({why})")  # Target.InvalidState, Target.IpUnusable
    if state in ("draining", "unhealthy.draining"):
        return Verdict(REREGISTER, why)
    return Verdict(WAIT, f"unknown state {state} ({why})")


def classic_registered(state: str | None, description: str | None) -> bool:
    """Whether a DescribeInstanceHealth answer is a registration (draining included).

    Asked about one instance, a Classic Load Balancer answers even once it is no longer
    registered: OutOfService, "Instance is not currently registered with the LoadBalancer."
    (InvalidInstance, state None here, for an instance it never had)."""
    return state is not None and NOT_REGISTERED_TEXT not in (description or "").lower()


def classic_verdict(
    state: str | None, reason: str | None, description: str | None, *, into: bool
) -> Verdict:
    """What a Classic Load Balancer's DescribeInstanceHealth answer means (state None: the
    instance is not registered). Classic has no separate initial/unhealthy states: the
    documented descriptions tell them apart."""
    text = (description or "").lower()
    draining = DRAINING_TEXT in text
    registered = classic_registered(state, description)
    if not into:
        if not registered or (state == "OutOfService" and not draining):
            return Verdict(DONE)
        return Verdict(WAIT)
    if not registered:
        return Verdict(REREGISTER, "not registered")
    if state == "InService":
        return Verdict(REREGISTER, description or "") if draining else Verdict(DONE)
    if UNHEALTHY_TEXT in text or any(t in text for t in STOPPED_TEXTS):
        # The unhealthy threshold reached, or an instance that cannot serve: waiting on cannot
        # help. "Instance has not passed the configured HealthyThreshold number of health
        # checks consecutively." (ReasonCode Instance too) is only not healthy yet.
        return Verdict(FAIL, f"OutOfService ({description})")
    return Verdict(WAIT)


# ----- the MinSize record ---------------------------------------------------------------------


def parse_min_size_record(text: str) -> tuple[int, int] | None:
    """`cutover:hook:min-size` -> (MinSize before the hooks lowered it, MinSize they set).

    `4>3`: it was 4 and the hooks set 3. `4`, the form earlier versions wrote (they always
    lowered by one): (4, 3). None for anything else.
    """
    original, sep, lowered = text.strip().partition(">")
    original, lowered = original.strip(), lowered.strip()
    if not original.isdigit() or (sep and not lowered.isdigit()):
        return None
    before = int(original)
    after = int(lowered) if sep else before - 1
    return (before, after) if 0 <= after < before else None


def min_size_changed(asg_name: str, current: int, record: tuple[int, int]) -> str:
    return (
        f"MinSize of {asg_name} is {current}, not the {record[1]} the hooks set: changed by"
        " someone else since"
    )


# ----- lost answers ---------------------------------------------------------------------------


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


# ----- timeouts -------------------------------------------------------------------------------


def tg_timeout(attrs: dict[str, str], tg: dict, *, into: bool) -> float:
    """Seconds to allow for one target group, from its own settings."""
    interval = float(tg.get("HealthCheckIntervalSeconds") or 30)
    if into:
        healthy = float(tg.get("HealthyThresholdCount") or 5)
        hc_timeout = float(tg.get("HealthCheckTimeoutSeconds") or 5)
        return (healthy + 1) * interval + hc_timeout + 60
    delay = float(attrs.get("deregistration_delay.timeout_seconds", 300))
    return delay + 2 * interval + 30


def clb_timeout(attrs: dict, lb: dict, *, into: bool) -> float:
    hc = lb.get("HealthCheck") or {}
    interval = float(hc.get("Interval") or 30)
    if into:
        healthy = float(hc.get("HealthyThreshold") or 10)
        return (healthy + 1) * interval + float(hc.get("Timeout") or 5) + 60
    drain = attrs.get("ConnectionDraining") or {}
    delay = float(drain.get("Timeout") or 300) if drain.get("Enabled") else 0.0
    return delay + 2 * interval + 30


# ----- places the instance serves from --------------------------------------------------------


@dataclass
class TgPlace:
    name: str
    arn: str
    ports: list[int]  # the registrations this run removes, waits on or restores
    info: dict = field(default_factory=dict)
    managed: bool = False  # attached to the instance's Auto Scaling group (standby moves it)


@dataclass
class ClbPlace:
    name: str
    info: dict = field(default_factory=dict)
    managed: bool = False


def parse_home(text: str) -> tuple[str | None, list[tuple[str, int]], list[str]]:
    """`asg/NAME tg/NAME/PORT elb/NAME ...` -> (asg, [(tg, port)], [elb])."""
    asg: str | None = None
    tgs: list[tuple[str, int]] = []
    elbs: list[str] = []
    for entry in text.split():
        kind, _, rest = entry.partition("/")
        if kind == "asg" and rest:
            asg = rest
        elif kind == "tg":
            name, _, port = rest.rpartition("/")
            if name and port.isdigit():
                tgs.append((name, int(port)))
        elif kind == "elb" and rest:
            elbs.append(rest)
    return asg, tgs, elbs


def home_text(asg: str | None, tgs: Iterable[TgPlace], clbs: Iterable[ClbPlace]) -> str:
    parts = [f"asg/{asg}"] if asg else []
    for tg in tgs:
        parts.extend(f"tg/{tg.name}/{port}" for port in tg.ports)
    parts.extend(f"elb/{clb.name}" for clb in clbs)
    return " ".join(dict.fromkeys(parts))


# ----- the hook -------------------------------------------------------------------------------


class Hook:
    """One run of `cutover hook deregister|register` for one instance."""

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
                error = exc.response.get("Error", {})
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if error.get("Code") in REFUSALS:
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

    # ----- what a change looks like once done (for send's read-back) --------------------------

    def lifecycle_is(self, asg: str, *wanted: str) -> Callable[[], tuple[bool, str]]:
        def check() -> tuple[bool, str]:
            member = self.membership()
            state = member["LifecycleState"] if member else "not a member"
            return state in wanted, f"{self.instance_id} is {state} in {asg}"

        return check

    def group_shows(
        self, asg: str, done: Callable[[dict], bool], what: Callable[[dict], str]
    ) -> Callable[[], tuple[bool, str]]:
        def check() -> tuple[bool, str]:
            group = self.group(asg)
            return done(group), f"{asg} {what(group)}"

        return check

    def group_tags_are(self, asg: str, wanted: dict[str, str | None]) -> Callable:
        """`wanted`: key -> value, None for absent."""

        def done(group: dict) -> bool:
            tags = self._group_tags(group)
            return all(tags.get(k) == v for k, v in wanted.items())

        def what(group: dict) -> str:
            tags = self._group_tags(group)
            return "has " + ", ".join(
                f"{k}={tags[k]!r}" if k in tags else f"no {k}" for k in wanted
            )

        return self.group_shows(asg, done, what)

    def instance_tags_are(self, wanted: dict[str, str | None]) -> Callable:
        def check() -> tuple[bool, str]:
            tags = self.instance_tags()
            shown = ", ".join(f"{k}={tags[k]!r}" if k in tags else f"no {k}" for k in wanted)
            return all(tags.get(k) == v for k, v in wanted.items()), f"the instance has {shown}"

        return check

    def tg_is(self, tg: TgPlace, ports: Iterable[int], *, into: bool) -> Callable:
        """Registered (any state but unused or draining) or, not `into`, deregistering."""

        def check() -> tuple[bool, str]:
            states = {p: self.tg_health(tg, p) for p in ports}
            out = [
                p
                for p, (state, reason, _) in states.items()
                if state in ("draining", "unhealthy.draining")
                or target_verdict(state, reason, None, into=False).action == DONE
            ]
            done = not out if into else len(out) == len(states)
            shown = ", ".join(f"{tg.name}:{p} {st}" for p, (st, _, _) in states.items())
            return done, shown

        return check

    def min_size_is(self, asg: str, value: int) -> Callable[[], tuple[bool, str]]:
        return self.group_shows(
            asg, lambda g: g["MinSize"] == value, lambda g: f"has MinSize {g['MinSize']}"
        )

    def move_tg(self, tg: TgPlace, ports: Iterable[int], *, into: bool) -> None:
        """Register this instance in (or deregister it from) a target group on `ports`, sent
        once and read back after a lost answer."""
        ports = list(ports)
        self.send(
            "elbv2",
            "register_targets" if into else "deregister_targets",
            self.tg_is(tg, ports, into=into),
            TargetGroupArn=tg.arn,
            Targets=[{"Id": self.instance_id, "Port": p} for p in ports],
        )

    def move_clb(self, name: str, *, into: bool) -> None:
        """The same with a Classic Load Balancer."""
        self.send(
            "elb",
            "register_instances_with_load_balancer"
            if into
            else "deregister_instances_from_load_balancer",
            self.clb_is(name, into=into),
            LoadBalancerName=name,
            Instances=[{"InstanceId": self.instance_id}],
        )

    def clb_is(self, name: str, *, into: bool) -> Callable:
        def check() -> tuple[bool, str]:
            state, _, desc = self.clb_health(name)
            leaving = state is None or DRAINING_TEXT in (desc or "").lower()
            leaving = leaving or (not into and state == "OutOfService")
            shown = f"{name} {state or 'not registered'}" + (f" ({desc})" if desc else "")
            return (not leaving) if into else leaving, shown

        return check

    def _after_call(self, http_response: Any = None, **_: Any) -> None:
        if http_response is not None:
            self.clock.observe(http_response.headers.get("Date"))

    # ----- entry point --------------------------------------------------------------------------

    def run(self) -> int:
        """Do it; returns EXIT_OK, raises HookError/HookUsage (one line) otherwise."""
        try:
            if self.options.action == "deregister":
                self.deregister()
            else:
                self.register()
        except (ClientError, BotoCoreError) as exc:
            raise HookError(describe_aws_error(exc)) from None
        return EXIT_OK

    def _where(self) -> str:
        d = self.options.deployment
        bits = [
            f"deployment {d.deployment_id}" if d.deployment_id else "",
            f"group {d.application}/{d.group}" if d.group else "",
            f"event {d.event}" if d.event else "",
        ]
        return ", ".join(b for b in bits if b)

    # ----- reading --------------------------------------------------------------------------

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
                {"Name": "key", "Values": [TAG_HOME, TAG_OUT]},
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
            if exc.response.get("Error", {}).get("Code") == "InvalidInstance":
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

    # ----- timeouts -------------------------------------------------------------------------

    def derive_timeout(self, tgs: list[TgPlace], clbs: list[ClbPlace], *, into: bool) -> float:
        if self.options.timeout is not None:
            self.say.info(f"timeout {self.options.timeout:g} s (--timeout)")
            return self.options.timeout
        parts: list[tuple[float, str]] = []
        for tg in tgs:
            attrs = {
                a["Key"]: a["Value"]
                for a in self.client("elbv2").describe_target_group_attributes(
                    TargetGroupArn=tg.arn
                )["Attributes"]
            }
            parts.append((tg_timeout(attrs, tg.info, into=into), f"target group {tg.name}"))
        for clb in clbs:
            attrs = self.client("elb").describe_load_balancer_attributes(LoadBalancerName=clb.name)[
                "LoadBalancerAttributes"
            ]
            parts.append((clb_timeout(attrs, clb.info, into=into), f"load balancer {clb.name}"))
        if not parts:
            self.say.info(f"timeout {FALLBACK_TIMEOUT:g} s (no load balancer to derive it from)")
            return FALLBACK_TIMEOUT
        seconds, source = max(parts)
        how = (
            "(healthy threshold + 1) x interval + timeout + 60 s"
            if into
            else "deregistration delay + 2 x interval + 30 s"
        )
        self.say.info(f"timeout {seconds:g} s, from {source}: {how}")
        return seconds

    # ----- tags -------------------------------------------------------------------------------

    def out_value(self) -> str:
        d = self.options.deployment
        now = self.clock.now() if self.clock.known else datetime.now(UTC)
        return f"{d.deployment_id or '-'} {now:%Y-%m-%dT%H:%M:%SZ} {d.event or '-'}"

    def write_instance_tags(self, home: str) -> None:
        out = self.out_value()
        self.send(
            "ec2",
            "create_tags",
            self.instance_tags_are({TAG_HOME: home, TAG_OUT: out}),
            Resources=[self.instance_id],
            Tags=[{"Key": TAG_HOME, "Value": home}, {"Key": TAG_OUT, "Value": out}],
        )
        self.say.info(f"recorded {TAG_HOME}={home!r} and {TAG_OUT} on the instance")

    def delete_out_tag(self) -> None:
        self.send(
            "ec2",
            "delete_tags",
            self.instance_tags_are({TAG_OUT: None}),
            Resources=[self.instance_id],
            Tags=[{"Key": TAG_OUT}],
        )
        self.say.info(f"removed {TAG_OUT}: the instance is back in service")

    # ----- waiting ----------------------------------------------------------------------------

    def wait(
        self,
        what: str,
        check: Callable[[], tuple[bool, str]],
        timeout: float,
    ) -> None:
        """Poll `check` (-> (done, last state text)) until done, measured in server time.

        Spacing grows 0.25 s -> 5 s with full jitter, in real time; `check` raises to fail.
        """
        start = self.clock.now()
        attempt = 0
        last = ""
        while True:
            done, state = check()
            if done:
                return
            if state != last:
                attempt = 0  # something moved: look again soon
                last = state
                self.say.info(f"waiting: {state}")
            elapsed = (self.clock.now() - start).total_seconds()
            if elapsed >= timeout:
                raise HookError(
                    f"timed out after {timeout:g} s waiting for {what}; last seen: {last}"
                )
            ceiling = min(self.poll_cap, self.poll_base * 2**attempt)
            # Never sleep past the deadline (server seconds -> real ones at the clock's rate).
            remaining_real = (timeout - elapsed) / max(self.clock.rate, 1e-6)
            self.sleep(max(0.02, min(self.rng.uniform(0, ceiling), remaining_real)))
            attempt += 1

    def wait_out(self, tgs: list[TgPlace], clbs: list[ClbPlace], timeout: float) -> None:
        pending = {(tg.name, p) for tg in tgs for p in tg.ports} | {c.name for c in clbs}

        def check() -> tuple[bool, str]:
            states = []
            for tg in tgs:
                for port in tg.ports:
                    if (tg.name, port) not in pending:
                        continue
                    state, reason, _ = self.tg_health(tg, port)
                    if target_verdict(state, reason, None, into=False).action == DONE:
                        pending.discard((tg.name, port))
                        self.say.info(f"out of target group {tg.name} (port {port})")
                    else:
                        states.append(f"{tg.name}:{port} {state}")
            for clb in clbs:
                if clb.name not in pending:
                    continue
                state, reason, desc = self.clb_health(clb.name)
                if classic_verdict(state, reason, desc, into=False).action == DONE:
                    pending.discard(clb.name)
                    self.say.info(f"out of load balancer {clb.name}")
                else:
                    states.append(f"{clb.name} {state} ({desc})")
            return not states, ", ".join(states)

        self.wait("the instance to leave its load balancers (draining)", check, timeout)

    def wait_in(self, tgs: list[TgPlace], clbs: list[ClbPlace], timeout: float) -> None:
        pending = {(tg.name, p) for tg in tgs for p in tg.ports} | {c.name for c in clbs}
        by_name = {tg.name: tg for tg in tgs}

        def check() -> tuple[bool, str]:
            states = []
            for name, port in sorted(p for p in pending if isinstance(p, tuple)):
                tg = by_name[name]
                state, reason, desc = self.tg_health(tg, port)
                v = target_verdict(state, reason, desc, into=True)
                where = f"target group {name} (port {port})"
                if v.action == DONE:
                    pending.discard((name, port))
                    self.say.info(
                        f"{'in' if v.note else 'healthy in'} {where}"
                        + (f": {v.note}" if v.note else "")
                    )
                elif v.action == FAIL:
                    raise HookError(f"{v.note} in {where}")
                elif v.action == REREGISTER:
                    self.say.info(f"{state} in {where}: registering again")
                    self.move_tg(tg, [port], into=True)
                    states.append(f"{name}:{port} {state}")
                else:
                    states.append(f"{name}:{port} {state}" + (f" ({reason})" if reason else ""))
            for clb in clbs:
                if clb.name not in pending:
                    continue
                state, reason, desc = self.clb_health(clb.name)
                v = classic_verdict(state, reason, desc, into=True)
                where = f"load balancer {clb.name}"
                if v.action == DONE:
                    pending.discard(clb.name)
                    self.say.info(f"InService in {where}")
                elif v.action == FAIL:
                    raise HookError(f"{v.note} in {where}")
                elif v.action == REREGISTER and not clb.managed:
                    self.say.info(f"{state or 'not registered'} in {where}: registering again")
                    self.move_clb(clb.name, into=True)
                    states.append(f"{clb.name} {state}")
                else:
                    states.append(f"{clb.name} {state or 'not registered'} ({desc})")
            return not states, ", ".join(states)

        self.wait("the instance to be healthy in its load balancers", check, timeout)

    def wait_lifecycle(self, asg: str, wanted: str, timeout: float) -> None:
        def check() -> tuple[bool, str]:
            member = self.membership()
            if member is None:
                raise HookError(f"the instance left Auto Scaling group {asg}")
            state = member["LifecycleState"]
            return state == wanted, f"{asg} {state}"

        self.wait(f"{wanted} in Auto Scaling group {asg}", check, timeout)
        self.say.info(f"{wanted} in Auto Scaling group {asg}")

    # ----- places -----------------------------------------------------------------------------

    def explicit_places(
        self, *, into: bool, home: str | None, exclude_arns: set[str], exclude_elbs: set[str]
    ) -> tuple[list[TgPlace], list[ClbPlace], bool]:
        """The configured target groups / classic LBs (or, registering with nothing configured,
        the home tag's), with the ports to act on. Third value: anything configured at all."""
        opts = self.options
        home_tgs: list[tuple[str, int]] = []
        home_elbs: list[str] = []
        if home:
            _, home_tgs, home_elbs = parse_home(home)
        tg_refs = list(opts.target_groups)
        elb_names = list(opts.elbs)
        from_home = False
        if not opts.configured and into and (home_tgs or home_elbs):
            tg_refs = list(dict.fromkeys(name for name, _ in home_tgs))
            elb_names = home_elbs
            from_home = True
        tgs: list[TgPlace] = []
        for info in self.target_groups(tg_refs):
            if info["TargetGroupArn"] in exclude_arns:
                continue
            name = info["TargetGroupName"]
            tg = TgPlace(name=name, arn=info["TargetGroupArn"], ports=[], info=info)
            if into and opts.port is not None:
                tg.ports = [opts.port]
            elif into:
                recorded = [p for n, p in home_tgs if n == name]
                tg.ports = recorded or [int(info.get("Port") or 80)]
            else:
                found = {r["Target"]["Port"] for r in self.registrations(tg.arn)}
                if opts.port is not None:
                    found &= {opts.port}
                tg.ports = sorted(found)
            tgs.append(tg)
        clbs = [
            ClbPlace(name=lb["LoadBalancerName"], info=lb)
            for lb in self.classic_lbs(n for n in elb_names if n not in exclude_elbs)
        ]
        if from_home and (tgs or clbs):
            self.say.info(f"nothing configured: registering where {TAG_HOME} says ({home})")
        return tgs, clbs, bool(tg_refs or elb_names) or from_home

    # ----- deregister ---------------------------------------------------------------------------

    def deregister(self) -> None:
        where = self._where()
        self.say.info("taking the instance out of service" + (f" ({where})" if where else ""))
        member = self.membership()
        tags = self.instance_tags()
        if member is not None:
            self._deregister_asg(member, tags)
        else:
            self._deregister_plain(tags)

    def _previous_home(self, tags: dict[str, str]) -> str:
        """Entries to keep from an earlier run that took the instance out and never put it back
        (it may be registered nowhere now, and the tag is the only memory of where it was)."""
        return tags.get(TAG_HOME, "") if TAG_OUT in tags else ""

    def _deregister_plain(self, tags: dict[str, str]) -> None:
        tgs, clbs, configured = self.explicit_places(
            into=False, home=None, exclude_arns=set(), exclude_elbs=set()
        )
        if not configured:
            raise HookUsage(
                "no target groups or load balancers: set --target-groups/--elbs, "
                "TARGET_GROUP_LIST/ELB_LIST, or hooks: in the config"
            )
        registered_clbs = []
        for clb in clbs:
            state, _, _ = self.clb_health(clb.name)
            if state is None:
                self.say.info(f"not registered in load balancer {clb.name}: already out")
            else:
                registered_clbs.append(clb)
        for tg in tgs:
            if not tg.ports:
                self.say.info(f"not registered in target group {tg.name}: already out")
        # The home tag names every place it belongs, registered now or not (for register).
        home_tgs = [
            TgPlace(t.name, t.arn, t.ports or [self.options.port or int(t.info.get("Port") or 80)])
            for t in tgs
        ]
        _, old_tgs, old_elbs = parse_home(self._previous_home(tags))
        home = home_text(None, home_tgs, clbs)
        extra = " ".join([f"tg/{n}/{p}" for n, p in old_tgs] + [f"elb/{n}" for n in old_elbs])
        home = " ".join(dict.fromkeys((home + " " + extra).split()))
        self.write_instance_tags(home)
        active_tgs = [t for t in tgs if t.ports]
        if not active_tgs and not registered_clbs:
            self.say.info("not registered anywhere: nothing to take out")
            return
        timeout = self.derive_timeout(active_tgs, registered_clbs, into=False)
        for tg in active_tgs:
            self.move_tg(tg, tg.ports, into=False)
            ports = ", ".join(map(str, tg.ports))
            self.say.info(f"deregistering from target group {tg.name} (port {ports})")
        for clb in registered_clbs:
            self.move_clb(clb.name, into=False)
            self.say.info(f"deregistering from load balancer {clb.name}")
        self.wait_out(active_tgs, registered_clbs, timeout)
        self.say.info("out of service")

    def _group_places(self, group: dict) -> tuple[list[TgPlace], list[ClbPlace]]:
        tgs = []
        for info in self.target_groups(group.get("TargetGroupARNs") or []):
            ports = sorted(
                {r["Target"]["Port"] for r in self.registrations(info["TargetGroupArn"])}
            )
            tgs.append(
                TgPlace(
                    name=info["TargetGroupName"],
                    arn=info["TargetGroupArn"],
                    ports=ports or [int(info.get("Port") or 80)],
                    info=info,
                    managed=True,
                )
            )
        clbs = [
            ClbPlace(name=lb["LoadBalancerName"], info=lb, managed=True)
            for lb in self.classic_lbs(group.get("LoadBalancerNames") or [])
        ]
        return tgs, clbs

    def _deregister_asg(self, member: dict, tags: dict[str, str]) -> None:
        asg_name = member["AutoScalingGroupName"]
        state = member["LifecycleState"]
        self.say.info(f"member of Auto Scaling group {asg_name}, {state}")
        if state not in ("InService", "Standby", "EnteringStandby"):
            # As the sample scripts do: a launching (Pending:Wait) or leaving instance is not
            # serving traffic; there is nothing to take out.
            self.say.info(f"{state}: not in service, nothing to take out (skipped)")
            return
        group = self.group(asg_name)
        tgs, clbs = self._group_places(group)
        extra_tgs, extra_clbs, _ = self.explicit_places(
            into=False,
            home=None,
            exclude_arns={t.arn for t in tgs},
            exclude_elbs={c.name for c in clbs},
        )
        extra_tgs = [t for t in extra_tgs if t.ports]
        _, old_tgs, old_elbs = parse_home(self._previous_home(tags))
        home = home_text(asg_name, [*tgs, *extra_tgs], [*clbs, *extra_clbs])
        extra = " ".join([f"tg/{n}/{p}" for n, p in old_tgs] + [f"elb/{n}" for n in old_elbs])
        home = " ".join(dict.fromkeys((home + " " + extra).split()))
        self.write_instance_tags(home)
        timeout = self.derive_timeout([*tgs, *extra_tgs], [*clbs, *extra_clbs], into=False)
        if state == "InService":
            self._suspend(group)
            self._lower_min_size(group)
            self.send(
                "autoscaling",
                "enter_standby",
                self.lifecycle_is(asg_name, "EnteringStandby", "Standby"),
                AutoScalingGroupName=asg_name,
                InstanceIds=[self.instance_id],
                ShouldDecrementDesiredCapacity=True,
            )
            self.say.info(f"entering Standby in {asg_name} (desired capacity decremented)")
        else:
            self.say.info(f"already {state} (an earlier run?): waiting for it to be out")
        for tg in extra_tgs:
            self.move_tg(tg, tg.ports, into=False)
            self.say.info(f"deregistering from target group {tg.name}")
        for clb in extra_clbs:
            if self.clb_health(clb.name)[0] is not None:
                self.move_clb(clb.name, into=False)
                self.say.info(f"deregistering from load balancer {clb.name}")
        # Standby is not enough: the sample scripts stop there while targets still drain.
        self.wait_out([*tgs, *extra_tgs], [*clbs, *extra_clbs], timeout)
        self.wait_lifecycle(asg_name, "Standby", timeout)
        self.say.info("out of service")

    def _group_tags(self, group: dict) -> dict[str, str]:
        return {t["Key"]: t.get("Value", "") for t in group.get("Tags") or []}

    def _set_group_tag(self, asg_name: str, key: str, value: str) -> None:
        self.send(
            "autoscaling",
            "create_or_update_tags",
            self.group_tags_are(asg_name, {key: value}),
            Tags=[
                {
                    "ResourceId": asg_name,
                    "ResourceType": "auto-scaling-group",
                    "Key": key,
                    "Value": value,
                    "PropagateAtLaunch": False,
                }
            ],
        )

    def _suspend(self, group: dict) -> None:
        name = group["AutoScalingGroupName"]
        already = {p["ProcessName"] for p in group.get("SuspendedProcesses") or []}
        ours = [p for p in self.options.suspend_processes if p not in already]
        if not ours:
            return
        recorded = split_list(self._group_tags(group).get(TAG_SUSPENDED, ""))
        merged = list(dict.fromkeys([*recorded, *ours]))
        # The record first: if the suspend succeeds and we die, the next register resumes them.
        self._set_group_tag(name, TAG_SUSPENDED, ",".join(merged))
        self.send(
            "autoscaling",
            "suspend_processes",
            self.group_shows(
                name,
                lambda g: set(ours) <= _suspended(g),
                lambda g: "has suspended: " + (", ".join(sorted(_suspended(g))) or "nothing"),
            ),
            AutoScalingGroupName=name,
            ScalingProcesses=ours,
        )
        self.say.info(f"suspended {', '.join(ours)} in {name} (recorded in {TAG_SUSPENDED})")

    def _lower_min_size(self, group: dict) -> None:
        """Lower MinSize by one when it equals the desired capacity, recording `ORIGINAL>SET`
        first. With a record whose SET is the current MinSize (another instance still out, or
        an interrupted deployment), lower on from it and keep its ORIGINAL; a record that does
        not match (changed by someone else) is stale: the current value becomes the original."""
        name = group["AutoScalingGroupName"]
        min_size, desired = group["MinSize"], group["DesiredCapacity"]
        if not self.options.lower_min_size or not (min_size == desired > 0):
            return
        raw = self._group_tags(group).get(TAG_MIN_SIZE)
        record = parse_min_size_record(raw) if raw is not None else None
        original = min_size
        if record is not None and min_size == record[1]:
            original = record[0]
        elif record is not None and min_size != record[0]:
            self.say.info(
                f"{min_size_changed(name, min_size, record)}; starting afresh: {min_size} is"
                " the value to restore"
            )
        elif raw is not None and record is None:
            self.say.info(
                f"{TAG_MIN_SIZE}={raw!r} is not a record the hooks wrote; starting afresh:"
                f" {min_size} is the value to restore"
            )
        value = f"{original}>{min_size - 1}"
        # The record first: if the update succeeds and we die, the next register restores it.
        self._set_group_tag(name, TAG_MIN_SIZE, value)
        self.send(
            "autoscaling",
            "update_auto_scaling_group",
            self.min_size_is(name, min_size - 1),
            AutoScalingGroupName=name,
            MinSize=min_size - 1,
        )
        self.say.info(
            f"lowered MinSize of {name} from {min_size} to {min_size - 1}"
            f" (recorded {TAG_MIN_SIZE}={value})"
        )

    # ----- register ---------------------------------------------------------------------------

    def register(self) -> None:
        where = self._where()
        self.say.info("putting the instance back in service" + (f" ({where})" if where else ""))
        member = self.membership()
        tags = self.instance_tags()
        if member is not None:
            self._register_asg(member, tags)
        else:
            self._register_plain(tags)

    def _register_plain(self, tags: dict[str, str]) -> None:
        tgs, clbs, configured = self.explicit_places(
            into=True, home=tags.get(TAG_HOME), exclude_arns=set(), exclude_elbs=set()
        )
        if not configured:
            raise HookUsage(
                "no target groups or load balancers: set --target-groups/--elbs, "
                f"TARGET_GROUP_LIST/ELB_LIST, or hooks: in the config (and no {TAG_HOME} tag)"
            )
        timeout = self.derive_timeout(tgs, clbs, into=True)
        self._register_explicit(tgs, clbs)
        self.wait_in(tgs, clbs, timeout)
        if TAG_OUT in tags:
            self.delete_out_tag()
        self.say.info("in service")

    def _register_explicit(self, tgs: list[TgPlace], clbs: list[ClbPlace]) -> None:
        for tg in tgs:
            self.move_tg(tg, tg.ports, into=True)
            ports = ", ".join(map(str, tg.ports))
            self.say.info(f"registering with target group {tg.name} (port {ports})")
        for clb in clbs:
            self.move_clb(clb.name, into=True)
            self.say.info(f"registering with load balancer {clb.name}")

    def _register_asg(self, member: dict, tags: dict[str, str]) -> None:
        asg_name = member["AutoScalingGroupName"]
        state = member["LifecycleState"]
        self.say.info(f"member of Auto Scaling group {asg_name}, {state}")
        if state not in ("InService", "Standby", "EnteringStandby", "Pending"):
            self.say.info(f"{state}: not for this hook to put in service (skipped)")
            return
        group = self.group(asg_name)
        tgs, clbs = self._group_places(group)
        # A registration the group does not manage itself: configured, or recorded at deregister.
        home = tags.get(TAG_HOME, "")
        extra_tgs, extra_clbs, _ = self.explicit_places(
            into=True,
            home=home,
            exclude_arns={t.arn for t in tgs},
            exclude_elbs={c.name for c in clbs},
        )
        # The group's own port for its target groups: AWS registers members on the group's port.
        for tg in tgs:
            tg.ports = [int(tg.info.get("Port") or 80)]
        timeout = self.derive_timeout([*tgs, *extra_tgs], [*clbs, *extra_clbs], into=True)
        if state == "EnteringStandby":
            self.wait_lifecycle(asg_name, "Standby", timeout)
            state = "Standby"
        if state == "Standby":
            self.send(
                "autoscaling",
                "exit_standby",
                self.lifecycle_is(
                    asg_name, "Pending", "Pending:Wait", "Pending:Proceed", "InService"
                ),
                AutoScalingGroupName=asg_name,
                InstanceIds=[self.instance_id],
            )
            self.say.info(f"leaving Standby in {asg_name}")
        if state != "InService":
            self.wait_lifecycle(asg_name, "InService", timeout)
        self._register_explicit(extra_tgs, extra_clbs)
        # InService is not healthy: the target groups decide when traffic may come.
        self.wait_in([*tgs, *extra_tgs], [*clbs, *extra_clbs], timeout)
        if TAG_OUT in tags:
            self.delete_out_tag()
        self._restore(asg_name)
        self.say.info("in service")

    def _restore(self, asg_name: str) -> None:
        """The restore rule: MinSize and suspended processes come back once no other member is
        still out (in Standby with a `cutover:hook:out` tag)."""
        group = self.group(asg_name)
        gtags = self._group_tags(group)
        if TAG_MIN_SIZE not in gtags and TAG_SUSPENDED not in gtags:
            return
        others = [
            m["InstanceId"]
            for m in group.get("Instances") or []
            if m["InstanceId"] != self.instance_id
            and m["LifecycleState"] in ("Standby", "EnteringStandby")
        ]
        if others:
            out = self.client("ec2").describe_tags(
                Filters=[
                    {"Name": "resource-id", "Values": others},
                    {"Name": "key", "Values": [TAG_OUT]},
                ]
            )["Tags"]
            still_out = sorted({t["ResourceId"] for t in out})
            if still_out:
                self.say.info(
                    f"not restoring {asg_name} yet: {', '.join(still_out)} still out "
                    "(the last one back restores it)"
                )
                return
        delete = []
        if TAG_MIN_SIZE in gtags:
            raw = gtags[TAG_MIN_SIZE]
            record = parse_min_size_record(raw)
            current = group["MinSize"]
            if record is None:
                self.say.error(f"{TAG_MIN_SIZE}={raw!r} is not a record: MinSize left alone")
            elif current == record[1]:
                self.send(
                    "autoscaling",
                    "update_auto_scaling_group",
                    self.min_size_is(asg_name, record[0]),
                    AutoScalingGroupName=asg_name,
                    MinSize=record[0],
                )
                self.say.info(f"restored MinSize of {asg_name} to {record[0]}")
            elif current == record[0]:
                self.say.info(f"MinSize of {asg_name} is already {current}: nothing to restore")
            else:
                # Someone set it while the instance was out: theirs stands.
                self.say.info(
                    f"{min_size_changed(asg_name, current, record)}, so left at {current}"
                    f" (it was {record[0]} before the hooks lowered it)"
                )
            delete.append(TAG_MIN_SIZE)
        if TAG_SUSPENDED in gtags:
            processes = split_list(gtags[TAG_SUSPENDED])
            if processes:
                self.send(
                    "autoscaling",
                    "resume_processes",
                    self.group_shows(
                        asg_name,
                        lambda g: not set(processes) & _suspended(g),
                        lambda g: (
                            "has suspended: " + (", ".join(sorted(_suspended(g))) or "nothing")
                        ),
                    ),
                    AutoScalingGroupName=asg_name,
                    ScalingProcesses=processes,
                )
                self.say.info(f"resumed {', '.join(processes)} in {asg_name}")
            delete.append(TAG_SUSPENDED)
        self.send(
            "autoscaling",
            "delete_tags",
            self.group_tags_are(asg_name, dict.fromkeys(delete)),
            Tags=[
                {"ResourceId": asg_name, "ResourceType": "auto-scaling-group", "Key": k}
                for k in delete
            ],
        )
        self.say.info(f"removed {', '.join(delete)} from {asg_name}")


def _suspended(group: dict) -> set[str]:
    return {p["ProcessName"] for p in group.get("SuspendedProcesses") or []}


def run_hook(
    options: HookOptions,
    reporter: Reporter,
    env: dict[str, str] | None = None,
    **kwargs: Any,
) -> int:
    """Find the instance, run the hook; failures raise HookError/HookUsage (one line)."""
    env = dict(os.environ) if env is None else env
    identity = find_identity(options, env)
    reporter.instance_id = identity.instance_id
    if not identity.region:
        raise HookUsage("--region: no AWS region (pass --region or set AWS_REGION)")
    return Hook(options, identity, reporter, **kwargs).run()
