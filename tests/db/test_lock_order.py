"""A reservation and a change to the same customer, interleaved: both lock the customer row
first, so one waits for the other instead of deadlocking (PostgreSQL detects a deadlock and
fails one of them; SQLite serialises writers whole)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from app.audit import CLI
from app.consent.context import Context
from app.consent.customers import create_customer, get_customer
from app.consent.decisions import Ask, decide_asks
from app.consent.engine import DecisionRequest
from app.consent.facts import load_customers
from app.consent.identity import Reference
from app.consent.preferences import patch_preferences
from app.db import create_db_engine, write_session
from app.models import Send, utcnow
from tests.api import api_settings, seed_catalog
from tests.databases import migrated_database


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Context]]:
    tmp: Path = tmp_path_factory.mktemp("locks")
    with migrated_database(tmp) as url:
        settings = api_settings(url, tmp)
        engine = create_db_engine(url)
        seed_catalog(engine, settings)
        yield engine, Context.from_settings(settings)
        engine.dispose()


def test_a_change_waits_for_a_reservation_in_progress(setup: tuple[Engine, Context]) -> None:
    engine, ctx = setup
    with write_session(engine) as session:
        customer = create_customer(
            session, ctx=ctx, values={"email": "locks@example.org"}, actor=CLI, source="cli"
        )
    customer_id = customer.id
    ask = Ask(
        Reference("id", customer_id),
        DecisionRequest("acme", "orders", "email", utcnow() + timedelta(hours=1)),
        reserve=True,
        message_id="lock-order-1",
    )
    change_started = threading.Event()
    failures: list[BaseException] = []

    def change() -> None:
        try:
            with write_session(engine) as session:
                change_started.set()
                locked = get_customer(session, customer_id, lock=True)
                patch_preferences(
                    session,
                    ctx=ctx,
                    customer=locked,
                    body={"brands": {"acme": {"depth": "essentials"}}},
                    if_match=None,
                    actor=CLI,
                    source="cli",
                    now=utcnow(),
                )
        except BaseException as error:
            failures.append(error)

    with write_session(engine) as session:
        # The reservation's lock, taken first.
        load_customers(session.connection(), [customer_id], lock=True)
        thread = threading.Thread(target=change)
        thread.start()
        change_started.wait(timeout=10)
        thread.join(timeout=0.5)  # the change is now waiting for the customer's row
        catalog = ctx.catalog.get(session)
        answers = decide_asks(session, ctx=ctx, catalog=catalog, client_id="cl_locks", asks=[ask])
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert failures == []
    assert answers[0].reserved
    with write_session(engine) as session:
        sends = session.scalar(select(func.count()).where(col(Send.customer_id) == customer_id))
    assert sends == 1
