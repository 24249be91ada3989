"""POST /oauth/token and bearer tokens, on a database of this module's own."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.oauth import router
from app.audit import Actor, Sealer
from app.auth.clients import create_client, disable_client
from app.auth.deps import require_scope
from app.auth.errors import AuthError
from app.auth.limits import AttemptLimiter
from app.auth.principals import ClientPrincipal
from app.auth.tokens import issue_token
from app.db import create_db_engine, read_session, write_session
from app.keys import Keys
from app.models.client import ApiClient
from app.settings import Settings
from tests.databases import migrated_database

SECRET_KEY = "oauth-test-secret-key-0123456789abcdef0123"
ATTEMPTS = 1000  # failed attempts allowed a minute: the limit has a test of its own
ISSUER = "https://cmr.example.test"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with migrated_database(tmp_path_factory.mktemp("oauth")) as url:
        yield Settings(
            database_url=url,
            secret_key=SECRET_KEY,
            base_url=ISSUER,
            token_ttl_seconds=600,
            mail_dir=Path("unused"),
        )


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings.database_url)
    yield engine
    engine.dispose()


def build_app(engine: Engine, keys: Keys, settings: Settings) -> FastAPI:
    """The token route, a route needing `decisions`, and a problem+json handler for AuthError."""
    app = FastAPI()
    app.state.engine = engine
    app.state.keys = keys
    app.state.settings = settings
    app.state.token_attempts = AttemptLimiter(attempts=ATTEMPTS, window_seconds=60)
    app.include_router(router)

    @app.get("/probe")
    def probe(
        principal: Annotated[ClientPrincipal, Depends(require_scope("decisions"))],
    ) -> dict[str, Any]:
        return {
            "client_id": principal.client_id,
            "scopes": sorted(principal.scopes),
            "brands": sorted(principal.brands) if principal.brands is not None else None,
        }

    @app.exception_handler(AuthError)
    async def auth_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, AuthError)
        body = {"type": "about:blank", "title": "", "status": error.status, "detail": error.detail}
        return JSONResponse(
            body,
            status_code=error.status,
            headers=error.headers,
            media_type="application/problem+json",
        )

    return app


@pytest.fixture(scope="module")
def keys(settings: Settings) -> Keys:
    return Keys.from_settings(settings)


@pytest.fixture(scope="module")
def http(engine: Engine, keys: Keys, settings: Settings) -> TestClient:
    return TestClient(build_app(engine, keys, settings))


def new_client(
    engine: Engine,
    keys: Keys,
    *scopes: str,
    brands: list[str] | None = None,
) -> tuple[str, str]:
    with write_session(engine) as session:
        client, secret = create_client(
            session,
            sealer=Sealer(keys),
            actor=Actor("cli"),
            source="cli",
            name="test client",
            scopes=scopes or ("decisions", "customers:read"),
            brands=brands,
        )
    return client.id, secret


@pytest.fixture
def credentials(engine: Engine, keys: Keys) -> tuple[str, str]:
    return new_client(engine, keys)


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_token(http: TestClient, credentials: tuple[str, str], **form: str) -> str:
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        headers=basic(*credentials),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_token_by_http_basic(
    http: TestClient, engine: Engine, credentials: tuple[str, str]
) -> None:
    response = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(*credentials)
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "customers:read decisions"
    probe = http.get("/probe", headers=bearer(body["access_token"]))
    assert probe.status_code == 200
    assert probe.json() == {
        "client_id": credentials[0],
        "scopes": ["customers:read", "decisions"],
        "brands": None,
    }
    with read_session(engine) as session:
        client = session.get(ApiClient, credentials[0])
        assert client is not None
        assert client.last_used_at is not None


def test_token_by_form_fields(http: TestClient, credentials: tuple[str, str]) -> None:
    client_id, secret = credentials

    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )

    assert response.status_code == 200
    probe = http.get("/probe", headers=bearer(response.json()["access_token"]))
    assert probe.status_code == 200


def test_a_brand_limited_client_carries_its_brands(
    http: TestClient, engine: Engine, keys: Keys
) -> None:
    credentials = new_client(engine, keys, "decisions", brands=["acme"])

    probe = http.get("/probe", headers=bearer(get_token(http, credentials)))

    assert probe.json()["brands"] == ["acme"]


@pytest.mark.parametrize("how", ["basic", "form", "unknown client"])
def test_a_wrong_secret_is_invalid_client(
    http: TestClient, credentials: tuple[str, str], how: str
) -> None:
    client_id, secret = credentials
    form = {"grant_type": "client_credentials"}
    headers: dict[str, str] = {}
    if how == "basic":
        headers = basic(client_id, secret + "x")
    elif how == "form":
        form |= {"client_id": client_id, "client_secret": secret[:-1]}
    else:
        headers = basic("cl_nosuchclient0000", secret)

    response = http.post("/oauth/token", data=form, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers
    assert "access_token" not in response.text


def test_no_credentials_is_invalid_client(http: TestClient) -> None:
    response = http.post("/oauth/token", data={"grant_type": "client_credentials"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {"grant_type": "password", "username": "u", "password": "p"},
            400,
            "unsupported_grant_type",
        ),
        ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "nonsense"}, 400, "invalid_scope"),
        (
            {"grant_type": "client_credentials", "scope": "decisions audit:read"},
            400,
            "invalid_scope",
        ),
    ],
)
def test_bad_requests(
    http: TestClient,
    credentials: tuple[str, str],
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = http.post("/oauth/token", data=form, headers=basic(*credentials))

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


def test_invalid_scope_names_the_scope(http: TestClient, credentials: tuple[str, str]) -> None:
    form = {"grant_type": "client_credentials", "scope": "audit:read"}

    response = http.post("/oauth/token", data=form, headers=basic(*credentials))

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_scope",
        "error_description": "Scope not granted to this client: audit:read.",
    }


def test_two_authentication_methods_are_refused(
    http: TestClient, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}

    response = http.post("/oauth/token", data=form, headers=basic(*credentials))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_repeated_parameter_is_refused(http: TestClient, credentials: tuple[str, str]) -> None:
    response = http.post(
        "/oauth/token",
        content="grant_type=client_credentials&scope=decisions&scope=customers:read",
        headers={**basic(*credentials), "Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_json_body_is_refused(http: TestClient, credentials: tuple[str, str]) -> None:
    response = http.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, headers=basic(*credentials)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_scope_narrowing(http: TestClient, credentials: tuple[str, str]) -> None:
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "customers:read"},
        headers=basic(*credentials),
    )

    assert response.status_code == 200
    assert response.json()["scope"] == "customers:read"
    probe = http.get("/probe", headers=bearer(response.json()["access_token"]))
    assert probe.status_code == 403
    assert probe.headers["www-authenticate"] == 'Bearer realm="cmr", error="insufficient_scope"'
    assert probe.headers["content-type"] == "application/problem+json"
    assert "decisions" in probe.json()["detail"]


def test_a_missing_scope_is_403(http: TestClient, engine: Engine, keys: Keys) -> None:
    credentials = new_client(engine, keys, "changes:read")

    probe = http.get("/probe", headers=bearer(get_token(http, credentials)))

    assert probe.status_code == 403
    assert probe.headers["www-authenticate"] == 'Bearer realm="cmr", error="insufficient_scope"'


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, 'Bearer realm="cmr"'),
        ({"Authorization": "Bearer"}, 'Bearer realm="cmr", error="invalid_request"'),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, 'Bearer realm="cmr", error="invalid_request"'),
        ({"Authorization": "Bearer not.a.jwt"}, 'Bearer realm="cmr", error="invalid_token"'),
    ],
)
def test_a_missing_or_malformed_token_is_401(
    http: TestClient, headers: dict[str, str], challenge: str
) -> None:
    probe = http.get("/probe", headers=headers)

    assert probe.status_code == 401
    assert probe.headers["www-authenticate"] == challenge


def test_an_expired_token_is_401(
    http: TestClient, keys: Keys, credentials: tuple[str, str]
) -> None:
    token = issue_token(
        keys=keys,
        issuer=ISSUER,
        client_id=credentials[0],
        scopes=["decisions"],
        ttl_seconds=600,
        now=datetime.now(UTC) - timedelta(hours=1),
    )

    probe = http.get("/probe", headers=bearer(token))

    assert probe.status_code == 401
    assert probe.headers["www-authenticate"] == 'Bearer realm="cmr", error="invalid_token"'


def test_a_tampered_token_is_401(http: TestClient, credentials: tuple[str, str]) -> None:
    header, payload, signature = get_token(http, credentials, scope="customers:read").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "decisions"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    probe = http.get("/probe", headers=bearer(f"{header}.{forged}.{signature}"))

    assert probe.status_code == 401
    assert probe.headers["www-authenticate"] == 'Bearer realm="cmr", error="invalid_token"'


def test_an_unsigned_token_is_401(http: TestClient, credentials: tuple[str, str]) -> None:
    _, payload, _ = get_token(http, credentials).split(".")
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()

    probe = http.get("/probe", headers=bearer(f"{none}.{payload}."))

    assert probe.status_code == 401


def test_a_token_signed_by_another_key_is_401(
    http: TestClient, credentials: tuple[str, str]
) -> None:
    token = issue_token(
        keys=Keys("another-secret-key-0123456789abcdef0123456"),
        issuer=ISSUER,
        client_id=credentials[0],
        scopes=["decisions"],
        ttl_seconds=600,
    )

    probe = http.get("/probe", headers=bearer(token))

    assert probe.status_code == 401


def test_a_token_of_another_issuer_is_401(
    http: TestClient, keys: Keys, credentials: tuple[str, str]
) -> None:
    token = issue_token(
        keys=keys,
        issuer="https://elsewhere.example.test",
        client_id=credentials[0],
        scopes=["decisions"],
        ttl_seconds=600,
    )

    probe = http.get("/probe", headers=bearer(token))

    assert probe.status_code == 401


def test_tokens_of_the_previous_key_still_work_after_rotation(
    http: TestClient, engine: Engine, settings: Settings, credentials: tuple[str, str]
) -> None:
    token = get_token(http, credentials)
    rotated = Keys("the-next-secret-key-0123456789abcdef0123456", previous=(SECRET_KEY,))
    after_rotation = TestClient(build_app(engine, rotated, settings))

    probe = after_rotation.get("/probe", headers=bearer(token))
    fresh = get_token(after_rotation, credentials)

    assert probe.status_code == 200
    assert http.get("/probe", headers=bearer(fresh)).status_code == 401


def test_a_disabled_clients_tokens_stop_working_at_once(
    http: TestClient, engine: Engine, keys: Keys, credentials: tuple[str, str]
) -> None:
    token = get_token(http, credentials)
    assert http.get("/probe", headers=bearer(token)).status_code == 200

    with write_session(engine) as session:
        disable_client(
            session, sealer=Sealer(keys), actor=Actor("cli"), source="cli", client_id=credentials[0]
        )

    probe = http.get("/probe", headers=bearer(token))
    assert probe.status_code == 401
    assert probe.headers["www-authenticate"] == 'Bearer realm="cmr", error="invalid_token"'
    again = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(*credentials)
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"


def test_the_token_endpoint_is_post_only(http: TestClient) -> None:
    assert http.get("/oauth/token").status_code == 405


def test_the_openapi_document_declares_the_scheme_and_scopes(http: TestClient) -> None:
    document = http.get("/openapi.json").json()

    scheme = document["components"]["securitySchemes"]["oauth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert "decisions" in flow["scopes"]
    assert document["paths"]["/probe"]["get"]["security"] == [{"oauth2": ["decisions"]}]
    token = document["paths"]["/oauth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]


def test_failed_attempts_past_the_limit_are_429_with_retry_after(
    engine: Engine, keys: Keys, settings: Settings, credentials: tuple[str, str]
) -> None:
    app = build_app(engine, keys, settings)
    app.state.token_attempts = AttemptLimiter(attempts=3, window_seconds=60)
    http = TestClient(app)
    client_id, secret = credentials
    form = {"grant_type": "client_credentials"}

    failures = [http.post("/oauth/token", data=form, auth=(client_id, "wrong")) for _ in range(3)]
    refused = http.post("/oauth/token", data=form, auth=(client_id, secret))

    assert [r.status_code for r in failures] == [401, 401, 401]
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["content-type"] == "application/problem+json"


def test_successes_do_not_count_against_the_limit(
    engine: Engine, keys: Keys, settings: Settings, credentials: tuple[str, str]
) -> None:
    app = build_app(engine, keys, settings)
    app.state.token_attempts = AttemptLimiter(attempts=2, window_seconds=60)
    http = TestClient(app)
    form = {"grant_type": "client_credentials"}

    answers = [http.post("/oauth/token", data=form, auth=credentials) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 200]
