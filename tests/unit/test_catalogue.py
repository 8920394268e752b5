"""The action catalogue: one entry per action, and what each front end builds from it."""

from __future__ import annotations

from datetime import UTC, datetime

from cutover.backend.actions.catalogue import (
    BY_PLACE,
    CATALOGUE,
    NAMES,
    applying,
    style_of,
)
from cutover.backend.model import Environment, Snapshot


def _snapshot(*roles: str) -> Snapshot:
    envs = {role: Environment(role=role) for role in roles}  # type: ignore[arg-type]
    return Snapshot("prod", datetime(2026, 3, 4, tzinfo=UTC), "web", "web-prod", **envs)


def test_each_action_has_its_own_name_key_and_binding() -> None:
    for field in ("name", "key", "binding", "title", "place"):
        values = [getattr(a, field) for a in CATALOGUE]
        assert len(set(values)) == len(values), field
    assert set(NAMES) == {a.name for a in BY_PLACE}


def test_the_palette_offers_only_what_applies_to_the_deployment_style() -> None:
    blue_green = _snapshot("original", "replacement")
    in_place = _snapshot("fleet")
    assert style_of(None) == style_of(blue_green) == "BLUE_GREEN"
    assert style_of(in_place) == "IN_PLACE"
    assert [a.name for a in applying(blue_green)] == [
        "approve",
        "terminate-original",
        "rollback",
        "stop",
        "deploy",
        "shift",
        "cleanup",
    ]
    assert [a.name for a in applying(in_place)] == ["rollback", "stop", "deploy", "repair"]
