"""The overview's sources (issue 16, item 3): the config's targets by (profile, region,
endpoint), each place once; `--source` names some; with no targets, the defaults and flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover.backend.config import ConfigError, load_config
from cutover.backend.observe.sources import config_sources

CONFIG = """\
defaults:
  region: eu-west-1
targets:
  prod:
    profile: prod
    application: web
    deployment_group: web-prod
  prod-api:
    profile: prod
    application: api
    deployment_group: api-prod
  prod-us:
    profile: prod
    region: us-east-1
  stage:
    profile: stage
  sandbox:
    endpoint_url: http://127.0.0.1:4599
"""


def test_each_place_once_named_after_its_first_target(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    sources = config_sources(load_config(path))
    assert [s.name for s in sources] == ["prod", "prod-us", "stage", "sandbox"]
    assert [s.where for s in sources] == [
        ("prod", "eu-west-1", None),
        ("prod", "us-east-1", None),
        ("stage", "eu-west-1", None),
        (None, "eu-west-1", "http://127.0.0.1:4599"),
    ]
    # A source names no group: the overview reads them all.
    assert all(s.target.application is None for s in sources)
    assert [s.name for s in config_sources(load_config(path), ["stage", "prod-api"])] == [
        "stage",
        "prod-api",
    ]
    with pytest.raises(ConfigError, match="--source: unknown target 'nope'"):
        config_sources(load_config(path), ["nope"])


def test_without_targets_one_source_from_the_defaults_and_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("defaults:\n  region: eu-west-1\n")
    (only,) = config_sources(load_config(path), overrides={"endpoint_url": "http://x:1"})
    assert only.name == "default" and only.where == (None, "eu-west-1", "http://x:1")
