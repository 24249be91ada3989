"""Sign-in by magic link, preference links, sign-out, and CSRF on the sign-in forms."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from app.db import write_session
from app.models import SignInLink, utcnow
from tests.portal.helpers import Portal, csrf_of, link_in, mails_to


def _ask_for_link(portal: Portal, address: str) -> str:
    client = portal.visitor()
    form = client.get("/login")
    response = client.post("/login", data={"email": address, "csrf_token": csrf_of(form.text)})
    assert response.status_code == 200, response.text
    return response.text


def test_signed_out_visitors_of_the_overview_are_sent_to_the_sign_in_page(portal: Portal) -> None:
    response = portal.visitor().get("/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_the_answer_is_the_same_for_known_and_unknown_addresses(portal: Portal) -> None:
    customer = portal.new_customer()
    known = _ask_for_link(portal, customer["email"])
    unknown = _ask_for_link(portal, "nobody-here@example.org")
    same = [
        re.sub(r'value="[0-9a-f]+"', "", text.replace(address, "X"))  # each visitor's own token
        for text, address in ((known, customer["email"]), (unknown, "nobody-here@example.org"))
    ]
    assert same[0] == same[1]
    assert len(mails_to(portal.mail_dir, customer["email"])) == 1
    assert mails_to(portal.mail_dir, "nobody-here@example.org") == []


def test_the_link_signs_in_once_and_by_post_only(portal: Portal) -> None:
    customer = portal.new_customer()
    _ask_for_link(portal, customer["email"])
    link = link_in(mails_to(portal.mail_dir, customer["email"])[-1], portal.settings.base_url)
    path = link.removeprefix(portal.settings.base_url)
    client = portal.visitor()
    page = client.get(path)  # a mail scanner following the link uses nothing up
    page = client.get(path)
    assert page.status_code == 200
    assert "<form" in page.text
    done = client.post(path, data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/")
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" in cookie
    assert client.get("/").status_code == 200
    other = portal.visitor()
    again = other.get(path)
    assert again.status_code == 410
    form = other.get("/login")
    reused = other.post(path, data={"csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert reused.status_code == 410
    assert other.get("/", follow_redirects=False).status_code == 303


def test_an_expired_link_does_nothing(portal: Portal) -> None:
    customer = portal.new_customer()
    _ask_for_link(portal, customer["email"])
    link = link_in(mails_to(portal.mail_dir, customer["email"])[-1], portal.settings.base_url)
    with write_session(portal.engine) as session:
        session.execute(
            update(SignInLink)
            .where(col(SignInLink.customer_id) == customer["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    client = portal.visitor()
    path = link.removeprefix(portal.settings.base_url)
    assert client.get(path).status_code == 410
    form = client.get("/login")
    response = client.post(path, data={"csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert response.status_code == 410
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_forms_refuse_a_missing_or_wrong_csrf_token(portal: Portal) -> None:
    customer = portal.new_customer()
    client = portal.visitor()
    client.get("/login")
    for data in ({"email": customer["email"]}, {"email": customer["email"], "csrf_token": "x"}):
        assert client.post("/login", data=data).status_code == 403
    assert mails_to(portal.mail_dir, customer["email"]) == []


def test_sign_out_ends_the_session(portal: Portal) -> None:
    _, client = portal.signed_in_customer()
    page = client.get("/")
    cookie = client.cookies.get("cmr_session")
    out = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    stale = portal.visitor()
    stale.cookies.set("cmr_session", cookie or "", domain="cmr.example.test")
    assert stale.get("/", follow_redirects=False).status_code == 303


def test_links_are_asked_for_a_few_times_an_hour_at_most(portal: Portal) -> None:
    customer = portal.new_customer()
    client = portal.visitor()
    statuses = []
    for _ in range(7):
        form = client.get("/login")
        response = client.post(
            "/login", data={"email": customer["email"], "csrf_token": csrf_of(form.text)}
        )
        statuses.append(response.status_code)
    assert statuses == [200] * 5 + [429] * 2
    assert int(response.headers["retry-after"]) > 0
    assert len(mails_to(portal.mail_dir, customer["email"])) == 5


def test_a_preference_link_opens_a_limited_session(portal: Portal) -> None:
    customer = portal.new_customer()
    answer = portal.decision(customer, brand="acme", topic="orders", channel="email")
    url = answer["preferences_url"]
    client = portal.visitor()
    opened = client.get(url.removeprefix(portal.settings.base_url), follow_redirects=False)
    assert (opened.status_code, opened.headers["location"]) == (303, "/")
    assert client.get("/").status_code == 200
    forged = portal.visitor().get("/p/abc.def", follow_redirects=False)
    assert forged.status_code == 404
