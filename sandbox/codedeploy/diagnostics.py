"""What CodeDeploy says when something goes wrong: its error messages and the diagnostics of
failed lifecycle events, as the CodeDeploy agent reports them."""

from __future__ import annotations

import posixpath

HEALTH_CONSTRAINTS_MESSAGE = (
    "The overall deployment failed because too many individual instances failed deployment, "
    "too few healthy instances are available for deployment, or some instances in your "
    "deployment group are experiencing problems."
)
MANUAL_STOP_MESSAGE = "The deployment was stopped by the user"
READY_TIMEOUT_MESSAGE = (
    "The deployment timed out while waiting for traffic to be rerouted to the replacement "
    "environment. Traffic rerouting was not started within the specified wait time."
)
NO_INSTANCES_MESSAGE = (
    "The deployment failed because no instances were found for your deployment group. Check "
    "your deployment group settings to make sure the tags for your Amazon EC2 instances or "
    "Auto Scaling groups correctly identify the instances you want to deploy to, and then try "
    "again."
)
AGENT_LOST_MESSAGE = (
    "CodeDeploy agent was not able to receive the lifecycle event. Check the CodeDeploy agent "
    "logs on your host and make sure the agent is running and can connect to the CodeDeploy "
    "server."
)
STOP_STATUS_MESSAGE = "Stopping Active Deployment"

SCRIPTS = {
    "ApplicationStop": "scripts/stop_server.sh",
    "BeforeInstall": "scripts/install_dependencies.sh",
    "AfterInstall": "scripts/after_install.sh",
    "ApplicationStart": "scripts/start_server.sh",
    "ValidateService": "scripts/validate_service.sh",
    "BeforeAllowTraffic": "scripts/before_allow_traffic.sh",
    "AfterAllowTraffic": "scripts/after_allow_traffic.sh",
    "BeforeBlockTraffic": "scripts/before_block_traffic.sh",
    "AfterBlockTraffic": "scripts/after_block_traffic.sh",
}
SUCCESS_DIAGNOSTICS = {
    "errorCode": "Success",
    "scriptName": "",
    "message": "Succeeded",
    "logTail": "",
}
LIFECYCLE_ERROR_CODES = (
    "ScriptMissing",
    "ScriptNotExecutable",
    "ScriptTimedOut",
    "ScriptFailed",
    "UnknownError",
)


def script_failure(
    event: str,
    *,
    exit_code: int = 1,
    script: str | None = None,
    error_code: str = "ScriptFailed",
    log_tail: str | None = None,
    deployment_group_id: str = "",
    deployment_id: str = "",
    timeout: float = 300,
) -> dict:
    """Diagnostics of a failed lifecycle event as the CodeDeploy agent reports them
    (`timeout`: the script's limit in seconds, for ScriptTimedOut)."""
    if event in ("DownloadBundle", "Install") and script is None:
        message = {
            "DownloadBundle": "The specified key does not exist.",
            "Install": (
                "The deployment failed because a specified file already exists at this "
                "location: /var/www/html/index.html"
            ),
        }[event]
        return {
            "errorCode": "UnknownError",
            "scriptName": "",
            "message": message,
            "logTail": log_tail or "",
        }
    script = script or SCRIPTS.get(event, f"scripts/{event}.sh")
    if error_code == "ScriptMissing":
        root = f"/opt/codedeploy-agent/deployment-root/{deployment_group_id}/{deployment_id}"
        # The agent prints File.expand_path of the joined path: `..` already resolved.
        where = posixpath.normpath(f"{root}/deployment-archive/{script}")
        message = f"Script does not exist at specified location: {where}"
    elif error_code == "ScriptNotExecutable":
        message = f"Script at specified location: {script} is not executable"
    elif error_code == "ScriptTimedOut":
        message = (
            f"Script at specified location: {script} failed to complete in {timeout:g} seconds"
        )
    elif error_code == "UnknownError":
        message = AGENT_LOST_MESSAGE
    else:
        message = (
            f"Script at specified location: {script} run as user root failed with exit code "
            f"{exit_code}"
        )
    if log_tail is None:
        log_tail = _LOG_TAILS.get(event, _DEFAULT_TAIL).format(
            script=script.rsplit("/", 1)[-1], code=exit_code
        )
    return {"errorCode": error_code, "scriptName": script, "message": message, "logTail": log_tail}


_DEFAULT_TAIL = "[stdout]Running {script}\n[stderr]{script}: command failed\n"
_LOG_TAILS = {
    "ValidateService": (
        "[stdout]Waiting for http://localhost:80/health to answer 200\n"
        "[stdout]attempt 1/5: HTTP 503\n"
        "[stdout]attempt 2/5: HTTP 503\n"
        "[stdout]attempt 3/5: HTTP 503\n"
        "[stdout]attempt 4/5: HTTP 503\n"
        "[stdout]attempt 5/5: HTTP 503\n"
        "[stderr]{script}: the service did not become healthy after 5 attempts\n"
    ),
    "ApplicationStart": (
        "[stdout]Starting web.service\n"
        "[stderr]Job for web.service failed because the control process exited with error code.\n"
        '[stderr]See "systemctl status web.service" and "journalctl -xe" for details.\n'
    ),
    "ApplicationStop": (
        "[stdout]Stopping web.service\n[stderr]Failed to stop web.service: Unit not loaded.\n"
    ),
    "BeforeInstall": (
        "[stdout]Installing dependencies\n"
        "[stderr]E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2731\n"
    ),
    "AfterInstall": (
        '[stdout]Running database migrations\n[stderr]ERROR: relation "orders" already exists\n'
    ),
}


def unknown_error(message: str) -> dict:
    return {"errorCode": "UnknownError", "scriptName": "", "message": message, "logTail": ""}


def elb_missing(names: list[str]) -> dict:
    return {
        "errorCode": "UnknownError",
        "scriptName": "",
        "message": "The Elastic Load Balancing load balancer or target group "
        f"{', '.join(names)} was not found.",
        "logTail": "",
    }
