"""`cutover report`: the record of one deployment, as Markdown and an SVG chart, from AWS alone
plus this machine's audit log, so it can be written after the fact.

The deployment is `--deployment`, else the one `cutover status` shows for the group (the
same flags, config and choice). DIR (`--output`, default the current directory) gets
`report-<id>.md` and `report-<id>.svg`; an existing one is never overwritten unless `--force`
(exit 2 without it). Exit codes as everywhere (cli/exits.py): 0 written, 1 AWS could not be
read, 2 usage (a bad flag, an unknown deployment, a file in the way).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from cutover.backend.audit import AuditLog
from cutover.backend.core.audit_trail import actions
from cutover.backend.observe import ObserveError, Observer
from cutover.backend.observe.calls import WRONG_GROUP
from cutover.backend.observe.history import read_history
from cutover.backend.present.report import render_report
from cutover.cli.commands import CommandError, resolve_target
from cutover.cli.commands import _session as session_for
from cutover.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from cutover.common.lifecycle import ACTIVE_STATUSES

# The deployment named does not exist, or is not this group's: the person typed it.
_USAGE_CODES = (WRONG_GROUP, "DeploymentDoesNotExistException", "InvalidDeploymentIdException")


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    folder = Path(args.output)
    if not folder.is_dir():
        raise CommandError(f"--output: {folder} is not a directory", EXIT_USAGE)
    target = resolve_target(args)
    observer = Observer(session_for(target), target)
    try:
        history = read_history(
            observer, args.deployment, lead=timedelta(minutes=max(10, target.bake.window_minutes))
        )
        bake = observer.bake(history.snapshot)
    except ObserveError as exc:
        code = EXIT_USAGE if exc.aws_code in _USAGE_CODES else EXIT_FAILED
        raise CommandError(str(exc), code) from None
    finally:
        observer.close()
    d = history.snapshot.deployment
    assert d is not None
    md, svg = folder / f"report-{d.id}.md", folder / f"report-{d.id}.svg"
    in_the_way = [p for p in (md, svg) if p.exists()]
    if in_the_way and not args.force:
        raise CommandError(
            f"{in_the_way[0]} exists; pass --force to overwrite it (or --output another directory)",
            EXIT_USAGE,
        )
    audit = AuditLog()
    s = history.snapshot
    # This deployment's actions and its rollback's; for a rollback, the stop or rollback
    # asked for on the deployment it rolls back (what started it).
    ids = [i for i in (d.id, d.rolled_back_by, d.rollback_of) if i]
    done = [
        a
        for a in actions(
            audit.records(),
            ids,
            application=s.application,
            deployment_group=s.deployment_group,
            region=s.region,
            endpoint=s.endpoint_url,
        )
        if a.deployment_id != d.rollback_of or a.action in ("stop", "rollback")
    ]
    # matplotlib takes a second to import: only here, never on the dashboard's path.
    from cutover.cli.report_chart import draw

    _write(svg, lambda p: draw(history, p))
    _write(
        md, lambda p: p.write_text(render_report(history, done, svg.name, bake), encoding="utf-8")
    )
    state = " (in progress: a record so far)" if d.status in ACTIVE_STATUSES else ""
    out.write(f"{md}\n{svg}\n")
    out.write(f"report of {d.id} ({d.status}){state}: {len(done)} action(s) from {audit.path}\n")
    return EXIT_OK


def _write(path: Path, fill) -> None:  # type: ignore[no-untyped-def]
    """Write through a temporary file beside it, so a reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        fill(Path(tmp))
        # mkstemp makes it private; a report is as readable as any file written here.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
