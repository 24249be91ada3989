"""decide(): run the SPEC section 2 rules in order and shape the Decision."""

from collections.abc import Sequence
from datetime import UTC, datetime

from app.consent.engine.rules import DEFER_RULES, DENY_RULES, ESSENTIAL_DENY_RULES, Case
from app.consent.engine.types import (
    CatalogFacts,
    CustomerFacts,
    Decision,
    DecisionRequest,
    SendFacts,
)


def decide(
    catalog: CatalogFacts,
    customer: CustomerFacts | None,
    sends: Sequence[SendFacts],
    request: DecisionRequest,
) -> Decision:
    """Decide one request against the catalog, the customer (None: unknown) and their sends.

    `sends` are the customer's marketing sends that count against caps, the request's own
    excluded. Brand, topic and channel must already be valid for the catalog (else KeyError).
    """
    if request.send_at.utcoffset() is None:
        raise ValueError("send_at must be timezone-aware")
    if customer is None:
        return Decision("deny", ("unknown_customer",), None)
    case = Case.build(catalog, customer, sends, request)
    marketing = case.topic.kind == "marketing"
    deny_rules = DENY_RULES if marketing else ESSENTIAL_DENY_RULES
    denied = tuple(name for name, rule in deny_rules if rule(case))
    if denied:
        return Decision("deny", denied, None)
    if not marketing:
        return Decision("allow", (), None)
    at = request.send_at
    deferred = tuple(name for name, rule in DEFER_RULES if rule(case, at) != at)
    if not deferred:
        return Decision("allow", (), None)
    return Decision("defer", deferred, next_allowed_at(case, at))


def next_allowed_at(case: Case, at: datetime) -> datetime | None:
    """The earliest instant from `at` on at which every defer rule passes, in UTC.

    Each rule moves the instant to where it passes; repeat until no rule moves it (a pause's
    end may be quiet, a quiet period's end may be capped, ...). None when quiet never ends.
    """
    current = at
    while True:
        start = current
        for _, rule in DEFER_RULES:
            moved = rule(case, current)
            if moved is None:
                return None
            current = moved
        if current == start:
            return current.astimezone(UTC)
