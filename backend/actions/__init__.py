"""Every mutating call Cutover makes, from every front end: plan, confirm, send once, record.

`controller` holds the Controller (plan -> intent record -> one send -> outcome);
`availability` says whether each action is possible now and why not.
"""

from __future__ import annotations

from cutover.backend.actions.controller import (
    MUTATING,
    ActionRefused,
    ApiCall,
    Controller,
    Outcome,
    Plan,
    parse_revision,
)

__all__ = [
    "MUTATING",
    "ActionRefused",
    "ApiCall",
    "Controller",
    "Outcome",
    "Plan",
    "parse_revision",
]
