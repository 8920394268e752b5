"""Who gets the traffic: the split between the original and the replacement environment, with
its basis in words (listener weights, or the healthy registered targets)."""

from __future__ import annotations

from collections.abc import Sequence

from cutover.backend.model import Environment, ListenerWeights, Traffic

_ROLES = ("original", "replacement", "other")


def traffic_split(
    original: Environment | None,
    replacement: Environment | None,
    sources: Sequence[str],
    listeners: Sequence[ListenerWeights] = (),
    others: dict[str, tuple[int, int]] | None = None,
) -> Traffic | None:
    """Who gets the traffic, with the basis in words.

    When a listener rule splits two or more of the group's target groups by weight, each target
    group's weight is shared among its healthy targets' environments. Otherwise the split is
    the share of healthy registered targets of each environment across the group's target
    groups and classic load balancers (a load balancer with no healthy target fails open and
    sends to every registered one). `others` gives, per source, the (healthy, other registered)
    targets that belong to neither environment: their share is left out of both percentages
    and named in the basis.
    """
    envs = {"original": original, "replacement": replacement}
    others = others or {}
    group_sources = set(sources)
    weighted = next(
        (w for w in listeners if sum(1 for tg, _ in w.weights if tg in group_sources) >= 2), None
    )
    if weighted is not None:
        return _by_weight(weighted, group_sources, envs, others)
    if not sources:
        return None
    return _by_targets(sources, envs, others)


def _counts(
    source: str, envs: dict[str, Environment | None], others: dict[str, tuple[int, int]]
) -> tuple[dict[str, int], bool]:
    """Targets per environment receiving traffic in one source ("other": registered targets
    of neither environment); True when the source fails open."""
    healthy = dict.fromkeys(_ROLES, 0)
    registered = dict.fromkeys(_ROLES, 0)
    for role, env in envs.items():
        for inst in env.instances if env else ():
            for h in inst.health:
                if h.name != source:
                    continue
                if h.healthy:
                    healthy[role] += 1
                elif h.registered and not h.draining:
                    registered[role] += 1
    healthy["other"], registered["other"] = others.get(source, (0, 0))
    if sum(healthy.values()):
        return healthy, False
    total = {r: healthy[r] + registered[r] for r in _ROLES}
    return total, bool(sum(total.values()))


def _by_weight(
    weighted: ListenerWeights,
    group_sources: set[str],
    envs: dict[str, Environment | None],
    others: dict[str, tuple[int, int]],
) -> Traffic:
    """The split a listener rule's weights give, each target group's weight shared among its
    targets' environments."""
    shares = dict.fromkeys(_ROLES, 0.0)
    total_weight = 0
    dead = []
    for tg, weight in weighted.weights:
        if weight <= 0:
            continue
        if tg not in group_sources:
            # Weight on a target group outside the deployment group: traffic to others.
            total_weight += weight
            shares["other"] += weight
            continue
        per_env, _ = _counts(tg, envs, others)
        n = sum(per_env.values())
        if not n:
            dead.append(tg)
            continue
        total_weight += weight
        for role in _ROLES:
            shares[role] += weight * per_env[role] / n
    parts = ", ".join(f"{tg} {w}" for tg, w in weighted.weights)
    basis = f"listener weights on {weighted.load_balancer}:{weighted.port} ({parts})"
    if dead:
        basis += f"; {', '.join(dead)} has weight but no target to send to"
    if not total_weight:
        return Traffic(0.0, 0.0, basis + "; no weighted target group has targets")
    if shares["other"]:
        basis += (
            f"; {100 * shares['other'] / total_weight:.3g}% goes to targets of neither environment"
        )
    return Traffic(
        round(100 * shares["original"] / total_weight, 1),
        round(100 * shares["replacement"] / total_weight, 1),
        basis,
    )


def _by_targets(
    sources: Sequence[str],
    envs: dict[str, Environment | None],
    others: dict[str, tuple[int, int]],
) -> Traffic:
    """The split the healthy registered targets give across the group's load balancers."""
    totals = dict.fromkeys(_ROLES, 0)
    open_sources = []
    for source in sources:
        per_env, failing_open = _counts(source, envs, others)
        if failing_open:
            open_sources.append(source)
        for role in _ROLES:
            totals[role] += per_env[role]
    where = ", ".join(sources)
    n = sum(totals.values())
    if not n:
        return Traffic(0.0, 0.0, f"no instance of either environment is registered with {where}")
    basis = (
        f"healthy registered targets in {where}: {totals['original']} original,"
        f" {totals['replacement']} replacement"
    )
    if totals["other"]:
        basis += f", {totals['other']} of neither environment"
    if open_sources:
        basis += (
            f" ({', '.join(open_sources)} has no healthy target and fails open to every"
            " registered one)"
        )
    return Traffic(
        round(100 * totals["original"] / n, 1), round(100 * totals["replacement"] / n, 1), basis
    )
