"""What several sections of a scenario file share: the names defined so far (for duplicates
and references), health checks, forward actions and Availability Zones."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from cutover.common.yamlcheck import YamlReader
from cutover.sandbox.world import HealthCheck

from .spec import ForwardSpec

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")


@dataclass
class Names:
    """The names the file has defined so far, in the order it defines them."""

    target_groups: dict[str, yaml.Node] = field(default_factory=dict)
    load_balancers: set[str] = field(default_factory=set)
    classic_load_balancers: set[str] = field(default_factory=set)
    auto_scaling_groups: set[str] = field(default_factory=set)
    ports: dict[int, str] = field(default_factory=dict)  # listener port -> its label

    def claim_port(self, r: YamlReader, port: int, node: yaml.Node, label: str) -> None:
        if port in self.ports:
            raise r.fail(node, f"port {port} of {label} is already used by {self.ports[port]}")
        self.ports[port] = label

    def check_forward(self, r: YamlReader, forward: list[ForwardSpec]) -> None:
        for spec in forward:
            if spec.target_group not in self.target_groups:
                raise r.fail(spec.line, f"unknown target group '{spec.target_group}'")

    def check_lbs(
        self,
        r: YamlReader,
        names: list[tuple[str, yaml.Node]],
        groups: list[tuple[str, yaml.Node]],
    ) -> None:
        """Target groups and classic load balancers an instance or a group is attached to."""
        for n, node in groups:
            if n not in self.target_groups:
                raise r.fail(node, f"unknown target group '{n}'")
        for n, node in names:
            if n not in self.classic_load_balancers:
                raise r.fail(node, f"unknown classic load balancer '{n}'")


def health_check(
    r: YamlReader, node: yaml.Node | None, what: str, *, classic: bool
) -> tuple[HealthCheck, str | None]:
    """The health check, and for classic load balancers the `target` text when given."""
    hc = HealthCheck()
    if classic:
        hc.interval, hc.timeout, hc.healthy_threshold, hc.unhealthy_threshold = 30, 5, 10, 2
    if node is None:
        return hc, None
    keys = ("interval", "timeout", "healthy_threshold", "unhealthy_threshold")
    extra = ("target",) if classic else ("path", "protocol", "matcher", "enabled", "port")
    m = r.mapping(node, what, optional=keys + extra)
    if "interval" in m:
        hc.interval = r.integer(m["interval"], f"{what} interval", 5, 300)
    if "timeout" in m:
        hc.timeout = r.integer(m["timeout"], f"{what} timeout", 2, 120)
    if "healthy_threshold" in m:
        hc.healthy_threshold = r.integer(m["healthy_threshold"], f"{what} healthy_threshold", 2, 10)
    if "unhealthy_threshold" in m:
        hc.unhealthy_threshold = r.integer(
            m["unhealthy_threshold"], f"{what} unhealthy_threshold", 2, 10
        )
    if hc.timeout >= hc.interval:
        raise r.fail(node, f"{what} timeout ({hc.timeout}) must be less than interval")
    if "path" in m:
        hc.path = r.string(m["path"], f"{what} path")
        if not hc.path.startswith("/"):
            raise r.fail(m["path"], f"{what} path must start with /")
    if "protocol" in m:
        hc.protocol = r.choice(m["protocol"], f"{what} protocol", ("HTTP", "TCP"))
    if "matcher" in m:
        hc.matcher = r.string(m["matcher"], f"{what} matcher")
        if not re.fullmatch(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*", hc.matcher):
            raise r.fail(m["matcher"], f"{what} matcher must be codes like 200 or 200-299")
    if "enabled" in m:
        hc.enabled = r.boolean(m["enabled"], f"{what} enabled")
    if "port" in m:
        hc.port = str(r.integer(m["port"], f"{what} port", 1, 65535))
    target = None
    if "target" in m:
        target = r.string(m["target"], f"{what} target")
        match = re.fullmatch(r"(HTTP|HTTPS|TCP):(\d+)(/.*)?", target)
        if not match:
            raise r.fail(m["target"], f"{what} target must look like HTTP:80/health or TCP:80")
        hc.protocol = "HTTP" if match.group(1) != "TCP" else "TCP"
        hc.path = match.group(3) or "/"
    return hc, target


def forward(r: YamlReader, node: yaml.Node, what: str) -> list[ForwardSpec]:
    out = []
    for item in r.sequence(node, what):
        m = r.mapping(item, what, required=("target_group",), optional=("weight",))
        weight = r.integer(m["weight"], f"{what} weight", 0, 999) if "weight" in m else 1
        name = r.string(m["target_group"], f"{what} target_group")
        out.append(ForwardSpec(name, weight, m["target_group"]))
    if not out:
        raise r.fail(node, f"{what} needs at least one target group")
    return out


def azs(r: YamlReader, node: yaml.Node | None, what: str, region: str) -> list[str]:
    if node is None:
        return [f"{region}a", f"{region}b"]
    azs = []
    for az, n in r.strings(node, what):
        azs.append(az)
        if not re.fullmatch(rf"{re.escape(region)}[a-z]", az):
            raise r.fail(n, f"{what}: '{az}' is not an Availability Zone of {region}")
    if not azs:
        raise r.fail(node, f"{what} needs at least one zone")
    return azs
