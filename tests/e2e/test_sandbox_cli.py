"""`cutover sandbox` as a user runs it: a real subprocess, driven by boto3 and the AWS CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cutover.sandbox.testing import aws_client, wait_for

from tests.e2e.sandbox_process import sandbox_process, status

CUTOVER = [sys.executable, "-m", "cutover.cli"]
ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CUTOVER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path, **env),
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def sandbox_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, str]]:
    """A `cutover sandbox` subprocess on free ports; yields its env lines and stdout so far."""
    tmp = tmp_path_factory.mktemp("cli")
    proc = subprocess.Popen(
        [*CUTOVER, "sandbox", "--port", "0", "--free-ports", "--time-scale", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp),
        cwd=ROOT,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        out = "".join(lines)
        assert "export AWS_ENDPOINT_URL=" in out, out + (proc.stderr.read() if proc.stderr else "")
        env = dict(
            line[len("export ") :].strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        yield env, out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            # Ctrl-C stops it in 0.2 s on a quiet machine; a loaded CI machine is given time
            # (what is checked here is that it stops, and that its ports are free after).
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    port = int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the endpoint still listens after Ctrl-C"


def test_prints_exports_and_world(sandbox_proc: tuple[dict, str]) -> None:
    env, out = sandbox_proc
    assert set(env) >= {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
    }
    assert "web-alb (application)" in out
    assert "web-asg  desired 4" in out
    assert "4 healthy" in out


def test_boto3_reaches_it(sandbox_proc: tuple[dict, str]) -> None:
    env, _ = sandbox_proc
    elbv2 = aws_client(env, "elbv2")
    (lb,) = elbv2.describe_load_balancers(Names=["web-alb"])["LoadBalancers"]
    (tg,) = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
    states = [d["TargetHealth"]["State"] for d in health["TargetHealthDescriptions"]]
    assert states == ["healthy"] * 4
    ec2 = aws_client(env, "ec2")
    web = [{"Name": "tag:app", "Values": ["web"]}]
    reservations = ec2.describe_instances(Filters=web)["Reservations"]
    assert sum(len(r["Instances"]) for r in reservations) == 4
    # The rest of the default estate: four more applications, twelve groups in all.
    cd = aws_client(env, "codedeploy")
    apps = cd.list_applications()["applications"]
    assert sorted(apps) == ["api", "payments", "search", "web", "worker"]
    groups = sum(
        len(cd.list_deployment_groups(applicationName=a)["deploymentGroups"]) for a in apps
    )
    assert groups == 12
    assert aws_client(env, "sts").get_caller_identity()["Account"] == "123456789012"


def test_fault_commands(sandbox_proc: tuple[dict, str], tmp_path: Path) -> None:
    env, _ = sandbox_proc
    ec2 = aws_client(env, "ec2")
    web = [{"Name": "tag:app", "Values": ["web"]}]
    instance_id = ec2.describe_instances(Filters=web)["Reservations"][0]["Instances"][0][
        "InstanceId"
    ]
    res = run_cli(tmp_path, "sandbox", "fault", "instance", instance_id, "--unhealthy", **env)
    assert res.returncode == 0, res.stderr
    assert f"{instance_id}: unhealthy" in res.stdout
    elbv2 = aws_client(env, "elbv2")
    (tg,) = elbv2.describe_target_groups(Names=["web-tg"])["TargetGroups"]

    def unhealthy() -> dict | None:
        (desc,) = elbv2.describe_target_health(
            TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": instance_id}]
        )["TargetHealthDescriptions"]
        return desc["TargetHealth"] if desc["TargetHealth"]["State"] == "unhealthy" else None

    state = wait_for(unhealthy, 20, f"{instance_id} unhealthy")
    assert state["Reason"] == "Target.ResponseCodeMismatch"

    listed = run_cli(tmp_path, "sandbox", "fault", "list", **env)
    assert f"{instance_id}: unhealthy" in listed.stdout
    cleared = run_cli(tmp_path, "sandbox", "fault", "clear", **env)
    assert cleared.returncode == 0 and "Instances: no faults" in cleared.stdout

    api = run_cli(tmp_path, "sandbox", "fault", "api", "--latency-ms", "5", **env)
    assert api.returncode == 0 and "+5 ms per call" in api.stdout
    run_cli(tmp_path, "sandbox", "fault", "clear", **env)

    unknown = run_cli(
        tmp_path, "sandbox", "fault", "instance", "i-0000000000000000f", "--down", **env
    )
    assert unknown.returncode == 1
    assert "i-0000000000000000f" in unknown.stderr and "Traceback" not in unknown.stderr


def test_info(sandbox_proc: tuple[dict, str], tmp_path: Path) -> None:
    env, _ = sandbox_proc
    res = run_cli(tmp_path, "sandbox", "info", "--json", **env)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["auto_scaling_groups"][0]["name"] == "web-asg"


@pytest.mark.skipif(
    shutil.which("aws") is None and not (Path(sys.executable).parent / "aws").exists(),
    reason="the AWS CLI is not installed",
)
def test_aws_cli_and_waiters(sandbox_proc: tuple[dict, str], tmp_path: Path) -> None:
    env, _ = sandbox_proc
    aws = str(Path(sys.executable).parent / "aws")
    if not Path(aws).exists():
        aws = shutil.which("aws") or "aws"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [aws, *args, "--output", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(tmp_path, **env),
        )

    lbs = cli("elbv2", "describe-load-balancers", "--names", "web-alb")
    assert lbs.returncode == 0, lbs.stderr
    assert json.loads(lbs.stdout)["LoadBalancers"][0]["LoadBalancerName"] == "web-alb"
    tgs = json.loads(cli("elbv2", "describe-target-groups", "--names", "web-tg").stdout)[
        "TargetGroups"
    ]
    tg_arn = tgs[0]["TargetGroupArn"]
    lb_arn = json.loads(lbs.stdout)["LoadBalancers"][0]["LoadBalancerArn"]
    listeners = json.loads(cli("elbv2", "describe-listeners", "--load-balancer-arn", lb_arn).stdout)
    assert listeners["Listeners"][0]["Protocol"] == "HTTP"
    instances = json.loads(
        cli("ec2", "describe-instances", "--filters", "Name=tag:app,Values=web").stdout
    )["Reservations"]
    iid = instances[0]["Instances"][0]["InstanceId"]
    target = f"Id={iid}"
    assert (
        cli(
            "elbv2", "deregister-targets", "--target-group-arn", tg_arn, "--targets", target
        ).returncode
        == 0
    )
    waited = cli(
        "elbv2", "wait", "target-deregistered", "--target-group-arn", tg_arn, "--targets", target
    )
    assert waited.returncode == 0, waited.stderr
    assert (
        cli(
            "elbv2", "register-targets", "--target-group-arn", tg_arn, "--targets", target
        ).returncode
        == 0
    )
    waited = cli(
        "elbv2", "wait", "target-in-service", "--target-group-arn", tg_arn, "--targets", target
    )
    assert waited.returncode == 0, waited.stderr
    asgs = json.loads(
        cli(
            "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", "web-asg"
        ).stdout
    )
    assert asgs["AutoScalingGroups"][0]["DesiredCapacity"] == 4


def test_bad_scenario_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("target_groups:\n  - name: a\n    colour: blue\n")
    res = run_cli(tmp_path, "sandbox", "--scenario", str(bad), "--port", "0")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert f"{bad}:3:" in res.stderr and "colour" in res.stderr


def test_busy_port_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = run_cli(tmp_path, "sandbox", "--port", str(port), "--free-ports")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert f"port {port} is in use" in res.stderr and "--port" in res.stderr


def test_bad_flag_is_one_line_exit_2(tmp_path: Path) -> None:
    res = run_cli(tmp_path, "sandbox", "--time-scale", "-3")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0, res.stderr
    assert "--time-scale" in res.stderr


def test_fault_without_endpoint_is_exit_2(tmp_path: Path) -> None:
    res = run_cli(tmp_path, "sandbox", "fault", "list")
    assert res.returncode == 2
    assert "AWS_ENDPOINT_URL" in res.stderr


def test_deployment_and_alarm_faults(sandbox_proc: tuple[dict, str], tmp_path: Path) -> None:
    env, _ = sandbox_proc
    hook = run_cli(tmp_path, "sandbox", "fault", "hook", "AfterInstall", **env)
    assert hook.returncode == 0, hook.stderr
    assert "Deployment: AfterInstall fails on the next instance" in hook.stdout
    repl = run_cli(tmp_path, "sandbox", "fault", "replacements", **env)
    assert "new replacement instances never become healthy" in repl.stdout
    kill = run_cli(tmp_path, "sandbox", "fault", "kill", "AllowTraffic", **env)
    assert "dies as AllowTraffic starts" in kill.stdout
    bad = run_cli(tmp_path, "sandbox", "fault", "hook", "AllowTraffic", **env)
    assert bad.returncode == 1 and "not a lifecycle hook" in bad.stderr

    alarm = run_cli(tmp_path, "sandbox", "fault", "alarm", "web-tg-5xx", **env)
    assert alarm.returncode == 0, alarm.stderr
    # The alarm evaluates itself again within a sandbox minute (under a second of real time
    # here) and may be back to OK already: its history proves the fault set it.
    history = aws_client(env, "cloudwatch").describe_alarm_history(
        AlarmName="web-tg-5xx", HistoryItemType="StateUpdate"
    )["AlarmHistoryItems"]
    assert any("to ALARM" in item["HistorySummary"] for item in history), history
    missing = run_cli(tmp_path, "sandbox", "fault", "alarm", "no-such-alarm", **env)
    assert missing.returncode == 1 and "no-such-alarm" in missing.stderr

    cleared = run_cli(tmp_path, "sandbox", "fault", "clear", **env)
    assert "Deployment:" not in cleared.stdout


def test_huge_scenario_starts_and_status_answers(tmp_path: Path) -> None:
    # The one command-line test of huge: 1,000 instance servers take a while to start.
    with sandbox_process(tmp_path, "--scenario", "huge") as (env, world):
        assert world["time_scale"] == 5.0
        doc = status(env)
    original = doc["original"]
    assert (original["asg_name"], original["desired"], original["healthy"]) == (
        "web-asg",
        1000,
        1000,
    )
    assert len(original["instances"]) == 1000
    assert doc["replacement"] is None or not doc["replacement"]["instances"]


def test_a_big_world_is_summed_up_not_listed(tmp_path: Path) -> None:
    """The estate's 500 deployment groups: the summary names the first ones and how many more,
    so the export lines stay on one screen's scroll."""
    proc = subprocess.Popen(
        [*CUTOVER, "sandbox", "--port", "0", "--free-ports", "--scenario", "estate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path),
        cwd=ROOT,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    out = "".join(lines)
    assert "… and 476 more deployment groups (`cutover status --all` lists them" in out, out
    assert len(lines) < 150, len(lines)


def test_ctrl_c_stops_a_sandbox_started_in_the_background(tmp_path: Path) -> None:
    """A shell without job control starts `cutover sandbox &` with SIGINT ignored; the
    `kill -INT` (or Ctrl-C sent to the group) that stops it in a terminal must stop it there
    too, instead of leaving its servers running."""
    proc = subprocess.Popen(
        [*CUTOVER, "sandbox", "--port", "0", "--free-ports"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=ROOT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Ctrl-C"):
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert proc.stderr is not None and "Sandbox stopped." in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
