"""The console's audit search: the filter form, read into conditions, and events in id order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit.actors import ACTOR_TYPES
from app.audit.record import ACTION_FAMILIES, ACTIONS, SOURCES
from app.auth.admins import find_admin
from app.consent.customers import find_customer
from app.consent.errors import Conflict
from app.consent.identity import InvalidIdentifier, parse_reference
from app.models import AuditEvent, Customer
from app.web.i18n import gettext as _

_T = TypeVar("_T")
MAX_FIELD = 320
ACTION_CHOICES = (*sorted(ACTIONS), *(f"{family}*" for family in ACTION_FAMILIES))
SOURCE_CHOICES = tuple(sorted(SOURCES))
ACTOR_TYPE_CHOICES = tuple(sorted(ACTOR_TYPES))


class FieldError(ValueError):
    """A filter field that cannot be used, said in one sentence."""


@dataclass(frozen=True)
class AuditForm:
    """The filter form as typed: every field a string, empty when unused."""

    customer: str = ""
    actor_type: str = ""
    actor_id: str = ""
    action: str = ""
    source: str = ""
    since: str = ""
    until: str = ""

    def query_string(self, **extra: str) -> str:
        """The filter as URL parameters (empty fields left out), with `extra` ones appended."""
        pairs = [(f.name, getattr(self, f.name).strip()) for f in fields(self)]
        return urlencode([(k, v) for k, v in [*pairs, *extra.items()] if v])


@dataclass(frozen=True)
class AuditQuery:
    """What the events must match; None matches anything. `since` inclusive, `until` not."""

    customer_id: str | None = None
    actor_type: str | None = None
    actor_id: str | None = None
    action: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def read_form(session: Session, form: AuditForm) -> tuple[AuditQuery, dict[str, str]]:
    """The query the form asks for, and an error per field that cannot be used."""
    too_long = [f.name for f in fields(form) if len(getattr(form, f.name)) > MAX_FIELD]
    if too_long:
        return AuditQuery(), dict.fromkeys(too_long, _("This is too long."))
    errors: dict[str, str] = {}

    def read(name: str, reader: Callable[[str], _T]) -> _T | None:
        text: str = getattr(form, name).strip()
        if not text:
            return None
        try:
            return reader(text)
        except FieldError as error:
            errors[name] = str(error)
            return None

    actor_type, actor_id = form.actor_type.strip(), form.actor_id.strip()
    try:
        actor = _actor(session, actor_type, actor_id)
    except FieldError as error:
        errors["actor_id" if actor_id else "actor_type"] = str(error)
        actor = (None, None)
    query = AuditQuery(
        customer_id=read("customer", lambda text: _customer_id(session, text)),
        actor_type=actor[0],
        actor_id=actor[1],
        action=read("action", str),
        source=read("source", _source),
        since=read("since", utc_moment),
        until=read("until", utc_moment),
    )
    if query.since and query.until and query.until <= query.since:
        errors.setdefault("until", _("Until must be later than since."))
    return query, errors


def _customer_id(session: Session, text: str) -> str:
    try:
        ref = parse_reference(text)
    except InvalidIdentifier as error:
        raise FieldError(_("Use a reference: c_…, ext:…, email:… or tel:…")) from error
    if ref.kind == "id":
        # Erased customers keep their row and their events: found by id alone.
        if session.scalar(select(col(Customer.id)).where(col(Customer.id) == ref.value)) is None:
            raise FieldError(_("No customer has this id."))
        return ref.value
    try:
        found = find_customer(session, ref)
    except Conflict as error:
        raise FieldError(_("Several customers have this phone number: use a c_ id.")) from error
    if found is None:
        raise FieldError(
            _("No customer matches this reference (an erased customer is found by its c_ id).")
        )
    return found.id


def _source(text: str) -> str:
    if text not in SOURCES:
        raise FieldError(_("Choose one of the sources listed."))
    return text


def _actor(session: Session, actor_type: str, actor_id: str) -> tuple[str | None, str | None]:
    """The actor's type and id; "client:cl_x" in the id field names both, an e-mail an admin."""
    kind, colon, rest = actor_id.partition(":")
    if colon and not actor_type and kind in ACTOR_TYPES:
        actor_type, actor_id = kind, rest
    if actor_type and actor_type not in ACTOR_TYPES:
        raise FieldError(_("Choose one of the actor types listed."))
    if "@" in actor_id and actor_type in ("", "admin"):
        admin = find_admin(session, actor_id)
        if admin is None:
            raise FieldError(_("No console account has this e-mail address."))
        actor_type, actor_id = "admin", admin.id
    return actor_type or None, actor_id or None


def utc_moment(text: str) -> datetime:
    """A time typed into a datetime-local field, read as UTC (an explicit offset is kept);
    FieldError for anything else, or for a year outside 1970 to 9998."""
    message = _("Give a date and time such as 2026-11-20T10:00 (UTC).")
    try:
        value = datetime.fromisoformat(text.strip())
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise FieldError(message) from error
    if not 1970 <= value.year < 9999:
        raise FieldError(message)
    return value


def conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    """The WHERE clauses of `query`; an action ending in ".*" matches its family."""
    found: list[ColumnElement[bool]] = []
    equal = {
        "customer_id": query.customer_id,
        "actor_type": query.actor_type,
        "actor_id": query.actor_id,
        "source": query.source,
    }
    for name, value in equal.items():
        if value is not None:
            found.append(col(getattr(AuditEvent, name)) == value)
    if query.action is not None:
        if query.action.endswith(".*"):
            prefix = query.action[:-1]
            found.append(col(AuditEvent.action).startswith(prefix, autoescape=True))
        else:
            found.append(col(AuditEvent.action) == query.action)
    if query.since is not None:
        found.append(col(AuditEvent.at) >= query.since)
    if query.until is not None:
        found.append(col(AuditEvent.at) < query.until)
    return found


def newest_first(
    session: Session, query: AuditQuery, *, before_id: int | None, limit: int
) -> list[AuditEvent]:
    """Up to `limit` matching events older than `before_id` (None: the newest), newest first."""
    where = conditions(query)
    if before_id is not None:
        where.append(col(AuditEvent.id) < before_id)
    statement = select(AuditEvent).where(*where).order_by(col(AuditEvent.id).desc()).limit(limit)
    return list(session.scalars(statement))


def read_batch(
    session: Session, query: AuditQuery, *, after_id: int, size: int
) -> list[AuditEvent]:
    """Up to `size` matching events after `after_id`, oldest first: one keyset step."""
    statement = (
        select(AuditEvent)
        .where(col(AuditEvent.id) > after_id, *conditions(query))
        .order_by(col(AuditEvent.id))
        .limit(size)
    )
    return list(session.scalars(statement))


def neighbour(session: Session, event_id: int, *, newer: bool) -> int | None:
    """The id of the next event after (`newer`) or before `event_id`, if there is one."""
    column = col(AuditEvent.id)
    statement = (
        select(func.min(column)).where(column > event_id)
        if newer
        else select(func.max(column)).where(column < event_id)
    )
    found = session.scalar(statement)
    return None if found is None else int(found)
