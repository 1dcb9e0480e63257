"""One INSERT statement for a row, without the ORM's insert path.

Every service write stores a data key, one or more history rows and an audit event besides its
own rows. Through the ORM each of those costs several times the statement itself (compiling,
per-field preparation, RETURNING). `insert_row` builds the statement once per model and column
set, adapts the values with the fields' own `get_db_prep_save`, and sends one statement, without
RETURNING unless the caller needs the new primary key.
"""

from __future__ import annotations

from functools import cache

from django.db import connection


@cache
def _statement(model, columns: tuple[str, ...], vendor: str, returning: bool) -> tuple[str, tuple]:
    fields = tuple(model._meta.get_field(name) for name in columns)
    quote = connection.ops.quote_name
    placeholders = ", ".join("%s" for _ in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES ({placeholders})"  # noqa: S608
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, fields


def insert_statement(model, values: dict, *, returning_pk: bool = False) -> tuple[str, list]:
    """The INSERT of one row of `model` with `values` (field attribute name, e.g. `data_key_id`,
    -> value), as SQL and parameters, for a caller that sends it as part of a larger statement.

    Fields left out get no value from here: give every field its value, defaults included."""
    sql, fields = _statement(model, tuple(values), connection.vendor, returning_pk)
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values(), strict=True)]
    return sql, params


def insert_row(model, values: dict, *, returning_pk: bool = False):
    """Inserts one row of `model` (see insert_statement) in the caller's transaction, on the
    default database (Weerbaar has one). Returns the new primary key when `returning_pk`."""
    sql, params = insert_statement(model, values, returning_pk=returning_pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning_pk:
            return cursor.fetchone()[0]
    return None


def insert_rows(model, rows: list[dict], *, batch_size: int = 500) -> None:
    """Inserts several rows of `model` with one INSERT per `batch_size` rows, in the caller's
    transaction. Every row gives the same fields, in the same order (see insert_statement)."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql, fields = _statement(model, columns, connection.vendor, False)
    head, _, row_placeholders = sql.partition(" VALUES ")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            params = []
            for row in batch:
                if tuple(row) != columns:
                    raise ValueError(f"insert_rows: every row of {model.__name__} must give the fields {columns}")
                params.extend(
                    field.get_db_prep_save(value, connection) for field, value in zip(fields, row.values(), strict=True)
                )
            cursor.execute(f"{head} VALUES {', '.join([row_placeholders] * len(batch))}", params)


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
    with connection.cursor() as cursor:
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
