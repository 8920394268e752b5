"""Auto Scaling's process names, as "Types of processes" in the Amazon EC2 Auto Scaling user
guide lists them (SuspendProcesses takes these): the controller checks a config's list
against them, the sandbox checks a call's."""

from __future__ import annotations

PROCESSES = (
    "Launch",
    "Terminate",
    "AddToLoadBalancer",
    "AlarmNotification",
    "AZRebalance",
    "HealthCheck",
    "InstanceRefresh",
    "ReplaceUnhealthy",
    "ScheduledActions",
)
