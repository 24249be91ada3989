"""Customers: read, create or update identity, erase, export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from app.api.deps import (
    ContextDep,
    CustomerEraser,
    CustomerReader,
    CustomerWriter,
    ReadSession,
    WriteSession,
)
from app.audit import Actor
from app.consent.customers import customer_view, erase_customer, get_customer, put_customer
from app.consent.export import export_customer
from app.consent.reservations import cancel_denied_sends
from app.consent.schemas import CustomerBody
from app.models import utcnow

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


@router.get("/{ref}")
def get_customer_view(ref: str, session: ReadSession, client: CustomerReader) -> dict[str, Any]:
    """The customer object (the preferences document's `customer` block)."""
    del client
    return customer_view(get_customer(session, ref))


@router.put("/{ref}")
def put_customer_view(
    ref: str, body: CustomerBody, session: WriteSession, ctx: ContextDep, client: CustomerWriter
) -> JSONResponse:
    """Create (201) or update (200) identity and addresses; named fields only."""
    actor = Actor("client", client.client_id)
    customer, created = put_customer(
        session, ctx=ctx, ref=ref, body=body, actor=actor, source="api"
    )
    if not created:
        cancel_denied_sends(
            session, ctx=ctx, customer_id=customer.id, now=utcnow(), actor=actor, source="api"
        )
    return JSONResponse(customer_view(customer), status_code=201 if created else 200)


@router.delete("/{ref}", status_code=204)
def delete_customer(
    ref: str, session: WriteSession, ctx: ContextDep, client: CustomerEraser
) -> Response:
    """Erase the customer: identity gone, audit key destroyed, tombstone kept."""
    customer = get_customer(session, ref, lock=True)
    erase_customer(
        session, ctx=ctx, customer=customer, actor=Actor("client", client.client_id), source="api"
    )
    return Response(status_code=204)


@router.get("/{ref}/export")
def get_customer_export(
    ref: str, session: ReadSession, ctx: ContextDep, client: CustomerReader
) -> dict[str, Any]:
    """Everything held about the customer."""
    customer = get_customer(session, ref)
    return export_customer(session, ctx=ctx, customer=customer, brands=client.brands)
