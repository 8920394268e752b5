"""`cutover status --all --json` against two sandboxes as two config targets (issue 16, item 4):
every group of both, most urgent first, in the documented `overview` document; the text reads
at 80 columns; a source that cannot be read is said on its own row and the others still show;
`--source` reads only the targets named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from cutover.sandbox.testing import wait_for

from tests.e2e.sandbox_process import cutover, sandbox_process
from tests.unit.test_status import schema

V2 = "s3://web-revisions/web/v2.zip"
QUIET = [("west", "batch-jobs", 5), ("west", "web-inplace", 5), ("east", "web-prod", 5)]


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, dict, Path]]:
    state = tmp_path_factory.mktemp("overview")
    with (
        sandbox_process(state / "a", "--time-scale", "100") as (east, _),
        sandbox_process(state / "b", "--time-scale", "100", "--scenario", "inplace") as (west, _),
    ):
        config = state / "cutover.yaml"
        config.write_text(
            "targets:\n"
            "  east:\n"
            f"    endpoint_url: {east['AWS_ENDPOINT_URL']}\n"
            "    region: us-east-1\n"
            "    application: web\n"
            "    deployment_group: web-prod\n"
            "  east-again:\n"  # the same account and region: read once
            f"    endpoint_url: {east['AWS_ENDPOINT_URL']}\n"
            "    region: us-east-1\n"
            "  west:\n"
            f"    endpoint_url: {west['AWS_ENDPOINT_URL']}\n"
            "    region: us-east-1\n"
            "  gone:\n"
            "    endpoint_url: http://127.0.0.1:9\n"
            "    region: us-east-1\n"
        )
        yield east, west, config


def overview(env: dict, config: Path, *more: str) -> tuple[dict, int]:
    plain = {k: v for k, v in env.items() if k != "AWS_ENDPOINT_URL"}
    res = cutover(plain, "status", "--all", "--json", "--config", str(config), *more)
    assert res.stdout, res.stderr
    doc = json.loads(res.stdout)
    s = schema()
    sub = {"$schema": s["$schema"], "$defs": s["$defs"], "$ref": "#/$defs/overview"}
    jsonschema.Draft202012Validator(sub).validate(doc)
    return doc, res.returncode


def rows(doc: dict) -> list[tuple[str, str | None, int]]:
    return [(g["source"], g["deployment_group"], g["attention"]["rank"]) for g in doc["groups"]]


def test_status_all_json_orders_both_sources(two: tuple[dict, dict, Path]) -> None:
    east, _, config = two
    doc, rc = overview(east, config)
    assert rc == 0
    assert doc["kind"] == "overview" and doc["sources"] == ["east", "west", "gone"]
    gone = [g for g in doc["groups"] if g["source"] == "gone"]
    assert len(gone) == 1 and "EndpointConnectionError" in gone[0]["stale"]
    # The groups this test moves, in their order (the scenarios may hold more).
    assert [r for r in rows(doc) if r in QUIET] == QUIET
    assert [r[2] for r in rows(doc)] == sorted(r[2] for r in rows(doc))
    res = cutover(east, "deploy", "--application", "web", "--deployment-group", "web-prod",
                  "--revision", V2, "--yes")  # fmt: skip
    assert res.returncode == 0, res.stderr

    def prod(doc: dict) -> dict:
        return next(g for g in doc["groups"] if g["deployment_group"] == "web-prod")

    def waiting() -> dict | None:
        doc, _ = overview(east, config)
        return doc if prod(doc)["attention"]["rank"] == 0 else None

    doc = wait_for(waiting, timeout=120, what="web-prod waiting for the approval", every=0.5)
    first = prod(doc)
    assert doc["groups"].index(first) < doc["groups"].index(
        next(g for g in doc["groups"] if g["deployment_group"] == "batch-jobs")
    )
    assert (first["source"], first["application"], first["deployment_group"]) == (
        "east",
        "web",
        "web-prod",
    )
    d = first["deployment"]
    assert d["status"] == "Ready" and d["waiting_for"] == "reroute-approval" and d["deadline"]
    assert first["account"] == "123456789012" and first["region"] == "us-east-1"
    assert first["style"] == "BLUE_GREEN" and first["traffic"] is not None
    assert first["attention"]["reason"].startswith("waiting for approval")
    # 60 sandbox minutes at x100: under 36 real seconds left.
    assert 0 < first["seconds_left"] <= 36
    assert [r[2] for r in rows(doc)] == sorted(r[2] for r in rows(doc))
    assert [r for r in rows(doc) if r in QUIET] == QUIET[:2]


def test_status_all_text_and_source_selection(two: tuple[dict, dict, Path]) -> None:
    east, _, config = two
    plain = {k: v for k, v in east.items() if k != "AWS_ENDPOINT_URL"}
    res = cutover(plain, "--source", "west", "status", "--config", str(config))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), res.stdout
    assert lines[0].startswith("SANDBOX (clock x100")
    assert "batch/batch-jobs" in res.stdout and "web-prod" not in res.stdout
    res = cutover(plain, "status", "--all", "--source", "gone", "--config", str(config))
    assert res.returncode == 1 and "STALE" in res.stdout, res.stdout
    res = cutover(plain, "status", "--all", "--deployment-group", "x", "--config", str(config))
    assert res.returncode == 2 and "--deployment-group" in res.stderr
    res = cutover(plain, "status", "--source", "nope", "--config", str(config))
    assert res.returncode == 2 and "unknown target 'nope'" in res.stderr
