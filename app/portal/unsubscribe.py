"""/u/{token}: RFC 8058 one-click unsubscribe (POST) and the page beside it (GET)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.auth.links import Links
from app.consent.unsubscribe import SCOPES, Scope, link_names, unsubscribe
from app.models import utcnow
from app.plain.words import channel_name
from app.portal.errors import PageError
from app.portal.pages import page
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)


def link_values(request: Request, token: str) -> list[str]:
    """The (customer, brand, topic, channel) a genuine token was made for, else 404."""
    links: Links = request.app.state.links
    values = links.unsubscribe.verify(token)
    if values is None or len(values) != 4:
        raise PageError(404, _("This link is not valid."))
    return values


async def chosen_scope(request: Request) -> Scope:
    """The stop chosen on the page (`scope`), else this topic; any body is accepted."""
    try:
        form = await request.form()
    except Exception:
        return "topic"
    value = form.get("scope")
    return value if value in SCOPES else "topic"


def _page(
    request: Request, session: Session, token: str, values: list[str], done: Scope | None
) -> HTMLResponse:
    _customer, brand, topic, channel = values
    brand_name, topic_name = link_names(session, brand=brand, topic=topic)
    context: dict[str, Any] = {
        "token": token,
        "brand": brand_name,
        "topic": topic_name,
        "channel_name": channel_name(channel),
        "done": done,
    }
    return page(request, "portal/unsubscribe.html", context, cookieless=True)


@router.get("/u/{token}", response_class=HTMLResponse)
def get_unsubscribe(token: str, request: Request, session: ReadSession) -> HTMLResponse:
    """The page; changes nothing (mail scanners follow links)."""
    return _page(request, session, token, link_values(request, token), None)


@router.post("/u/{token}", response_class=HTMLResponse)
def post_unsubscribe(
    token: str,
    request: Request,
    session: WriteSession,
    ctx: ContextDep,
    scope: Annotated[Scope, Depends(chosen_scope)],
) -> Response:
    """Switch the message's topic off at once (or the wider stop chosen on the page): 200."""
    values = link_values(request, token)
    customer_id, brand, topic, channel = values
    unsubscribe(
        session,
        ctx=ctx,
        customer_id=customer_id,
        brand=brand,
        topic=topic,
        channel=channel,
        scope=scope,
        now=utcnow(),
    )
    return _page(request, session, token, values, scope)
