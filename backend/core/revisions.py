"""Short, human names for CodeDeploy revisions (the status line, the picker, the audit)."""

from __future__ import annotations

import hashlib


def revision_label(revision: dict | None) -> str | None:
    """A short, human name for a CodeDeploy RevisionLocation."""
    if not revision:
        return None
    kind = revision.get("revisionType")
    if kind == "S3" and revision.get("s3Location"):
        s3 = revision["s3Location"]
        label = f"s3://{s3.get('bucket', '?')}/{s3.get('key', '?')}"
        if s3.get("version"):
            label += f"?versionId={s3['version']}"
        return label
    if kind == "GitHub" and revision.get("gitHubLocation"):
        gh = revision["gitHubLocation"]
        return f"{gh.get('repository', '?')}@{str(gh.get('commitId', '?'))[:12]}"
    content = (revision.get("string") or revision.get("appSpecContent") or {}).get("content")
    if content:
        return f"inline appspec {hashlib.sha256(content.encode()).hexdigest()[:12]}"
    return kind
