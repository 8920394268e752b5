"""The replacement-healthy gate with a preview target group: ELB's health there decides once
the replacements are registered; before that (or with a preview that proves nothing) the gate
says the preview was not used and CodeDeploy's evidence decides, as without one."""

from __future__ import annotations

from dataclasses import replace

from cutover.backend.actions import availability
from cutover.backend.core import gates
from cutover.backend.model import ListenerWeights, Preview, TargetHealth

from tests.unit.test_gates import SETTINGS, replacements, snapshot

TG = "web-preview-tg"
IDS = [i.id for i in replacements(2)]


def preview(*states: tuple[str, str | None], problem: str | None = None) -> Preview:
    """The preview with the first replacements registered in the given (state, reason)."""
    targets = tuple(
        TargetHealth(
            name=iid, kind="target-group", state=state, reason=reason, description=None, port=80
        )
        for iid, (state, reason) in zip(IDS, states, strict=False)
    )
    return Preview(
        TG, arn="arn:tg", port=80, listener="web-alb:8443", problem=problem, targets=targets
    )


def gate(pv: Preview) -> tuple[bool, str]:
    snap = replace(snapshot(replacement=replacements(2)), preview=pv)
    check = gates.replacement_healthy(snap, SETTINGS)
    return check.passed, check.reason


def test_not_registered_yet_passes_and_says_the_preview_was_not_used() -> None:
    passed, reason = gate(preview())
    assert passed
    assert reason.endswith(f"not previewed: p registers the replacements in {TG}")


def test_every_replacement_healthy_in_the_preview_passes_and_says_where() -> None:
    passed, reason = gate(preview(("healthy", None), ("healthy", None)))
    assert (
        passed
        and f"all 2 replacement instances healthy in preview {TG} behind web-alb:8443" in (reason)
    )


def test_one_failing_the_load_balancers_check_blocks_with_its_reason() -> None:
    passed, reason = gate(preview(("healthy", None), ("unhealthy", "Target.ResponseCodeMismatch")))
    assert not passed
    assert reason == f"{IDS[1]} is unhealthy in preview {TG} (Target.ResponseCodeMismatch)"


def test_still_initial_or_partly_registered_blocks() -> None:
    passed, reason = gate(preview(("healthy", None), ("initial", "Elb.InitialHealthChecking")))
    assert not passed and f"{IDS[1]} is initial in preview {TG}" in reason
    passed, reason = gate(preview(("healthy", None)))
    assert not passed and f"{IDS[1]} is not in preview {TG}" in reason


def test_a_preview_on_no_listener_is_no_evidence_and_does_not_block() -> None:
    why = f"{TG} is attached to no listener"
    passed, reason = gate(preview(("unused", "Target.NotInUse"), problem=why))
    assert passed and f"preview not used: {why}" in reason


def test_the_preview_action_only_at_ready_and_only_for_what_is_not_registered() -> None:
    ready = replace(snapshot(replacement=replacements(2)), preview=preview(("healthy", None)))
    check = availability.preview(ready)
    assert check.passed and "1 replacement instance into" in check.reason
    done = replace(ready, preview=preview(("healthy", None), ("healthy", None)))
    assert "already registered" in availability.preview(done).reason
    assert "no preview target group" in availability.preview(replace(ready, preview=None)).reason


def test_a_preview_that_production_traffic_reaches_is_refused() -> None:
    """A tired engineer's config names the production target group (or one a production
    listener forwards to by weight) as the preview: `p` would send real traffic to
    replacements nobody approved. Refused, and the gate does not count it as evidence."""
    ready = replace(snapshot(replacement=replacements(2)), preview=preview())
    prod = replace(ready, preview=replace(ready.preview, target_group="web-tg"))
    check = availability.preview(prod)
    assert not check.passed and "web-tg is a production target group" in check.reason
    weighted = replace(
        ready,
        listeners=(ListenerWeights("web-alb", 80, "rule", "listener", (("web-tg", 90), (TG, 10))),),
    )
    check = availability.preview(weighted)
    assert not check.passed and f"web-alb:80 forwards production traffic to {TG}" in check.reason
    # Not evidence either: the gate says the preview was not used, and why.
    reason = gates.replacement_healthy(prod, SETTINGS).reason
    assert "preview not used: web-tg is a production target group" in reason
