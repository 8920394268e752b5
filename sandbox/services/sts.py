"""AWS STS: who the caller is. The sandbox has one identity per world."""

from __future__ import annotations

import hashlib

from cutover.sandbox.services import operation
from cutover.sandbox.world import World

USER_NAME = "cutover-sandbox"


@operation("sts", "GetCallerIdentity")
def get_caller_identity(world: World, params: dict) -> dict:
    """The sandbox user: Account is the world's account id; UserId and Arn are stable for it."""
    digest = hashlib.sha256(f"{world.account_id}:{USER_NAME}".encode()).hexdigest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    # IAM user ids are AIDA followed by 17 upper-case base-32 characters.
    user_id = "AIDA" + "".join(alphabet[int(digest[i : i + 2], 16) % 32] for i in range(0, 34, 2))
    return {
        "UserId": user_id,
        "Account": world.account_id,
        "Arn": f"arn:aws:iam::{world.account_id}:user/{USER_NAME}",
    }
