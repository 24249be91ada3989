"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])
OK = b'{"status":"ok"}'


@router.get("/healthz")
async def healthz() -> Response:
    """The process is up."""
    return Response(OK, media_type="application/json")


@router.get("/readyz")
def readyz(request: Request) -> Response:
    """The database is reachable."""
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return Response(OK, media_type="application/json")


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
