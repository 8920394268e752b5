"""CodeDeploy's lifecycle events and deployment statuses, as its user guide lists them (one
list for the controller, which reads them, and the sandbox, which plays them).

"AppSpec 'hooks' section for an EC2/On-Premises deployment": an in-place deployment with a
load balancer runs BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic, then the install
events, then BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic. A blue/green deployment
runs the install and allow events on the replacement instances and the block events on the
original ones.
"""

from __future__ import annotations

INSTALL_EVENTS = (
    "ApplicationStop",
    "DownloadBundle",
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
)
ALLOW_EVENTS = ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")
BLOCK_EVENTS = ("BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic")
# Every event around moving an instance into or out of its load balancer.
TRAFFIC_HOOK_EVENTS = ALLOW_EVENTS + BLOCK_EVENTS
IN_PLACE_EVENTS = BLOCK_EVENTS + INSTALL_EVENTS + ALLOW_EVENTS
# Done by CodeDeploy itself against the load balancers, not by scripts on the instance.
LOAD_BALANCER_EVENTS = ("AllowTraffic", "BlockTraffic")
# ignoreApplicationStopFailures lets a failure of these continue the instance's deployment.
STOP_EVENTS = ("ApplicationStop", "BeforeBlockTraffic", "AfterBlockTraffic")

ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
FINISHED_STATUSES = ("Succeeded", "Failed", "Stopped")
FINAL_TARGET_STATUSES = ("Succeeded", "Failed", "Skipped")
