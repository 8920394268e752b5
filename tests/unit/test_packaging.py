"""The wheel holds every package: pyproject.toml lists them by their installed names (the
folders map to `cutover.*`), so a new package folder must be added there."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    on_disk = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).as_posix()
            on_disk.add(name if rel == "." else f"{name}.{rel.replace('/', '.')}")
    on_disk.add("cutover.examples")  # data only: the in-place example bundle
    assert set(config["packages"]) == on_disk


def test_no_generic_top_level_name_is_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(p.startswith("cutover.") for p in config["packages"])
