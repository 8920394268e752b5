"""Applications and their revisions: what creating or deleting an application does, and the
revisions an application knows (registered or deployed), found and sorted as
ListApplicationRevisions asks."""

from __future__ import annotations

from datetime import datetime

from cutover.sandbox.world import WorldError

from .launches import sync_launch_hooks
from .model import Application, RevisionRecord
from .revisions import revision_key
from .state import CodeDeploy

# ListApplicationRevisions' sortBy -> the record's attribute.
SORT_KEYS = {
    "registerTime": "registered",
    "firstUsedTime": "first_used",
    "lastUsedTime": "last_used",
}


def create_application(cd: CodeDeploy, name: str, platform: str, tags: list[dict]) -> Application:
    if name in cd.applications:
        raise WorldError(
            "ApplicationAlreadyExistsException", f"{name} already exists in your account"
        )
    world = cd.world
    app = Application(
        name=name,
        id=world.new_uuid(),
        created=world.now(),
        compute_platform=platform,
        tags=tags,
    )
    cd.applications[name] = app
    return app


def delete_application(cd: CodeDeploy, name: str) -> None:
    """Delete an application and its groups; one that does not exist is no error."""
    cd.applications.pop(name, None)
    for key in [k for k in cd.groups if k[0] == name]:
        grp = cd.groups.pop(key)
        sync_launch_hooks(cd.world, grp.id, grp.spec["autoScalingGroups"], [])


def register_revision(
    cd: CodeDeploy, app: Application, location: dict, description: str | None
) -> None:
    rec = app.revisions.setdefault(revision_key(location), RevisionRecord(location))
    rec.registered = rec.registered or cd.world.now()
    if description is not None:
        rec.description = description


def known_revision(app: Application, location: dict) -> RevisionRecord:
    rec = app.revisions.get(revision_key(location))
    if rec is None:
        raise WorldError(
            "RevisionDoesNotExistException", "No application revision found for revision."
        )
    return rec


def find_revisions(
    cd: CodeDeploy,
    app: Application,
    *,
    bucket: str | None,
    key_prefix: str | None,
    deployed: str,
    sort_by: str | None,
    order: str,
) -> list[RevisionRecord]:
    """The application's revisions in an S3 bucket (and under a key prefix), deployed or not
    (`deployed`: include, exclude or ignore), in the order asked."""
    records = list(app.revisions.values())
    if bucket:
        records = [
            r
            for r in records
            if (r.location.get("s3Location") or {}).get("bucket") == bucket
            and str((r.location.get("s3Location") or {}).get("key", "")).startswith(
                key_prefix or ""
            )
        ]
    if deployed == "include":
        records = [r for r in records if r.first_used is not None]
    elif deployed == "exclude":
        records = [r for r in records if r.first_used is None]
    if sort_by:
        attr = SORT_KEYS[sort_by]
        floor = datetime.min.replace(tzinfo=cd.world.now().tzinfo)
        records.sort(key=lambda r: getattr(r, attr) or floor, reverse=order == "descending")
    elif order == "descending":
        records.reverse()
    return records
