"""Where the overview looks: one source per distinct (profile, region, endpoint) of the config
file's targets, or the flags and environment given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cutover.backend.config import Config, ConfigError, TargetConfig


@dataclass(frozen=True)
class Source:
    """An account and region to read every deployment group of (application and group unset)."""

    name: str
    target: TargetConfig

    @property
    def where(self) -> tuple[str | None, str | None, str | None]:
        t = self.target
        return (t.profile, t.region, t.endpoint_url)


def _bare(target: TargetConfig) -> TargetConfig:
    return replace(target, application=None, deployment_group=None)


def config_sources(
    config: Config, names: Sequence[str] = (), *, overrides: dict[str, object] | None = None
) -> list[Source]:
    """The sources of the config file: every target (or the `names` chosen), de-duplicated by
    (profile, region, endpoint) and named after the first target of each; with no target at
    all, one source from the defaults with `overrides` (the flags) applied."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = [n for n in names if n not in config.targets]
    if unknown:
        known = ", ".join(sorted(config.targets)) or "none defined"
        where = f" in {config.path}" if config.path else ""
        raise ConfigError(f"--source: unknown target '{unknown[0]}'{where} (known: {known})")
    chosen = [config.targets[n] for n in names] if names else list(config.targets.values())
    if not chosen:
        return [Source("default", _bare(config.defaults.merged(**overrides)))]
    out: dict[tuple, Source] = {}
    for target in chosen:
        source = Source(target.name, _bare(target.merged(**overrides)))
        out.setdefault(source.where, source)
    return list(out.values())
