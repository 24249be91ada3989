"""The console's customers: look up by any reference, one customer now or at a moment, and
changes support staff make on a customer's behalf."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.admin.customer_forms import (
    MAX_PATCH,
    ChangeForm,
    NoMarketingLift,
    apply_support_change,
    read_change,
)
from app.admin.customer_lookup import LookupFailed, find_matches
from app.admin.customer_page import MomentInvalid, customer_context, read_moment
from app.admin.customer_view import load_catalog, zone_of
from app.admin.deps import CsrfChecked, SignedInAdmin, SupportStaff
from app.admin.pages import admin_page
from app.auth.principals import AdminPrincipal
from app.consent.context import Context
from app.consent.customers import customer_view
from app.consent.errors import PreconditionFailed, ValidationFailed
from app.models import Customer, utcnow
from app.web.deps import ContextDep, ReadSession, WriteSession
from app.web.errors import PageError
from app.web.i18n import gettext as _

router = APIRouter(prefix="/admin/customers", include_in_schema=False)

MAX_REFERENCE = 400
Field = Annotated[str, Form(max_length=MAX_PATCH)]


@router.get("", response_class=HTMLResponse)
def get_customers(
    request: Request, principal: SignedInAdmin, session: ReadSession, ref: str = ""
) -> Response:
    """Look a customer up by c_…, ext:…, email:… or tel:…; one match opens its page."""
    text = ref.strip()
    context: dict[str, Any] = {"ref": ref, "error": None, "matches": []}
    if not text:
        return admin_page(request, "admin/customers.html", context, principal=principal)
    try:
        if len(text) > MAX_REFERENCE:
            raise LookupFailed(422, _("This is too long."))
        matches = find_matches(session, text)
    except LookupFailed as error:
        context["error"] = error.message
        return admin_page(
            request, "admin/customers.html", context, principal=principal, status=error.status
        )
    if len(matches) == 1:
        return RedirectResponse(f"/admin/customers/{matches[0].id}", status_code=303)
    context["matches"] = matches
    return admin_page(request, "admin/customers.html", context, principal=principal)


def _customer(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise PageError(404, _("No customer has the id %(id)s.") % {"id": customer_id})
    return customer


def _page(
    request: Request,
    session: Session,
    ctx: Context,
    principal: AdminPrincipal,
    customer: Customer,
    *,
    at: str = "",
    saved: str = "",
    change: ChangeForm | None = None,
    errors: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    moment, at_error, now = None, None, utcnow()
    if at.strip():
        try:
            moment = read_moment(at, now=now)
        except MomentInvalid as error:
            at_error, status = str(error), 422
    catalog = load_catalog(session, ctx)
    context = customer_context(session, ctx, catalog, principal, customer, now=now, moment=moment)
    context |= {
        "at": at,
        "at_error": at_error,
        "saved": saved,
        "change": asdict(change) if change is not None else {"kind": ""},
        "errors": errors or {},
        "problems": problems or [],
    }
    return admin_page(request, "admin/customer.html", context, principal=principal, status=status)


@router.get("/{customer_id}", response_class=HTMLResponse)
def get_customer(
    request: Request,
    principal: SignedInAdmin,
    session: ReadSession,
    ctx: ContextDep,
    customer_id: str,
    at: str = "",
    saved: str = "",
) -> Response:
    """The customer now (identity, preferences in words, sends), or at the moment `at` (UTC),
    rebuilt from the audit trail."""
    customer = _customer(session, customer_id)
    return _page(request, session, ctx, principal, customer, at=at[:100], saved=saved[:20])


@router.post("/{customer_id}/preferences", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_customer_preferences(
    request: Request,
    principal: SupportStaff,
    session: WriteSession,
    ctx: ContextDep,
    customer_id: str,
    kind: Field = "patch",
    reason: Field = "",
    patch: Field = "",
    topic: Field = "",
    choice: Field = "",
    brand: Field = "",
    depth: Field = "",
    until: Field = "",
    version: Field = "",
) -> Response:
    """Change the customer's preferences at their request, with a reason they will see.

    A loosening change is recorded as the customer's request (evidence source "support");
    lifting the customer's objection to all marketing is refused (403): only they may.
    """
    customer = session.scalars(
        select(Customer).where(col(Customer.id) == customer_id).with_for_update()
    ).first()
    if customer is None or customer.erased_at is not None:
        raise PageError(
            404, _("There is no live customer with the id %(id)s.") % {"id": customer_id}
        )
    form = ChangeForm(
        kind=kind,
        reason=reason,
        patch=patch,
        topic=topic,
        choice=choice,
        brand=brand,
        depth=depth,
        until=until,
        version=version,
    )
    now = utcnow()
    catalog = load_catalog(session, ctx)
    brands = {brand["key"]: brand for brand in catalog.view["brands"]}
    zone = zone_of(catalog, customer_view(customer))
    change = read_change(form, brands=brands, zone=zone, now=now)

    def again(status: int, problems: list[str] | None = None) -> Response:
        return _page(
            request, session, ctx, principal, customer,
            change=form, errors=change.errors, problems=problems, status=status,
        )  # fmt: skip

    if change.errors:
        return again(422)
    try:
        changed = apply_support_change(
            session,
            ctx=ctx,
            customer=customer,
            patch=change.patch,
            reason=change.reason,
            version=change.version,
            admin_id=principal.admin_id,
            now=now,
        )
    except NoMarketingLift as error:
        raise PageError(
            403,
            _(
                "The customer stopped all marketing themselves: only they can allow it again. "
                "Nothing was changed."
            ),
        ) from error
    except PreconditionFailed:
        message = _(
            "The settings changed since this page was shown: nothing was changed. "
            "Check them as they are now, then make the change again."
        )
        return again(409, [message])
    except ValidationFailed as error:
        return again(422, [_problem(item) for item in error.errors] or [error.detail])
    saved = "changed" if changed else "unchanged"
    return RedirectResponse(f"/admin/customers/{customer.id}?saved={saved}", status_code=303)


def _problem(item: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in item.get("loc", ()))
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", ""))
