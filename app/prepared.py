"""Selects compiled once per dialect and run on the driver's own cursor.

For the decision path, where SQLAlchemy's work per execution (about 40 µs) costs several times
the query itself (about 5 µs on SQLite). The statements stay ordinary Core selects: the same
columns, types and error classes as `connection.execute` gives, minus the per-call overhead.
A list of values is bound as one parameter (`among`): a JSON array, read as rows by
`json_each` on SQLite and `jsonb_array_elements_text` on PostgreSQL, so a batch's customers are
one query, whatever their number. The rows are joined to the filtered column by equality: each
value is one lookup in the column's index. (`column IN (SELECT value FROM json_each(?))` costs
twice as much on SQLite, which first builds a temporary index of the list.) When every list
holds one value (a single decision), a variant compares with `=`: on SQLite about three times
cheaper than reading a one-element array.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import Connection, String, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, QueryableAttribute
from sqlalchemy.sql import ColumnElement, FromClause, Select, visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")
Row = tuple[Any, ...]
Processor = Callable[[Any], Any]
# A key of `Connection.info`: a dict of the rows this connection already read, kept by whoever
# knows the database has not changed since (`app.db.KeptConnection`).
MEMO = "cmr_rows_read"
MEMO_SIZE = 100_000


class ValueList(TypeDecorator[Collection[Any]]):
    """A list of strings bound as one parameter: a JSON array, each value once."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Collection[Any] | None, dialect: Dialect) -> Any:  # noqa: ARG002
        if value is None:
            return None
        return orjson.dumps(list(dict.fromkeys(value))).decode()


class _Listed(FunctionElement[Any]):
    """The values of a list bound as one parameter, as rows of one column, `value`."""

    name = "listed"
    inherit_cache = True


# Per dialect, the function that reads a JSON array as rows of one column, `value`.
_ROWS = {"sqlite": "json_each({})", "postgresql": "jsonb_array_elements_text(CAST({} AS JSONB))"}


@compiles(_Listed)
def _listed(element: _Listed, compiler: SQLCompiler, **kw: Any) -> str:
    if kw.get(SINGLE):  # the value is compared by `Among` itself: one row, to join with
        return "(SELECT 1 AS value)"
    return _ROWS[compiler.dialect.name].format(compiler.process(element.clauses, **kw))


class Among(ColumnElement[bool]):
    """`column` is one of the values bound under `name` (a list), or of the fixed `values`.

    A list bound per call brings its rows into the statement's FROM (`listed`), joined here.
    """

    __visit_name__ = "among"
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012  (SQLAlchemy's own declaration)
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
        ("listed", InternalTraversal.dp_clauseelement),
    ]

    def __init__(
        self, column: ColumnElement[Any], name: str | None, values: Collection[Any] | None
    ) -> None:
        self.column: ColumnElement[Any] = column
        self.values = bindparam(
            name,
            list(values) if values is not None else None,
            type_=ValueList(),
            required=values is None,
        )
        self.listed: TableValuedAlias | None = None
        if values is None:
            kind = column.type
            if not isinstance(
                kind.impl_instance if isinstance(kind, TypeDecorator) else kind, String
            ):
                raise TypeError(f"among() binds lists of strings, not of {kind}")  # rows: text
            self.listed = _Listed(self.values).table_valued("value")

    @property
    def _from_objects(self) -> list[FromClause]:
        listed = [] if self.listed is None else [self.listed]
        return [*self.column._from_objects, *listed]


def among(
    column: ColumnElement[Any] | Mapped[Any],
    name: str | None = None,
    values: Collection[Any] | None = None,
) -> Among:
    """A filter: `column` is one of the list bound per call as `name`, or of `values`."""
    if isinstance(column, QueryableAttribute):  # a mapped attribute, as `col()` gives
        return Among(column.expression, name, values)
    if not isinstance(column, ColumnElement):
        raise TypeError(f"among() filters a column, not {column!r}")
    return Among(column, name, values)


SINGLE = "among_single"  # a compile option: lists bound per call hold one value, compared with =


