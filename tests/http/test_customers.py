"""PUT and GET /api/v1/customers/{ref}: references, identity fields, normalisation, clashes."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from app.audit import CLI
from app.consent.context import Context
from app.consent.customers import put_customer
from app.consent.errors import Conflict
from app.consent.schemas import CustomerBody
from app.db import write_session
from app.models import AuditEvent, Customer, Preference
from tests.api import Api

H = dict[str, str]


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    """One token for the module: making a client hashes its secret, which is slow."""
    return api.token()


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def put(api: Api, headers: H, ref: str, body: dict[str, Any]) -> httpx.Response:
    return api.http.put(f"/api/v1/customers/{ref}", json=body, headers=headers)


def stored(api: Api, customer_id: str) -> Customer:
    with Session(api.engine) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        return customer


def version(api: Api, customer_id: str) -> int:
    with Session(api.engine) as session:
        preference = session.get(Preference, customer_id)
        assert preference is not None
        return preference.version


def event_count(api: Api, customer_id: str) -> int:
    with Session(api.engine) as session:
        query = select(func.count()).where(col(AuditEvent.customer_id) == customer_id)
        return int(session.scalar(query) or 0)


def test_put_with_ext_creates_then_updates_only_named_fields(api: Api, headers: H) -> None:
    ext = unique("crm")
    email = f"{unique()}@example.org"
    created = put(api, headers, f"ext:{ext}", {"email": email, "timezone": "Europe/Berlin"})
    updated = put(api, headers, f"ext:{ext}", {"locale": "de", "timezone": None})

    assert created.status_code == 201, created.text
    assert created.json()["external_id"] == ext
    assert created.json()["id"].startswith("c_")
    assert updated.status_code == 200, updated.text
    assert updated.json() == {
        **created.json(),
        "locale": "de",
        "timezone": None,
    }
    row = stored(api, created.json()["id"])
    assert (row.external_id, row.email, row.timezone, row.locale) == (ext, email, None, "de")


def test_put_with_email_creates_with_that_email(api: Api, headers: H) -> None:
    email = f"{unique()}@example.org"
    response = put(api, headers, f"email:{email}", {"phone": "+4915112345678"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["email"], body["external_id"], body["phone"]) == (email, None, "+4915112345678")
    assert body["push_tokens"] == []
    assert api.http.get(f"/api/v1/customers/{body['id']}", headers=headers).json() == body


def test_put_audits_creation_and_update(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    put(api, headers, customer["id"], {"locale": "en-GB"})
    put(api, headers, customer["id"], {"locale": "en-GB"})  # no change: nothing recorded

    audit = api.http.get(f"/api/v1/audit?customer={customer['id']}", headers=headers).json()
    assert [e["action"] for e in audit["items"]] == ["customer.created", "customer.updated"]
    assert audit["items"][1]["before"]["locale"] is None
    assert audit["items"][1]["after"]["locale"] == "en-GB"


@pytest.mark.parametrize("ref", ["tel:+4915199999999", "c_doesnotexist000"])
def test_put_with_tel_or_id_that_matches_no_one_is_404(api: Api, headers: H, ref: str) -> None:
    response = put(api, headers, ref, {"locale": "de"})

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "ref", ["nobody", "ext:", "email:not-an-email", "tel:12", "fax:123", "c_!", "tel:+49"]
)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_malformed_reference_is_422(api: Api, headers: H, ref: str, method: str) -> None:
    response = api.http.request(
        method, f"/api/v1/customers/{ref}", json={"locale": "de"}, headers=headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["ref"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "a@b@example.org"),
        ("phone", "015112345678"),
        ("phone", "+49 1"),
        ("timezone", "Mars/Olympus"),
        ("locale", "german"),
        ("external_id", ""),
        ("push_tokens", [""]),
        ("unknown", "x"),
    ],
)
def test_an_invalid_field_is_422_naming_it_and_changes_nothing(
    api: Api, headers: H, field: str, value: Any
) -> None:
    customer = api.customer(headers, locale="de")
    before = event_count(api, customer["id"])

    response = put(api, headers, customer["id"], {"locale": "fr", field: value})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][0] == field
    assert stored(api, customer["id"]).locale == "de"
    assert event_count(api, customer["id"]) == before


def test_email_and_phone_are_normalised_and_found_by_any_spelling(api: Api, headers: H) -> None:
    local = unique("Ana")
    response = put(
        api,
        headers,
        f"ext:{unique()}",
        {"email": f"{local}@BÜCHER.Example", "phone": "+49 (151) 1234-5678"},
    )

    body = response.json()
    assert response.status_code == 201, response.text
    assert body["email"] == f"{local.lower()}@xn--bcher-kva.example"
    found = api.http.get(f"/api/v1/customers/email:{local.upper()}@bücher.example", headers=headers)
    assert found.status_code == 200, found.text
    assert found.json()["id"] == body["id"]
    assert stored(api, body["id"]).email == body["email"]


def test_phone_is_stored_in_e164(api: Api, headers: H) -> None:
    customer = api.customer(headers, phone="+44 20 7946 0958")

    assert customer["phone"] == "+442079460958"
    assert stored(api, customer["id"]).phone == "+442079460958"


@pytest.mark.parametrize("field", ["external_id", "email"])
def test_an_identifier_of_another_live_customer_is_409(api: Api, headers: H, field: str) -> None:
    first = api.customer(headers)
    second = api.customer(headers)

    response = put(api, headers, second["id"], {field: first[field]})

    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["loc"] == [field]
    assert getattr(stored(api, second["id"]), field) == second[field]


def test_creating_with_an_email_in_use_is_409(api: Api, headers: H) -> None:
    first = api.customer(headers)

    response = put(api, headers, f"ext:{unique()}", {"email": first["email"].upper()})

    assert response.status_code == 409, response.text
    with Session(api.engine) as session:
        query = select(func.count()).where(col(Customer.email) == first["email"])
        assert session.scalar(query) == 1


def test_a_phone_shared_by_two_customers_is_409_by_tel(api: Api, headers: H) -> None:
    phone = "+4915712345678"
    first = api.customer(headers, phone=phone)
    api.customer(headers, phone=phone)

    response = api.http.get("/api/v1/customers/tel:+49 157 12345678", headers=headers)
    put_response = put(api, headers, f"tel:{phone}", {"locale": "de"})

    assert response.status_code == 409, response.text
    assert put_response.status_code == 409, put_response.text
    assert stored(api, first["id"]).locale is None


def test_a_phone_of_one_customer_is_found_by_tel(api: Api, headers: H) -> None:
    customer = api.customer(headers, phone="+4917612345678")

    response = api.http.get("/api/v1/customers/tel:+4917612345678", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == customer


def test_get_by_each_kind_of_reference(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    refs = [customer["id"], f"ext:{customer['external_id']}", f"email:{customer['email']}"]

    answers = [api.http.get(f"/api/v1/customers/{ref}", headers=headers) for ref in refs]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json() == customer for a in answers)
    missing = api.http.get(f"/api/v1/customers/ext:{unique()}", headers=headers)
    assert missing.status_code == 404, missing.text


def test_version_increases_with_identity_changes_only(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    start = version(api, customer["id"])

    put(api, headers, customer["id"], {"timezone": "Europe/Paris"})
    put(api, headers, customer["id"], {"timezone": "Europe/Paris"})
    etag = api.http.get(f"/api/v1/customers/{customer['id']}/preferences", headers=headers)

    assert version(api, customer["id"]) == start + 1
    assert etag.headers["ETag"] == f'"{start + 1}"'


def test_customer_paths_need_their_scopes(api: Api) -> None:
    reader = api.token(["customers:read"])
    customer_ref = f"ext:{unique()}"

    response = put(api, reader, customer_ref, {"locale": "de"})

    assert response.status_code == 403, response.text
    assert "WWW-Authenticate" in response.headers
    assert api.http.get(f"/api/v1/customers/{customer_ref}").status_code == 401


def test_creating_with_another_identifier_than_the_reference_is_422(api: Api, headers: H) -> None:
    ext = unique()

    response = put(api, headers, f"ext:{ext}", {"external_id": unique()})

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["external_id"]
    assert api.http.get(f"/api/v1/customers/ext:{ext}", headers=headers).status_code == 404


def test_addresses_are_set_and_cleared(api: Api, headers: H) -> None:
    address = {"street": "Hauptstr. 1", "city": "Berlin"}
    customer = api.customer(headers, push_tokens=["tok-1", "tok-2"], postal_address=address)

    cleared = put(api, headers, customer["id"], {"push_tokens": None, "postal_address": None})

    assert (customer["push_tokens"], customer["postal_address"]) == (["tok-1", "tok-2"], address)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["push_tokens"], cleared.json()["postal_address"]) == ([], None)
    row = stored(api, customer["id"])
    assert (row.push_tokens, row.postal_address) == ([], None)


def test_a_concurrent_create_of_the_same_customer_is_an_update_or_a_409(api: Api) -> None:
    ctx = Context.from_settings(api.settings)
    ref = f"ext:{unique()}"
    outcomes: list[str] = []

    def create_again() -> None:
        try:
            with write_session(api.engine) as session:
                _, created = put_customer(
                    session, ctx=ctx, ref=ref, body=CustomerBody(), actor=CLI, source="cli"
                )
            outcomes.append("created" if created else "updated")
        except Conflict:
            outcomes.append("conflict")

    with write_session(api.engine) as session:
        put_customer(session, ctx=ctx, ref=ref, body=CustomerBody(), actor=CLI, source="cli")
        racing = threading.Thread(target=create_again)
        racing.start()
        racing.join(0.5)  # it waits for this transaction (a lock, or the unique index)
    racing.join(30)

    assert outcomes in (["updated"], ["conflict"])
    with Session(api.engine) as session:
        query = select(func.count()).where(col(Customer.external_id) == ref.removeprefix("ext:"))
        assert session.scalar(query) == 1
