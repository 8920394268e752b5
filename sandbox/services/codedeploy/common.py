"""What every CodeDeploy handler shares: the service's limits, the state, paging, and
decoding the names and ids requests carry."""

from __future__ import annotations

import base64
import binascii
import json
import re

from cutover.sandbox.codedeploy import Deployment, state
from cutover.sandbox.services.ec2 import paginate
from cutover.sandbox.wire import enum_of
from cutover.sandbox.world import World, WorldError

SERVICE = "codedeploy"
PAGE = 100  # items per page of the List* calls
BATCH_LIMIT = 100  # names per BatchGetApplications / BatchGetDeploymentGroups
DEPLOYMENT_BATCH_LIMIT = 25  # ids per BatchGetDeployments / ...Targets / ...Instances

DEPLOYMENT_ID = re.compile(r"^d-[A-Z0-9]{9}$")
NAME = re.compile(r"^[\w.+=,@-]{1,100}$")
STATUSES = enum_of(SERVICE, "DeploymentStatus")
TARGET_STATUSES = enum_of(SERVICE, "TargetStatus")
LABELS = enum_of(SERVICE, "TargetLabel")


def err(code: str, message: str) -> WorldError:
    return WorldError(code, message)


BAD_TOKEN = WorldError(
    "InvalidNextTokenException", "The next token was specified in an invalid format."
)


def paged(items: list, params: dict, scope: str) -> tuple[list, dict]:
    page, next_token = paginate(items, PAGE, params.get("nextToken"), scope, BAD_TOKEN)
    return page, ({"nextToken": next_token} if next_token else {})


def cursor_token(last_id: str) -> str:
    """An opaque ListDeployments token: the last deployment id of the page it follows."""
    raw = json.dumps({"s": "ListDeployments", "after": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def cursor_of(token: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        if data["s"] != "ListDeployments" or not DEPLOYMENT_ID.match(data["after"]):
            raise ValueError(token)
        return data["after"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BAD_TOKEN from None


# ----- names -----------------------------------------------------------------------------------


def application_name(params: dict, key: str = "applicationName") -> str:
    name = params.get(key)
    if not name:
        raise err(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        )
    if not NAME.match(name):
        raise err("InvalidApplicationNameException", f"The application name {name} is invalid.")
    return name


def deployment_group_name(params: dict, key: str = "deploymentGroupName") -> str:
    name = params.get(key)
    if not name:
        raise err(
            "DeploymentGroupNameRequiredException", "The deployment group name was not specified."
        )
    if not NAME.match(name):
        raise err(
            "InvalidDeploymentGroupNameException", f"The deployment group name {name} is invalid."
        )
    return name


def deployment_id(value: str | None) -> str:
    if not value:
        raise err("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
    if not DEPLOYMENT_ID.match(value):
        raise err(
            "InvalidDeploymentIdException",
            f"Specified DeploymentId is not in the valid format: {value}",
        )
    return value


def deployment(world: World, value: str | None) -> Deployment:
    return state(world).deployment(deployment_id(value))
