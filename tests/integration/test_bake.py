"""The bake verdict against the sandbox: a blue/green cutover of web/web-prod under load, the
termination wait judged from CloudWatch (the proxies' real request metrics): ok without a
fault, bad with the numbers once the replacements answer 5xx, and bad again once they are
slow; one GetMetricData a CloudWatch period at most, and none outside the termination wait;
read again for the finished deployment."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cutover.backend import observe
from cutover.backend.config import BakeThresholds
from cutover.backend.present.status_json import status_document
from cutover.sandbox.runtime import Sandbox

from tests.integration.test_observe import V2, Watch, phase

TIME_SCALE = 60  # a sandbox minute is a real second: the windows fill in seconds


@pytest.fixture
def loaded(sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    sb = sandbox_factory("default", time_scale=TIME_SCALE, wait_healthy=None, load_rps=40)
    # No deliberately slow requests (3% of the load, 0.5-2 s by default): at 40 a minute two of
    # them make a minute's p95, and the "ok without a fault" half of this test would rest on
    # how they fell. The response times left are the machine's; the slow fault below is the
    # only latency this test means.
    assert sb.load is not None
    sb.load.work_share = 0.0
    for key, value in sb.env().items():
        if key != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return sb


def test_a_5xx_fault_after_the_reroute_turns_the_bake_verdict_bad(loaded: Sandbox) -> None:
    # The sandbox's response times are real ones on a shared machine, whose tail moves with
    # its load: a generous max_increase keeps this test about the errors (the relative
    # checks are unit-tested).
    # p95 objective 300 ms: a slow fault well under the proxy's timeout (a second of real time
    # at this clock) breaks it.
    bake = BakeThresholds(window_minutes=5, min_requests=60, max_increase=30, max_p95_ms=300)
    w = Watch(loaded, "web", "web-prod", bake=bake)
    cd = w.client("codedeploy")
    dep_id = cd.create_deployment(
        applicationName="web", deploymentGroupName="web-prod", revision=V2
    )["deploymentId"]
    ready = w.until(lambda s: s.deployment.id == dep_id and s.deployment.phase == "ready", 60)
    assert ready.bake is None  # judged only once the reroute is over
    w.recorder.take()
    w.snap()
    assert "GetMetricData" in w.recorder.ops and w.recorder.ops["GetMetricData"] == 1
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")
    w.until(phase("termination-wait"), timeout=60)

    ok = w.until(lambda s: s.bake is not None and s.bake.verdict != "not enough data", 30)
    b = ok.bake
    assert b.verdict == "ok", b.reason
    assert b.sources == ("web-tg",) and b.baseline_minutes == 5 and b.after_minutes >= 3
    assert b.baseline_requests >= 60 and b.after_requests >= 60
    assert [c.name for c in b.checks] == ["5xx", "p95", "p99"]
    assert b.reason.startswith("5xx 0.0% after vs 0.0% before (limit 1%); p95 ")
    assert b.after_end <= ok.server_time and b.baseline_end <= b.after_start

    # One CloudWatch read a period (60 s of the server's clock), not one a refresh.
    w.recorder.take()
    snaps = [w.snap() for _ in range(3)]
    reads = w.recorder.take()["GetMetricData"]
    seconds = (snaps[-1].server_time - ok.server_time).total_seconds()
    assert reads <= 3 + int(seconds // 60) + 1, (reads, seconds)
    assert all(s.api_calls <= ok.api_calls + 1 for s in snaps)

    # 5% of answers 5xx: about 2 a minute, under the group's alarm (more than 10 a minute),
    # so CodeDeploy does not stop the deployment; the share is over the 1% objective.
    replacements = [i.id for i in ok.replacement.instances]
    with loaded.world.lock:
        for iid in replacements:
            loaded.world.instances[iid].fault.error_rate = 0.05
    bad = w.until(lambda s: s.bake is not None and s.bake.verdict == "bad", 30)
    check = next(c for c in bad.bake.checks if c.name == "5xx")
    assert check.level == "bad" and check.after > 1.0 and check.before == 0.0
    assert bad.bake.reason.startswith("5xx ") and "after vs 0.0% before (limit 1%)" in (
        bad.bake.reason
    )
    doc = status_document(bad)["bake"]
    assert doc["verdict"] == "bad" and doc["reason"] == bad.bake.reason
    assert doc["thresholds"]["max_5xx_percent"] == 1.0
    # Nothing rolls back on its own: the deployment still waits, rollback is offered.
    assert bad.deployment.phase == "termination-wait" and bad.action("rollback").passed

    # The latency fault drives it too: slow replacements break the p95 objective.
    with loaded.world.lock:
        for iid in replacements:
            loaded.world.instances[iid].fault.error_rate = 0.0
            loaded.world.instances[iid].fault.slow_ms = 500
    slow = w.until(
        lambda s: (
            s.bake is not None and any(c.name == "p95" and c.level == "bad" for c in s.bake.checks)
        ),
        30,
    )
    assert "p95 " in slow.bake.reason and "(limit 300 ms)" in slow.bake.reason

    # After the fact (a report): read for the finished deployment, up to its end.
    cd.continue_deployment(deploymentId=dep_id, deploymentWaitType="TERMINATION_WAIT")
    done = w.until(lambda s: s.deployment.status == "Succeeded", 30)
    assert done.bake is None  # not read outside the termination wait
    later = observe.bake(w.session, w.target, done)
    assert later is not None and later.verdict == "bad", later
    assert later.after_end <= done.deployment.complete_time
