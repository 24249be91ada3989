"""The console's catalog: every role reads it; admins export, plan, apply, and are refused."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlmodel import col

from app.audit import Actor
from app.consent.catalog import apply_catalog, catalog_revision, plan_catalog
from app.consent.catalog_schema import parse_catalog
from app.consent.context import Context
from app.db import read_session, write_session
from app.models import Admin, AuditEvent, Topic
from tests.admin.helpers import Console
from tests.api import CATALOG
from tests.apps import app_on_own_database
from tests.portal.helpers import csrf_of

PAGE = "/admin/catalog"
ORIGINAL = CATALOG.read_text(encoding="utf-8")

# Every feature of the file once: quiet days, a brand without topics or cap, a notice with
# characters TOML escapes, a minimum notice version, an essential topic, a retired topic.
RICH = (
    ORIGINAL.replace(
        'quiet_days = []\nlegal_quiet_hours = [{ start = "22:00"',
        'quiet_days = ["sun", "sat"]\nlegal_quiet_hours = [{ start = "22:00"',
    )
    .replace(
        'notice = "Offers picked for you, at most as often as you say."\nnotice_version = 2',
        'notice = "Offers \\"for you\\"\\nTab\\tand ünïcode \\\\ done."\nnotice_version = 3\n'
        "min_notice_version = 2",
    )
    .replace(
        '[[brands.topics]]\nkey = "events"\nname = "Events near you"\nkind = "marketing"\n'
        'depth = "close"\nbasis = "opt_out"\nchannels = ["email", "push"]\n',
        "",
    )
    + '\n[channels.email]\nquiet_hours = [{ start = "22:30", end = "06:15" }]\n'
    '\n[[brands]]\nkey = "initech"\nname = "Initech"\ndefault_depth = "essentials"\n'
)  # fmt: skip


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A console of this module's own: its tests change the catalog."""
    tmp = tmp_path_factory.mktemp("catalog-pages")
    with app_on_own_database(tmp) as running:
        yield Console(
            app=running.app, http=running.http, engine=running.engine, settings=running.settings
        )


@pytest.fixture(autouse=True)
def original_catalog(console: Console) -> Iterator[None]:
    """Each test starts from the test catalog (forced back, by the CLI)."""
    yield
    spec = parse_catalog(tomllib.loads(ORIGINAL))
    ctx = Context.from_settings(console.settings)
    with write_session(console.engine) as session:
        apply_catalog(
            session, spec, sealer=ctx.sealer, actor=Actor("cli"), source="cli", force=True,
            reason="test reset",
        )  # fmt: skip


def _state(console: Console) -> tuple[int | None, int, list[tuple[str, str, str]]]:
    """The catalog's revision, the number of its audit events, the topics' names."""
    with read_session(console.engine) as session:
        revision = catalog_revision(session)
        events = (
            session.scalar(
                select(func.count()).where(col(AuditEvent.action).startswith("catalog."))
            )
            or 0
        )
        topics = session.execute(
            select(col(Topic.brand_key), col(Topic.key), col(Topic.name)).order_by(
                col(Topic.brand_key), col(Topic.key)
            )
        ).all()
    return revision, events, [tuple(row) for row in topics]


def _catalog_events(console: Console, after: int) -> list[AuditEvent]:
    with read_session(console.engine) as session:
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.id) > after, col(AuditEvent.action).startswith("catalog."))
            .order_by(col(AuditEvent.id))
        )
        return list(session.scalars(query))


def _last_event_id(console: Console) -> int:
    with read_session(console.engine) as session:
        return session.scalar(select(func.max(AuditEvent.id))) or 0


def _signed_in_admin(console: Console) -> tuple[TestClient, str]:
    """A signed-in admin and its account's id."""
    email = console.account("admin")
    with read_session(console.engine) as session:
        admin_id = session.scalars(select(col(Admin.id)).where(col(Admin.email) == email)).one()
    return console.sign_in_as(email), admin_id


def _renamed(text: str) -> str:
    return text.replace('name = "News"', 'name = "Newsletter"')


