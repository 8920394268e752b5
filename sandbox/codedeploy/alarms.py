"""The deployment's CloudWatch alarms: an alarm in ALARM (or, unless ignored, one that
cannot be read) stops the deployment."""

from __future__ import annotations

from .endings import finish
from .model import Deployment
from .state import CodeDeploy, rollback_on


def alarms_stop(cd: CodeDeploy, dep: Deployment) -> bool:
    cfg = dep.alarms or {}
    names = [a.get("name") for a in cfg.get("alarms") or [] if a.get("name")]
    if not cfg.get("enabled") or not names:
        return False
    firing, missing = [], []
    for name in names:
        alarm = cd.world.alarms.get(name)
        if alarm is None:
            missing.append(name)
        elif getattr(alarm, "state_value", None) == "ALARM":
            firing.append(name)
    if firing:
        message = (
            "One or more alarms have been activated according to the Amazon CloudWatch "
            "metrics you selected, and the affected deployments have been stopped. "
            f"Activated alarms: <{', '.join(firing)}>"
        )
    elif missing and not cfg.get("ignorePollAlarmFailure"):
        message = (
            "The deployment was stopped because the state of its alarms could not be "
            f"retrieved from Amazon CloudWatch. Alarms not found: <{', '.join(missing)}>"
        )
    else:
        return False
    finish(
        cd,
        dep,
        "Stopped",
        "ALARM_ACTIVE",
        message,
        rollback=rollback_on(dep, "DEPLOYMENT_STOP_ON_ALARM"),
    )
    return True
