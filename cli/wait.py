"""`cutover ACTION --wait`: after AWS accepted the action, read the state until its effect is
seen, fails or --wait-timeout passes (backend/core/effects.py says which, as the dashboard
does). One line per change, stamped with the server's time: a log, not a spinner."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from cutover.backend.core.effects import FAILED, OBSERVED, effect
from cutover.backend.model import Snapshot
from cutover.backend.observe import ObserveError, Observer
from cutover.cli.exits import EXIT_EFFECT_FAILED, EXIT_OK, EXIT_WAIT_TIMEOUT


def wait_for_effect(
    action: str,
    acted: str,
    observer: Observer,
    *,
    timeout: float,
    interval: float,
    out: TextIO,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Exit 0 once the effect is seen, 3 when it failed, 4 when `timeout` (real seconds)
    passed first; Ctrl-C stops waiting (130), never the action."""
    try:
        return _wait(action, acted, observer, timeout, interval, out, clock, sleep)
    except KeyboardInterrupt:
        out.write(f"stopped waiting; {action} was sent: `cutover status` shows where it is\n")
        return 130


def _wait(
    action: str,
    acted: str,
    observer: Observer,
    timeout: float,
    interval: float,
    out: TextIO,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> int:
    deadline = clock() + timeout
    watching = acted  # CodeDeploy's rollback deployment, once the stopped one names it
    previous: Snapshot | None = None
    last = ""

    def say(words: str, stamp: str) -> None:
        nonlocal last
        if words != last:
            out.write(f"{stamp}  {words}\n")
            out.flush()
            last = words

    while True:
        stamp = time.strftime("%H:%M:%SZ", time.gmtime())
        try:
            keep = (
                previous
                if previous and previous.deployment and (previous.deployment.id == watching)
                else None
            )
            snap = observer.snapshot(deployment_id=watching, previous=keep)
        except ObserveError as exc:
            if exc.gone:
                out.write(f"{stamp}  FAILED: {watching} can no longer be read: {exc}\n")
                return EXIT_EFFECT_FAILED
            say(f"could not read the state ({exc}); trying again", stamp)
        else:
            previous = snap
            stamp = snap.server_time.strftime("%H:%M:%SZ")
            got = effect(action, acted, snap)
            if got.state == FAILED:
                say(f"FAILED: {got.words}", stamp)
                return EXIT_EFFECT_FAILED
            if got.state == OBSERVED:
                say(f"done: {got.words}", stamp)
                return EXIT_OK
            say(got.words, stamp)
            if got.watch and got.watch != watching:
                watching = got.watch
                continue
        if clock() >= deadline:
            out.write(f"{stamp}  not seen within {timeout:g} s: {last}\n")
            return EXIT_WAIT_TIMEOUT
        sleep(interval)
