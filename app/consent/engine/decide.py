"""decide(): run the SPEC section 2 rules in order and shape the Decision."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType

from app.consent.engine.rules import DEFER_RULES, DENY_RULES, ESSENTIAL_DENY_RULES, Case
from app.consent.engine.types import (
    CatalogFacts,
    CustomerFacts,
    Decision,
    DecisionRequest,
    SendFacts,
)


def _denials() -> Mapping[tuple[str, ...], Decision]:
    """A deny Decision for each non-empty set of deny reasons, keyed by the reasons in order."""
    names = [name for name, _ in DENY_RULES]
    sets = (
        tuple(name for bit, name in enumerate(names) if mask >> bit & 1)
        for mask in range(1, 1 << len(names))
    )
    return MappingProxyType({reasons: Decision("deny", reasons, None) for reasons in sets})


# Decisions are frozen, so those that carry nothing but their reasons are built once and shared:
# allow, and each of the 511 sets of deny reasons.
_UNKNOWN = Decision("deny", ("unknown_customer",), None)
_ALLOW = Decision("allow", (), None)
_DENIALS = _denials()


def decide(
    catalog: CatalogFacts,
    customer: CustomerFacts | None,
    sends: Sequence[SendFacts],
    request: DecisionRequest,
) -> Decision:
    """Decide one request against the catalog, the customer (None: unknown) and their sends.

    `sends` are the customer's marketing sends that count against caps, the request's own
    excluded. Brand, topic and channel must already be valid for the catalog (else KeyError);
    send_at is timezone-aware (`DecisionRequest` refuses one that is not).
    """
    if customer is None:
        return _UNKNOWN
    case = Case(catalog, customer, sends, request)
    marketing = case.topic.kind == "marketing"
    denied: list[str] = []
    for name, rule in DENY_RULES if marketing else ESSENTIAL_DENY_RULES:
        if rule(case):
            denied.append(name)
    if denied:
        return _DENIALS[tuple(denied)]
    if not marketing:
        return _ALLOW
    at = request.send_at
    moved: list[datetime | None] = []
    deferred: list[str] = []
    for reason, defer_rule in DEFER_RULES:
        to = defer_rule(case, at)
        moved.append(to)
        if to != at:
            deferred.append(reason)
    if not deferred:
        return _ALLOW
    return Decision("defer", tuple(deferred), next_allowed_at(case, at, moved))


def next_allowed_at(case: Case, at: datetime, moved: Sequence[datetime | None]) -> datetime | None:
    """The earliest instant from `at` on at which every defer rule passes, in UTC.

    Each rule moves the instant to where it passes; repeat until no rule moves it (a pause's
    end may be quiet, a quiet period's end may be capped, ...). None when quiet never ends.
    `moved` holds what each defer rule returned for `at` itself: the rules are pure, so those
    results are reused rather than computed again.
    """
    current = at
    while True:
        start = current
        for index, (_, rule) in enumerate(DEFER_RULES):
            found = moved[index] if current is at else rule(case, current)
            if found is None:
                return None
            current = found
        if current == start:
            return current.astimezone(UTC)
