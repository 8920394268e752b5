"""The config file: targets, defaults, and one-line errors naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from cutover.backend.config import ConfigError, load_config

GOOD = """
default_target: prod
defaults:
  region: us-east-1
  poll_interval: 3
  gates:
    min_capacity_percent: 90
targets:
  prod:
    profile: prod-admin
    application: web
    deployment_group: web-prod
    gates:
      block_on_alarm: false
  sandbox:
    endpoint_url: http://127.0.0.1:4599
    application: web
    deployment_group: web-prod
    read_only: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_targets_inherit_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    prod = cfg.target(None)
    assert prod.name == "prod" and prod.profile == "prod-admin"
    assert prod.region == "us-east-1" and prod.poll_interval == 3
    assert prod.gates.min_capacity_percent == 90 and prod.gates.block_on_alarm is False
    sandbox = cfg.target("sandbox")
    assert sandbox.read_only and sandbox.endpoint_url == "http://127.0.0.1:4599"
    assert sandbox.gates.block_on_alarm is True
    assert sandbox.merged(region="eu-west-1", profile=None).region == "eu-west-1"


def test_missing_default_file_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    cfg = load_config()
    assert cfg.path is None and cfg.targets == {}
    assert cfg.target(None).name == "default"


def test_missing_explicit_file_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--config: .*nope\.yaml: no such file$"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_target_lists_known(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match=r"unknown target 'staging'.*known: prod, sandbox"):
        cfg.target("staging")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("targets:\n  prod:\n    regoin: us-east-1\n", 3, "unknown key 'regoin' in target prod"),
        ("defaults:\n  poll_interval: 0\n", 2, "poll_interval must be from 0.5 to 300"),
        ("targets:\n  a:\n    read_only: maybe\n", 3, "read_only must be true or false"),
        ("targets:\n  a:\n    region: mars\n", 3, "'mars' is not a region name"),
        ("targets:\n  a:\n    endpoint_url: localhost:4599\n", 3, "not an http(s) URL"),
        ("default_target: b\ntargets:\n  a: {}\n", 1, "'b' is not a target"),
        (
            "targets:\n  a:\n    gates:\n      min_capacity_percent: 500\n",
            4,
            "min_capacity_percent must be from 0 to 200",
        ),
        ("targets: [a]\n", 1, "targets must be a mapping"),
        (
            "targets:\n  a:\n    preview: {target_grup: x}\n",
            3,
            "unknown key 'target_grup' in target a preview",
        ),
        (
            "targets:\n  a:\n    preview:\n      target_group: web preview\n",
            4,
            "'web preview' is not a target group name",
        ),
        ("defaults: {region: [\n", 2, "not valid YAML"),
    ],
)
def test_errors_are_one_line_with_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message and "\n" not in message


def test_a_preview_target_group_by_name_or_arn_and_off_again(tmp_path: Path) -> None:
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-preview-tg/9fae"
    cfg = load_config(
        write(
            tmp_path,
            "defaults:\n  preview: {target_group: web-preview-tg}\ntargets:\n"
            f"  a: {{}}\n  b:\n    preview: {{target_group: '{arn}'}}\n  c:\n    preview: null\n",
        )
    )
    assert cfg.target("a").preview_target_group == "web-preview-tg"
    assert cfg.target("b").preview_target_group == arn
    assert cfg.target("c").preview_target_group is None
