"""The config file: named targets (where a deployment group lives) and their defaults.

`load_config` reads `--config PATH`, else `$XDG_CONFIG_HOME/cutover/config.yaml` when it exists,
else nothing (every setting then comes from flags and the standard AWS environment). Every
problem is one `ConfigError` line naming the file, the line and the key. docs/config.md
documents every key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from cutover.common.autoscaling import PROCESSES as ASG_PROCESSES
from cutover.common.yamlcheck import YamlReader, compose

TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class ConfigError(Exception):
    """A config file that cannot be used; str() is one line naming file, line and key."""


@dataclass(frozen=True)
class GateSettings:
    """What must hold before the traffic reroute is approved."""

    # Replacement capacity must be at least this share of the original's (percent).
    min_capacity_percent: int = 100
    # No alarm of the deployment group may be in ALARM.
    block_on_alarm: bool = True
    # Every replacement target healthy in every target group and load balancer.
    require_healthy: bool = True
    # The replacement fleet may not change after it became Ready.
    require_unchanged_fleet: bool = True


@dataclass(frozen=True)
class BakeThresholds:
    """How the bake verdict judges the minutes after the reroute (backend/core/bake.py)."""

    max_5xx_percent: float = 1.0  # 5xx share of requests after the reroute: above it, bad
    max_p95_ms: float = 1000.0  # TargetResponseTime / Latency p95 after: above it, bad
    max_p99_ms: float = 2500.0  # ... p99 after: above it, bad
    # Worse than before the reroute by more than this share (0.5 = +50%): watch.
    max_increase: float = 0.5
    window_minutes: int = 10  # the minutes compared on each side of the reroute
    min_requests: int = 100  # fewer requests after the reroute: not enough data
    min_minutes: int = 3  # fewer whole minutes after the reroute: not enough data


@dataclass(frozen=True)
class TargetConfig:
    """Where one deployment group lives and how to supervise it."""

    name: str
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    application: str | None = None
    deployment_group: str | None = None
    read_only: bool = False
    poll_interval: float = 2.0
    gates: GateSettings = field(default_factory=GateSettings)
    bake: BakeThresholds = field(default_factory=BakeThresholds)
    # Where hook-managed in-place instances serve (the `hooks:` section for this deployment
    # group): the dashboard reads their health there before any hook has written a tag.
    hook_target_groups: tuple[str, ...] = ()
    hook_elbs: tuple[str, ...] = ()
    # `preview: {target_group: NAME or ARN}`: a target group on a test listener of the same
    # load balancer, where `preview` registers the replacements before the reroute is approved.
    preview_target_group: str | None = None

    def merged(self, **overrides: object) -> TargetConfig:
        """This target with the non-None overrides (flags) applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


# The processes the public sample scripts suspend while an instance is in Standby: each
# could launch, terminate or rebalance instances under a deployment.
DEFAULT_SUSPEND_PROCESSES = (
    "AZRebalance",
    "AlarmNotification",
    "ScheduledActions",
    "ReplaceUnhealthy",
)


@dataclass(frozen=True)
class HookSettings:
    """What `cutover hook` takes an instance out of and puts it back into (one level of the
    `hooks:` section: its defaults, or one deployment group's overrides merged over them)."""

    target_groups: tuple[str, ...] = ()  # names or ARNs
    elbs: tuple[str, ...] = ()  # Classic Load Balancer names
    port: int | None = None
    suspend_processes: tuple[str, ...] = DEFAULT_SUSPEND_PROCESSES
    lower_min_size: bool = True


@dataclass(frozen=True)
class HooksConfig:
    """The `hooks:` section: defaults and per-deployment-group overrides."""

    defaults: HookSettings = field(default_factory=HookSettings)
    deployment_groups: dict[str, HookSettings] = field(default_factory=dict)
    line: int | None = None  # where the section starts, for messages

    def for_group(self, name: str | None) -> HookSettings:
        """The settings for $DEPLOYMENT_GROUP_NAME (its override, else the defaults)."""
        if name and name in self.deployment_groups:
            return self.deployment_groups[name]
        return self.defaults


