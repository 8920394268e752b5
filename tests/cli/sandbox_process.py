"""`cutover sandbox --json` in a subprocess, for tests that drive it like a user's terminal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def sandbox_process(state: Path, *flags: str) -> Iterator[tuple[dict[str, str], dict]]:
    """Start `cutover sandbox --port 0 --free-ports --json FLAGS`; yield the environment a
    client needs (its export lines added to a clean copy of ours) and the world summary.
    Ctrl-C stops it on the way out, and it must stop."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        XDG_STATE_HOME=str(state / "state"),
        XDG_CONFIG_HOME=str(state / "config"),
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "tui.cli", "sandbox", "--port", "0", "--free-ports"]
    proc = subprocess.Popen(
        [*command, "--json", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        text = ""
        for line in proc.stdout:
            text += line
            if line.startswith("}"):
                break
        summary = json.loads(text)
        env.update(summary["env"])
        yield env, summary
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
