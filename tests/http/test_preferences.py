"""GET and PATCH /api/v1/customers/{ref}/preferences: ETag, merge patch, media types, If-Match."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from app.models import Preference
from tests.api import Api

H = dict[str, str]
MERGE = "application/merge-patch+json"


@pytest.fixture(scope="module")
def headers(api: Api) -> H:
    """One token for the module: making a client hashes its secret, which is slow."""
    return api.token()


def url(customer: dict[str, Any]) -> str:
    return f"/api/v1/customers/{customer['id']}/preferences"


def raw_patch(
    api: Api, headers: H, customer: dict[str, Any], content: bytes | str, media: str
) -> httpx.Response:
    return api.http.patch(
        url(customer), content=content, headers={**headers, "Content-Type": media}
    )


def stored(api: Api, customer_id: str) -> tuple[dict[str, Any], int]:
    with Session(api.engine) as session:
        preference = session.get(Preference, customer_id)
        assert preference is not None
        return preference.document, preference.version


def events(api: Api, headers: H, customer_id: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/api/v1/audit?customer={customer_id}&limit=1000", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return [e for e in items if not e["action"].startswith("customer.")]


def test_get_answers_the_whole_document_with_its_etag(api: Api, headers: H) -> None:
    customer = api.customer(headers)

    response = api.http.get(url(customer), headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    body = response.json()
    assert body["customer"] == customer
    assert {k: v for k, v in body.items() if k not in ("customer", "updated_at")} == {
        "channels": {},
        "no_marketing": False,
        "paused_until": None,
        "global_cap": None,
        "brands": {},
        "version": 1,
    }
    assert body["updated_at"].endswith("Z")


def test_get_of_an_unknown_customer_is_404(api: Api, headers: H) -> None:
    response = api.http.get("/api/v1/customers/ext:nobody-here/preferences", headers=headers)

    assert response.status_code == 404, response.text


@pytest.mark.parametrize("media", [MERGE, "application/json", f"{MERGE}; charset=utf-8"])
def test_patch_merges_with_either_media_type(api: Api, headers: H, media: str) -> None:
    customer = api.customer(headers)
    patch = {"global_cap": {"count": 5, "period_days": 7}, "brands": {"acme": {"depth": "light"}}}

    response = raw_patch(api, headers, customer, json.dumps(patch), media)

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    assert response.json()["global_cap"] == {"count": 5, "period_days": 7}
    assert response.json()["brands"] == {"acme": {"depth": "light"}}
    assert stored(api, customer["id"]) == (patch, 2)


def test_null_removes_a_member_and_arrays_are_replaced_whole(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    first = {
        "channels": {"email": {"quiet_hours": [{"start": "22:00", "end": "07:00"}]}},
        "brands": {"acme": {"depth": "close", "cap": {"count": 2, "period_days": 7}}},
    }
    assert api.patch(headers, customer["id"], {**first, "evidence": {"source": "t"}}).is_success

    response = api.patch(
        headers,
        customer["id"],
        {
            "channels": {"email": {"quiet_hours": [{"start": "20:00", "end": "08:00"}]}},
            "brands": {"acme": {"depth": None}},
        },
    )

    assert response.status_code == 200, response.text
    assert stored(api, customer["id"]) == (
        {
            "channels": {"email": {"quiet_hours": [{"start": "20:00", "end": "08:00"}]}},
            "brands": {"acme": {"cap": {"count": 2, "period_days": 7}}},
        },
        3,
    )


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_another_media_type_is_415(api: Api, headers: H, media: str) -> None:
    customer = api.customer(headers)

    response = raw_patch(api, headers, customer, '{"no_marketing": true}', media)

    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert stored(api, customer["id"]) == ({}, 1)


@pytest.mark.parametrize("content", ['{"no_marketing": tru', "", "\xff"])
def test_malformed_json_is_400(api: Api, headers: H, content: str) -> None:
    customer = api.customer(headers)

    response = raw_patch(api, headers, customer, content.encode("latin-1"), MERGE)

    assert response.status_code == 400, response.text
    assert stored(api, customer["id"]) == ({}, 1)


@pytest.mark.parametrize("content", ["[]", '"x"', "3", "null", "true"])
def test_a_patch_that_is_not_an_object_is_422(api: Api, headers: H, content: str) -> None:
    customer = api.customer(headers)

    response = raw_patch(api, headers, customer, content, MERGE)

    assert response.status_code == 422, response.text
    assert stored(api, customer["id"]) == ({}, 1)


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"customer": {"email": "x@example.org"}}, ["customer"]),
        ({"version": 9}, ["version"]),
        ({"updated_at": None}, ["updated_at"]),
        (
            {"brands": {"acme": {"topics": {"offers": {"consents": {}}}}}},
            ["brands", "acme", "topics", "offers", "consents"],
        ),
    ],
)
def test_read_only_members_are_422(
    api: Api, headers: H, patch: dict[str, Any], loc: list[Any]
) -> None:
    customer = api.customer(headers)

    response = api.patch(headers, customer["id"], {"no_marketing": True, **patch})

    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]]
    assert stored(api, customer["id"]) == ({}, 1)


def test_a_stale_if_match_is_412_and_a_fresh_one_applies(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    api.patch(headers, customer["id"], {"brands": {"acme": {"depth": "essentials"}}})

    def patch(etag: str) -> httpx.Response:
        return api.http.patch(
            url(customer),
            json={"no_marketing": True},
            headers={**headers, "Content-Type": MERGE, "If-Match": etag},
        )

    stale = patch('"1"')
    assert stale.status_code == 412, stale.text
    assert stored(api, customer["id"])[1] == 2
    assert not stored(api, customer["id"])[0].get("no_marketing")
    fresh = patch('"2"')
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["ETag"] == '"3"'
    assert stored(api, customer["id"]) == (
        {"no_marketing": True, "brands": {"acme": {"depth": "essentials"}}},
        3,
    )


def test_a_patch_that_changes_nothing_keeps_the_version_and_records_nothing(
    api: Api, headers: H
) -> None:
    customer = api.customer(headers)
    api.patch(headers, customer["id"], {"brands": {"acme": {"depth": "essentials"}}})

    again = api.patch(headers, customer["id"], {"brands": {"acme": {"depth": "essentials"}}})
    empty = api.patch(headers, customer["id"], {})
    defaults = api.patch(headers, customer["id"], {"no_marketing": False, "paused_until": None})

    for response in (again, empty, defaults):
        assert response.status_code == 200, response.text
        assert response.headers["ETag"] == '"2"'
        assert response.json()["version"] == 2
    assert len(events(api, headers, customer["id"])) == 1


def test_each_change_is_one_audit_event_with_before_and_after(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    api.patch(headers, customer["id"], {"brands": {"acme": {"depth": "essentials"}}})
    api.patch(headers, customer["id"], {"global_cap": {"count": 1, "period_days": 1}})

    found = events(api, headers, customer["id"])

    assert [(e["action"], e["source"], e["actor"]["type"]) for e in found] == [
        ("preferences.updated", "api", "client"),
        ("preferences.updated", "api", "client"),
    ]
    assert found[0]["before"] == {}
    assert found[0]["after"] == {"brands": {"acme": {"depth": "essentials"}}}
    assert found[1]["before"] == found[0]["after"]
    assert found[1]["after"] == {
        "brands": {"acme": {"depth": "essentials"}},
        "global_cap": {"count": 1, "period_days": 1},
    }


def test_a_brand_limited_client_sees_and_patches_only_its_brands(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    both = {"brands": {"acme": {"depth": "close"}, "globex": {"depth": "essentials"}}}
    api.patch(headers, customer["id"], {**both, "evidence": {"source": "t"}})
    acme = api.token(["preferences:read", "preferences:write"], brands=["acme"])

    seen = api.http.get(url(customer), headers=acme)
    other = api.patch(acme, customer["id"], {"brands": {"globex": {"depth": "light"}}})
    own = api.patch(acme, customer["id"], {"brands": {"acme": {"depth": "light"}}})

    assert seen.status_code == 200, seen.text
    assert seen.json()["brands"] == {"acme": {"depth": "close"}}
    assert other.status_code == 403, other.text
    assert own.status_code == 200, own.text
    assert own.json()["brands"] == {"acme": {"depth": "light"}}
    assert stored(api, customer["id"]) == (
        {"brands": {"acme": {"depth": "light"}, "globex": {"depth": "essentials"}}},
        3,
    )


def test_a_brand_limited_client_removing_brands_touches_only_its_own(api: Api, headers: H) -> None:
    customer = api.customer(headers)
    both = {"brands": {"acme": {"depth": "close"}, "globex": {"depth": "essentials"}}}
    api.patch(headers, customer["id"], {**both, "evidence": {"source": "test"}})
    acme = api.token(["preferences:read", "preferences:write"], brands=["acme"])

    response = api.patch(acme, customer["id"], {"brands": None})

    assert response.status_code == 200, response.text
    assert response.json()["brands"] == {}
    assert stored(api, customer["id"])[0] == {"brands": {"globex": {"depth": "essentials"}}}


def test_preferences_need_their_scopes(api: Api) -> None:
    reader = api.token(["preferences:read", "customers:write"])
    customer = api.customer(reader)

    response = api.patch(reader, customer["id"], {"no_marketing": True})

    assert response.status_code == 403, response.text
    assert stored(api, customer["id"]) == ({}, 1)


def test_a_pause_beyond_the_year_3000_is_422(api: Api, headers: H) -> None:
    customer = api.customer(headers)

    response = api.patch(headers, customer["id"], {"paused_until": "9999-12-31T12:00:00Z"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["paused_until"]
