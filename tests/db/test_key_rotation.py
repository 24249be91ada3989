"""A new secret with the old one kept as previous: suppressions and tombstones still hold."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy.orm import Session

from app.audit import CLI
from app.consent.context import Context
from app.consent.customers import create_customer, erase_customer
from app.consent.facts import load_customers, load_suppressions
from app.consent.schemas import SuppressionItem
from app.consent.suppressions import apply_suppressions
from app.models import Preference, utcnow
from app.settings import Settings

OLD = "the-old-secret-0123456789abcdef0123456789abcdef"
NEW = "the-new-secret-0123456789abcdef0123456789abcdef"


def context(settings: Settings, secret: str, previous: tuple[str, ...] = ()) -> Context:
    update = {
        "secret_key": SecretStr(secret),
        "previous_secret_keys": [SecretStr(old) for old in previous],
    }
    return Context.from_settings(settings.model_copy(update=update))


def stop(db: Session, ctx: Context, email: str, reason: str = "stop") -> list[str]:
    item = SuppressionItem(channel="email", address=email, reason=reason)  # type: ignore[arg-type]
    return apply_suppressions(db, ctx=ctx, items=[item], actor=CLI, source="cli", now=utcnow())


def test_a_suppression_made_under_the_old_secret_still_blocks(
    db: Session, settings: Settings
) -> None:
    old, new = context(settings, OLD), context(settings, NEW, (OLD,))
    customer = create_customer(
        db, ctx=new, values={"email": "rotated@example.org"}, actor=CLI, source="cli"
    )
    assert stop(db, old, "Rotated@Example.org") == ["added"]

    records = load_customers(db.connection(), [customer.id])
    assert load_suppressions(db.connection(), new.keys, records.values())[customer.id]["email"]
    assert stop(db, new, "rotated@example.org") == ["existing"]
    assert stop(db, new, "rotated@example.org", "resubscribe") == ["lifted"]
    assert load_suppressions(db.connection(), new.keys, records.values()) == {}


def test_without_the_old_secret_the_suppression_is_not_found(
    db: Session, settings: Settings
) -> None:
    old, new = context(settings, OLD), context(settings, NEW)
    customer = create_customer(
        db, ctx=new, values={"email": "forgotten@example.org"}, actor=CLI, source="cli"
    )
    stop(db, old, "forgotten@example.org")

    records = load_customers(db.connection(), [customer.id])
    assert load_suppressions(db.connection(), new.keys, records.values()) == {}


def test_a_tombstone_made_under_the_old_secret_still_means_no_marketing(
    db: Session, settings: Settings
) -> None:
    old, new = context(settings, OLD), context(settings, NEW, (OLD,))
    values = {"external_id": "rotated-1", "email": "gone@example.org"}
    erased = create_customer(db, ctx=old, values=values, actor=CLI, source="cli")
    erase_customer(db, ctx=old, customer=erased, actor=CLI, source="cli")

    again = create_customer(db, ctx=new, values=values, actor=CLI, source="cli")

    preference = db.get(Preference, again.id)
    assert preference is not None
    assert preference.document == {"no_marketing": True}
