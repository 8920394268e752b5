"""Where the instance serves traffic: a target group on some ports, or a Classic Load Balancer,
and the `cutover:hook:home` record of them (the format is `cutover.backend.core.hooktags`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cutover.backend.core import hooktags


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


def recorded_home(text: str | None) -> tuple[list[tuple[str, int]], list[str]]:
    """The target groups (with their ports) and load balancers a home record names.

    A target group without a port (written by hand) is left out: the hooks act only on a port.
    """
    home = hooktags.parse_home(text)
    return [(name, port) for name, port in home.tgs if port is not None], home.elbs


def home_value(
    asg: str | None, tgs: Iterable[TgPlace], clbs: Iterable[ClbPlace], previous: str
) -> str:
    """The home record of these places, then those of `previous` not among them (a record an
    earlier run left: the instance may be registered nowhere now, and the tag is the only
    memory of where it was)."""
    pairs = [(tg.name, port) for tg in tgs for port in tg.ports]
    home = hooktags.home_text(asg, pairs, (clb.name for clb in clbs))
    extra = hooktags.home_text(None, *recorded_home(previous))
    return " ".join(dict.fromkeys((home + " " + extra).split()))
