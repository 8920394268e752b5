"""How old the dashboard's data is behind a dialog held open, and how long a change made behind
it takes to reach the screen: polling on behind dialogs (as it is) against polling paused
while a dialog is up (as it was), in the same run.

Each variant: an in-process sandbox (default scenario), the dashboard through Pilot, the help
screen opened once the first snapshot is shown, a deployment started with boto3 a second
later, the dialog held `--hold` real seconds. Measured: real seconds from the change until the
dashboard behind the dialog shows the new deployment (or "not shown"), and the age of the
newest snapshot shown when the dialog closes. Run by hand:

    .venv/bin/python bench/behind_dialogs.py [--hold 15]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import cutover.tui.app
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from cutover.sandbox.testing import aws_client
from cutover.tui.app import CutoverApp
from cutover.tui.screens.help import HelpScreen
from support import sandbox_session
from textual.screen import ModalScreen


class PausedBehindDialogs(CutoverApp):
    """The dashboard as it was: no poll while a modal screen is up."""

    # Textual reads CSS_PATH beside the subclass's module; the app's stylesheet is beside its.
    CSS_PATH = str(Path(cutover.tui.app.__file__).with_name("app.tcss"))

    def _poll_tick(self) -> None:
        if self.screen_stack and isinstance(self.screen, ModalScreen):
            self._timer = None
            self._arm(self.interval)
            return
        super()._poll_tick()


async def one(kind: type[CutoverApp], hold: float) -> tuple[float | None, float]:
    sb = Sandbox(load_scenario("default"), time_scale=20, free_listener_ports=True)
    sb.start(wait_healthy=60)
    try:
        target, session = sandbox_session(sb)
        observer = Observer(session, target)
        app = kind(target, observer=observer, sandbox=True)
        fed_at: list[float] = []
        feed = app.feed

        def timed(snap, events=None):  # type: ignore[no-untyped-def]
            fed_at.append(time.monotonic())
            feed(snap, events)

        app.feed = timed  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            while app.snapshot is None:
                await pilot.pause(0.1)
            first = app.snapshot.deployment.id if app.snapshot.deployment else None
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.pause(1.0)
            aws_client(sb, "codedeploy").create_deployment(
                applicationName="web",
                deploymentGroupName="web-prod",
                revision={
                    "revisionType": "S3",
                    "s3Location": {
                        "bucket": "web-revisions",
                        "key": "web/v2.zip",
                        "bundleType": "zip",
                    },
                },
            )
            changed = time.monotonic()
            shown: float | None = None
            while time.monotonic() - changed < hold:
                snap = app.snapshot
                dep = snap.deployment.id if snap and snap.deployment else None
                if shown is None and dep != first:
                    shown = time.monotonic() - changed
                await pilot.pause(0.1)
            age = time.monotonic() - fed_at[-1]
        observer.close()
        return shown, age
    finally:
        sb.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=float, default=15.0, help="real seconds the dialog stays")
    hold = parser.parse_args().hold
    ours = asyncio.run(one(CutoverApp, hold))
    before = asyncio.run(one(PausedBehindDialogs, hold))

    def said(shown: float | None) -> str:
        return f"{shown:.1f} s" if shown is not None else f"not shown in {hold:.0f} s"

    print(f"a dialog held {hold:.0f} s; a deployment started 1 s after it opened")
    print(f"{'':28}{'polling on (now)':>20}{'paused (before)':>20}")
    print(f"{'change shown behind it':28}{said(ours[0]):>20}{said(before[0]):>20}")
    print(f"{'data age when it closes':28}{ours[1]:>18.1f} s{before[1]:>18.1f} s")
    print(f"data age ratio, before / now: {before[1] / max(ours[1], 0.01):.1f}x")


if __name__ == "__main__":
    main()
