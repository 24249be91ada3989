"""Browser sessions: started at sign-in, ended at sign-out, idle and absolute timeouts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, update
from sqlalchemy.orm import Session
from sqlmodel import col

from app.db import write_session
from app.models import WebSession
from app.settings import Settings

# A session seen again within this long is not written to again (reads stay reads).
_TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """What the database keeps of a random token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lasts unused (`idle`) and at most (`absolute`)."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Lifetimes:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        )


def start_session(
    session: Session, *, kind: str, subject_id: str, limited: bool, now: datetime
) -> str:
    """A new session; its token, for the cookie, is returned once."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            kind=kind,
            subject_id=subject_id,
            limited=limited,
            created_at=now,
            seen_at=now,
        )
    )
    session.flush()
    return token


def find_session(
    session: Session, *, kind: str, token: str, lifetimes: Lifetimes, now: datetime
) -> WebSession | None:
    """The live session of `kind` for `token`; reads only (see `mark_seen`)."""
    row = session.get(WebSession, token_hash(token))
    if row is None or row.kind != kind:
        return None
    if now - row.seen_at > lifetimes.idle or now - row.created_at > lifetimes.absolute:
        return None
    return row


def mark_seen(engine: Engine, row: WebSession, *, lifetimes: Lifetimes, now: datetime) -> None:
    """Record that the session was used, at most once a minute, in a short transaction of its
    own (page views otherwise only read), and remove sessions that have expired meanwhile."""
    if now - row.seen_at <= _TOUCH_EVERY:
        return
    with write_session(engine) as session:
        session.execute(
            update(WebSession)
            .where(col(WebSession.token_hash) == row.token_hash)
            .values(seen_at=now)
        )
        session.execute(
            delete(WebSession).where(
                or_(
                    col(WebSession.seen_at) < now - lifetimes.idle,
                    col(WebSession.created_at) < now - lifetimes.absolute,
                )
            )
        )


def end_session(session: Session, *, token: str) -> None:
    """Sign-out: the session is gone."""
    session.execute(delete(WebSession).where(col(WebSession.token_hash) == token_hash(token)))


def end_sessions_of(session: Session, *, kind: str, subject_id: str) -> None:
    """End every session of one customer or admin (erasure, a disabled admin)."""
    session.execute(
        delete(WebSession).where(
            col(WebSession.kind) == kind, col(WebSession.subject_id) == subject_id
        )
    )
