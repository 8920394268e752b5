"""The CodeDeploy agent of the sandbox's instances: runs a revision's appspec hooks for real.

`AppspecHooks` is a `LifecycleHooks` strategy (see hooks.py). For a deployment whose revision
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

import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from cutover.common.lifecycle import STOP_EVENTS

from .appspec import AppspecError, plain_name, read_appspec, within
from .hooks import HookContext, HookResult, HookRun, TimedRun
from .scripts import ScriptRecord, ScriptsRun

log = logging.getLogger("cutover.sandbox")


# Events that are the agent's (or CodeDeploy's) own work: an appspec lists no scripts for them.
RESERVED_EVENTS = ("DownloadBundle", "Install", "AllowTraffic", "BlockTraffic")


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
        self._runs: set[ScriptsRun] = set()
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
        if not all(plain_name(str(p)) for p in parts) or within(self.root, path) is None:
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
        run = ScriptsRun(
            ctx,
            archive,
            scripts,
            environment=lambda: self.environment(ctx),
            records=self.records,
            on_end=self._finished,
        )
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

    def _finished(self, run: ScriptsRun) -> None:
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
