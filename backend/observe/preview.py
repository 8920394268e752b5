"""The preview target group's reads: what it is and which test listener forwards to it (read
once and cached), and the health of its targets (one DescribeTargetHealth per snapshot).

Only a target whose config names `preview:` reads any of this, so a group without a preview
costs no call more. A target group attached to no listener is said plainly: ELB reports its
targets `unused` (Target.NotInUse) and never health-checks them, which proves nothing about
the replacement (docs/aws-behaviour.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from botocore.exceptions import ClientError
from cutover.backend.model import Preview, TargetHealth
from cutover.backend.observe.calls import Calls, Parts, pages

# A preview not found (no such target group, on no listener) is looked for again after this
# many real seconds, so a fix in the console shows without a restart and a mistake does not
# cost four calls a tick.
RETRY_MISSING_S = 30.0


@dataclass
class _Static:
    preview: Preview  # without targets
    lb_arn: str | None = None
    read_at: float = 0.0


class PreviewReads:
    """The preview target group of one target, its listener cached once found."""

    def __init__(self, calls: Calls, key: str) -> None:
        self._calls = calls
        self._key = key  # the name or ARN the config gives
        self._static: _Static | None = None

    def read(self, parts: Parts) -> Preview:
        """The preview as read now: its static facts (cached), then its targets' health."""
        static = self._static
        stale = static is None or (
            static.preview.problem is not None
            and time.monotonic() - static.read_at > RETRY_MISSING_S
        )
        if stale:
            got = self._calls.part(
                parts,
                "preview",
                f"preview target group {self._key}",
                self._describe,
                None,
            )
            if got is None:  # unread: say so, and try again next time
                return Preview(
                    self._key,
                    problem="the preview target group could not be read just now",
                )
            self._static = static = got
        assert static is not None
        preview = static.preview
        if preview.arn is None or preview.problem is not None:
            return preview
        rows = self._calls.part(
            parts,
            "health:preview",
            f"target health in preview target group {preview.target_group}",
            lambda: self._health(preview.arn or ""),
            None,
        )
        if rows is None:
            return replace(preview, problem="its targets' health could not be read just now")
        return replace(preview, targets=tuple(rows))

    def _describe(self) -> _Static:
        elb2 = self._calls.client("elbv2")
        key = self._key
        ask = {"TargetGroupArns": [key]} if key.startswith("arn:") else {"Names": [key]}
        now = time.monotonic()
        try:
            found = elb2.describe_target_groups(**ask).get("TargetGroups", [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TargetGroupNotFound":
                raise
            found = []
        if not found:
            return _Static(Preview(key, problem=f"target group {key} does not exist"), read_at=now)
        tg = found[0]
        preview = Preview(
            tg["TargetGroupName"],
            arn=tg["TargetGroupArn"],
            port=tg.get("Port"),
            health_path=tg.get("HealthCheckPath"),
        )
        lb_arns = list(tg.get("LoadBalancerArns") or [])
        for lb_arn in lb_arns:
            listener = self._listener(lb_arn, preview.arn or "")
            if listener is not None:
                name, port, rule = listener
                dns = self._dns_name(lb_arn)
                where = f"{name}:{port}" + (f" rule {rule}" if rule else "")
                address = f"{dns}:{port}" if dns else None
                return _Static(
                    replace(preview, listener=where, address=address), lb_arn=lb_arn, read_at=now
                )
        return _Static(
            replace(
                preview,
                problem=f"{preview.target_group} is attached to no listener: ELB does not"
                " health-check its targets (they read unused, Target.NotInUse), so it proves"
                " nothing; forward a test listener (or a rule) of the load balancer to it",
            ),
            read_at=now,
        )

    def _listener(self, lb_arn: str, tg_arn: str) -> tuple[str, int, str | None] | None:
        """(load balancer name, port, rule priority or None for the default action) of the
        first listener of `lb_arn` that forwards to `tg_arn`."""
        elb2 = self._calls.client("elbv2")
        listeners = elb2.describe_listeners(LoadBalancerArn=lb_arn).get("Listeners", [])
        for ls in sorted(listeners, key=lambda x: int(x.get("Port") or 0)):
            for got in pages(elb2, "describe_rules", ListenerArn=ls["ListenerArn"]):
                for rule in got.get("Rules", []):
                    if tg_arn in _forwarded(rule):
                        priority = None if rule.get("IsDefault") else rule.get("Priority")
                        return _lb_name(lb_arn), int(ls.get("Port") or 0), priority
        return None

    def _dns_name(self, lb_arn: str) -> str | None:
        elb2 = self._calls.client("elbv2")
        got = elb2.describe_load_balancers(LoadBalancerArns=[lb_arn]).get("LoadBalancers", [])
        return got[0].get("DNSName") if got else None

    def _health(self, arn: str) -> list[TargetHealth]:
        elb2 = self._calls.client("elbv2")
        got = elb2.describe_target_health(TargetGroupArn=arn)
        return [
            TargetHealth(
                name=d["Target"]["Id"],
                kind="target-group",
                state=(d.get("TargetHealth") or {}).get("State", "unknown"),
                reason=(d.get("TargetHealth") or {}).get("Reason"),
                description=(d.get("TargetHealth") or {}).get("Description"),
                port=d["Target"].get("Port"),
            )
            for d in got.get("TargetHealthDescriptions", [])
        ]


def _forwarded(rule: dict) -> set[str]:
    """The target group ARNs a rule forwards to with a weight above 0."""
    out: set[str] = set()
    for action in rule.get("Actions") or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        out |= {g["TargetGroupArn"] for g in groups if int(g.get("Weight", 1)) > 0}
        if action.get("TargetGroupArn"):
            out.add(action["TargetGroupArn"])
    return out


def _lb_name(arn: str) -> str:
    parts = arn.split(":")[-1].split("/")
    return parts[-2] if len(parts) >= 2 else arn