@pytest.mark.parametrize("role", ["auditor", "support", "admin"])
def test_every_role_reads_the_catalog(console: Console, role: str) -> None:
    page = console.sign_in(role).get(PAGE)

    assert page.status_code == 200
    for shown in ("Acme Outdoors", "Offers picked for you", "Europe/Berlin", "730 days"):
        assert shown in page.text
    assert "21:00\u201308:00" in page.text
    assert ('action="/admin/catalog/plan"' in page.text) is (role == "admin")


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_the_export_applies_as_no_change(console: Console, role: str) -> None:
    admin = console.sign_in("admin")
    assert console.submit(admin, PAGE, "/admin/catalog/apply", {"catalog": RICH}).status_code == 303
    reader = console.sign_in(role)
    before = _state(console)

    export = reader.get("/admin/catalog/export.toml")

    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/toml")
    assert "attachment" in export.headers["content-disposition"]
    spec = parse_catalog(tomllib.loads(export.text))
    assert [brand.key for brand in spec.brands] == ["acme", "globex", "initech"]
    offers = next(topic for topic in spec.brands[0].topics if topic.key == "offers")
    assert offers.notice == 'Offers "for you"\nTab\tand ünïcode \\ done.'
    assert (offers.notice_version, offers.min_notice_version) == (3, 2)
    assert "events" not in {topic.key for topic in spec.brands[0].topics}
    with read_session(console.engine) as session:
        plan = plan_catalog(session, spec)
    assert (plan.differences, plan.violations) == ((), ())
    ctx = Context.from_settings(console.settings)
    with write_session(console.engine) as session:
        applied = apply_catalog(session, spec, sealer=ctx.sealer, actor=Actor("cli"), source="cli")
    assert not applied.changed
    assert _state(console) == before


def test_the_edit_form_holds_the_export(console: Console) -> None:
    admin = console.sign_in("admin")
    export = admin.get("/admin/catalog/export.toml").text
    page = admin.get(PAGE).text

    assert "Offers picked for you" in export
    assert f">{escape(export)}</textarea>" in page
    assert f'name="revision" value="{_state(console)[0]}"' in page


def test_a_plan_shows_the_differences_and_applies_nothing(console: Console) -> None:
    before = _state(console)

    answer = console.submit(
        console.sign_in("admin"), PAGE, "/admin/catalog/plan", {"catalog": _renamed(ORIGINAL)}
    )

    assert answer.status_code == 200
    assert "topic_changed" in answer.text
    assert "acme/news" in answer.text
    assert "name: &#34;News&#34; → &#34;Newsletter&#34;" in answer.text
    assert _state(console) == before


def test_apply_changes_the_catalog_and_audits_as_the_admin(console: Console) -> None:
    admin, admin_id = _signed_in_admin(console)
    last = _last_event_id(console)
    revision = _state(console)[0]

    answer = console.submit(
        admin, PAGE, "/admin/catalog/apply", {"catalog": _renamed(ORIGINAL), "reason": "rename"}
    )

    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/catalog?applied=1")
    assert "Applied 1 change(s)" in admin.get(answer.headers["location"]).text
    assert ("acme", "news", "Newsletter") in _state(console)[2]
    assert _state(console)[0] == (revision or 0) + 1
    [event] = _catalog_events(console, last)
    assert (event.action, event.actor_type, event.actor_id, event.source, event.reason) == (
        "catalog.topic_changed",
        "admin",
        admin_id,
        "admin",
        "rename",
    )


def test_applying_the_same_catalog_changes_nothing(console: Console) -> None:
    before = _state(console)
    answer = console.submit(
        console.sign_in("admin"), PAGE, "/admin/catalog/apply", {"catalog": ORIGINAL}
    )
    assert answer.headers["location"] == "/admin/catalog?applied=0"
    assert _state(console) == before


KIND_CHANGED = ORIGINAL.replace(
    'key = "news"\nname = "News"\nkind = "marketing"\ndepth = "light"\nbasis = "opt_out"\n',
    'key = "news"\nname = "News"\nkind = "essential"\n',
)


@pytest.mark.parametrize("action", ["/admin/catalog/plan", "/admin/catalog/apply"])
def test_the_guard_rails_refuse_with_422_and_apply_nothing(console: Console, action: str) -> None:
    before = _state(console)

    answer = console.submit(console.sign_in("admin"), PAGE, action, {"catalog": KIND_CHANGED})

    assert answer.status_code == 422
    assert "Refused by the guard rails" in answer.text
    assert "acme/news: kind would change from marketing to essential" in answer.text
    assert _state(console) == before


