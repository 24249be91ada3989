"""The history page: every change to the customer's settings and every send, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.models import Customer
from app.portal.deps import SignedInCustomer
from app.portal.history_entries import history_page
from app.portal.pages import chrome, page
from app.web.deps import ContextDep, ReadSession

router = APIRouter(include_in_schema=False)

MAX_PAGE = 100_000


def page_number(raw: str | None) -> int:
    """`?page=N` from 1; anything else is the first page."""
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


@router.get("/history", response_class=HTMLResponse)
def get_history(
    request: Request, session: ReadSession, ctx: ContextDep, principal: SignedInCustomer
) -> Response:
    """Changes (when, what in words, through what) and sends, 25 a page, newest first."""
    customer = session.get(Customer, principal.customer_id)
    assert customer is not None  # noqa: S101  (the session's customer is live)
    number = page_number(request.query_params.get("page"))
    history = history_page(session, ctx=ctx, customer=customer, number=number)
    return page(
        request, "portal/history.html", {"history": history}, chrome=chrome(session, principal)
    )
