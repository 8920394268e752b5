"""The sandbox's CodeDeploy agent: in-place deployments of local bundles whose appspec hooks
run as real processes, driven by boto3 over HTTP."""

from __future__ import annotations

import json
import os
import stat
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from cutover.sandbox.codedeploy import engine
from cutover.sandbox.runtime import Sandbox
from cutover.sandbox.scenario import ScenarioError, load_scenario
from cutover.sandbox.testing import aws_client, running_sandbox, wait_for

pytestmark = pytest.mark.timeout(90)

APP = "shop"
TIME_SCALE = 100

SCENARIO = """\
name: agent-test
time_scale: {time_scale}
instances:
  - {{name: a-1, availability_zone: us-east-1a, revision: v1, tags: {{app: a}}}}
  - {{name: a-2, availability_zone: us-east-1b, revision: v1, tags: {{app: a}}}}
  - {{name: b-1, availability_zone: us-east-1a, revision: v1, tags: {{app: b}}}}
codedeploy:
  lifecycle_durations: {{DownloadBundle: 1, Install: 1}}
  bundles:
{bundles}
  applications:
    - name: shop
      deployment_groups:
        - name: a-group
          style: in_place
          traffic_control: false
          ec2_tags: {{app: a}}
          deployment_config: CodeDeployDefault.OneAtATime
          history:
            - revision: v1
        - name: b-group
          style: in_place
          traffic_control: false
          ec2_tags: {{app: b}}
          deployment_config: CodeDeployDefault.OneAtATime
          history:
            - revision: v1
"""

# Appends "<label> <event> <script> <cwd>" to runs.log; every hook script of these bundles.
RECORD = """\
#!/bin/sh
echo "{label} $LIFECYCLE_EVENT $(basename "$0") $(pwd)" >> "{out}/runs.log"
"""


def write_bundle(root: Path, label: str, hooks: dict[str, list[dict]], scripts: dict) -> Path:
    """A bundle directory: appspec.yml with `hooks`, and `scripts` (name -> text; a text
    that is None makes a non-executable file)."""
    bundle = root / "bundles" / label
    (bundle / "scripts").mkdir(parents=True)
    appspec = {"version": 0.0, "os": "linux", "hooks": hooks}
    (bundle / "appspec.yml").write_text(json.dumps(appspec))
    for name, text in scripts.items():
        path = bundle / "scripts" / name
        path.write_text(text if text is not None else "#!/bin/sh\necho never\n")
        if text is not None:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bundle


def hook(name: str, timeout: int | None = None) -> dict:
    entry: dict[str, Any] = {"location": f"scripts/{name}"}
    if timeout is not None:
        entry["timeout"] = timeout
    return entry


def scenario(tmp_path: Path, labels: list[str], time_scale: float = TIME_SCALE) -> str:
    """The agent scenario with the bundles `labels`, written to a file; its path."""
    bundles = "\n".join(f"    {label}: bundles/{label}" for label in labels)
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(time_scale=time_scale, bundles=bundles))
    return str(path)


#: How these tests start a sandbox: at the scenario file's time scale, on its own ports.
AGENT = {"time_scale": None, "wait_healthy": 10, "free_listener_ports": False}


def client(sb: Sandbox) -> Any:
    return aws_client(sb, "codedeploy")


def deploy(cd: Any, group: str, label: str) -> str:
    return cd.create_deployment(
        applicationName=APP,
        deploymentGroupName=group,
        revision={
            "revisionType": "S3",
            "s3Location": {
                "bucket": "shop-artifacts",
                "key": f"shop/{label}.zip",
                "bundleType": "zip",
            },
        },
    )["deploymentId"]


def finished(cd: Any, did: str, timeout: float = 40.0) -> dict:
    def done() -> dict | None:
        info = cd.get_deployment(deploymentId=did)["deploymentInfo"]
        return info if info["status"] in ("Succeeded", "Failed", "Stopped") else None

    return wait_for(done, timeout, f"deployment {did} to finish")


def instances(sb: Sandbox, app: str) -> list[str]:
    with sb.world.lock:
        return sorted(i.id for i in sb.world.instances.values() if i.tags.get("app") == app)


def group_id(cd: Any, group: str) -> str:
    return cd.get_deployment_group(applicationName=APP, deploymentGroupName=group)[
        "deploymentGroupInfo"
    ]["deploymentGroupId"]


