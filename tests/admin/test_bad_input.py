"""Out-of-range or oversized input in console URLs and forms is answered, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.admin.helpers import Console
from tests.portal.helpers import csrf_of


@pytest.fixture(scope="module")
def support(console: Console) -> TestClient:
    return console.sign_in("support")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/admin/audit?since=0001-01-01T00:00%2B01:00", 422),
        ("/admin/audit?until=9999-12-31T23:59", 422),
        ("/admin/audit/export.csv?since=0001-01-01T00:00%2B01:00", 422),
        ("/admin/audit/99999999999999999999999", 404),
        ("/admin/catalog?applied=" + "9" * 5000, 200),
    ],
)
def test_urls(support: TestClient, path: str, status: int) -> None:
    assert support.get(path).status_code == status


@pytest.mark.parametrize("at", ["0001-01-01T00:00+01:00", "9999-12-31T23:59", "2999-01-01T00:00"])
def test_moments_out_of_range(console: Console, support: TestClient, at: str) -> None:
    customer = console.customer(console.token())
    page = support.get(f"/admin/customers/{customer['id']}", params={"at": at})
    assert page.status_code == 422


def test_oversized_form_values(console: Console, support: TestClient) -> None:
    customer = console.customer(console.token())
    url = f"/admin/customers/{customer['id']}"
    token = csrf_of(support.get(url).text)
    for data in (
        {"kind": "patch", "patch": "[" * 90_000, "reason": "asked by phone"},
        {"kind": "stop", "version": "9" * 5000, "reason": "asked by phone"},
    ):
        answer = support.post(
            f"{url}/preferences", data={**data, "csrf_token": token}, follow_redirects=False
        )
        assert answer.status_code in (303, 409, 422), (answer.status_code, answer.text[-600:])
