"""One INSERT statement for a row, without the ORM's insert path.

Every service write stores a data key, one or more history rows and an audit event besides its
own rows. Through the ORM each of those costs several times the statement itself (compiling,
per-field preparation, RETURNING). `insert_statement` builds the statement once per model and
column set and prepares the values as the fields' own `get_db_prep_save` would, taking a
shortcut for the common values whose result is known (`prepared_values`); `write_cursor` sends
it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache, lru_cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.signals import post_save, pre_save


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
    `expressions` take that SQL instead of a parameter), and their shortcuts (_shortcuts)."""
    fields = tuple(model._meta.get_field(name) for name in columns)
    given = dict(expressions)
    quote = connection.ops.quote_name
    values = ", ".join(given.get(name, "%s") for name in columns)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES ({values})"  # noqa: S608
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column) if returning == 'pk' else returning}"
    taken = tuple(field for name, field in zip(columns, fields, strict=True) if name not in given)
    return sql, taken, _shortcuts(taken, vendor)


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
    sql, fields, shortcuts = _statement(model, tuple(values), db.vendor, "pk" if returning_pk else returning, given)
    taken = (value for name, value in values.items() if not expressions or name not in expressions)
    return sql, prepared_values(fields, taken, db, shortcuts)


def prepared_values(fields: tuple, values, db, shortcuts: tuple | None = None) -> list:
    """The values as the fields store them (Field.get_db_prep_save) on the connection `db`, taking a
    shortcut where the result is known without that chain of calls (see _shortcuts): None, a
    value the field stores as it is (a str for a CharField), or one made directly (the wrapper
    PostgreSQL's integer columns get, the text SQLite stores for a UTC moment)."""
    shortcuts = shortcuts or _shortcuts(fields, db.vendor)
    prepared = []
    for field, (kinds, make), value in zip(fields, shortcuts, values, strict=True):
        if value is None or type(value) in kinds:
            prepared.append(value)
        elif make is not None and (made := make(value, db)) is not None:
            prepared.append(made)
        else:
            prepared.append(field.get_db_prep_save(value, db))
    return prepared


def _utc_text(value, db) -> str | None:
    """SQLite: what Django stores for a UTC moment when the connection's time zone is UTC (made
    naive in UTC, then str(); DatabaseOperations.adapt_datetimefield_value)."""
    if type(value) is datetime and value.tzinfo is UTC and db.timezone is UTC:
        return str(value.replace(tzinfo=None))
    return None


def _aware_moment(value, db):
    """PostgreSQL: an aware moment is stored as it is (a naive one gets Django's warning)."""
    return value if type(value) is datetime and value.tzinfo is not None else None


def _uuid_hex(value, db) -> str | None:
    """SQLite stores a UUID as its 32 hex digits."""
    return value.hex if type(value) is uuid.UUID else None


def _integer_as(wrapper):
    def make(value, db):
        return wrapper(value) if type(value) is int else None

    return make


@cache
def _shortcuts(fields: tuple, vendor: str) -> tuple:
    """Per field (exact classes only: a subclass, an encrypted field say, may prepare
    differently), the value types get_db_prep_save returns as they are, and a function that
    makes the stored value directly (or returns None to leave it to get_db_prep_save):

    - str for a CharField or TextField, bool for a BooleanField;
    - an integer field, or a foreign key to one: int as it is, or in the wrapper Django gives that
      column type on PostgreSQL (psycopg's Int8, ...), found by asking the field once;
    - a DateTimeField: on SQLite the text of a UTC moment, on PostgreSQL an aware moment as it is;
    - a UUIDField, or a foreign key to one: on PostgreSQL as it is, on SQLite its hex digits.

    A test compares every shortcut with get_db_prep_save for every field written this way."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != vendor:
        raise ValueError(f"privacy.sql writes to the default database ({db.vendor}), not {vendor}")
    integers = (models.IntegerField, models.BigIntegerField, models.SmallIntegerField, models.AutoField)
    integers += (models.BigAutoField, models.PositiveIntegerField, models.PositiveBigIntegerField)
    postgresql = vendor == "postgresql"

    def shortcut(field) -> tuple[tuple[type, ...], object]:
        kind = type(field)
        target = type(field.target_field) if kind is models.ForeignKey else kind
        if kind in (models.CharField, models.TextField):
            return (str,), None
        if kind is models.BooleanField:
            return (bool,), None
        if kind is models.DateTimeField:
            return (), _aware_moment if postgresql else _utc_text
        if target is models.UUIDField:
            return ((uuid.UUID,), None) if postgresql else ((), _uuid_hex)
        if target in integers:
            probe = field.get_db_prep_save(1, db)
            if type(probe) is int:
                return (int,), None
            if isinstance(probe, int) and type(probe)(1) == probe:
                return (), _integer_as(type(probe))
        return (), None

    return tuple(shortcut(field) for field in fields)


def insert_row(model, values: dict, *, returning_pk: bool = False):
    """Inserts one row of `model` (see insert_statement) in the caller's transaction, on the
    default database (Weerbaar has one). Returns the new primary key when `returning_pk`.

    It sends no pre_save/post_save, so it refuses a model that something listens to."""
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        raise RuntimeError(
            f"{model.__name__} has pre_save/post_save receivers, which insert_row does not call; use save()"
        )
    sql, params = insert_statement(model, values, returning_pk=returning_pk)
    with write_cursor() as cursor:
        cursor.execute(sql, params)
        if returning_pk:
            return cursor.fetchone()[0]
    return None


def insert_rows_statement(
    model, rows: list[dict], *, returning: str = "", expressions: dict[str, str] | None = None
) -> tuple[str, list]:
    """One INSERT of several rows of `model` (each dict gives the same fields in the same order,
    see insert_statement), as SQL and parameters; `returning` and `expressions` (the same SQL in
    that column of every row) as in insert_statement."""
    columns = tuple(rows[0])
    db = connections[DEFAULT_DB_ALIAS]
    given = tuple(expressions.items()) if expressions else ()
    sql, fields, shortcuts = _statement(model, columns, db.vendor, "", given)
    head, _, row_placeholders = sql.partition(" VALUES ")
    params = []
    for row in rows:
        if tuple(row) != columns:
            raise ValueError(f"insert_rows_statement: every row of {model.__name__} must give the fields {columns}")
        taken = row.values() if not given else (value for name, value in row.items() if name not in expressions)
        params.extend(prepared_values(fields, taken, db, shortcuts))
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
