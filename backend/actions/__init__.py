"""Every mutating call Cutover makes, from every front end: plan, confirm, send once, record.

`catalogue` holds every action once, as data; `controller` the Controller (plan -> intent
record -> one send -> outcome); `plan` what a plan is; one planner module per action family
(`deployment`, `shift`, `repair`); `availability` says whether each action is possible now and
why not; `recheck` and `readback` compare a plan with the state read again before and after
sending.
"""

from __future__ import annotations

from cutover.backend.actions.controller import ActionRefused, Controller
from cutover.backend.actions.deployment import parse_revision
from cutover.backend.actions.plan import ApiCall, Outcome, Plan

__all__ = [
    "ActionRefused",
    "ApiCall",
    "Controller",
    "Outcome",
    "Plan",
    "parse_revision",
]
