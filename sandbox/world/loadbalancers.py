"""Finding load balancers, listeners, rules and target groups, and keeping their tags.

The lookups raise Elastic Load Balancing's modeled not-found errors, word for word, so the
services answer them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cutover.sandbox.world.model import Listener, LoadBalancer, Rule, TargetGroup, WorldError
from cutover.sandbox.world.state import State

MAX_TAGS = 50

T = TypeVar("T")


def find_lb(world: State, arn: str) -> LoadBalancer:
    lb = world.load_balancers.get(arn)
    if lb is None:
        raise WorldError("LoadBalancerNotFound", f"One or more load balancers not found: '{arn}'")
    return lb


def find_tg(world: State, arn: str) -> TargetGroup:
    tg = world.target_groups.get(arn)
    if tg is None:
        raise WorldError("TargetGroupNotFound", f"One or more target groups not found: '{arn}'")
    return tg


def find_listener(world: State, arn: str) -> Listener:
    for listener in world.listeners():
        if listener.arn == arn:
            return listener
    raise WorldError("ListenerNotFound", f"One or more listeners not found: '{arn}'")


def find_rule(world: State, arn: str) -> tuple[Listener, Rule]:
    for listener in world.listeners():
        for rule in listener.rules:
            if rule.arn == arn:
                return listener, rule
    raise WorldError("RuleNotFound", f"One or more rules not found: '{arn}'")


def lookup_all(arns: list[str], find: Callable[[str], T | None], code: str, noun: str) -> list[T]:
    """Every item asked for, in order; the missing ones all named in one error."""
    found, missing = [], []
    for arn in arns:
        item = find(arn)
        if item is None:
            missing.append(arn)
        else:
            found.append(item)
    if missing:
        raise WorldError(code, f"One or more {noun} not found: {', '.join(map(repr, missing))}")
    return found


# ----- tags ------------------------------------------------------------------------------------


def add_tags(store: dict[str, str], tags: list[dict]) -> None:
    """Merge Key/Value pairs into `store`, enforcing AWS's duplicate-key and 50-tag rules."""
    keys = [t["Key"] for t in tags]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise WorldError("DuplicateTagKeys", f"Tag key was specified more than once: {duplicates}")
    if len(set(store) | set(keys)) > MAX_TAGS:
        raise WorldError("TooManyTags", f"A resource can have at most {MAX_TAGS} tags")
    for t in tags:
        store[t["Key"]] = t.get("Value", "")


def add_tags_to_all(stores: list[dict[str, str]], tags: list[dict]) -> None:
    """Tag every store, or none when any of them would break a rule."""
    for store in stores:
        trial = dict(store)
        add_tags(trial, tags)
    for store in stores:
        add_tags(store, tags)


def remove_tags(stores: list[dict[str, str]], keys: list[str]) -> None:
    """Remove tag keys; absent keys are ignored."""
    for store in stores:
        for key in keys:
            store.pop(key, None)


def taggable(world: State, arn: str) -> dict[str, str] | None:
    """The tag store of an ELBv2 ARN; None for an existing listener or rule (not taggable
    here)."""
    if ":targetgroup/" in arn:
        return find_tg(world, arn).tags
    if ":loadbalancer/" in arn:
        return find_lb(world, arn).tags
    if ":listener-rule/" in arn:
        find_rule(world, arn)
        return None
    if ":listener/" in arn:
        find_listener(world, arn)
        return None
    raise WorldError("ValidationError", f"'{arn}' is not a valid resource ARN")


def tag_store(world: State, arn: str) -> dict[str, str]:
    store = taggable(world, arn)
    if store is None:
        raise WorldError(
            "ValidationError", f"The sandbox does not keep tags on listeners or rules: '{arn}'"
        )
    return store
