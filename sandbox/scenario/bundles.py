"""`codedeploy.bundles` of a scenario file: revisions that are local directories, whose
appspec hooks the sandbox's agent runs."""

from __future__ import annotations

from pathlib import Path

import yaml
from cutover.common.yamlcheck import YamlReader


def parse_bundles(r: YamlReader, node: yaml.Node) -> dict[str, Path]:
    """`bundles: {<revision label or "*">: <directory relative to the scenario file>}`."""
    if not isinstance(node, yaml.MappingNode):
        raise r.fail(node, "bundles must be a mapping of revision label to directory")
    out: dict[str, Path] = {}
    for key_node, value_node in node.value:
        label = r.string(key_node, "a bundle's revision label")
        if label in out:
            raise r.fail(key_node, f"duplicate bundle for revision '{label}'")
        directory = (r.path.parent / r.string(value_node, f"bundle {label}")).resolve()
        if not directory.is_dir():
            raise r.fail(value_node, f"bundle {label}: {directory} is not a directory")
        if not any((directory / name).is_file() for name in ("appspec.yml", "appspec.yaml")):
            raise r.fail(value_node, f"bundle {label}: {directory} has no appspec.yml")
        out[label] = directory
    return out
