"""The scopes of the internal API (SPEC section 4)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

Scope = Literal[
    "decisions",
    "customers:read",
    "customers:write",
    "customers:erase",
    "preferences:read",
    "preferences:write",
    "suppressions:write",
    "changes:read",
    "audit:read",
]

ALL_SCOPES: frozenset[str] = frozenset(get_args(Scope))


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    """The names in `scopes` that are not scopes of the API, sorted, each once."""
    return sorted(set(scopes) - ALL_SCOPES)


SCOPE_DESCRIPTIONS: dict[str, str] = {
    "decisions": "Ask for decisions, reserve, record and release sends",
    "customers:read": "Read and export customers",
    "customers:write": "Create and update customers",
    "customers:erase": "Erase customers",
    "preferences:read": "Read preferences documents",
    "preferences:write": "Change preferences documents",
    "suppressions:write": "Report bounces, complaints and STOP replies",
    "changes:read": "Follow the feed of changes",
    "audit:read": "Search the audit trail",
}
