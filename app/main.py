"""The ASGI application: create_app(settings) wires the lifespan, middleware and routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from app.admin import accounts as admin_accounts
from app.admin import audit as admin_audit
from app.admin import catalog as admin_catalog
from app.admin import clients as admin_clients
from app.admin import customers as admin_customers
from app.admin import home as admin_home
from app.admin import oidc as admin_oidc
from app.admin import signin as admin_signin
from app.admin.deps import AdminSignInRequired
from app.admin.pages import admin_error_page, on_admin_sign_in_required
from app.api import (
    catalog,
    customers,
    decisions,
    feeds,
    health,
    oauth,
    preferences,
    sends,
    suppressions,
)
from app.api.metrics import RequestTimer
from app.api.problems import install
from app.auth.csrf import CsrfSigner
from app.auth.deps import TokenCache
from app.auth.limits import AttemptLimiter
from app.auth.links import Links
from app.auth.oidc import OidcSessions
from app.consent import tally
from app.consent.context import Context
from app.db import KeptConnection, create_db_engine
from app.mail import mailer_from_settings
from app.paths import resource
from app.portal import brands, channels, data, history, overview, signin, unsubscribe
from app.portal import oidc as portal_oidc
from app.portal.handlers import install_page_handlers, portal_error_page
from app.settings import Settings, get_settings
from app.web.errors import PageError
from app.web.headers import SecurityHeaders
from app.web.i18n import Language

# The cyclic collector's thresholds per generation (Python's defaults: 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 20)
ROUTERS = (
    health.router,
    oauth.router,
    sends.router,
    catalog.router,
    customers.router,
    preferences.router,
    suppressions.router,
    feeds.router,
    unsubscribe.router,
    signin.router,
    portal_oidc.router,
    overview.router,
    brands.router,
    channels.router,
    history.router,
    data.router,
    admin_signin.router,
    admin_home.router,
    admin_audit.router,
    admin_catalog.router,
    admin_clients.router,
    admin_customers.router,
    admin_accounts.router,
    admin_oidc.router,
)


async def on_page_error(request: Request, error: Exception) -> Response:
    """An error page in the console's layout or the portal's."""
    assert isinstance(error, PageError)  # noqa: S101  (registered for it)
    if request.url.path.startswith("/admin"):
        return admin_error_page(request, error)
    return portal_error_page(request, error)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; `settings` (default: from the environment) are read at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or get_settings()
        engine = create_db_engine(resolved.database_url)
        context = Context.from_settings(resolved)
        app.state.settings = resolved
        app.state.engine = engine
        # SQLite only: the event loop reads from it (app/api/decisions.py).
        sqlite = engine.dialect.name == "sqlite"
        app.state.loop_reads = KeptConnection(engine) if sqlite else None
        app.state.context = context
        app.state.keys = context.keys
        app.state.links = Links(context.keys, resolved.base_url)
        app.state.tokens = TokenCache()
        app.state.token_attempts = AttemptLimiter(attempts=10, window_seconds=60)
        app.state.csrf = CsrfSigner(context.keys)
        app.state.mailer = mailer_from_settings(resolved)
        app.state.sign_in_addresses, app.state.sign_in_ips = signin.sign_in_limits()
        app.state.admin_attempts = AttemptLimiter(attempts=10, window_seconds=900)
        app.state.admin_ip_attempts = AttemptLimiter(attempts=50, window_seconds=900)
        # What startup made lives as long as the process: the cyclic garbage collector need not
        # walk it again on every full collection (measured: batches run about a fifth faster).
        gc.freeze()
        # A request allocates thousands of objects that reference counting frees, few of them
        # in cycles: collect young objects every 50,000 allocations rather than every 700, so a
        # batch's items are not walked again and again while it runs (measured: batches about
        # 6% faster; `docs/performance.md`).
        gc.set_threshold(*GC_THRESHOLDS)
        async with tally.flushing(engine, every=resolved.tally_flush_seconds):
            yield
        if app.state.loop_reads is not None:
            app.state.loop_reads.close()
        engine.dispose()

    app = FastAPI(title="cmr", version="0.1.0", lifespan=lifespan)
    install(app)
    install_page_handlers(app)
    app.add_exception_handler(PageError, on_page_error)
    app.add_exception_handler(AdminSignInRequired, on_admin_sign_in_required)
    app.add_middleware(OidcSessions, prefixes=(admin_oidc.PREFIX, portal_oidc.PREFIX))
    app.add_middleware(Language)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestTimer)
    decisions.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=resource("static")), name="static")
    return app


app = create_app()
