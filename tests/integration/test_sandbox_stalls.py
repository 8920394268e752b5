"""A busy machine is not a failing target.

At a high time scale a health check's timeout is a fraction of a real second (5 s at x20 is
250 ms), and the sandbox's event loop runs every instance, proxy and check. When the machine
is busy the loop stalls for longer than that, and a healthy instance whose answer was simply
not read in time went unhealthy with Target.Timeout, failing deployments that should succeed.
"""

from __future__ import annotations

import time

import pytest
from cutover.sandbox.runtime import Sandbox


@pytest.mark.sandbox("default", time_scale=20)
def test_event_loop_stalls_do_not_make_healthy_targets_time_out(sandbox: Sandbox) -> None:
    loop = sandbox.loop
    assert loop is not None
    tg = next(tg for tg in sandbox.world.target_groups.values() if tg.name == "web-tg")
    seen: set[str] = set()
    until = time.monotonic() + 6.0
    while time.monotonic() < until:
        # Stall the sandbox's loop as a busy machine does: longer than a check's timeout.
        loop.call_soon_threadsafe(time.sleep, 0.4)
        time.sleep(0.2)
        loop.call_soon_threadsafe(time.sleep, 0.4)
        time.sleep(0.45)
        with sandbox.world.lock:
            seen |= {f"{t.state}:{t.reason}" for t in tg.targets.values()}
    assert not [s for s in seen if "Target.Timeout" in s], seen
