"""Request-scoped dependencies shared by the API and the pages: sessions and the context."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app import db
from app.consent.context import Context


async def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def read_session(request: Request) -> Iterator[Session]:
    """A session for reads, closed when the route returns."""
    with db.read_session(request.app.state.engine) as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with db.write_session(request.app.state.engine) as session:
        yield session


ContextDep = Annotated[Context, Depends(get_context)]
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]
