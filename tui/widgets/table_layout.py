"""How instance tables fit a width: which columns show, how wide, and whether ids are
shortened; and the id length tables side by side share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

GAP = 2  # cells between columns
MIN_SHOWN = 8  # a column narrower than this after fitting is left out, not shown as `…`
MARK = "▶ "  # the batch CodeDeploy is working on


@dataclass(frozen=True)
class Layout:
    """Which columns fit the width, how wide each is drawn, and whether ids are shortened."""

    widths: tuple[int, ...]  # per column of the table; 0 = not shown
    keep: int | None  # trailing id characters kept, or None for whole ids


def fits(natural: Sequence[int], width: int) -> bool:
    """Every column at its natural width fits."""
    return sum(natural) + GAP * (len(natural) - 1) <= width


def fit(
    natural: Sequence[int], short: int, width: int, whole: bool | None = None
) -> tuple[int, ...]:
    """Column widths for `width` cells: the first column (`natural[0]`, or `short` when the
    whole ids do not fit, or `whole` says not to) and the second (health) always; the others
    in order while they fit whole; the first that does not is cut to what is left (when that
    is worth showing)."""
    if whole is None:
        whole = fits(natural, width)
    first = natural[0] if whole else short
    out = [first]
    left = width - first
    for i, w in enumerate(natural[1:], start=1):
        room = left - GAP
        if w <= room:
            out.append(w)
            left = room - w
        elif i == 1 or room >= MIN_SHOWN:
            out.append(max(1, room))
            left = 0
        else:
            out.append(0)
            left = 0
    return tuple(out)


class _Sharing(Protocol):
    own_keep: int  # the tail length this table's own ids need to stay apart


class SharedIds:
    """Tables shown side by side shorten ids together, to the same tail length: the same
    instance must read the same in both, and a whole id beside a cut one reads as two kinds."""

    def __init__(self) -> None:
        self.tables: list[_Sharing] = []
        self.short: set[int] = set()  # the tables (by id()) whose whole ids do not fit

    @property
    def keep(self) -> int:
        return max((t.own_keep for t in self.tables), default=6)
