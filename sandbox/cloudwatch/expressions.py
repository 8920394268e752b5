"""Metric math as the sandbox evaluates it in GetMetricData: + - * / and parentheses over
query ids and numbers. A series is {period start: value}; arithmetic between two series keeps
the timestamps both have, and a division by zero leaves that datapoint out."""

from __future__ import annotations

import re
from collections.abc import Callable


class ExpressionError(Exception):
    """An expression that cannot be evaluated; str() says why, for a ValidationError."""


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[-+*/()]))"
)

Series = dict[int, float]
Value = float | Series


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected character at position {pos + 1}")
        kind = match.lastgroup or "op"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _arith(op: str, a: Value, b: Value) -> Value:
    def one(x: float, y: float) -> float | None:
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        return x / y if y else None  # no datapoint where the divisor is 0

    if isinstance(a, dict) and isinstance(b, dict):
        pairs = {ts: (a[ts], b[ts]) for ts in a.keys() & b.keys()}
    elif isinstance(a, dict):
        assert not isinstance(b, dict)
        pairs = {ts: (v, b) for ts, v in a.items()}
    elif isinstance(b, dict):
        pairs = {ts: (a, v) for ts, v in b.items()}
    else:
        result = one(a, b)
        if result is None:
            raise ExpressionError("division by zero")
        return result
    out: Series = {}
    for ts, (x, y) in pairs.items():
        value = one(x, y)
        if value is not None:
            out[ts] = value
    return out


def evaluate_expression(text: str, lookup: Callable[[str], Value]) -> Value:
    """The value of `text`; `lookup(id)` gives a query id's series."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise ExpressionError("unexpected end of expression")
        pos += 1
        return tokens[pos - 1]

    def expr() -> Value:
        value = term()
        while (tok := peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            take()
            value = _arith(tok[1], value, term())
        return value

    def term() -> Value:
        value = factor()
        while (tok := peek()) is not None and tok[1] in "*/" and tok[0] == "op":
            take()
            value = _arith(tok[1], value, factor())
        return value

    def factor() -> Value:
        kind, text_ = take()
        if kind == "num":
            return float(text_)
        if kind == "name":
            nxt = peek()
            if nxt == ("op", "("):
                raise ExpressionError(
                    f"the function {text_} is not supported (the sandbox evaluates + - * / "
                    "over query ids and numbers)"
                )
            return lookup(text_)
        if text_ == "(":
            value = expr()
            if take() != ("op", ")"):
                raise ExpressionError("missing closing parenthesis")
            return value
        if text_ == "-":
            return _arith("*", -1.0, factor())
        raise ExpressionError(f"unexpected '{text_}'")

    value = expr()
    if pos != len(tokens):
        raise ExpressionError(f"unexpected '{tokens[pos][1]}'")
    return value
