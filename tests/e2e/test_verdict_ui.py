"""The verdict on the dashboard, against the sandbox with faults: replacements failing health
checks and answering 5xx in the termination wait read DEGRADED with the numbers; a listener
with no healthy target behind it reads OUTAGE, with the 503s the load balancer answers itself.
"""

from __future__ import annotations

import asyncio

import pytest
from cutover.backend.core.verdict import verdict
from cutover.sandbox.control.client import ControlClient

from tests.e2e.conftest import Live, text_of, wait_until
from tests.e2e.test_dashboard_fault_matrix import ready


def header(live: Live) -> str:
    return text_of(live.app.dashboard.query_one("#header"))


@pytest.mark.time_scale(60)
@pytest.mark.load_rps(40)
def test_unhealthy_replacements_answering_5xx_in_the_termination_wait_read_degraded(
    live: Live,
) -> None:
    asyncio.run(_degraded(live))


async def _degraded(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(live, pilot)
        await wait_until(pilot, lambda: "SAFE" in header(live), what="SAFE while Ready")
        await pilot.press("r", "y")
        await wait_until(
            pilot,
            lambda: (
                app.snapshot is not None
                and app.snapshot.deployment is not None
                and app.snapshot.deployment.phase == "termination-wait"
            ),
            timeout=60,
            what="the termination wait",
        )
        reps = [i.id for i in app.snapshot.replacement.instances]  # type: ignore[union-attr]
        control = ControlClient(live.sandbox.endpoint_url)
        for iid in reps[:2]:
            control.set_instance_fault(iid, unhealthy=True)
        control.set_instance_fault(reps[2], error_rate=1.0)

        def degraded() -> bool:
            snap = app.snapshot
            if snap is None:
                return False
            v = verdict(snap)
            return (
                v.level == "DEGRADED"
                and "2 of 4 replacements unhealthy" in v.why
                and "5xx" in v.why
            )

        await wait_until(pilot, degraded, timeout=40, what=f"DEGRADED: {header(live)!r}")
        shown = header(live)
        print(shown)
        assert "DEGRADED" in shown and "2 of 4 replacements unhealthy" in shown
        # The key at 80 columns; what happens if nobody acts is said by the banner there.
        assert "b roll back" in shown
        assert "originals terminate" in text_of(app.dashboard.query_one("#banner")).lower()
        v = verdict(app.snapshot)  # type: ignore[arg-type]
        assert v.target_5xx.get("web-tg", 0) > 0, v


@pytest.mark.load_rps(40)
def test_a_listener_with_no_healthy_target_reads_outage(live: Live) -> None:
    asyncio.run(_outage(live))


async def _outage(live: Live) -> None:
    app = live.app
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "SAFE" in header(live), what="SAFE at rest")
        elbv2 = live.client("elbv2")
        tg = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"][0]["TargetGroupArn"]
        targets = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        elbv2.deregister_targets(TargetGroupArn=tg, Targets=[t["Target"] for t in targets])

        def outage() -> bool:
            snap = app.snapshot
            if snap is None:
                return False
            v = verdict(snap)
            return v.level == "OUTAGE" and v.lb_5xx.get("web-alb", 0) > 0

        await wait_until(pilot, outage, timeout=40, what=f"OUTAGE: {header(live)!r}")
        shown = header(live)
        print(shown)
        assert (
            "OUTAGE" in shown
            and "0 healthy behind web-alb:" in shown
            and "(web-tg has no registered target)" in shown
        )
        # The load balancer's own 503s, shown at load-balancer level under the traffic bar.
        traffic = text_of(app.dashboard.query_one("#traffic"))
        print(traffic)
        assert "web-alb own 5xx" in traffic