@dataclass(frozen=True)
class Config:
    path: Path | None
    defaults: TargetConfig
    targets: dict[str, TargetConfig]
    default_target: str | None = None
    hooks: HooksConfig = field(default_factory=HooksConfig)

    def target(self, name: str | None) -> TargetConfig:
        """The named target (or the default one, or the defaults); unknown names raise."""
        name = name or self.default_target
        if name is None:
            return self.defaults
        if name not in self.targets:
            known = ", ".join(sorted(self.targets)) or "none defined"
            where = f" in {self.path}" if self.path else ""
            raise ConfigError(f"--target: unknown target '{name}'{where} (known: {known})")
        return self.targets[name]


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "cutover" / "config.yaml"


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the config; a missing default file is an empty config."""
    explicit = path is not None
    p = Path(path).expanduser() if path is not None else default_path()
    if not p.exists():
        if explicit:
            raise ConfigError(f"--config: {p}: no such file")
        return Config(path=None, defaults=TargetConfig(name="default"), targets={})
    root = compose(p, ConfigError)
    if root is None:
        return Config(path=p, defaults=TargetConfig(name="default"), targets={})
    return _parse(YamlReader(p, ConfigError), root)


TARGET_KEYS = (
    "profile",
    "region",
    "endpoint_url",
    "application",
    "deployment_group",
    "read_only",
    "poll_interval",
    "gates",
    "bake",
    "preview",
)
GATE_KEYS = ("min_capacity_percent", "block_on_alarm", "require_healthy", "require_unchanged_fleet")


def _parse(r: YamlReader, root: yaml.Node) -> Config:
    top = r.mapping(root, "the config", optional=("default_target", "defaults", "targets", "hooks"))
    defaults = TargetConfig(name="default")
    if "defaults" in top:
        defaults = _target(r, top["defaults"], "defaults", defaults)
    targets: dict[str, TargetConfig] = {}
    if "targets" in top:
        tm = top["targets"]
        if not isinstance(tm, yaml.MappingNode):
            raise r.fail(tm, "targets must be a mapping of names to targets")
        for key_node, value_node in tm.value:
            name = r.string(key_node, "target name", pattern=TARGET_NAME)
            if name in targets:
                raise r.fail(key_node, f"target '{name}' is defined twice")
            targets[name] = _target(r, value_node, f"target {name}", replace(defaults, name=name))
    default_target = None
    if "default_target" in top:
        default_target = r.string(top["default_target"], "default_target")
        if default_target not in targets:
            raise r.fail(
                top["default_target"], f"default_target '{default_target}' is not a target"
            )
    hooks = _hooks(r, top["hooks"]) if "hooks" in top else HooksConfig()
    return Config(
        path=r.path,
        defaults=defaults,
        targets=targets,
        default_target=default_target,
        hooks=hooks,
    )


HOOK_KEYS = ("target_groups", "elbs", "port", "suspend_processes", "lower_min_size")


def _hooks(r: YamlReader, node: yaml.Node) -> HooksConfig:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return HooksConfig(line=line)
    m = r.mapping(node, "hooks", optional=(*HOOK_KEYS, "deployment_groups"))
    defaults = _hook_settings(r, m, "hooks", HookSettings())
    groups: dict[str, HookSettings] = {}
    if "deployment_groups" in m:
        gm = m["deployment_groups"]
        if isinstance(gm, yaml.ScalarNode) and gm.tag.endswith(":null"):
            gm = yaml.MappingNode("tag:yaml.org,2002:map", [])
        if not isinstance(gm, yaml.MappingNode):
            raise r.fail(gm, "hooks deployment_groups must be a mapping of group names to settings")
        for key_node, value_node in gm.value:
            name = r.string(key_node, "hooks deployment group name")
            if name in groups:
                raise r.fail(key_node, f"hooks deployment group '{name}' is defined twice")
            what = f"hooks deployment_groups {name}"
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag.endswith(":null"):
                groups[name] = defaults
                continue
            gmap = r.mapping(value_node, what, optional=HOOK_KEYS)
            groups[name] = _hook_settings(r, gmap, what, defaults)
    return HooksConfig(defaults=defaults, deployment_groups=groups, line=line)


def _hook_settings(
    r: YamlReader, m: dict[str, yaml.Node], what: str, base: HookSettings
) -> HookSettings:
    values: dict[str, object] = {}
    for key in ("target_groups", "elbs"):
        if key in m:
            names = []
            for name, n in r.strings(m[key], f"{what} {key}"):
                if not name.strip() or any(c.isspace() or c == "," for c in name):
                    raise r.fail(n, f"{what} {key}: '{name}' is not a name")
                names.append(name)
            values[key] = tuple(dict.fromkeys(names))
    if "port" in m:
        values["port"] = r.integer(m["port"], f"{what} port", 1, 65535)
    if "suspend_processes" in m:
        names = []
        for name, n in r.strings(m["suspend_processes"], f"{what} suspend_processes"):
            if name not in ASG_PROCESSES:
                raise r.fail(
                    n,
                    f"{what} suspend_processes: '{name}' is not an Auto Scaling process "
                    f"(one of: {', '.join(ASG_PROCESSES)})",
                )
            names.append(name)
        values["suspend_processes"] = tuple(dict.fromkeys(names))
    if "lower_min_size" in m:
        values["lower_min_size"] = r.boolean(m["lower_min_size"], f"{what} lower_min_size")
    return replace(base, **values)  # type: ignore[arg-type]


def _target(r: YamlReader, node: yaml.Node, what: str, base: TargetConfig) -> TargetConfig:
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return base
    m = r.mapping(node, what, optional=TARGET_KEYS)
    values: dict[str, object] = {}
    for key in ("profile", "application", "deployment_group"):
        if key in m:
            values[key] = r.string(m[key], f"{what} {key}")
    if "region" in m:
        region = r.string(m["region"], f"{what} region")
        if not REGION.match(region):
            raise r.fail(m["region"], f"{what} region: '{region}' is not a region name")
        values["region"] = region
    if "endpoint_url" in m:
        url = r.string(m["endpoint_url"], f"{what} endpoint_url")
        if not url.startswith(("http://", "https://")):
            raise r.fail(m["endpoint_url"], f"{what} endpoint_url: '{url}' is not an http(s) URL")
        values["endpoint_url"] = url
    if "read_only" in m:
        values["read_only"] = r.boolean(m["read_only"], f"{what} read_only")
    if "poll_interval" in m:
        values["poll_interval"] = r.number(m["poll_interval"], f"{what} poll_interval", 0.5, 300)
    if "gates" in m:
        gm = r.mapping(m["gates"], f"{what} gates", optional=GATE_KEYS)
        gates = base.gates
        if "min_capacity_percent" in gm:
            gates = replace(
                gates,
                min_capacity_percent=r.integer(
                    gm["min_capacity_percent"], f"{what} gates min_capacity_percent", 0, 200
                ),
            )
        for key in ("block_on_alarm", "require_healthy", "require_unchanged_fleet"):
            if key in gm:
                gates = replace(gates, **{key: r.boolean(gm[key], f"{what} gates {key}")})
        values["gates"] = gates
    if "bake" in m:
        values["bake"] = _bake(r, m["bake"], f"{what} bake", base.bake)
    if "preview" in m:
        values["preview_target_group"] = _preview(r, m["preview"], what)
    return replace(base, **values)  # type: ignore[arg-type]


# key -> (lowest, highest, integer?)
BAKE_KEYS: dict[str, tuple[float, float, bool]] = {
    "max_5xx_percent": (0, 100, False),
    "max_p95_ms": (1, 600_000, False),
    "max_p99_ms": (1, 600_000, False),
    "max_increase": (0, 100, False),
    "window_minutes": (1, 120, True),
    "min_requests": (0, 10_000_000, True),
    "min_minutes": (1, 120, True),
}


def _bake(r: YamlReader, node: yaml.Node, what: str, base: BakeThresholds) -> BakeThresholds:
    bm = r.mapping(node, what, optional=tuple(BAKE_KEYS))
    values: dict[str, object] = {}
    for key, (low, high, whole) in BAKE_KEYS.items():
        if key in bm:
            if whole:
                values[key] = r.integer(bm[key], f"{what} {key}", int(low), int(high))
            else:
                values[key] = r.number(bm[key], f"{what} {key}", low, high)
    bake = replace(base, **values)  # type: ignore[arg-type]
    if bake.min_minutes > bake.window_minutes:
        raise r.fail(
            bm.get("min_minutes") or node,
            f"{what} min_minutes: {bake.min_minutes} is more than window_minutes"
            f" ({bake.window_minutes})",
        )
    return bake


# A target group name (ELB: up to 32 letters, digits and hyphens) or its ARN.
TG_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
TG_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[^/]+/\w+$"
)


def _preview(r: YamlReader, node: yaml.Node, what: str) -> str | None:
    """`preview: {target_group: NAME or ARN}`; `preview: null` turns an inherited one off."""
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return None
    pm = r.mapping(node, f"{what} preview", required=("target_group",))
    tg = r.string(pm["target_group"], f"{what} preview target_group")
    if not (TG_NAME.match(tg) or TG_ARN.match(tg)):
        raise r.fail(
            pm["target_group"],
            f"{what} preview target_group: '{tg}' is not a target group name (up to 32 letters,"
            " digits and hyphens) or ARN",
        )
    return tg