def test_forcing_needs_a_reason(console: Console) -> None:
    before = _state(console)

    answer = console.submit(
        console.sign_in("admin"),
        PAGE,
        "/admin/catalog/apply",
        {"catalog": KIND_CHANGED, "force": "true", "reason": "  "},
    )

    assert answer.status_code == 422
    assert 'id="reason-error"' in answer.text
    assert _state(console) == before


def test_force_with_a_reason_applies_and_keeps_the_reason(console: Console) -> None:
    admin = console.sign_in("admin")
    last = _last_event_id(console)
    form = {"catalog": KIND_CHANGED, "force": "true", "reason": "news are service messages now"}

    planned = console.submit(admin, PAGE, "/admin/catalog/plan", form)
    applied = console.submit(admin, PAGE, "/admin/catalog/apply", form)

    assert planned.status_code == 200
    assert "Forced past the guard rails" in planned.text
    assert applied.status_code == 303
    [event] = _catalog_events(console, last)
    assert (event.action, event.reason) == (
        "catalog.topic_changed",
        "news are service messages now",
    )


def test_a_syntax_error_shows_its_line_and_applies_nothing(console: Console) -> None:
    before = _state(console)
    broken = ORIGINAL.replace('name = "Globex"', 'name = "Globex')
    line = broken.splitlines().index('name = "Globex') + 1

    answer = console.submit(
        console.sign_in("admin"), PAGE, "/admin/catalog/apply", {"catalog": broken}
    )

    assert answer.status_code == 422
    assert f"line {line}, column" in answer.text
    assert "<pre>name = &#34;Globex</pre>" in answer.text
    assert _state(console) == before


def test_a_rule_broken_is_named_where_it_is(console: Console) -> None:
    before = _state(console)
    broken = ORIGINAL.replace(
        'depth = "regular"\nbasis = "opt_in"', 'depth = "deep"\nbasis = "opt_in"'
    )

    answer = console.submit(
        console.sign_in("admin"), PAGE, "/admin/catalog/apply", {"catalog": broken}
    )

    assert answer.status_code == 422
    assert "brands[0].topics[2].depth" in answer.text
    assert _state(console) == before


def test_a_catalog_changed_since_the_form_applies_nothing(console: Console) -> None:
    admin = console.sign_in("admin")
    shown = admin.get(PAGE)
    renamed = console.submit(admin, PAGE, "/admin/catalog/apply", {"catalog": _renamed(ORIGINAL)})
    assert renamed.status_code == 303
    before = _state(console)

    answer = admin.post(
        "/admin/catalog/apply",
        data={
            "catalog": ORIGINAL.replace('name = "Tips"', 'name = "Hints"'),
            "revision": str((before[0] or 0) - 1),
            "csrf_token": csrf_of(shown.text),
        },
    )

    assert answer.status_code == 409
    assert "The catalog changed since this form was shown" in answer.text
    assert "acme/news" in answer.text  # the rename is now a difference to undo
    assert _state(console) == before


@pytest.mark.parametrize("action", ["/admin/catalog/plan", "/admin/catalog/apply"])
@pytest.mark.parametrize("role", ["auditor", "support"])
def test_other_roles_may_not_edit(console: Console, action: str, role: str) -> None:
    before = _state(console)
    answer = console.submit(console.sign_in(role), PAGE, action, {"catalog": _renamed(ORIGINAL)})
    assert answer.status_code == 403
    assert _state(console) == before


@pytest.mark.parametrize("action", ["/admin/catalog/plan", "/admin/catalog/apply"])
@pytest.mark.parametrize("token", [None, "forged"])
def test_a_missing_or_wrong_csrf_token_changes_nothing(
    console: Console, action: str, token: str | None
) -> None:
    admin = console.sign_in("admin")
    before = _state(console)
    data = {"catalog": _renamed(ORIGINAL)}
    if token is not None:
        data["csrf_token"] = token

    answer = admin.post(action, data=data)

    assert answer.status_code == 403
    assert _state(console) == before
