"""The console's audit trail: search, one event, CSV and JSON Lines export, the chain check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from app.admin import audit_export
from app.admin.audit_query import (
    ACTION_CHOICES,
    ACTOR_TYPE_CHOICES,
    SOURCE_CHOICES,
    AuditForm,
    neighbour,
    newest_first,
    read_form,
)
from app.admin.audit_views import event_rows
from app.admin.deps import CsrfChecked, SignedInAdmin
from app.admin.pages import admin_page
from app.audit import InvalidCursor, VerifyResult, decode_cursor, encode_cursor, verify_chain
from app.auth.principals import AdminPrincipal
from app.models import AuditEvent, utcnow
from app.web.deps import ContextDep, ReadSession
from app.web.errors import PageError
from app.web.i18n import gettext as _

router = APIRouter(prefix="/admin/audit", include_in_schema=False)
MAX_EVENT_ID = 2**63 - 1  # the largest id a BIGINT holds
PAGE_SIZE = 50


def audit_form(
    customer: str = "",
    actor_type: str = "",
    actor_id: str = "",
    action: str = "",
    source: str = "",
    since: str = "",
    until: str = "",
) -> AuditForm:
    """The filter from the URL's parameters."""
    return AuditForm(
        customer=customer,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        source=source,
        since=since,
        until=until,
    )


FilterForm = Annotated[AuditForm, Depends(audit_form)]


def _audit_page(
    request: Request,
    session: ReadSession,
    ctx: ContextDep,
    principal: AdminPrincipal,
    form: AuditForm,
    *,
    cursor: str | None = None,
    verified: VerifyResult | None = None,
) -> Response:
    """The search page: the form, the chain check's outcome, a page of events newest first."""
    query, errors = read_form(session, form)
    context = {
        "form": form,
        "errors": errors,
        "verified": verified,
        "rows": [],
        "next_url": None,
        "first_url": None,
        "export_query": form.query_string(),
        "action_choices": ACTION_CHOICES,
        "actor_type_choices": ACTOR_TYPE_CHOICES,
        "source_choices": SOURCE_CHOICES,
        "page_size": PAGE_SIZE,
    }
    if errors:
        return admin_page(request, "admin/audit.html", context, principal=principal, status=422)
    try:
        before_id = None if cursor is None else decode_cursor(ctx.keys, cursor)
    except InvalidCursor as error:
        message = _("This page link is not valid. Start again from the newest events.")
        raise PageError(422, message) from error
    events = newest_first(session, query, before_id=before_id, limit=PAGE_SIZE + 1)
    shown = events[:PAGE_SIZE]
    if len(events) > PAGE_SIZE:
        last = encode_cursor(ctx.keys, int(shown[-1].id or 0))
        context["next_url"] = "/admin/audit?" + form.query_string(cursor=last)
    if cursor is not None:
        context["first_url"] = "/admin/audit?" + form.query_string()
    context["rows"] = event_rows(session, ctx.sealer, shown)
    return admin_page(request, "admin/audit.html", context, principal=principal)


@router.get("", response_class=HTMLResponse)
def get_audit(
    request: Request,
    principal: SignedInAdmin,
    session: ReadSession,
    ctx: ContextDep,
    form: FilterForm,
    cursor: str | None = None,
) -> Response:
    """Events matching the filter, newest first, `PAGE_SIZE` a page."""
    return _audit_page(request, session, ctx, principal, form, cursor=cursor or None)


@router.post("/verify", response_class=HTMLResponse, dependencies=[CsrfChecked])
def post_audit_verify(
    request: Request, principal: SignedInAdmin, session: ReadSession, ctx: ContextDep
) -> Response:
    """Recompute the hash chain and show whether it is intact, else its first broken event."""
    result = verify_chain(session)
    return _audit_page(request, session, ctx, principal, AuditForm(), verified=result)


def _export(
    request: Request,
    session: ReadSession,
    ctx: ContextDep,
    principal: AdminPrincipal,
    form: AuditForm,
    kind: str,
) -> Response:
    query, errors = read_form(session, form)
    if errors:
        return _audit_page(request, session, ctx, principal, form)
    batches = audit_export.export_batches(request.app.state.engine, ctx.sealer, query)
    chunks, media_type = (
        (audit_export.csv_chunks(batches), "text/csv; charset=utf-8")
        if kind == "csv"
        else (audit_export.jsonl_chunks(batches), "application/jsonl; charset=utf-8")
    )
    name = f"cmr-audit-{utcnow():%Y%m%dT%H%M%SZ}.{kind}"
    return StreamingResponse(
        chunks,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/export.csv")
def get_audit_export_csv(
    request: Request,
    principal: SignedInAdmin,
    session: ReadSession,
    ctx: ContextDep,
    form: FilterForm,
) -> Response:
    """The events matching the filter as CSV, oldest first, streamed."""
    return _export(request, session, ctx, principal, form, "csv")


@router.get("/export.jsonl")
def get_audit_export_jsonl(
    request: Request,
    principal: SignedInAdmin,
    session: ReadSession,
    ctx: ContextDep,
    form: FilterForm,
) -> Response:
    """The events matching the filter as JSON Lines, oldest first, streamed."""
    return _export(request, session, ctx, principal, form, "jsonl")


@router.get("/{event_id:int}", response_class=HTMLResponse)
def get_audit_event(
    request: Request,
    principal: SignedInAdmin,
    session: ReadSession,
    ctx: ContextDep,
    event_id: int,
) -> Response:
    """One event in full: every field, the whole hashes, the documents before and after."""
    if event_id > MAX_EVENT_ID:
        raise PageError(404, _("There is no such event."))
    event = session.get(AuditEvent, event_id)
    if event is None:
        raise PageError(404, _("There is no audit event %(id)s.") % {"id": event_id})
    context = {
        "row": event_rows(session, ctx.sealer, [event])[0],
        "older": neighbour(session, event_id, newer=False),
        "newer": neighbour(session, event_id, newer=True),
    }
    return admin_page(request, "admin/audit_event.html", context, principal=principal)
