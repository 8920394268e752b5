"""The CodeDeploy agent of the sandbox's instances: runs a revision's appspec hooks for real.

`AppspecHooks` is a `LifecycleHooks` strategy (see engine.py). For a deployment whose revision
label maps to a bundle (a local directory, `codedeploy.bundles` in the scenario), it does what
the agent does on an instance:

- DownloadBundle copies the bundle to `<root>/<instance-id>/<deployment-group-id>/
  <deployment-id>/deployment-archive` and checks its appspec.yml; Install is the agent's own
  work. Both take their configured durations.
- Every other event runs the scripts the appspec lists for it, in order, as local processes
  (cwd the archive, a clean environment with CodeDeploy's variables, AWS_ENDPOINT_URL the
  sandbox and AWS_EC2_METADATA_SERVICE_ENDPOINT the instance's metadata service, and no
  region or credentials: the instance finds those through its metadata, as on EC2). An event
  without scripts succeeds at once.
- ApplicationStop, BeforeBlockTraffic and AfterBlockTraffic run the appspec of the revision
  installed on the instance (as the agent runs the last successful revision's), the other
  events the new revision's.
- A script's `timeout` (default 3600) is in sandbox seconds; past it the process group is
  killed (ScriptTimedOut). A non-zero exit is ScriptFailed; a missing or non-executable script
  ScriptMissing / ScriptNotExecutable; the diagnostics carry the last 20 lines of the event's
  output prefixed `[stdout]` / `[stderr]`, as the agent reports them.
- Every path stays inside its root: archives inside the deployment root (a revision label or
  id that would lead elsewhere is refused), scripts and the appspec inside their archive
  (a location that resolves outside it, through `..` or a symbolic link, is ScriptMissing).
  Labels come from API callers and scenario files; the sandbox runs on the engineer's own
  machine, so nothing they say may make it copy or run files elsewhere.

Deployments whose revision has no bundle keep the timed behaviour (`TimedHooks`). Nothing here
blocks the world lock: `start` spawns and returns, `poll` only asks whether the process ended.
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml
from cutover.sandbox.engine import (
    STOP_EVENTS,
    HookContext,
    HookResult,
    HookRun,
    TimedRun,
    script_failure,
)

log = logging.getLogger("cutover.sandbox")

DEFAULT_TIMEOUT = 3600
LOG_TAIL_LINES = 20
# Events that are the agent's (or CodeDeploy's) own work: an appspec lists no scripts for them.
RESERVED_EVENTS = ("DownloadBundle", "Install", "AllowTraffic", "BlockTraffic")


class AppspecError(Exception):
    """An appspec file the agent refuses; str() says why."""


def within(root: Path, path: Path) -> Path | None:
    """`path` resolved (symbolic links followed) when that is `root` or below it, else None
    (also for paths that cannot be resolved: a NUL byte, a symbolic-link loop)."""
    try:
        resolved = path.resolve()
        return resolved if resolved.is_relative_to(root.resolve()) else None
    except (OSError, ValueError, RuntimeError):
        return None


def _plain_name(part: str) -> bool:
    return bool(part) and part not in (".", "..") and "/" not in part and "\0" not in part


@dataclass(frozen=True)
class Script:
    location: str
    timeout: int = DEFAULT_TIMEOUT
    runas: str | None = None


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


def read_appspec(archive: Path) -> dict[str, list[Script]]:
    """The hooks of the appspec in an archive: event -> scripts in order. Raises AppspecError."""
    path = next(
        (archive / n for n in ("appspec.yml", "appspec.yaml") if (archive / n).is_file()), None
    )
    if path is None or within(archive, path) is None:
        raise AppspecError(f"The appspec.yml file was not found in {archive}")
    try:
        doc = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise AppspecError(f"{path.name} could not be read: {exc}") from None
    if not isinstance(doc, dict):
        raise AppspecError(f"{path.name} must be a mapping")
    if str(doc.get("version")) not in ("0.0", "0"):
        raise AppspecError(
            f"The deployment failed because an invalid version value ({doc.get('version')}) was "
            f"entered in the application specification file. Make sure your AppSpec file "
            f'specifies "0.0" as the version, and then try again.'
        )
    if doc.get("os", "linux") not in ("linux", "windows"):
        raise AppspecError(f"{path.name}: os must be linux or windows, not {doc.get('os')}")
    hooks = doc.get("hooks") or {}
    if not isinstance(hooks, dict):
        raise AppspecError(f"{path.name}: hooks must be a mapping of lifecycle event to scripts")
    out: dict[str, list[Script]] = {}
    for event, entries in hooks.items():
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise AppspecError(f"{path.name}: hooks {event} must be a list of scripts")
        scripts = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("location"), str):
                raise AppspecError(f"{path.name}: every script of {event} needs a location")
            timeout = entry.get("timeout", DEFAULT_TIMEOUT)
            if (
                isinstance(timeout, bool)
                or not isinstance(timeout, int)
                or not (1 <= timeout <= DEFAULT_TIMEOUT)
            ):
                raise AppspecError(
                    f"{path.name}: the timeout of {entry['location']} must be whole seconds "
                    f"from 1 to {DEFAULT_TIMEOUT}"
                )
            runas = entry.get("runas")
            scripts.append(Script(entry["location"], timeout, str(runas) if runas else None))
        out[str(event)] = scripts
    return out


class AppspecHooks:
    """The agent: a `LifecycleHooks` strategy that runs bundles' appspec hooks as processes.

    `bundles` maps revision labels (or "*") to directories; `endpoint_url()` is the sandbox's
    AWS endpoint and `imds_url(instance_id)` an instance's metadata endpoint (callables, as
    the ports are known only once the sandbox runs). `close()` kills every script still
    running and removes the deployment root.
    """

    def __init__(
        self,
        bundles: dict[str, Path],
        *,
        endpoint_url: Callable[[], str],
        imds_url: Callable[[str], str],
        root: Path | None = None,
    ) -> None:
        self.bundles = {label: Path(p) for label, p in bundles.items()}
        self.endpoint_url = endpoint_url
        self.imds_url = imds_url
        self._own_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="cutover-agent-"))
        self.records: list[ScriptRecord] = []
        self._runs: set[_ScriptsRun] = set()
        # (instance, deployment group id) -> (label, archive) of the last revision installed.
        self._installed: dict[tuple[str, str], tuple[str, Path]] = {}
        self._lock = threading.Lock()

    def bundle(self, label: str | None) -> Path | None:
        """The directory of a revision label, or None when it is not a local bundle."""
        if label is None:
            return None
        return self.bundles.get(label) or self.bundles.get("*")

    def archive_dir(self, instance_id: str, group_id: str, deployment_id: str) -> Path:
        """`<root>/<instance>/<group>/<deployment>/deployment-archive`. Raises AppspecError
        when a part is not one plain name or the directory would not be inside the root."""
        parts = (instance_id, group_id, deployment_id)
        path = self.root.joinpath(*parts, "deployment-archive")
        if not all(_plain_name(str(p)) for p in parts) or within(self.root, path) is None:
            raise AppspecError(
                f"The deployment archive of {deployment_id!r} on {instance_id!r} would not be "
                "inside the agent's deployment root"
            )
        return path

    # ----- LifecycleHooks -------------------------------------------------------------------

    def start(self, ctx: HookContext) -> HookRun:
        if self.bundle(ctx.revision_label) is None:
            return TimedRun(ctx.started + ctx.duration)
        try:
            if ctx.event == "DownloadBundle":
                self._download(ctx)
                return TimedRun(ctx.started + ctx.duration)
            if ctx.event == "Install":
                return _InstallRun(ctx.started + ctx.duration, self, ctx)
            archive = self._archive_for(ctx)
            if archive is None:
                return TimedRun(ctx.started)
            scripts = read_appspec(archive).get(ctx.event, [])
        except (AppspecError, OSError) as exc:
            message = str(exc)
            log.warning(
                "agent: %s %s on %s: %s", ctx.deployment_id, ctx.event, ctx.instance_id, message
            )
            diagnostics = {
                "errorCode": "UnknownError",
                "scriptName": "",
                "message": message,
                "logTail": "",
            }
            return TimedRun(ctx.started, HookResult(False, diagnostics))
        if not scripts:
            return TimedRun(ctx.started)
        run = _ScriptsRun(self, ctx, archive, scripts)
        with self._lock:
            self._runs.add(run)
        run.advance()
        return run

    def close(self) -> None:
        """Kill every script still running and remove the deployment root (if it made it)."""
        with self._lock:
            runs = list(self._runs)
            self._runs.clear()
        for run in runs:
            run.cancel()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # ----- the archive ----------------------------------------------------------------------

    def _download(self, ctx: HookContext) -> Path:
        bundle = self.bundle(ctx.revision_label)
        assert bundle is not None
        archive = self.archive_dir(ctx.instance_id, ctx.deployment_group_id, ctx.deployment_id)
        self._copy(bundle, archive)
        read_appspec(archive)
        return archive

    @staticmethod
    def _copy(bundle: Path, archive: Path) -> None:
        if archive.exists():
            shutil.rmtree(archive)
        archive.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            bundle, archive, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".git")
        )

    def _installed_archive(self, ctx: HookContext) -> Path | None:
        """The archive of the revision on the instance now (made from its bundle if the
        sandbox has not installed it itself, e.g. the scenario's first revision)."""
        label = ctx.installed_label
        key = (ctx.instance_id, ctx.deployment_group_id)
        with self._lock:
            known = self._installed.get(key)
        if known is not None and known[0] == label and known[1].is_dir():
            return known[1]
        bundle = self.bundle(label)
        if bundle is None:
            return None
        try:
            archive = self.archive_dir(
                ctx.instance_id, ctx.deployment_group_id, f"installed-{label}"
            )
        except AppspecError as exc:
            # As when the agent finds no archive of the last successful deployment: the
            # event has no scripts to run.
            log.warning("agent: installed revision %r on %s: %s", label, ctx.instance_id, exc)
            return None
        if not archive.is_dir():
            self._copy(bundle, archive)
        with self._lock:
            self._installed[key] = (str(label), archive)
        return archive

    def _archive_for(self, ctx: HookContext) -> Path | None:
        if ctx.event in STOP_EVENTS:
            return self._installed_archive(ctx)
        archive = self.archive_dir(ctx.instance_id, ctx.deployment_group_id, ctx.deployment_id)
        if not archive.is_dir():
            self._download(ctx)
        return archive

    def _note_installed(self, ctx: HookContext) -> None:
        try:
            archive = self.archive_dir(ctx.instance_id, ctx.deployment_group_id, ctx.deployment_id)
        except AppspecError:
            return
        if archive.is_dir():
            with self._lock:
                self._installed[(ctx.instance_id, ctx.deployment_group_id)] = (
                    ctx.revision_label,
                    archive,
                )

    # ----- processes ------------------------------------------------------------------------

    def environment(self, ctx: HookContext) -> dict[str, str]:
        """The environment of a hook script: clean, with CodeDeploy's variables."""
        env = {
            "PATH": os.path.dirname(sys.executable)
            + os.pathsep
            + os.environ.get("PATH", os.defpath),
            "HOME": os.environ.get("HOME", str(self.root)),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
        }
        # Where `cutover` keeps its logs and config: a test's isolated directories stay so.
        for key in ("XDG_STATE_HOME", "XDG_CONFIG_HOME"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(
            LIFECYCLE_EVENT=ctx.event,
            DEPLOYMENT_ID=ctx.deployment_id,
            APPLICATION_NAME=ctx.application,
            DEPLOYMENT_GROUP_NAME=ctx.deployment_group,
            DEPLOYMENT_GROUP_ID=ctx.deployment_group_id,
            AWS_ENDPOINT_URL=self.endpoint_url(),
            AWS_EC2_METADATA_SERVICE_ENDPOINT=self.imds_url(ctx.instance_id),
        )
        return env

    def _finished(self, run: _ScriptsRun) -> None:
        with self._lock:
            self._runs.discard(run)


class _InstallRun(TimedRun):
    """Install: the configured duration; once it succeeded, the instance's installed archive
    is this deployment's (the next deployment's ApplicationStop runs its appspec)."""

    def __init__(self, ends: float, agent: AppspecHooks, ctx: HookContext) -> None:
        super().__init__(ends)
        self.agent = agent
        self.ctx = ctx

    def poll(self, now: float) -> HookResult | None:
        result = super().poll(now)
        if result is not None and result.ok:
            self.agent._note_installed(self.ctx)
        return result


class _ScriptsRun:
    """The scripts of one lifecycle event on one instance, run one after another."""

    def __init__(
        self, agent: AppspecHooks, ctx: HookContext, archive: Path, scripts: list[Script]
    ) -> None:
        self.agent = agent
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
        self.agent._finished(self)

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
                env=self.agent.environment(self.ctx),
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
        self.agent.records.append(record)
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
        self.agent._finished(self)


def describe(records: list[ScriptRecord]) -> list[dict[str, Any]]:
    """JSON-ready script records."""
    return [r.__dict__.copy() for r in records]
