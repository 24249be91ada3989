"""Engine and session factories: SQLite pragmas, BEGIN IMMEDIATE for writes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.prepared import MEMO, driver_error

WRITE = "cmr_write"


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; on SQLite, WAL and a write lock taken at BEGIN for write sessions."""
    if url.startswith("sqlite"):
        # Connections are opened once and kept: opening one (with its pragmas) costs more than
        # most requests do.
        engine = create_engine(
            url,
            hide_parameters=True,  # errors logged never show the values (addresses) bound
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16,
            max_overflow=48,
            **kwargs,
        )
        _prepare_sqlite(engine)
        return engine
    # As many kept connections as worker threads can use at once: a connection opened per
    # request costs milliseconds. A connection broken by a database restart fails one request
    # with 503, and the pool then replaces every connection it holds.
    return create_engine(
        url,
        hide_parameters=True,
        pool_size=40,
        max_overflow=10,
        pool_recycle=3600,
        connect_args={"connect_timeout": 5},  # an unreachable host: 503 soon, not a hang
        **kwargs,
    )


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, emit BEGIN, so writes can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        # Straight to the driver: this runs for every transaction.
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE" if immediate else "BEGIN"
        )


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions are writes (BEGIN IMMEDIATE on SQLite)."""
    return engine.execution_options(**{WRITE: True})


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with Session(writer(engine), expire_on_commit=False) as session, session.begin():
        yield session


DATA_VERSION = "PRAGMA data_version"


class KeptConnection:
    """One SQLite connection kept open for the reads of one thread (the event loop's, one
    request at a time): no pool checkout per use. Each use ends in a rollback, so no transaction
    outlives it and each use reads the latest commits.

    It never writes, so `PRAGMA data_version` tells whether any other connection committed
    since its last use: while none did, the rows it read before (`app.prepared.MEMO`) are
    still what the database holds, and are not read again.

    On an event loop it asks once per turn of the loop: at the first use in a turn, after the
    loop read every request it handles in that turn. So each request still sees every commit
    made before it arrived; one made later in the same turn is seen from the next turn on, as
    if the requests of the turn had been answered a moment earlier. Outside a loop it asks at
    every use.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._version: int | None = None
        self._cursor: Any = None  # the driver's, asking for `data_version`
        self._asked = False  # in this turn of the event loop

    def use(self) -> KeptConnection:
        """The connection, as a context manager (`with kept.use() as connection:`)."""
        return self

    def __enter__(self) -> Connection:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            self.close()  # a connection lost: back to the pool, which replaces it
            connection = self._connection = self._engine.connect()
            connection.info[MEMO] = {}
            self._version = None
            self._cursor = connection.connection.cursor()
            self._asked = False
        if not self._asked:
            self._ask(connection)
        return connection

    def _ask(self, connection: Connection) -> None:
        # Straight to the driver: this runs for every turn of the loop that decides.
        try:
            version = self._cursor.execute(DATA_VERSION).fetchone()[0]
        except connection.dialect.loaded_dbapi.Error as error:
            raise driver_error(connection, self._cursor, DATA_VERSION, error) from error
        if version != self._version:
            connection.info[MEMO].clear()
            self._version = version
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: ask again at the next use
        self._asked = True
        loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._asked = False

    def __exit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            self._connection.rollback()

    def close(self) -> None:
        if self._connection is not None:
            # The pool keeps `info` with the driver's connection: no other user may trust it.
            self._connection.info.pop(MEMO, None)
            self._connection.close()
            self._connection = None


def connection_of(db: Session | Connection) -> Connection:
    """The connection a session works in (its transaction begun), or `db` itself."""
    return db.connection() if isinstance(db, Session) else db


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads only."""
    with Session(engine) as session:
        yield session
