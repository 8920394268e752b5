"""The typed scenario: what a scenario file describes once parsed and checked, names not yet
resolved to ARNs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cutover.sandbox.world import HealthCheck


class ScenarioError(Exception):
    """A scenario that cannot be loaded; str() is one line naming the file and line."""


@dataclass
class ForwardSpec:
    target_group: str
    weight: int
    line: yaml.Node


@dataclass
class RuleSpec:
    priority: int
    paths: list[str]
    hosts: list[str]
    forward: list[ForwardSpec]


@dataclass
class ListenerSpec:
    port: int
    protocol: str
    forward: list[ForwardSpec]
    rules: list[RuleSpec]
    load: bool = True  # `load: false`: `--load` leaves this listener alone (a test listener)


@dataclass
class LoadBalancerSpec:
    name: str
    type: str
    scheme: str
    availability_zones: list[str]
    listeners: list[ListenerSpec]
    load: bool = True  # does `--load` send to its listeners?


@dataclass
class TargetGroupSpec:
    name: str
    protocol: str
    port: int
    health_check: HealthCheck
    deregistration_delay: int


@dataclass
class ClassicSpec:
    name: str
    listeners: list[dict]
    health_check: HealthCheck
    health_target: str
    connection_draining: int | None
    availability_zones: list[str]
    load: bool = True  # does `--load` send to its listeners?


@dataclass
class AsgSpec:
    name: str
    min_size: int
    max_size: int
    desired: int
    availability_zones: list[str]
    instance_type: str
    revision: str
    target_groups: list[str]
    load_balancers: list[str]
    health_check_type: str
    health_check_grace_period: int
    tags: dict[str, str]


@dataclass
class InstanceSpec:
    name: str
    availability_zone: str
    instance_type: str
    revision: str
    tags: dict[str, str]
    target_groups: list[str]
    load_balancers: list[str]


@dataclass
class AlarmSpec:
    """A CloudWatch metric alarm, as PutMetricAlarm params with names still to resolve."""

    name: str
    params: dict
    dimension_refs: dict[str, str]  # TargetGroup/LoadBalancer -> a scenario name to resolve


@dataclass
class HistorySpec:
    revision: str
    status: str
    minutes_ago: int | None = None  # when it was created; None: an hour before the next one
    rolled_back: bool = False  # a Failed/Stopped one CodeDeploy rolled back to the last success


@dataclass
class DeploymentGroupSpec:
    name: str
    params: dict  # CreateDeploymentGroup params, with names already final
    history: list[HistorySpec]


@dataclass
class ApplicationSpec:
    name: str
    groups: list[DeploymentGroupSpec]


@dataclass
class CodeDeploySpec:
    durations: dict[str, float] = field(default_factory=dict)
    configs: list[dict] = field(default_factory=list)  # CreateDeploymentConfig params
    applications: list[ApplicationSpec] = field(default_factory=list)
    # Revisions that are local directories: a revision label (an S3 key's file name without
    # its extension, engine.revision_label) or "*" -> the directory, made absolute.
    bundles: dict[str, Path] = field(default_factory=dict)


@dataclass
class Scenario:
    path: Path
    name: str
    description: str
    region: str
    account_id: str
    time_scale: float
    seed: int
    load_balancers: list[LoadBalancerSpec] = field(default_factory=list)
    target_groups: list[TargetGroupSpec] = field(default_factory=list)
    classic_load_balancers: list[ClassicSpec] = field(default_factory=list)
    auto_scaling_groups: list[AsgSpec] = field(default_factory=list)
    instances: list[InstanceSpec] = field(default_factory=list)
    alarms: list[AlarmSpec] = field(default_factory=list)
    codedeploy: CodeDeploySpec = field(default_factory=CodeDeploySpec)
    # The instance metadata service: "optional" answers IMDSv1 and IMDSv2; "required" answers
    # only requests with a session token (EC2's HttpTokens=required, IMDSv2-only).
    imds_tokens: str = "optional"

    def unloaded(self) -> frozenset[str]:
        """The load balancers `--load` leaves alone (`load: false`), by name, and the
        listeners, as `name:port`."""
        lbs = [*self.load_balancers, *self.classic_load_balancers]
        listeners = [
            f"{lb.name}:{ls.port}"
            for lb in self.load_balancers
            for ls in lb.listeners
            if not ls.load
        ]
        return frozenset([*(lb.name for lb in lbs if not lb.load), *listeners])

    def listener_ports(self) -> list[tuple[str, int]]:
        """(a label for the listener, its port) for every listener in the scenario."""
        out = [
            (f"{lb.name}:{ls.port}", ls.port) for lb in self.load_balancers for ls in lb.listeners
        ]
        out += [
            (f"{clb.name}:{ls['LoadBalancerPort']}", ls["LoadBalancerPort"])
            for clb in self.classic_load_balancers
            for ls in clb.listeners
        ]
        return out

    def remap_listener_ports(self, ports: list[int]) -> None:
        """Give the listeners other ports, in the order of `listener_ports()`."""
        it = iter(ports)
        for lb in self.load_balancers:
            for ls in lb.listeners:
                ls.port = next(it)
        for clb in self.classic_load_balancers:
            for ls in clb.listeners:
                ls["LoadBalancerPort"] = next(it)
