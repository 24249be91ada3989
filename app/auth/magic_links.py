"""Magic sign-in links: random, single use, valid for a short time, stored hashed."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlmodel import col

from app.auth.sessions import token_hash
from app.models import SignInLink

LINK_LIFETIME = timedelta(minutes=15)


def issue_link(session: Session, *, customer_id: str, now: datetime) -> str:
    """A new sign-in token for the customer (256 random bits); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        SignInLink(
            token_hash=token_hash(token),
            customer_id=customer_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    session.flush()
    return token


def redeem_link(session: Session, *, token: str, now: datetime) -> str | None:
    """Use the link once: the customer's id, or None when it is unknown, used or expired.

    One conditional UPDATE, so two tabs racing with the same link sign in once.
    """
    hashed = token_hash(token)
    used = session.execute(
        update(SignInLink)
        .where(
            col(SignInLink.token_hash) == hashed,
            col(SignInLink.used_at).is_(None),
            col(SignInLink.expires_at) > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    link = session.get(SignInLink, hashed)
    return None if link is None else link.customer_id


def link_is_open(session: Session, *, token: str, now: datetime) -> bool:
    """Whether the link would still sign in (the page before the button says so)."""
    link = session.get(SignInLink, token_hash(token))
    return link is not None and link.used_at is None and link.expires_at > now
