"""Application revisions: what identifies one, and what instances serve once it is
installed."""

from __future__ import annotations

import re

from cutover.sandbox.world import WorldError

# GitHubLocation.commitId is "the SHA1 commit ID" (API reference). The sandbox's agent names
# archives after it, so nothing else may pass: no branch names, no slashes, no `..`.
COMMIT_ID = re.compile(r"[0-9a-fA-F]{40}")
BUNDLE_TYPES = ("tar", "tgz", "zip")


def revision_label(location: dict) -> str:
    """What instances serve after installing a revision: an S3 key's file name without its
    extension (`web/v2.zip` -> `v2`, `web/v2.tar.gz` -> `v2`), or a GitHub commit id."""
    if location.get("revisionType") == "GitHub":
        return str((location.get("gitHubLocation") or {}).get("commitId") or "")
    key = str((location.get("s3Location") or {}).get("key") or "")
    name = key.rsplit("/", 1)[-1]
    for ext in (".tar.gz", ".tgz", ".tar", ".zip"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name.rsplit(".", 1)[0] if "." in name else name


def revision_key(location: dict) -> tuple:
    """Identity of a revision: what makes two RevisionLocations the same revision."""
    if location.get("revisionType") == "GitHub":
        gh = location.get("gitHubLocation") or {}
        return ("GitHub", gh.get("repository"), gh.get("commitId"))
    s3 = location.get("s3Location") or {}
    return ("S3", s3.get("bucket"), s3.get("key"), s3.get("bundleType"), s3.get("version"))


def revision_location(value: dict | None) -> dict:
    """A RevisionLocation checked for the Server compute platform, with only its own keys."""
    bad = "InvalidRevisionException"
    if not value:
        raise WorldError("RevisionRequiredException", "The revision ID was not specified.")
    kind = value.get("revisionType")
    if kind == "S3":
        s3 = value.get("s3Location") or {}
        if not s3.get("bucket") or not s3.get("key"):
            raise WorldError(bad, "The S3 location of the revision must name a bucket and a key.")
        if s3.get("bundleType") is not None and s3["bundleType"] not in BUNDLE_TYPES:
            raise WorldError(
                bad,
                f"The bundle type {s3['bundleType']} is invalid for the Server compute platform. "
                "Valid bundle types are: tar, tgz, zip.",
            )
        keep = ("bucket", "key", "bundleType", "version", "eTag")
        return {"revisionType": "S3", "s3Location": {k: s3[k] for k in keep if k in s3}}
    if kind == "GitHub":
        gh = value.get("gitHubLocation") or {}
        if not gh.get("repository") or not gh.get("commitId"):
            raise WorldError(
                bad, "The GitHub location of the revision must name a repository and a commit ID."
            )
        if not COMMIT_ID.fullmatch(str(gh["commitId"])):
            raise WorldError(
                bad,
                f"The commit ID {gh['commitId']!r} is not a SHA-1 commit ID (40 hexadecimal "
                "characters).",
            )
        return {
            "revisionType": "GitHub",
            "gitHubLocation": {"repository": gh["repository"], "commitId": gh["commitId"]},
        }
    if kind in ("String", "AppSpecContent"):
        raise WorldError(
            bad, f"The revision type {kind} is not supported for the Server compute platform."
        )
    raise WorldError(bad, f"The revision type {kind} is invalid.")
