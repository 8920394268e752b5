"""What a snapshot costs once nothing moves: targets that cannot have changed are not read again.

Two fleet sizes of the big scenario wait for the reroute (Ready, both fleets present): after the
first look at Ready, every snapshot makes the same calls at either size, with no
ListDeploymentTargets or BatchGetDeploymentTargets among them, and says what an observer that
keeps nothing says about every target. After the reroute the kept targets are read again (the
deployment's status moved), so the targets' new events show. And the huge scenario (1,000
instances) starts and a snapshot reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cutover.backend.model import Snapshot
from cutover.sandbox.runtime import Sandbox

from tests.integration.test_observe import V2, Watch, phase

TIME_SCALE = 100
BIG = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "big.yaml"
TARGET_READS = {"ListDeploymentTargets", "BatchGetDeploymentTargets"}


def fleet_of(n: int, tmp: Path) -> Path:
    """The big scenario with n instances in web-asg."""
    text = BIG.read_text()
    sized = text.replace(
        "    min: 200\n    max: 400\n    desired: 200\n",
        f"    min: {n}\n    max: {2 * n}\n    desired: {n}\n",
    )
    assert sized != text, "big.yaml's group sizes moved: update fleet_of"
    path = tmp / f"big-{n}.yaml"
    path.write_text(sized)
    return path


def targets(s: Snapshot) -> dict[str, tuple]:
    """Every instance's facts from CodeDeploy's targets, as the dashboard and status show them."""
    out = {}
    for env in (s.original, s.replacement):
        for i in env.instances if env else ():
            out[i.id] = (i.lifecycle_status, i.current_event, i.events, i.last_updated)
    return out


def fresh(sb: Sandbox) -> Snapshot:
    """A snapshot by an observer that has kept nothing (its own session)."""
    return Watch(sb, "web", "web-prod").snap()


@pytest.fixture
def start(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[int], Sandbox]:
    def run(n: int) -> Sandbox:
        sb = sandbox_factory(str(fleet_of(n, tmp_path)), time_scale=TIME_SCALE, wait_healthy=None)
        for key, value in sb.env().items():
            if key != "AWS_ENDPOINT_URL":
                monkeypatch.setenv(key, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        return sb

    return run


def ready(sb: Sandbox) -> Watch:
    w = Watch(sb, "web", "web-prod")
    w.snap()
    w.client("codedeploy").create_deployment(
        applicationName="web", deploymentGroupName="web-prod", revision=V2
    )
    w.until(phase("ready"), timeout=90)
    return w


def test_steady_snapshots_cost_the_same_calls_at_any_fleet_size(
    start: Callable[[int], Sandbox],
) -> None:
    ops = {}
    for n in (4, 60):
        sb = start(n)
        w = ready(sb)
        w.snap()  # the first look at Ready reads every target, and keeps them
        w.recorder.take()
        for _ in range(3):
            s = w.snap()
        ops[n] = w.recorder.take()
        assert len(s.original.instances) == len(s.replacement.instances) == n
        assert not TARGET_READS & set(ops[n]), ops[n]
        # The kept targets say what reading them all again says.
        assert targets(s) == targets(fresh(sb))
        sb.stop()
    assert ops[4] == ops[60]


def test_kept_targets_are_read_again_once_the_deployment_moves(
    start: Callable[[int], Sandbox],
) -> None:
    sb = start(4)
    w = ready(sb)
    for _ in range(2):
        w.snap()
    dep_id = w.last.deployment.id
    w.client("codedeploy").continue_deployment(deploymentId=dep_id, deploymentWaitType="READY_WAIT")

    def rerouted(s: Snapshot) -> bool:
        allowed = [e.status for i in s.replacement.instances for e in i.events]
        blocked = [e.status for i in s.original.instances for e in i.events]
        return bool(allowed and blocked) and {*allowed, *blocked} == {"Succeeded"}

    # Without reading the kept targets again, the replacements would stay Ready forever.
    s = w.until(rerouted, timeout=60)
    w.recorder.take()
    s = w.snap()
    assert targets(s) == targets(fresh(sb))


def test_huge_starts_and_a_snapshot_reads_every_instance(
    sandbox_factory: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scenario's own clock (5x): its health checks are paced for 1,000 instances.
    sb = sandbox_factory("huge", time_scale=None, wait_healthy=300)
    assert sb.settled()
    for key, value in sb.env().items():
        if key != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    w = Watch(sb, "web", "web-prod")
    s = w.snap()
    assert s.deployment.status == "Succeeded" and not s.replacement.instances
    assert len(s.original.instances) == 1000
    assert all(i.health[0].state == "healthy" for i in s.original.instances)
    assert (s.traffic.original_percent, s.traffic.replacement_percent) == (100.0, 0.0)
