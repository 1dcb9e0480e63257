"""One INSERT statement for a row, without the ORM's insert path.

Every service write stores a data key, one or more history rows and an audit event besides its
own rows. Through the ORM each of those costs several times the statement itself (compiling,
per-field preparation, RETURNING). `insert_row` builds the statement once per model and column
set, adapts the values with the fields' own `get_db_prep_save`, and sends one statement, without
RETURNING unless the caller needs the new primary key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache, lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models


@contextlib.contextmanager
def write_cursor() -> Iterator:
    """A cursor for the statements every service write sends (data keys, history rows, audit
    events, privacy.records).

    - PostgreSQL: it binds the parameters on the server and prepares each statement the first
      time this connection sends it: later writes skip parsing and planning, which for the
      larger statements costs as much as running them. Django itself binds on the client and
      prepares nothing (for connection poolers); see WEERBAAR_PREPARED_WRITES.
    - SQLite (in-process, microseconds a statement): the driver's own cursor, without Django's
      wrapper, which costs twice the statement; database errors are still Django's.

    While anything watches the queries (the query log of DEBUG and of the tests' query counts,
    execute wrappers) it is Django's own cursor on both, so they see every statement as usual.
    """
    db = connections[DEFAULT_DB_ALIAS]
    watched = db.queries_logged or db.execute_wrappers
    if watched or (db.vendor == "postgresql" and not settings.WEERBAAR_PREPARED_WRITES):
        with db.cursor() as cursor:
            yield cursor
        return
    if db.vendor == "sqlite":
        # The checks Django's cursor makes: no use from another thread, none in a transaction
        # that an earlier error marked for rollback.
        db.validate_thread_sharing()
        db.validate_no_broken_transaction()
        db.ensure_connection()
        cursor = _SQLiteWriteCursor(db)
        try:
            yield cursor
        finally:
            cursor.close()
        return
    db.ensure_connection()
    if db.connection.prepare_threshold is None:
        # Django turns psycopg's prepared statements off (None); this cursor asks for them one
        # by one (prepare=True), and Django's own cursors bind on the client, which never
        # prepares, so nothing else is prepared.
        db.connection.prepare_threshold = _ONLY_WHEN_ASKED
    with db.wrap_database_errors:
        cursor = db._prepare_cursor(_preparing_cursor_class()(db.connection))
    with cursor:
        yield cursor


class _SQLiteWriteCursor:
    """The sqlite3 cursor, taking Django's %s placeholders; errors become Django's."""

    __slots__ = ("_cursor", "_db")

    def __init__(self, db):
        self._db = db
        self._cursor = db.connection.cursor()

    def execute(self, sql: str, params=()) -> None:
        with self._db.wrap_database_errors:
            self._cursor.execute(_qmark(sql), params)

    def fetchone(self):
        with self._db.wrap_database_errors:
            return self._cursor.fetchone()

    def fetchall(self):
        with self._db.wrap_database_errors:
            return self._cursor.fetchall()

    @property
    def lastrowid(self):
        return self._cursor.lastrowid

    def close(self) -> None:
        self._cursor.close()


@lru_cache(maxsize=512)
def _qmark(sql: str) -> str:
    from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


_ONLY_WHEN_ASKED = 2**31 - 1


@cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    return PreparingCursor


@cache
def _statement(
    model, columns: tuple[str, ...], vendor: str, returning: str, expressions: tuple[tuple[str, str], ...] = ()
) -> tuple[str, tuple, tuple]:
    """The INSERT for `columns`, the fields whose values it takes as parameters (the columns in
    `expressions` take that SQL instead of a parameter), and their _unchanged kinds."""
    fields = tuple(model._meta.get_field(name) for name in columns)
    given = dict(expressions)
    quote = connection.ops.quote_name
    values = ", ".join(given.get(name, "%s") for name in columns)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES ({values})"  # noqa: S608
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column) if returning == 'pk' else returning}"
    taken = tuple(field for name, field in zip(columns, fields, strict=True) if name not in given)
    return sql, taken, _unchanged(taken, vendor)


def insert_statement(
    model,
    values: dict,
    *,
    returning_pk: bool = False,
    returning: str = "",
    expressions: dict[str, str] | None = None,
) -> tuple[str, list]:
    """The INSERT of one row of `model` with `values` (field attribute name, e.g. `data_key_id`,
    -> value), as SQL and parameters, for a caller that sends it as part of a larger statement.
    `expressions` gives some columns an SQL expression instead (their entry in `values` is
    ignored), e.g. the id of a row inserted earlier in the same statement. `returning_pk` adds
    RETURNING the primary key, `returning` RETURNING those columns ("*": the whole row).

    Fields left out get no value from here: give every field its value, defaults included."""
    given = tuple(expressions.items()) if expressions else ()
    # The connection itself, not the proxy: every field asks it for its adapters.
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, kinds = _statement(model, tuple(values), db.vendor, "pk" if returning_pk else returning, given)
    taken = (value for name, value in values.items() if not expressions or name not in expressions)
    return sql, _prepared(fields, taken, db, kinds)


def _prepared(fields: tuple, values, db, unchanged: tuple | None = None) -> list:
    """The values as the fields store them (Field.get_db_prep_save), skipping that chain of calls
    for the values it returns unchanged: None, and a str, int or bool given to a plain field of
    its own kind (see _unchanged)."""
    unchanged = unchanged or _unchanged(fields, db.vendor)
    return [
        value if value is None or type(value) in kinds else field.get_db_prep_save(value, db)
        for field, kinds, value in zip(fields, unchanged, values, strict=True)
    ]


@cache
def _unchanged(fields: tuple, vendor: str) -> tuple[tuple[type, ...], ...]:
    """Per field, the value types get_db_prep_save returns as they are: str for a CharField or
    TextField, bool for a BooleanField, int for an integer field or a foreign key to one (not on
    PostgreSQL, where Django wraps integers in their exact column type). Exact classes only: a
    subclass (an encrypted field, say) may prepare differently. Every other field goes through
    get_db_prep_save."""
    integers = (models.IntegerField, models.BigIntegerField, models.SmallIntegerField, models.AutoField)
    integers += (models.BigAutoField, models.PositiveIntegerField, models.PositiveBigIntegerField)

    def kinds(field) -> tuple[type, ...]:
        kind = type(field)
        if kind in (models.CharField, models.TextField):
            return (str,)
        if kind is models.BooleanField:
            return (bool,)
        if vendor == "postgresql":
            return ()
        if kind in integers or (kind is models.ForeignKey and type(field.target_field) in integers):
            return (int,)
        return ()

    return tuple(kinds(field) for field in fields)


def insert_row(model, values: dict, *, returning_pk: bool = False):
    """Inserts one row of `model` (see insert_statement) in the caller's transaction, on the
    default database (Weerbaar has one). Returns the new primary key when `returning_pk`."""
    sql, params = insert_statement(model, values, returning_pk=returning_pk)
    with write_cursor() as cursor:
        cursor.execute(sql, params)
        if returning_pk:
            return cursor.fetchone()[0]
    return None


def insert_rows_statement(model, rows: list[dict], *, returning: str = "") -> tuple[str, list]:
    """One INSERT of several rows of `model` (each dict gives the same fields in the same order,
    see insert_statement), as SQL and parameters; `returning` as in insert_statement."""
    columns = tuple(rows[0])
    db = connections[DEFAULT_DB_ALIAS]
    sql, fields, kinds = _statement(model, columns, db.vendor, "")
    head, _, row_placeholders = sql.partition(" VALUES ")
    params = []
    for row in rows:
        if tuple(row) != columns:
            raise ValueError(f"insert_rows_statement: every row of {model.__name__} must give the fields {columns}")
        params.extend(_prepared(fields, row.values(), db, kinds))
    sql = f"{head} VALUES {', '.join([row_placeholders] * len(rows))}"
    if returning:
        sql += f" RETURNING {db.ops.quote_name(model._meta.pk.column) if returning == 'pk' else returning}"
    return sql, params


def increment(model, *, keys: dict, counter: str, initial: dict | None = None, returning: tuple[str, ...] = ()):
    """Adds one to the `counter` column of the row of `model` matching `keys` (column -> value) and
    returns (the new count, *the `returning` columns), creating the row first (count 0, plus
    `initial`) when there is none yet.

    One UPDATE ... RETURNING: the row stays locked until the transaction ends (PostgreSQL; SQLite
    lets one writer in at a time anyway), so concurrent callers queue up and each gets the next
    number. The unique constraint on the key columns settles two callers creating the row at once."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    where = " AND ".join(f"{quote(column)} = %s" for column in keys)
    columns = ", ".join(quote(column) for column in (counter, *returning))
    take = f"UPDATE {table} SET {quote(counter)} = {quote(counter)} + 1 WHERE {where} RETURNING {columns}"  # noqa: S608
    with write_cursor() as cursor:
        cursor.execute(take, list(keys.values()))
        row = cursor.fetchone()
        if row is None:
            first = {**keys, counter: 0, **(initial or {})}
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quote(c) for c in first)}) VALUES ({', '.join('%s' for _ in first)}) "  # noqa: S608
                f"ON CONFLICT ({', '.join(quote(c) for c in keys)}) DO NOTHING",
                list(first.values()),
            )
            cursor.execute(take, list(keys.values()))
            row = cursor.fetchone()
    return tuple(row)
