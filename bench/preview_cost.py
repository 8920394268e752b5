"""What a preview target group costs a snapshot: calls and milliseconds, with and without it.

Starts the `preview` scenario in process, creates a blue/green deployment of web/web-prod and
waits until it is Ready. Then two observers of the same group take warm snapshots in turn:
one for a target without `preview:` (the baseline, what every group without a preview pays)
and one with `preview: {target_group: web-preview-tg}`, first before the replacements are
registered there, then after `preview` registered them. Prints each one's calls per snapshot
(by operation) and median / p90 milliseconds, and the ratios to the baseline. The aim: one
DescribeTargetHealth more per snapshot, nothing else (the listener is found once).

    .venv/bin/python bench/preview_cost.py [--snapshots 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cutover.backend.actions import Controller
from cutover.backend.audit import AuditLog
from cutover.backend.observe import Observer
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import load_scenario
from support import sandbox_session  # type: ignore[import-not-found]

TG = "web-preview-tg"


def _ops(session: object) -> Counter[str]:
    ops: Counter[str] = Counter()
    for name in ("codedeploy", "ec2", "autoscaling", "elbv2", "cloudwatch", "sts"):
        session.client(name).meta.events.register(  # type: ignore[attr-defined]
            "before-call", lambda model=None, **_: ops.update([getattr(model, "name", "?")])
        )
    return ops


def _warm(observer: Observer, ops: Counter[str], n: int) -> tuple[list[int], list[float], Counter]:
    prev = observer.snapshot()
    ops.clear()
    calls, ms = [], []
    for _ in range(n):
        prev = observer.snapshot(previous=prev)
        calls.append(prev.api_calls)
        ms.append(prev.elapsed_ms)
    per = Counter({k: v // n for k, v in ops.items()})
    ops.clear()
    return calls, ms, per


def _line(label: str, row: tuple[list[int], list[float], Counter], base: tuple) -> str:
    calls, ms, per = row
    p90 = sorted(ms)[int(0.9 * (len(ms) - 1))]
    ratio_calls = statistics.median(calls) / statistics.median(base[0])
    ratio_ms = statistics.median(ms) / statistics.median(base[1])
    ops = ", ".join(f"{k} {v}" for k, v in sorted(per.items()))
    return (
        f"  {label:<28} {statistics.median(calls):>3g} calls  median {statistics.median(ms):>4.0f}"
        f" ms  p90 {p90:>4.0f} ms  x{ratio_calls:.2f} calls  x{ratio_ms:.2f} ms\n    ({ops})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=20)
    parser.add_argument("--time-scale", type=float, default=100.0)
    args = parser.parse_args()
    sb = Sandbox(load_scenario("preview"), free_listener_ports=True, time_scale=args.time_scale)
    with sb:
        plain, plain_session = sandbox_session(sb)
        target = replace(plain, preview_target_group=TG)
        _, session = sandbox_session(sb)
        plain_ops, ops = _ops(plain_session), _ops(session)
        base_obs, obs = Observer(plain_session, plain), Observer(session, target)
        cd = plain_session.client("codedeploy")
        dep = cd.create_deployment(applicationName="web", deploymentGroupName="web-prod")
        t0 = time.monotonic()
        while (
            cd.get_deployment(deploymentId=dep["deploymentId"])["deploymentInfo"]["status"]
            != "Ready"
        ):
            if time.monotonic() - t0 > 120:
                raise SystemExit("the deployment was not Ready after 120 s")
            time.sleep(0.2)
        base = _warm(base_obs, plain_ops, args.snapshots)
        before = _warm(obs, ops, args.snapshots)
        with tempfile.TemporaryDirectory() as tmp:
            ctl = Controller(session, target, AuditLog(Path(tmp) / "audit.jsonl"))
            outcome = ctl.execute(ctl.plan("preview", obs.snapshot()), obs.snapshot)
        if not outcome.ok:
            raise SystemExit(f"preview: {outcome.message}")
        after = _warm(obs, ops, args.snapshots)
        print(f"web/web-prod at Ready, {args.snapshots} warm snapshots each:")
        print(_line("no preview (baseline)", base, base))
        print(_line("preview, not registered", before, base))
        print(_line("preview, 2 registered", after, base))


if __name__ == "__main__":
    main()
