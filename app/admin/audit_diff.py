"""Readable differences between an event's before and after: each changed path, old and new."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.audit.record import ERASED


@dataclass(frozen=True)
class DiffLine:
    """One changed path ("brands.acme.topics.offers.choice"); None for a side without it.

    `erased`: the value was personal data and the customer's key is gone, so old and new
    can no longer be told apart.
    """

    path: str
    old: str | None
    new: str | None
    erased: bool = False


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of `value` by its dotted path; arrays and empty objects are leaves."""
    if isinstance(value, dict) and (value or not prefix):
        leaves: dict[str, Any] = {}
        for key, item in value.items():
            leaves.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return leaves
    if value is None and not prefix:
        return {}
    return {prefix: value}


def shown(value: Any) -> str:
    """A value as the console writes it: text as is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True)


def diff(before: Any, after: Any) -> list[DiffLine]:
    """The paths whose values differ between `before` and `after`, in path order."""
    old, new = flatten(before), flatten(after)
    lines = []
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if was == ERASED and now == ERASED:
            lines.append(DiffLine(path, ERASED, ERASED, erased=True))
        elif was != now or type(was) is not type(now):
            lines.append(DiffLine(path, _text(was), _text(now)))
    return lines


def evidence_lines(evidence: Any) -> list[tuple[str, str]]:
    """The evidence's members as (name, value) pairs, in name order."""
    return [(path, shown(value)) for path, value in sorted(flatten(evidence).items())]


class _Absent:
    """The side of a change where the path does not exist."""


_ABSENT = _Absent()


def _text(value: Any) -> str | None:
    return None if isinstance(value, _Absent) else shown(value)
