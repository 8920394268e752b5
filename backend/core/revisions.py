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


def short_revision(text: str | None) -> str:
    """`s3://bucket/web/v2.zip` -> `v2`; a GitHub commit -> its first 10 characters: what
    people call a revision (the status line, the picker, the in-place fleet table)."""
    if not text:
        return "?"
    if text.startswith("s3://"):
        name = text.rsplit("/", 1)[-1]
        return name.split(".", 1)[0] or text
    if "@" in text:
        return text.rsplit("@", 1)[-1][:10]
    return text


def revision_mix(revisions: list[str | None]) -> str | None:
    """`mixed: 2 on v3, 2 on v1` when the instances do not all run one revision (those
    CodeDeploy says nothing about count as `unknown`), most first; None when they agree."""
    counts: dict[str, int] = {}
    for label in revisions:
        name = short_revision(label) if label else "unknown"
        counts[name] = counts.get(name, 0) + 1
    if len(counts) < 2:
        return None
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "mixed: " + ", ".join(f"{n} on {name}" for name, n in ranked)
