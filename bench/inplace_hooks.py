"""In-place deployments through `cutover hook`, all three paths at once, under load.

Starts `cutover sandbox --scenario hooks --load RPS` (the sandbox's agent runs the appspec
hooks of examples/in-place as real processes), deploys a new revision to web-hooks (Auto
Scaling group), api-hooks (target group) and legacy-hooks (Classic Load Balancer), one instance
at a time, and prints per group: how long the deployment took, the requests its load balancer
served and lost meanwhile, and how long each hook script ran. Run by hand:

    .venv/bin/python bench/inplace_hooks.py [--time-scale 20] [--load 30]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from cutover.cli.sandbox_process import sandbox_process
from cutover.sandbox.testing import aws_client, control

ROOT = Path(__file__).resolve().parents[1]
GROUPS = {"web-hooks": "web-alb", "api-hooks": "api-alb", "legacy-hooks": "legacy-elb"}
AGENT_LINE = re.compile(r"agent: (d-\w+) (\w+) (\S+) on (i-\w+): (\w+) .* in ([\d.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--load", type=int, default=30, help="requests per second per listener")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="cutover-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(XDG_STATE_HOME=str(state), PYTHONPATH=str(ROOT))
    flags = ("--scenario", "hooks", "--load", str(args.load), "--time-scale", str(args.time_scale))
    with sandbox_process(*flags, env=env, cwd=ROOT, quiet=True) as (client_env, _):
        run(client_env["AWS_ENDPOINT_URL"], state)


def load_stats(endpoint: str) -> dict[str, dict]:
    stats = control(endpoint).load()
    return {key.split(":")[0]: value for key, value in stats["listeners"].items()}


def run(endpoint: str, state: Path) -> None:
    cd = aws_client(endpoint, "codedeploy")
    time.sleep(2)
    before = load_stats(endpoint)
    started = time.monotonic()
    ids = {}
    for group in GROUPS:
        ids[group] = cd.create_deployment(
            applicationName="shop",
            deploymentGroupName=group,
            revision={
                "revisionType": "S3",
                "s3Location": {"bucket": "shop", "key": "shop/v2.zip", "bundleType": "zip"},
            },
        )["deploymentId"]
    took: dict[str, float] = {}
    status: dict[str, str] = {}
    while len(took) < len(ids):
        for group, dep in ids.items():
            if group in took:
                continue
            info = cd.get_deployment(deploymentId=dep)["deploymentInfo"]
            if info["status"] in ("Succeeded", "Failed", "Stopped"):
                took[group] = time.monotonic() - started
                status[group] = info["status"]
        time.sleep(0.2)
    after = load_stats(endpoint)
    scripts: dict[tuple[str, str], list[float]] = {}
    log = (state / "cutover" / "sandbox.log").read_text()
    by_dep = {dep: group for group, dep in ids.items()}
    for match in AGENT_LINE.finditer(log):
        dep, event, _, _, _, seconds = match.groups()
        if dep in by_dep:
            scripts.setdefault((by_dep[dep], event), []).append(float(seconds))
    print(f"{'group':14} {'status':10} {'real s':>7} {'requests':>9} {'failed':>7}  hook scripts")
    for group, lb in GROUPS.items():
        sent = after[lb]["sent"] - before[lb]["sent"]
        failed = after[lb]["errors"] - before[lb]["errors"]
        hooks = "  ".join(
            f"{event} median {statistics.median(v):.2f} s (n={len(v)})"
            for (g, event), v in sorted(scripts.items())
            if g == group
        )
        print(f"{group:14} {status[group]:10} {took[group]:7.1f} {sent:9d} {failed:7d}  {hooks}")


if __name__ == "__main__":
    main()
