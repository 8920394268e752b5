"""Short revision names and the in-place fleet's mixed-revision line."""

from __future__ import annotations

from cutover.backend.core.revisions import revision_mix, short_revision


def test_short_names() -> None:
    assert short_revision("s3://web-revisions/web/v3.zip") == "v3"
    assert short_revision("octo/app@0123456789abcdef") == "0123456789"
    assert short_revision(None) == "?"


def test_one_revision_is_not_mixed_and_unknown_counts() -> None:
    v1, v3 = "s3://b/web/v1.zip", "s3://b/web/v3.zip"
    assert revision_mix([v1, v1]) is None
    assert revision_mix([v3, v1, v3, v1]) == "mixed: 2 on v1, 2 on v3"
    assert revision_mix([v3, v3, v3, None]) == "mixed: 3 on v3, 1 on unknown"
