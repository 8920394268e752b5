"""Rules of the house that import-linter cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

from cutover.backend.aws import errors

ROOT = Path(__file__).resolve().parents[2]


def _codes() -> set[str]:
    return (
        set(errors.PLAIN)
        | set(errors.THROTTLING_CODES)
        | set(errors.GONE_CODES)
        | set(errors.NOT_FOUND_CODES)
        | set(errors.CREDENTIAL_CODES)
    )


def test_the_dashboard_decides_nothing_on_an_aws_error_code() -> None:
    """The UI learns what an error means from ObserveError (throttled, gone) and shows the
    backend's words; an AWS code compared in tui/ would be a second vocabulary. Docstrings
    may quote one (they show what a person sees)."""
    codes = _codes()
    found = []
    for path in (ROOT / "tui").rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                found += [f"{path.relative_to(ROOT)}: {c}" for c in codes if c in node.value]
    assert not found, found
