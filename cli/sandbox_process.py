"""`cutover sandbox --json` in a child process, as a person's second terminal runs it: for the
end-to-end tests, the bench scripts and CI's check of the installed wheel.

It reads the JSON summary the command prints once the world is up, hands back the
environment a client needs (the summary's export lines over a copy of the caller's
environment without its AWS_ variables, so nothing reaches a real account), and stops the
process with Ctrl-C on the way out, killing it if it does not stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

CUTOVER = (sys.executable, "-m", "cutover.cli")


@contextlib.contextmanager
def sandbox_process(
    *flags: str,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = CUTOVER,
    cwd: Path | str | None = None,
    quiet: bool = False,
) -> Iterator[tuple[dict[str, str], dict]]:
    """Start `cutover sandbox --port 0 --free-ports --json FLAGS`; yield (environment for a
    client, world summary). `quiet` drops its log (a long bench would fill the pipe)."""
    child_env = {k: v for k, v in (env or os.environ).items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [*command, "sandbox", "--port", "0", "--free-ports", "--json", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else subprocess.PIPE,
        text=True,
        env=child_env,
        cwd=cwd,
    )
    try:
        assert proc.stdout is not None
        text = ""
        for line in proc.stdout:
            text += line
            if line.startswith("}"):
                break
        try:
            summary = json.loads(text)
        except json.JSONDecodeError:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"cutover sandbox did not start: {err.strip()[-2000:]}") from None
        yield {**child_env, **summary["env"]}, summary
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
