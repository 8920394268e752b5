"""Regenerate screenshots/*.svg from a real sandbox run: `python -m cutover.cli.screenshots`.

Runs the default scenario with load, carries a deployment of v2 through installing, Ready,
the reroute and the termination wait, then rolls it back, reading snapshots all the way as the
dashboard would. Then the hooks scenario: an in-place deployment whose appspec hooks are
`cutover hook` (run as real processes by the sandbox's agent), and one where a script fails
between the hooks, leaving leftovers to repair. Each picture is the dashboard fed the
snapshots up to that moment (so the timeline and sparklines are real), with the clock frozen at
the last one.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import boto3
from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.aws.session import AwsSession
from cutover.backend.config import TargetConfig
from cutover.backend.model import Instance, OverviewRow, Snapshot
from cutover.backend.observe import Observer
from cutover.backend.observe.overview import Overview, SourceReader
from cutover.backend.observe.sources import Source
from cutover.sandbox.control.client import ControlClient
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from cutover.tui.app import CutoverApp
from cutover.tui.overview_app import OverviewApp

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (120, 40)
SMALL = (80, 24)

Then = Callable[[CutoverApp, object], Awaitable[None]]


class Run:
    """A sandbox run and every snapshot read during it."""

    def __init__(
        self,
        time_scale: float,
        scenario: str = "default",
        application: str = "web",
        group: str = "web-prod",
    ) -> None:
        self.sandbox = Sandbox(
            load_scenario(scenario), free_listener_ports=True, time_scale=time_scale, load_rps=20
        )
        self.sandbox.start(wait_healthy=60)
        self.target = TargetConfig(
            name="sandbox",
            region="us-east-1",
            endpoint_url=self.sandbox.endpoint_url,
            application=application,
            deployment_group=group,
        )
        session = AwsSession(self.target)
        session.session = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
        )
        session.create_clients()
        self.session = session
        self.overview_rows: list[OverviewRow] = []
        self.observer = Observer(session, self.target)
        self.controller = Controller(
            session, self.target, AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
        )
        self.snaps: list[Snapshot] = []
        self.deployment_id: str | None = None

    def read(self) -> Snapshot:
        previous = self.snaps[-1] if self.snaps else None
        snap = self.observer.snapshot(deployment_id=self.deployment_id, previous=previous)
        self.snaps.append(snap)
        return snap

    def until(self, pred: Callable[[Snapshot], bool], timeout: float = 120) -> list[Snapshot]:
        deadline = time.monotonic() + timeout
        while True:
            snap = self.read()
            if pred(snap):
                return list(self.snaps)
            if time.monotonic() > deadline:
                raise RuntimeError(f"gave up waiting; last phase {snap.deployment}")
            time.sleep(0.15)

    def act(self, action: str, **kwargs: object) -> None:
        plan = self.controller.plan(action, self.snaps[-1], **kwargs)  # type: ignore[arg-type]
        outcome = self.controller.execute(plan, self.read)
        if not outcome.ok:
            raise RuntimeError(f"{action}: {outcome.message}")

    def fault(self, body: dict) -> None:
        ControlClient(self.sandbox.endpoint_url).set_deployment_fault(**body)

    def overview(self) -> list[OverviewRow]:
        """Every group of the sandbox, as the overview reads them (through the same session)."""
        source = Source("sandbox", replace(self.target, application=None, deployment_group=None))
        reader = SourceReader(source, session=self.session)
        overview = Overview([source], reader=lambda _: reader)
        try:
            return overview.rows()
        finally:
            overview.close()

    def stop(self) -> None:
        self.observer.close()
        self.sandbox.stop()


def phase(name: str) -> Callable[[Snapshot], bool]:
    return lambda s: s.deployment is not None and s.deployment.phase == name


async def shoot(
    run: Run,
    snaps: list[Snapshot],
    name: str,
    then: Then | None = None,
    size: tuple[int, int] = SIZE,
) -> Path:
    last = snaps[-1]
    app = CutoverApp(
        run.target,
        controller=run.controller,
        now=lambda: last.server_time,
        sandbox=True,
        poll=False,
    )
    async with app.run_test(size=size) as pilot:
        for snap in snaps:
            app.feed(snap)
            await pilot.pause()
        if then is not None:
            await then(app, pilot)
            await pilot.pause()
        OUT.mkdir(exist_ok=True)
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    return OUT / f"{name}.svg"


async def confirm_approve(app: CutoverApp, pilot: object) -> None:
    app.request_action("approve")


async def help_screen(app: CutoverApp, pilot: object) -> None:
    await pilot.press("question_mark")  # type: ignore[attr-defined]


def instance_details(instance_id: str) -> Then:
    async def then(app: CutoverApp, pilot: object) -> None:
        app.open_instance(instance_id)

    return then


def collect(time_scale: float) -> tuple[Run, dict[str, list[Snapshot]]]:
    run = Run(time_scale)
    shots: dict[str, list[Snapshot]] = {}
    run.read()
    run.act("deploy", revision="s3://web-revisions/web/v2.zip")
    run.deployment_id = run.read().deployment.id  # type: ignore[union-attr]
    shots["installing"] = run.until(
        lambda s: (
            phase("installing")(s)
            and s.replacement is not None
            and any(i.current_event for i in s.replacement.instances)
        )
    )
    shots["ready"] = run.until(phase("ready"))
    run.overview_rows = run.overview()
    run.act("approve")
    shots["rerouting"] = run.until(
        lambda s: (
            phase("rerouting")(s)
            and s.original is not None
            and any(h.draining for i in s.original.instances for h in i.health)
        )
    )
    shots["termination-wait"] = run.until(phase("termination-wait"))
    run.act("rollback")
    shots["rolled-back"] = run.until(
        lambda s: (
            s.deployment is not None
            and s.deployment.status == "Stopped"
            and s.deployment.rolled_back_by is not None
            and s.original is not None
            and all(h.healthy for i in s.original.instances for h in i.health)
            and not any(h.registered for i in replacements(s) for h in i.health)
        )
    )
    return run, shots


def collect_in_place(time_scale: float) -> tuple[Run, dict[str, list[Snapshot]]]:
    """api-hooks of the hooks scenario: a deployment through the hooks, caught with an instance
    out of its target group; then one whose AfterInstall script fails on the second instance."""
    run = Run(time_scale, "hooks", "shop", "api-hooks")
    shots: dict[str, list[Snapshot]] = {}
    run.read()
    run.act("deploy", revision="s3://shop-revisions/shop/v2.zip")
    run.deployment_id = run.read().deployment.id  # type: ignore[union-attr]
    shots["in-place"] = run.until(
        lambda s: (
            s.fleet is not None
            and s.deployment is not None
            and s.deployment.overview.get("Succeeded", 0) >= 1
            and any(h.state == "unused" or h.draining for i in s.fleet.instances for h in i.health)
        )
    )
    run.until(phase("succeeded"))
    second = run.snaps[-1].fleet.instances[1].id  # type: ignore[union-attr]
    run.fault({"fail_hook": "AfterInstall", "instance_id": second})
    run.deployment_id = None  # follow the group's new deployment
    run.act("deploy", revision="s3://shop-revisions/shop/v3.zip")
    run.deployment_id = run.read().deployment.id  # type: ignore[union-attr]
    shots["leftovers"] = run.until(lambda s: phase("failed")(s) and bool(s.leftovers))
    return run, shots


def replacements(snap: Snapshot) -> tuple[Instance, ...]:
    return snap.replacement.instances if snap.replacement is not None else ()


async def shoot_overview(rows: list[OverviewRow], name: str, size: tuple[int, int]) -> Path:
    """The overview as plain `cutover` opens it, web/web-prod waiting for the approval."""
    times = [r.server_time for r in rows if r.server_time is not None]
    now = max(times)
    app = OverviewApp(now=lambda: now, rows=rows, select=None)
    app.bell = lambda: None  # type: ignore[method-assign]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.feed(rows)
        await pilot.pause()
        OUT.mkdir(exist_ok=True)
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    return OUT / f"{name}.svg"


async def render(run: Run, shots: dict[str, list[Snapshot]]) -> list[Path]:
    out = [
        await shoot_overview(run.overview_rows, "overview", (140, 45)),
        await shoot_overview(run.overview_rows, "overview-80x24", SMALL),
        await shoot(run, shots["installing"], "dashboard-installing"),
        await shoot(run, shots["ready"], "dashboard-awaiting-approval"),
        await shoot(run, shots["rerouting"], "dashboard-rerouting"),
        await shoot(run, shots["termination-wait"], "dashboard-termination-wait"),
        await shoot(run, shots["rolled-back"], "dashboard-rolled-back"),
        await shoot(run, shots["ready"], "confirm-approve", confirm_approve),
        await shoot(run, shots["ready"], "help", help_screen),
        # A laptop's split pane at 3 a.m.: what decides the approval must read here too.
        await shoot(run, shots["ready"], "dashboard-awaiting-approval-80x24", size=SMALL),
        await shoot(run, shots["ready"], "confirm-approve-80x24", confirm_approve, size=SMALL),
    ]
    ready = shots["ready"][-1]
    assert ready.replacement is not None and ready.replacement.instances
    out.append(
        await shoot(
            run,
            shots["ready"],
            "instance-details",
            instance_details(ready.replacement.instances[0].id),
        )
    )
    return out


async def confirm_repair(app: CutoverApp, pilot: object) -> None:
    app.request_action("repair")


async def render_in_place(run: Run, shots: dict[str, list[Snapshot]]) -> list[Path]:
    return [
        await shoot(run, shots["in-place"], "in-place-hooks"),
        await shoot(run, shots["leftovers"], "in-place-leftovers"),
        await shoot(run, shots["leftovers"], "confirm-repair", confirm_repair),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=30.0)
    args = parser.parse_args()
    run, shots = collect(args.time_scale)
    try:
        for path in asyncio.run(render(run, shots)):
            print(path)
    finally:
        run.stop()
    run, shots = collect_in_place(args.time_scale)
    try:
        for path in asyncio.run(render_in_place(run, shots)):
            print(path)
    finally:
        run.stop()


if __name__ == "__main__":
    main()
