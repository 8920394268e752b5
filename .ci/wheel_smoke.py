"""Smoke check of a non-editable install (`pip install .`), run by .ci/run from outside the
checkout with the installed venv's python: nothing generic lands in site-packages, the
command answers, and the bundled `hooks` scenario runs an in-place deployment whose appspec
hooks (`cutover hook ...`) come from the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from cutover.cli.sandbox_process import sandbox_process

BIN = Path(sys.executable).parent
CUTOVER = str(BIN / "cutover")


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"wheel smoke: FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"wheel smoke: ok: {what}")


def main() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    generic = [n for n in ("backend", "tui", "cli", "sandbox") if (site / n).exists()]
    check(not generic, f"no generic top-level package in site-packages ({generic or 'none'})")
    check((site / "cutover" / "backend").is_dir(), "the product is installed as cutover.*")
    check(not any(p.name.endswith(".pth") for p in site.glob("__editable__*")), "not editable")

    version = subprocess.run([CUTOVER, "--version"], capture_output=True, text=True)
    check(version.returncode == 0 and version.stdout.startswith("cutover "), version.stdout)
    hook = subprocess.run([CUTOVER, "hook", "--help"], capture_output=True, text=True)
    check(hook.returncode == 0 and "deregister" in hook.stdout, "cutover hook --help")

    state = Path(tempfile.mkdtemp(prefix="cutover-smoke-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(XDG_STATE_HOME=str(state / "state"), XDG_CONFIG_HOME=str(state / "config"))
    # The wheel's own `cutover` script: what a person who pip-installed runs.
    flags = ("--scenario", "hooks")
    with sandbox_process(*flags, env=env, command=[CUTOVER], cwd=state) as (env, _):
        check(True, "cutover sandbox --scenario hooks started")
        import boto3

        cd = boto3.client(
            "codedeploy",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        dep = cd.create_deployment(
            applicationName="shop",
            deploymentGroupName="api-hooks",
            revision={
                "revisionType": "S3",
                "s3Location": {
                    "bucket": "shop-revisions",
                    "key": "shop/v2.zip",
                    "bundleType": "zip",
                },
            },
        )["deploymentId"]
        deadline = time.monotonic() + 240
        while True:
            info = cd.get_deployment(deploymentId=dep)["deploymentInfo"]
            if info["status"] in ("Succeeded", "Failed", "Stopped"):
                break
            if time.monotonic() > deadline:
                check(False, f"the in-place deployment {dep} did not finish in time")
            time.sleep(1)
        check(
            info["status"] == "Succeeded",
            f"in-place deployment {dep} with the wheel's hooks: {info['status']}"
            f" {info.get('errorInformation') or ''}",
        )


if __name__ == "__main__":
    main()
