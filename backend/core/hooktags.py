"""The in-place hooks' record of what they changed, kept in tags (one format, three readers).

The hooks write it (`cutover.backend.hooks`), the observer reads it to find what an
interrupted deployment left (leftovers), and repair puts things back from it. Tags rather
than a file on the instance, because the record must outlive the instance's disk and be
readable from outside it.

- on the instance, `cutover:hook:home`: where it serves, `asg/NAME tg/NAME/PORT elb/NAME`,
  space-separated; and `cutover:hook:out`: `<deployment or -> <UTC time> <event or ->`, present
  while the hooks hold it out of service;
- on its Auto Scaling group, `cutover:hook:min-size`: `BEFORE>SET` (MinSize before the hooks
  lowered it, and the value they set), written only when absent so the original survives
  repeated failures; and `cutover:hook:suspended`: the processes the hooks suspended
  themselves, comma-separated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

PREFIX = "cutover:hook:"
HOME = "cutover:hook:home"
OUT = "cutover:hook:out"
MIN_SIZE = "cutover:hook:min-size"
SUSPENDED = "cutover:hook:suspended"
INSTANCE_TAGS = (HOME, OUT)
GROUP_TAGS = (MIN_SIZE, SUSPENDED)


@dataclass(frozen=True)
class Home:
    """What a `cutover:hook:home` tag names. A target group written without a port (by hand)
    has port None: the observer still reads it, the hooks register only where a port is."""

    asg: str | None = None
    tgs: list[tuple[str, int | None]] = field(default_factory=list)
    elbs: list[str] = field(default_factory=list)


def parse_home(text: str | None) -> Home:
    asg: str | None = None
    tgs: list[tuple[str, int | None]] = []
    elbs: list[str] = []
    for entry in (text or "").split():
        kind, _, rest = entry.partition("/")
        if not rest:
            continue
        if kind == "asg":
            asg = rest
        elif kind == "tg":
            name, _, port = rest.rpartition("/")
            if not name:
                name, port = rest, ""
            tgs.append((name, int(port) if port.isdigit() else None))
        elif kind == "elb":
            elbs.append(rest)
    return Home(asg, tgs, elbs)


def home_text(asg: str | None, tgs: Iterable[tuple[str, int]], elbs: Iterable[str]) -> str:
    """The `cutover:hook:home` value; each place once, in the order given."""
    parts = [f"asg/{asg}"] if asg else []
    parts.extend(f"tg/{name}/{port}" for name, port in tgs)
    parts.extend(f"elb/{name}" for name in elbs)
    return " ".join(dict.fromkeys(parts))


def out_text(deployment_id: str | None, when: datetime, event: str | None) -> str:
    """The `cutover:hook:out` value."""
    return f"{deployment_id or '-'} {when:%Y-%m-%dT%H:%M:%SZ} {event or '-'}"


def describe_out(value: str | None) -> str:
    """Plain words for a `cutover:hook:out` value."""
    parts = (value or "").split()
    deployment = parts[0] if parts and parts[0] != "-" else None
    when = parts[1] if len(parts) > 1 and parts[1] != "-" else None
    event = parts[2] if len(parts) > 2 and parts[2] != "-" else None
    text = "taken out by the hooks"
    if deployment:
        text += f" in deployment {deployment}"
    if when:
        text += f" at {when}"
    if event:
        text += f" ({event})"
    return text


def min_size_text(before: int, lowered: int) -> str:
    """The `cutover:hook:min-size` value."""
    return f"{before}>{lowered}"


def parse_min_size(text: str) -> tuple[int, int] | None:
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


def parse_suspended(text: str | None) -> list[str]:
    """The processes a `cutover:hook:suspended` value lists."""
    # Spaces too: a record edited by hand reads as the person meant it.
    return (text or "").replace(",", " ").split()


def suspended_text(processes: Iterable[str]) -> str:
    return ",".join(dict.fromkeys(processes))
