"""Requests lost while traffic moves: a full cutover, then a rollback after the reroute.

Starts the default scenario with steady load on its listener and drives web/web-prod through
the Controller, exactly as `cutover approve` / `cutover rollback` do:

1. cutover: deploy v2, approve at Ready, end the termination wait early, until Succeeded;
2. rollback: deploy v3, approve at Ready, roll back once the reroute finished, until the
   rollback deployment Succeeded and traffic is back on the instances it came from.

For each it prints the real time taken and the requests the load generator sent, answered and
lost (5xx, resets, timeouts). Run by hand:

    .venv/bin/python bench/requests_lost.py [--time-scale 50] [--load 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.model import Snapshot
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from support import sandbox_session


class Driver:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        target, session = sandbox_session(sb)
        self.observer = Observer(session, target)
        self.controller = Controller(
            session, target, AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl")
        )
        self.deployment: str | None = None
        self.last: Snapshot | None = None

    def read(self) -> Snapshot:
        self.last = self.observer.snapshot(deployment_id=self.deployment, previous=self.last)
        return self.last

    def until(self, pred: Callable[[Snapshot], bool], timeout: float = 600) -> Snapshot:
        deadline = time.monotonic() + timeout
        while not pred(snap := self.read()):
            if time.monotonic() > deadline:
                raise SystemExit(f"gave up waiting; last: {snap.deployment}")
            time.sleep(0.2)
        return snap

    def act(self, action: str, **kwargs: object) -> None:
        plan = self.controller.plan(action, self.read(), **kwargs)  # type: ignore[arg-type]
        outcome = self.controller.execute(plan, self.read)
        if not outcome.ok:
            raise SystemExit(f"{action}: {outcome.message}")

    def deploy(self, version: str) -> None:
        self.deployment = None
        self.act("deploy", revision=f"s3://web-revisions/web/{version}.zip")
        self.deployment = self.read().deployment.id  # type: ignore[union-attr]


def phase(name: str) -> Callable[[Snapshot], bool]:
    return lambda s: s.deployment is not None and s.deployment.phase == name


def counts(sb: Sandbox) -> tuple[int, int, int]:
    assert sb.load is not None
    stats = sb.load.stats()
    return stats["sent"], stats["ok"], stats["errors"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=50.0)
    parser.add_argument("--load", type=float, default=50.0, help="requests per second")
    args = parser.parse_args()
    sb = Sandbox(
        load_scenario("default"),
        free_listener_ports=True,
        time_scale=args.time_scale,
        load_rps=args.load,
    )
    sb.start(wait_healthy=60)
    d = Driver(sb)
    try:
        rows = []

        start, before = time.monotonic(), counts(sb)
        d.deploy("v2")
        d.until(phase("ready"))
        d.act("approve")
        d.until(phase("termination-wait"))
        d.act("terminate-original")
        d.until(phase("succeeded"))
        rows.append(("cutover", time.monotonic() - start, before, counts(sb)))

        start, before = time.monotonic(), counts(sb)
        d.deploy("v3")
        d.until(phase("ready"))
        d.act("approve")
        d.until(phase("termination-wait"))
        d.act("rollback")
        rolled = d.until(lambda s: s.deployment is not None and bool(s.deployment.rolled_back_by))
        d.deployment = rolled.deployment.rolled_back_by  # type: ignore[union-attr]
        d.until(lambda s: s.deployment is not None and s.deployment.status == "Succeeded")
        rows.append(("rollback", time.monotonic() - start, before, counts(sb)))

        print(f"time scale x{args.time_scale:g}, {args.load:g} requests/s on web-alb")
        print(f"{'':10} {'real s':>7} {'sent':>7} {'answered':>9} {'lost':>5}")
        for name, took, (s0, ok0, e0), (s1, ok1, e1) in rows:
            print(f"{name:10} {took:7.1f} {s1 - s0:7d} {ok1 - ok0:9d} {e1 - e0:5d}")
    finally:
        d.observer.close()
        sb.stop()


if __name__ == "__main__":
    main()
