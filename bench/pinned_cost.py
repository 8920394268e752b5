"""What pinning a deployment costs per snapshot: API calls and milliseconds, pinned vs following.

Pinned, the observer also reads the group's current deployment when it is another one (one
GetDeployment; its targets once while it waits in Ready), so the banner can say "d-… is Ready
in this group: 58m left". On the default world at a fast clock, a deployment is created and
left waiting in Ready; then warm snapshots are taken following the group (the baseline) and
pinned on the group's earlier, finished deployment, alternately, in this same run. Prints the
median calls and milliseconds of each and their ratio. Run by hand:

    .venv/bin/python bench/pinned_cost.py [--snapshots 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from support import sandbox_session

REVISION = {
    "revisionType": "S3",
    "s3Location": {"bucket": "web-revisions", "key": "web/v2.zip", "bundleType": "zip"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=20)
    args = parser.parse_args()
    sb = Sandbox(load_scenario("default"), free_listener_ports=True, time_scale=100)
    sb.start(wait_healthy=60)
    try:
        target, session = sandbox_session(sb)
        observer = Observer(session, target)
        earlier = observer.snapshot().deployment.id  # type: ignore[union-attr]
        cd = session.client("codedeploy")
        dep = cd.create_deployment(
            applicationName="web", deploymentGroupName="web-prod", revision=REVISION
        )["deploymentId"]
        deadline = time.monotonic() + 300
        while cd.get_deployment(deploymentId=dep)["deploymentInfo"]["status"] != "Ready":
            assert time.monotonic() < deadline, "the deployment never became Ready"
            time.sleep(0.5)
        runs: dict[str, list[tuple[int, float]]] = {"following": [], "pinned": []}
        previous = {"following": None, "pinned": None}
        for _ in range(2):  # warm both: the first look at Ready pays for the targets
            for mode, pin in (("following", None), ("pinned", earlier)):
                previous[mode] = observer.snapshot(deployment_id=pin, previous=previous[mode])
        for _ in range(args.snapshots):
            for mode, pin in (("following", None), ("pinned", earlier)):
                snap = observer.snapshot(deployment_id=pin, previous=previous[mode])
                previous[mode] = snap
                runs[mode].append((snap.api_calls, snap.elapsed_ms))
        pinned = previous["pinned"]
        assert pinned is not None and pinned.group_deployment is not None
        assert pinned.group_deployment.deadline is not None
        out = {}
        for mode, got in runs.items():
            calls = statistics.median(c for c, _ in got)
            ms = statistics.median(m for _, m in got)
            out[mode] = (calls, ms)
            print(f"{mode:10} median {calls:5.1f} calls  {ms:7.1f} ms per warm snapshot")
        (fc, fm), (pc, pm) = out["following"], out["pinned"]
        print(f"pinned / following: calls x{pc / fc:.2f}, time x{pm / fm:.2f}")
        observer.close()
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
