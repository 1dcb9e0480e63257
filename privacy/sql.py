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


def insert_row(model, values: dict, *, returning_pk: bool = False):
    """Inserts one row of `model` with `values` (field attribute name, e.g. `data_key_id`, -> value).

    Fields left out get no value from here: give every field its value, defaults included.
    Writes to the default database (Weerbaar has one) in the caller's transaction.
    Returns the new primary key when `returning_pk`, else None."""
    sql, fields = _statement(model, tuple(values), connection.vendor, returning_pk)
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning_pk:
            return cursor.fetchone()[0]
    return None
