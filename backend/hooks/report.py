"""The hooks' output: one line per step, in the form the CodeDeploy agent's log suits."""

from __future__ import annotations

from typing import Any


class Reporter:
    """One line per step: `cutover hook deregister: i-0abc: message` (the CodeDeploy agent adds
    its own timestamps and [stdout]/[stderr] prefixes)."""

    def __init__(self, action: str, out: Any, err: Any) -> None:
        self.action = action
        self.instance_id: str | None = None
        self.out = out
        self.err = err

    def _line(self, message: str) -> str:
        who = f"{self.instance_id}: " if self.instance_id else ""
        return f"cutover hook {self.action}: {who}{message}"

    def info(self, message: str) -> None:
        print(self._line(message), file=self.out, flush=True)

    def error(self, message: str) -> None:
        print(self._line(message), file=self.err, flush=True)
