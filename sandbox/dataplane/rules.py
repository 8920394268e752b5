"""Listener rules as an Application Load Balancer applies them to one request: conditions,
priorities, the terminal action, and where a redirect points."""

from __future__ import annotations

import functools
import ipaddress
import re

from aiohttp import web
from cutover.sandbox.world import Rule

from .servers import HOST


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    # ELB patterns know only * and ?; everything else (brackets included) is literal.
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rx, 0 if case_sensitive else re.IGNORECASE)


def _values(cond: dict, config: str) -> list:
    return list((cond.get(config) or {}).get("Values") or cond.get("Values") or [])


def _query_matches(cond: dict, request: web.BaseRequest) -> bool:
    pairs = (cond.get("QueryStringConfig") or {}).get("Values") or []
    for pair in pairs:
        for k, v in request.query.items():
            key_ok = "Key" not in pair or _glob(pair["Key"], False).fullmatch(k)
            if key_ok and _glob(pair.get("Value", "*"), False).fullmatch(v):
                return True
    return False


def _source_matches(cond: dict, request: web.BaseRequest) -> bool:
    peer = request.remote or ""
    try:
        addr = ipaddress.ip_address(peer)
        nets = [ipaddress.ip_network(v, strict=False) for v in _values(cond, "SourceIpConfig")]
    except ValueError:
        return False
    return any(addr in net for net in nets)


def condition_matches(cond: dict, request: web.BaseRequest) -> bool:
    """Whether one rule condition holds for the request (an unknown field never does)."""
    kind = cond.get("Field")
    if kind == "path-pattern":
        path = request.path
        return any(_glob(v, True).fullmatch(path) for v in _values(cond, "PathPatternConfig"))
    if kind == "host-header":
        host = (request.headers.get("Host") or "").rsplit(":", 1)[0]
        return any(_glob(v, False).fullmatch(host) for v in _values(cond, "HostHeaderConfig"))
    if kind == "http-request-method":
        return request.method in _values(cond, "HttpRequestMethodConfig")
    if kind == "http-header":
        cfg = cond.get("HttpHeaderConfig") or {}
        seen = request.headers.getall(cfg.get("HttpHeaderName", ""), [])
        return any(_glob(v, False).fullmatch(h) for v in cfg.get("Values") or [] for h in seen)
    if kind == "query-string":
        return _query_matches(cond, request)
    if kind == "source-ip":
        return _source_matches(cond, request)
    return False


def choose_rule(rules: list[Rule], default: Rule, request: web.BaseRequest) -> Rule:
    """The first rule by priority whose conditions all hold, else the default rule."""
    ordered = sorted(
        (r for r in rules if not r.is_default),
        key=lambda r: int(r.priority) if str(r.priority).isdigit() else 1 << 30,
    )
    for rule in ordered:
        if all(condition_matches(c, request) for c in rule.conditions):
            return rule
    return default


def terminal_action(rule: Rule) -> dict | None:
    """The rule's forward, fixed-response or redirect action, in the actions' Order."""
    actions = sorted(
        enumerate(rule.actions), key=lambda pair: int(pair[1].get("Order", pair[0] + 1))
    )
    for _, action in actions:
        if action.get("Type") in ("forward", "fixed-response", "redirect"):
            return action
    return None


def redirect_location(cfg: dict, request: web.BaseRequest, listener_port: int) -> str:
    """A RedirectConfig's Location for this request, its #{...} placeholders filled in."""
    host = (request.headers.get("Host") or HOST).rsplit(":", 1)[0]
    values = {
        "protocol": "http",
        "host": host,
        "port": str(listener_port),
        "path": request.path.lstrip("/"),
        "query": request.query_string,
    }

    def fill(text: str) -> str:
        for k, v in values.items():
            text = text.replace("#{" + k + "}", v)
        return text

    protocol = fill(cfg.get("Protocol", "#{protocol}")).lower()
    out_host = fill(cfg.get("Host", "#{host}"))
    port = fill(cfg.get("Port", "#{port}"))
    path = fill(cfg.get("Path", "/#{path}"))
    query = fill(cfg.get("Query", "#{query}"))
    location = f"{protocol}://{out_host}:{port}{path if path.startswith('/') else '/' + path}"
    return location + (f"?{query}" if query else "")
