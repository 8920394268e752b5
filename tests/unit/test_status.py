"""`cutover status --json`: the document and docs/status-schema.json agree."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from cutover.backend.actions.catalogue import NAMES, action_checks
from cutover.backend.config import GateSettings
from cutover.backend.core import gates
from cutover.backend.model import (
    Environment,
    ListenerWeights,
    Series,
    Snapshot,
    Timer,
    Traffic,
)
from cutover.backend.present.status_json import SCHEMA_VERSION, status_document

from tests.unit.test_gates import NOW, UNHEALTHY_503, deployment, replacements, snapshot

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "status-schema.json"


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def validate(document: dict) -> None:
    """Fail with every problem the schema finds (and check it survives a JSON round trip)."""
    document = json.loads(json.dumps(document))
    validator = jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]
    assert not problems, "\n".join(problems)


def test_the_schema_is_valid_draft_2020_12() -> None:
    s = schema()
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def full_snapshot() -> Snapshot:
    s = snapshot()
    s = replace(
        s,
        traffic=Traffic(
            100.0, 0.0, "healthy registered targets in web-tg: 4 original, 0 replacement"
        ),
        timers=(Timer("ready-wait", NOW, started=NOW),),
        listeners=(ListenerWeights("web-alb", 8080, "rule", "l", (("a", 1), ("b", 0))),),
        notes=("CloudWatch metrics could not be read: AWS is throttling requests",),
        original=replace(
            s.original, metrics=(Series("RequestCount", ((NOW, 3.0),), "web-tg", "Sum"),)
        ),
        account="123456789012",
        region="us-east-1",
    )
    s = replace(s, gates=gates.evaluate(s, GateSettings()))
    return replace(s, actions=action_checks(s, GateSettings()))


def test_a_ready_snapshot_gives_the_documented_keys() -> None:
    doc = status_document(full_snapshot())
    validate(doc)
    dep = doc["deployment"]
    assert {k: dep[k] for k in ("id", "status", "phase", "waiting_for", "error_code")} == {
        "id": "d-TEST00001",
        "status": "Ready",
        "phase": "ready",
        "waiting_for": "reroute-approval",
        "error_code": None,
    }
    inst = doc["replacement"]["instances"][0]
    assert set(inst) >= {"id", "az", "lifecycle_status", "current_event", "health"}
    assert inst["health"]["web-tg"]["state"] == "unused"
    assert inst["health"]["web-tg"]["reason"] == "Target.NotRegistered"
    assert doc["traffic"] == {
        "original_percent": 100.0,
        "replacement_percent": 0.0,
        "basis": "healthy registered targets in web-tg: 4 original, 0 replacement",
    }
    assert [g["name"] for g in doc["gates"]] == list(gates.GATES)
    assert set(doc["actions"]) == set(NAMES)
    assert doc["actions"]["approve"]["allowed"] is True
    assert doc["original"]["metrics"] == {"web-tg/RequestCount": 3.0}
    assert doc["listeners"][0]["weights"] == {"a": 1, "b": 0}


def test_failing_gate_and_refused_action_in_the_document() -> None:
    reps = replacements(hs=(UNHEALTHY_503,))
    s = snapshot(replacement=reps)
    s = replace(s, gates=gates.evaluate(s, GateSettings()))
    s = replace(s, actions=action_checks(s, GateSettings()))
    doc = status_document(s)
    validate(doc)
    assert doc["gates"][0]["passed"] is False
    assert reps[0].id in doc["gates"][0]["reason"] and "web-tg" in doc["gates"][0]["reason"]
    assert doc["actions"]["approve"]["allowed"] is False


@pytest.mark.parametrize("case", ["no-deployment", "in-place", "bare"])
def test_other_shapes_validate(case: str) -> None:
    s = snapshot()
    if case == "no-deployment":
        s = replace(s, deployment=None, replacement=Environment("replacement"))
    elif case == "in-place":
        dep = deployment("InProgress", "installing", style="IN_PLACE", ready_action=None)
        s = replace(
            s,
            deployment=dep,
            original=None,
            replacement=None,
            fleet=Environment(
                "fleet", s.original.instances, in_flight=(s.original.instances[0].id,)
            ),
            style="IN_PLACE",
        )
    else:
        s = Snapshot(target="t", server_time=NOW, application=None, deployment_group=None)
    doc = status_document(s)
    validate(doc)
    assert set(doc["actions"]) == set(NAMES)
    if case == "in-place":
        assert doc["original"] is None and doc["fleet"]["in_flight"]


def test_schema_rejects_a_wrong_phase() -> None:
    doc = json.loads(json.dumps(status_document(full_snapshot())))
    doc["deployment"]["phase"] = "warming-up"
    validator = jsonschema.Draft202012Validator(schema())
    assert any("warming-up" in e.message for e in validator.iter_errors(doc))