@compiles(Among)
def _among(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    column = element.column
    if element.listed is None:  # values the statement holds: written out
        kw["literal_binds"] = True
        return compiler.process(column.in_(list(element.values.value or ())), **kw)
    if kw.get(SINGLE):
        return compiler.process(column == bindparam(element.values.key, type_=column.type), **kw)
    return compiler.process(column == element.listed.c.value, **kw)


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    given: bool  # per call; else `value`, which the statement holds (converted)
    process: Processor | None  # the conversion of a value given per call
    value: Any = None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positional: bool
    order: tuple[_Param, ...]  # in the order of a positional paramstyle
    results: tuple[tuple[int, Processor], ...]

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        bound = [
            (p.process(values[p.name]) if p.process else values[p.name]) if p.given else p.value
            for p in self.order
        ]
        if self.positional:
            return bound
        return {p.name: value for p, value in zip(self.order, bound, strict=True)}

    def rows(self, raw: Sequence[Row]) -> list[Row]:
        if not self.results:
            return list(raw)
        converted = []
        for row in raw:
            values = list(row)
            for index, process in self.results:
                values[index] = process(values[index])
            converted.append(tuple(values))
        return converted


def driver_error(
    connection: Connection, cursor: Any, sql: str, error: DBAPIModule.Error
) -> Exception:
    """The driver's `error` as SQLAlchemy raises it (`OperationalError` and the like, which the
    API answers with 503); one that means the connection is lost also invalidates it, so the
    pool replaces it."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor)
    if lost:
        connection.invalidate(error)
    wrapped = DBAPIError.instance(
        sql,
        None,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )
    return cast(Exception, wrapped)


def remembered(connection: Connection, key: Hashable, compute: Callable[[], T]) -> T:
    """What `compute()` gives: on a connection with rows read (`MEMO`), what it gave before
    while the database has not changed. For what follows from rows alone, and costs more to
    make from them than to look up."""
    memo: dict[Any, Any] | None = connection.info.get(MEMO)
    if memo is None:
        return compute()
    found = memo.get(key, memo)
    if found is memo:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        found = memo[key] = compute()
    return cast(T, found)


class Prepared:
    """A select run on the driver's cursor of a SQLAlchemy connection (in its transaction)."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, bool], _Compiled] = {}
        self._lists = tuple(
            element.values.key
            for element in visitors.iterate(statement)
            if isinstance(element, Among) and element.values.required
        )

    def rows(self, connection: Connection, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Every row, with each column as `connection.execute` would give it.

        A driver error is raised as SQLAlchemy's (`OperationalError` and the like); one that
        means the connection is lost also invalidates it, so the pool replaces it.
        """
        values = params or {}
        memo: dict[Any, list[Row]] | None = connection.info.get(MEMO)
        key = None
        if memo is not None:  # the statement and what is given: one lookup when read before
            key = (self, *[tuple(v) if isinstance(v, (list, set)) else v for v in values.values()])
            found = memo.get(key)
            if found is not None:
                return found
        dialect = connection.dialect
        lists = self._lists
        single = bool(lists) and all(len(values[name]) == 1 for name in lists)
        if single:
            values = dict(values)
            for name in lists:
                (values[name],) = values[name]
        compiled = self._compiled.get((dialect.name, single)) or self._compile(dialect, single)
        rows = self._run(connection, compiled, compiled.params(values))
        if memo is not None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[key] = rows
        return rows

    def _run(
        self, connection: Connection, compiled: _Compiled, bound: Sequence[Any] | Mapping[str, Any]
    ) -> list[Row]:
        dialect = connection.dialect
        driver = connection.connection
        cursor = driver.cursor()
        try:
            cursor.execute(compiled.sql, bound)
            raw = cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            raise driver_error(connection, cursor, compiled.sql, error) from error
        finally:
            cursor.close()
        return compiled.rows(raw)

    def _compile(self, dialect: Dialect, single: bool) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, compile_kwargs={SINGLE: single})
        params: dict[str, _Param] = {}
        for bind, name in compiled.bind_names.items():
            if bind.expanding:
                raise ValueError(f"{name}: a list is bound with among(), not in_()")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required:
                params[name] = _Param(name, True, process)
            else:  # a value the statement holds
                value = bind.effective_value
                params[name] = _Param(name, False, None, process(value) if process else value)
        names = compiled.positiontup if dialect.positional else list(params)
        results = []
        for index, column in enumerate(self.statement.selected_columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((index, process))
        entry = _Compiled(
            sql=compiled.string,
            positional=dialect.positional,
            order=tuple(params[name] for name in names or ()),
            results=tuple(results),
        )
        self._compiled[(dialect.name, single)] = entry
        return entry
