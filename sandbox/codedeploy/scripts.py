"""The scripts of one lifecycle event on one instance, run as local processes one after
another, as the CodeDeploy agent runs them; and the record of each script run."""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .appspec import Script, within
from .diagnostics import script_failure
from .hooks import HookContext, HookResult

log = logging.getLogger("cutover.sandbox")

LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class ScriptRecord:
    """One script the agent ran: what, where, how it ended and how long it took (real s)."""

    instance_id: str
    deployment_id: str
    event: str
    script: str
    exit_code: int | None
    error_code: str
    seconds: float


class ScriptsRun:
    """The scripts of one lifecycle event on one instance, run one after another.

    `environment()` gives a script's environment, `records` collects what ran, and
    `on_end(run)` is called once the run is over (ended, failed or cancelled).
    """

    def __init__(
        self,
        ctx: HookContext,
        archive: Path,
        scripts: list[Script],
        *,
        environment: Callable[[], dict[str, str]],
        records: list[ScriptRecord],
        on_end: Callable[[ScriptsRun], None],
    ) -> None:
        self.environment = environment
        self.records = records
        self.on_end = on_end
        self.ctx = ctx
        self.archive = archive
        self.scripts = list(scripts)
        self.index = -1
        self.proc: subprocess.Popen[bytes] | None = None
        self.script: Script | None = None
        self.began = 0.0
        self.deadline = 0.0
        self.time_scale = ctx.world.clock.time_scale
        self.lines: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self.readers: list[threading.Thread] = []
        self.result: HookResult | None = None
        self.log_path = archive.parent / "logs" / "scripts.log"
        self._out_lock = threading.Lock()

    # The engine calls poll/cancel under the world lock, from its tick.

    def poll(self, now: float) -> HookResult | None:
        if self.result is None:
            self.advance()
        return self.result

    def cancel(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._kill()
            self._record(None, "Cancelled")
        if self.result is None:
            self.result = HookResult(False, None)
        self.on_end(self)

    def advance(self) -> None:
        """Move on as far as the processes allow: start the next script when one ended."""
        while self.result is None:
            if self.proc is not None:
                code = self.proc.poll()
                if code is None:
                    if time.monotonic() >= self.deadline:
                        self._kill()
                        self._join()
                        self._record(None, "ScriptTimedOut")
                        self._fail("ScriptTimedOut", exit_code=-1)
                    return
                self._join()
                self._record(code, "Success" if code == 0 else "ScriptFailed")
                self.proc = None
                if code != 0:
                    self._fail("ScriptFailed", exit_code=code)
                    return
            self.index += 1
            if self.index >= len(self.scripts):
                self._end(HookResult(True, None))
                return
            self._spawn(self.scripts[self.index])

    def _spawn(self, script: Script) -> None:
        self.script = script
        location = script.location.lstrip("/")
        path = self.archive / location
        self._log(f"Script - {location}")
        if within(self.archive, path) is None or not path.is_file():
            self._record(None, "ScriptMissing")
            self._fail("ScriptMissing")
            return
        if not os.access(path, os.X_OK):
            self._record(None, "ScriptNotExecutable")
            self._fail("ScriptNotExecutable")
            return
        self.began = time.monotonic()
        self.deadline = self.began + script.timeout / self.time_scale
        try:
            self.proc = subprocess.Popen(
                [str(path)],
                cwd=self.archive,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            # Not a program the kernel can start (no #! line, a bad interpreter).
            self._add("stderr", f"{location}: {exc.strerror}")
            self._record(None, "ScriptFailed")
            self._fail("ScriptFailed", exit_code=126)
            return
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.readers = [
            threading.Thread(target=self._read, args=(stream, kind), daemon=True)
            for stream, kind in ((self.proc.stdout, "stdout"), (self.proc.stderr, "stderr"))
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: IO[bytes], kind: str) -> None:
        for raw in iter(stream.readline, b""):
            self._add(kind, raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    def _add(self, kind: str, line: str) -> None:
        with self._out_lock:
            self.lines.append(f"[{kind}]{line}")
        self._log(f"[{kind}]{line}")

    def _log(self, line: str) -> None:
        """The agent's per-deployment script log, as on an instance."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as f:
                f.write(f"[{stamp}] LifecycleEvent - {self.ctx.event} {line}\n")
        except OSError:
            pass

    def _join(self) -> None:
        # The pipes close when the script exits (or a child it left behind exits); take what
        # arrived shortly, never wait on a straggler.
        for reader in self.readers:
            reader.join(0.2)

    def _kill(self) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            pass

    def _record(self, code: int | None, error_code: str) -> None:
        assert self.script is not None
        seconds = time.monotonic() - self.began if self.proc is not None else 0.0
        record = ScriptRecord(
            self.ctx.instance_id,
            self.ctx.deployment_id,
            self.ctx.event,
            self.script.location,
            code,
            error_code,
            round(seconds, 3),
        )
        self.records.append(record)
        log.info(
            "agent: %s %s %s on %s: %s (exit code %s) in %.2f s",
            self.ctx.deployment_id,
            self.ctx.event,
            self.script.location,
            self.ctx.instance_id,
            error_code,
            "-" if code is None else code,
            seconds,
        )

    def _fail(self, error_code: str, *, exit_code: int = 1) -> None:
        assert self.script is not None
        with self._out_lock:
            tail = "".join(line + "\n" for line in self.lines)
        diagnostics = script_failure(
            self.ctx.event,
            exit_code=exit_code,
            script=self.script.location,
            error_code=error_code,
            log_tail=tail,
            deployment_group_id=self.ctx.deployment_group_id,
            deployment_id=self.ctx.deployment_id,
            timeout=self.script.timeout,
        )
        self._end(HookResult(False, diagnostics))

    def _end(self, result: HookResult) -> None:
        self.result = result
        self.proc = None
        self.on_end(self)


def describe(records: list[ScriptRecord]) -> list[dict[str, Any]]:
    """JSON-ready script records."""
    return [r.__dict__.copy() for r in records]
