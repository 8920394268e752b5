"""Application revisions: what identifies one, and what instances serve once it is
installed."""

from __future__ import annotations


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