def runs(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "runs.log"
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# ----- scripts run ----------------------------------------------------------------------------


def test_hooks_run_in_order_with_codedeploy_environment(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    out = tmp_path
    record = {label: RECORD.format(label=label, out=out) for label in ("v1", "v2", "v3")}
    # ValidateService asks the instance metadata for its identity and calls the sandbox with
    # the credentials and region it finds there, as a hook on EC2 would.
    validate = textwrap.dedent(f"""\
        #!/bin/sh
        env > "{out}/env-$DEPLOYMENT_ID-$$.txt"
        command -v cutover > "{out}/cutover-path.txt"
        python - <<'EOF' >> "{out}/identity.log"
        import json, os, urllib.request
        import boto3
        base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"]
        put = urllib.request.Request(base + "latest/api/token", method="PUT",
            headers={{"X-aws-ec2-metadata-token-ttl-seconds": "60"}})
        token = urllib.request.urlopen(put).read().decode()
        get = urllib.request.Request(base + "latest/dynamic/instance-identity/document",
            headers={{"X-aws-ec2-metadata-token": token}})
        doc = json.loads(urllib.request.urlopen(get).read())
        ec2 = boto3.client("ec2", region_name=doc["region"])
        found = ec2.describe_instances(InstanceIds=[doc["instanceId"]])
        state = found["Reservations"][0]["Instances"][0]["State"]["Name"]
        print(doc["instanceId"], state, os.getcwd())
        EOF
        """)
    for label in ("v1", "v2", "v3"):
        write_bundle(
            tmp_path,
            label,
            {
                "ApplicationStop": [hook("stop.sh")],
                "BeforeInstall": [hook("first.sh"), hook("second.sh")],
                "AfterInstall": [hook("after.sh")],
                "ApplicationStart": [hook("start.sh")],
                "ValidateService": [hook("validate.sh")],
            },
            {
                "stop.sh": record[label],
                "first.sh": record[label],
                "second.sh": record[label],
                "after.sh": record[label],
                "start.sh": record[label],
                "validate.sh": record[label] + validate.split("\n", 1)[1],
            },
        )
    sb = sandbox_factory(scenario(tmp_path, ["v1", "v2", "v3"]), **AGENT)
    cd = client(sb)
    gid = group_id(cd, "a-group")
    a1, a2 = instances(sb, "a")

    did = deploy(cd, "a-group", "v2")
    assert finished(cd, did)["status"] == "Succeeded"
    lines = runs(tmp_path)
    # One instance at a time, each event's scripts in order; ApplicationStop runs the
    # installed revision's (v1's) appspec, the rest the new revision's.
    steps = [(label, event, script) for label, event, script, _ in lines]
    one = [
        ("v1", "ApplicationStop", "stop.sh"),
        ("v2", "BeforeInstall", "first.sh"),
        ("v2", "BeforeInstall", "second.sh"),
        ("v2", "AfterInstall", "after.sh"),
        ("v2", "ApplicationStart", "start.sh"),
        ("v2", "ValidateService", "validate.sh"),
    ]
    assert steps == one + one
    for _, event, _, cwd in lines:
        assert cwd.endswith("deployment-archive")
        if event != "ApplicationStop":
            assert f"/{gid}/{did}/deployment-archive" in cwd
    assert {cwd.split("/")[-4] for _, _, _, cwd in lines} == {a1, a2}

    # The environment: CodeDeploy's variables, the sandbox and the instance's metadata, and
    # neither a region nor credentials.
    envs = []
    for path in tmp_path.glob(f"env-{did}-*.txt"):
        envs.append(
            dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        )
    assert len(envs) == 2
    for env in envs:
        assert env["LIFECYCLE_EVENT"] == "ValidateService"
        assert env["DEPLOYMENT_ID"] == did
        assert env["APPLICATION_NAME"] == APP
        assert env["DEPLOYMENT_GROUP_NAME"] == "a-group"
        assert env["DEPLOYMENT_GROUP_ID"] == gid
        assert env["AWS_ENDPOINT_URL"] == sb.endpoint_url
        for key in (
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_PROFILE",
        ):
            assert key not in env
    assert {e["AWS_EC2_METADATA_SERVICE_ENDPOINT"] for e in envs} == {
        sb.imds_url(a1),
        sb.imds_url(a2),
    }
    assert (tmp_path / "cutover-path.txt").read_text().strip().endswith("/cutover")
    identity = sorted(line.split() for line in (tmp_path / "identity.log").read_text().splitlines())
    assert [(iid, state) for iid, state, _ in identity] == [(a1, "running"), (a2, "running")]

    # The next deployment stops the application with the scripts of the revision installed
    # by the last one (v2), from its archive.
    (tmp_path / "runs.log").unlink()
    did3 = deploy(cd, "a-group", "v3")
    assert finished(cd, did3)["status"] == "Succeeded"
    stops = [line for line in runs(tmp_path) if line[1] == "ApplicationStop"]
    assert [line[0] for line in stops] == ["v2", "v2"]
    assert all(f"/{gid}/{did}/deployment-archive" in line[3] for line in stops)
    with sb.world.lock:
        assert {sb.world.instances[i].revision for i in (a1, a2)} == {"v3"}
    records = [r for r in sb.agent.records if r.deployment_id == did3]
    assert len(records) == 12
    assert all(r.exit_code == 0 and r.error_code == "Success" for r in records)


def test_application_stops_after_application_stop_and_starts_before_application_start(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    scripts = {
        name: f'#!/bin/sh\ntouch "{tmp_path}/{name}.began"\nsleep 1\n'
        for name in ("stop.sh", "start.sh")
    }
    hooks = {"ApplicationStop": [hook("stop.sh")], "ApplicationStart": [hook("start.sh")]}
    write_bundle(tmp_path, "v1", hooks, scripts)
    write_bundle(tmp_path, "v2", hooks, scripts)
    sb = sandbox_factory(scenario(tmp_path, ["v1", "v2"]), **AGENT)
    # Half a real second of Install: time to see the application stopped in between.
    engine.configure(sb.world, durations={"Install": 50})
    cd = client(sb)
    (b1,) = instances(sb, "b")
    did = deploy(cd, "b-group", "v2")

    def running() -> bool:
        with sb.world.lock:
            return sb.world.instances[b1].app_running

    wait_for(lambda: (tmp_path / "stop.sh.began").exists(), what="ApplicationStop's script")
    assert running()  # still serving while its stop script runs
    wait_for(lambda: not running(), what="the application to stop")
    wait_for(lambda: (tmp_path / "start.sh.began").exists(), what="ApplicationStart's script")
    assert running()  # already started when the start script runs
    assert finished(cd, did)["status"] == "Succeeded"


# ----- failures -------------------------------------------------------------------------------


def diagnostics_of(cd: Any, did: str, iid: str, event: str) -> dict:
    """The event's diagnostics, through both APIs that show them (which must agree)."""
    old = cd.get_deployment_instance(deploymentId=did, instanceId=iid)["instanceSummary"]
    new = cd.batch_get_deployment_targets(deploymentId=did, targetIds=[iid])["deploymentTargets"]
    by_old = {e["lifecycleEventName"]: e for e in old["lifecycleEvents"]}
    by_new = {e["lifecycleEventName"]: e for e in new[0]["instanceTarget"]["lifecycleEvents"]}
    assert by_old[event]["status"] == by_new[event]["status"] == "Failed"
    assert by_old[event]["diagnostics"] == by_new[event]["diagnostics"]
    return by_old[event]["diagnostics"]


def failed_instance(cd: Any, did: str) -> str:
    ids = cd.list_deployment_targets(deploymentId=did)["targetIds"]
    targets = cd.batch_get_deployment_targets(deploymentId=did, targetIds=ids)["deploymentTargets"]
    return next(
        t["instanceTarget"]["targetId"]
        for t in targets
        if t["instanceTarget"]["status"] == "Failed"
    )


def test_failing_script_fails_the_deployment_with_its_log_tail(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    noisy = "#!/bin/sh\n" + "".join(f"echo line {n}\n" for n in range(1, 26))
    # (a pause: stdout and stderr are separate pipes, read as they come, like the agent's)
    noisy += "sleep 0.2\necho 'cannot migrate' >&2\nexit 3\n"
    write_bundle(tmp_path, "v1", {}, {})
    write_bundle(
        tmp_path,
        "v2",
        {"AfterInstall": [hook("migrate.sh"), hook("never.sh")]},
        {"migrate.sh": noisy, "never.sh": RECORD.format(label="v2", out=tmp_path)},
    )
    sb = sandbox_factory(scenario(tmp_path, ["v1", "v2"]), **AGENT)
    cd = client(sb)
    did = deploy(cd, "a-group", "v2")
    info = finished(cd, did)
    assert info["status"] == "Failed"
    iid = failed_instance(cd, did)
    diag = diagnostics_of(cd, did, iid, "AfterInstall")
    assert diag["errorCode"] == "ScriptFailed"
    assert diag["scriptName"] == "scripts/migrate.sh"
    assert diag["message"] == (
        "Script at specified location: scripts/migrate.sh run as user root failed with exit code 3"
    )
    tail = diag["logTail"].splitlines()
    assert len(tail) == 20
    assert tail[-1] == "[stderr]cannot migrate"
    assert tail[-2] == "[stdout]line 25"
    assert tail[0] == "[stdout]line 7"
    assert not (tmp_path / "runs.log").exists()  # the event stopped at the failed script
    record = next(r for r in sb.agent.records if r.deployment_id == did)
    assert (record.event, record.script, record.exit_code) == (
        "AfterInstall",
        "scripts/migrate.sh",
        3,
    )


def test_script_past_its_timeout_is_killed(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    slow = f'#!/bin/sh\necho $$ > "{tmp_path}/pid"\necho waiting\nsleep 60\n'
    write_bundle(tmp_path, "v1", {}, {})
    # 30 sandbox seconds: 0.3 real seconds at time scale 100.
    write_bundle(
        tmp_path, "v2", {"ValidateService": [hook("wait.sh", timeout=30)]}, {"wait.sh": slow}
    )
    sb = sandbox_factory(scenario(tmp_path, ["v1", "v2"]), **AGENT)
    cd = client(sb)
    did = deploy(cd, "b-group", "v2")
    began = time.monotonic()
    assert finished(cd, did)["status"] == "Failed"
    assert time.monotonic() - began < 20
    (iid,) = instances(sb, "b")
    diag = diagnostics_of(cd, did, iid, "ValidateService")
    assert diag["errorCode"] == "ScriptTimedOut"
    assert diag["message"] == (
        "Script at specified location: scripts/wait.sh failed to complete in 30 seconds"
    )
    assert diag["logTail"] == "[stdout]waiting\n"
    pid = int((tmp_path / "pid").read_text())
    wait_for(lambda: not alive(pid), timeout=5, what="the timed-out script to die")


def test_stop_deployment_kills_the_running_script(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    slow = (
        f'#!/bin/sh\necho $$ > "{tmp_path}/pid"\nsleep 600 &\necho $! > "{tmp_path}/child"\nwait\n'
    )
    write_bundle(tmp_path, "v1", {}, {})
    write_bundle(tmp_path, "v2", {"BeforeInstall": [hook("hang.sh")]}, {"hang.sh": slow})
    sb = sandbox_factory(scenario(tmp_path, ["v1", "v2"]), **AGENT)
    cd = client(sb)
    did = deploy(cd, "b-group", "v2")
    wait_for(lambda: (tmp_path / "child").exists() and (tmp_path / "child").read_text().strip())
    pid = int((tmp_path / "pid").read_text())
    child = int((tmp_path / "child").read_text())
    assert alive(pid) and alive(child)
    cd.stop_deployment(deploymentId=did)
    assert finished(cd, did)["status"] == "Stopped"
    # The whole process group goes, the script's own children too.
    wait_for(lambda: not alive(pid) and not alive(child), timeout=5, what="the script to die")


@pytest.mark.parametrize(
    ("scripts", "code", "message"),
    [
        ({}, "ScriptMissing", "Script does not exist at specified location: "),
        ({"check.sh": None}, "ScriptNotExecutable", "Script at specified location: "),
    ],
)
def test_missing_or_not_executable_script(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox], scripts: dict, code: str, message: str
) -> None:
    write_bundle(tmp_path, "v1", {}, {})
    write_bundle(tmp_path, "v2", {"ValidateService": [hook("check.sh")]}, scripts)
    sb = sandbox_factory(scenario(tmp_path, ["v1", "v2"]), **AGENT)
    cd = client(sb)
    did = deploy(cd, "b-group", "v2")
    assert finished(cd, did)["status"] == "Failed"
    (iid,) = instances(sb, "b")
    diag = diagnostics_of(cd, did, iid, "ValidateService")
    assert diag["errorCode"] == code
    assert diag["scriptName"] == "scripts/check.sh"
    assert diag["message"].startswith(message)
    assert diag["message"].endswith(
        "scripts/check.sh" + ("" if code == "ScriptMissing" else " is not executable")
    )


def test_revision_without_bundle_keeps_timed_hooks(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    write_bundle(
        tmp_path,
        "v1",
        {"ApplicationStop": [hook("stop.sh")]},
        {"stop.sh": RECORD.format(label="v1", out=tmp_path)},
    )
    sb = sandbox_factory(scenario(tmp_path, ["v1"]), **AGENT)
    cd = client(sb)
    did = deploy(cd, "b-group", "v7")
    assert finished(cd, did)["status"] == "Succeeded"
    assert not (tmp_path / "runs.log").exists()
    assert sb.agent.records == []


def test_agent_root_is_removed_on_stop(tmp_path: Path) -> None:
    write_bundle(tmp_path, "v1", {}, {})
    with running_sandbox(scenario(tmp_path, ["v1"]), **AGENT) as sb:
        root = sb.agent.root
        assert root.is_dir()
        assert isinstance(engine.state(sb.world).hooks, type(sb.agent))
    assert not root.exists()


def test_scenario_bundles_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(time_scale=1, bundles="    v1: bundles/nowhere"))
    with pytest.raises(ScenarioError, match=r"scenario\.yaml:10: bundle v1: .* is not a directory"):
        load_scenario(str(path))
    (tmp_path / "bundles" / "empty").mkdir(parents=True)
    path.write_text(SCENARIO.format(time_scale=1, bundles="    '*': bundles/empty"))
    with pytest.raises(
        ScenarioError, match=r"scenario\.yaml:10: bundle \*: .* has no appspec\.yml"
    ):
        load_scenario(str(path))
    write_bundle(tmp_path, "v1", {}, {})
    path.write_text(SCENARIO.format(time_scale=1, bundles="    '*': bundles/v1"))
    assert load_scenario(str(path)).codedeploy.bundles == {
        "*": (tmp_path / "bundles" / "v1").resolve()
    }


def test_hooks_scenario_maps_every_revision_to_the_in_place_example() -> None:
    scenario = load_scenario("hooks")
    bundle = scenario.codedeploy.bundles["*"]
    assert (bundle / "appspec.yml").is_file()
    assert bundle.name == "in-place"


# ----- every path stays inside its root ------------------------------------------------------

# Enough `..` to climb from anywhere under the temp directory to `/`.
CLIMB = "../" * 40

# One instance in two deployment groups, so that a revision one group installed is the
# "installed revision" the other group's ApplicationStop runs.
SHARED_SCENARIO = """\
name: agent-shared
time_scale: {time_scale}
instances:
  - {{name: s-1, availability_zone: us-east-1a, revision: {revision}, tags: {{app: s, role: web}}}}
codedeploy:
  lifecycle_durations: {{DownloadBundle: 1, Install: 1}}
  bundles:
    '*': bundles/any
  applications:
    - name: shop
      deployment_groups:
        - name: s-group
          style: in_place
          traffic_control: false
          ec2_tags: {{app: s}}
          deployment_config: CodeDeployDefault.OneAtATime
        - name: web-group
          style: in_place
          traffic_control: false
          ec2_tags: {{role: web}}
          deployment_config: CodeDeployDefault.OneAtATime
"""


def shared_scenario(tmp_path: Path, revision: str = "v1") -> str:
    """The shared-instance scenario, whose every revision is the bundle `any`: its
    ApplicationStop script records where it ran."""
    write_bundle(
        tmp_path,
        "any",
        {"ApplicationStop": [hook("stop.sh")]},
        {"stop.sh": RECORD.format(label="any", out=tmp_path)},
    )
    path = tmp_path / "scenario.yaml"
    path.write_text(SHARED_SCENARIO.format(time_scale=TIME_SCALE, revision=json.dumps(revision)))
    return str(path)


def github(commit: str) -> dict:
    return {
        "revisionType": "GitHub",
        "gitHubLocation": {"repository": "shop/web", "commitId": commit},
    }


def error_code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]  # type: ignore[attr-defined]


def inside(path: str | Path, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def test_safety_14_github_commit_id_cannot_lead_the_agent_outside_its_root(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    outside = tmp_path / "outside"
    sb = sandbox_factory(shared_scenario(tmp_path), **AGENT)
    cd = client(sb)
    commit = "x/" + CLIMB + str(outside).lstrip("/")
    refused = None
    try:
        did = cd.create_deployment(
            applicationName=APP, deploymentGroupName="s-group", revision=github(commit)
        )["deploymentId"]
    except botocore.exceptions.ClientError as exc:
        refused = exc.response["Error"]
    else:
        # The commit becomes the instance's installed revision; the other group's next
        # deployment stops the application with that revision's scripts.
        finished(cd, did)
        finished(cd, deploy(cd, "web-group", "v2"))
    assert not outside.exists(), "the agent copied a bundle outside its deployment root"
    assert all(inside(cwd, sb.agent.root) for *_, cwd in runs(tmp_path))
    assert refused is not None and refused["Code"] == "InvalidRevisionException"


@pytest.mark.parametrize(
    "commit",
    [
        "../../../../tmp/cutover",
        "main",
        "0f3c2ab9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",  # 39 characters
        "0f3c2ab9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3/..",
        "zf3c2ab9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3",
        "0f3c2ab9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3\n",
    ],
)
def test_safety_14_revision_apis_refuse_a_commit_id_that_is_not_a_sha1(
    commit: str, shop: tuple[Sandbox, Any]
) -> None:
    _, cd = shop
    for call in (
        lambda: cd.create_deployment(
            applicationName=APP, deploymentGroupName="s-group", revision=github(commit)
        ),
        lambda: cd.register_application_revision(applicationName=APP, revision=github(commit)),
        lambda: cd.get_application_revision(applicationName=APP, revision=github(commit)),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            call()
        assert error_code(exc) == "InvalidRevisionException"
        assert "SHA-1" in exc.value.response["Error"]["Message"]


def test_safety_14_a_sha1_commit_deploys_with_the_agent(shop: tuple[Sandbox, Any]) -> None:
    sb, cd = shop
    commit = "0F3c2ab9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3"
    did = cd.create_deployment(
        applicationName=APP, deploymentGroupName="s-group", revision=github(commit)
    )["deploymentId"]
    assert finished(cd, did)["status"] == "Succeeded"
    with sb.world.lock:
        assert {i.revision for i in sb.world.instances.values()} == {commit}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Any]]:
    with running_sandbox(shared_scenario(tmp_path_factory.mktemp("shop")), **AGENT) as sb:
        yield sb, client(sb)


def test_safety_14_installed_revision_label_cannot_move_the_archive_out_of_the_root(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox]
) -> None:
    # A scenario's revision label (like an S3 key's file name) names the installed archive.
    outside = tmp_path / "outside"
    sb = sandbox_factory(
        shared_scenario(tmp_path, revision="x/" + CLIMB + str(outside).lstrip("/")), **AGENT
    )
    cd = client(sb)
    did = deploy(cd, "s-group", "v2")
    assert finished(cd, did)["status"] == "Succeeded"
    assert not outside.exists(), "the agent copied a bundle outside its deployment root"
    # No archive of that revision on the instance: its ApplicationStop has nothing to run,
    # as when the agent finds no archive of the last successful deployment.
    assert [line for line in runs(tmp_path) if line[1] == "ApplicationStop"] == []
    with sb.world.lock:
        assert {i.revision for i in sb.world.instances.values()} == {"v2"}


@pytest.mark.parametrize("how", ["dot-dot", "symlink"])
def test_safety_14_script_outside_the_bundle_is_script_missing(
    tmp_path: Path, sandbox_factory: Callable[..., Sandbox], how: str
) -> None:
    ran = tmp_path / "ran-outside"
    script = tmp_path / "outside.sh"
    script.write_text(f'#!/bin/sh\ntouch "{ran}"\n')
    script.chmod(0o755)
    location = CLIMB + str(script).lstrip("/") if how == "dot-dot" else "scripts/link.sh"
    write_bundle(tmp_path, "v1", {}, {})
    bundle = write_bundle(tmp_path, "v2", {"ValidateService": [{"location": location}]}, {})
    if how == "symlink":
        (bundle / "scripts" / "link.sh").symlink_to(script)
    sb = sandbox_factory(scenario(tmp_path, ["v1", "v2"]), **AGENT)
    cd = client(sb)
    did = deploy(cd, "b-group", "v2")
    status = finished(cd, did)["status"]
    assert not ran.exists(), "the agent ran a script from outside the bundle"
    assert status == "Failed"
    (iid,) = instances(sb, "b")
    diag = diagnostics_of(cd, did, iid, "ValidateService")
    assert diag["errorCode"] == "ScriptMissing"
    assert diag["scriptName"] == location
    assert diag["message"].startswith("Script does not exist at specified location: /")
    assert "/../" not in diag["message"]
