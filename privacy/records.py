"""Creating an aggregate: its data key, its row, its history row and its audit event, together.

Every service that creates a signal, a case or an incident writes the same four things: a new
data key, the row (its fields encrypted with that key), the row's first history row, and an
audit event linked into the chain of the row's organisation (`organisation_id`). `record_create`
writes them in as few statements as the database allows:

- PostgreSQL: two. The data key, the row, its history row, the children with theirs and the
  claim of the next chain link go in one statement (data-modifying WITHs); the event and the
  moved chain head in the second. The event's hash needs the claimed link back first, so two is
  the fewest.
- SQLite (in-process, no round trips): six plain statements.

It does what Model.save() does for a new row of a plain model (defaults, auto_now_add, the
encrypted fields' ciphertexts; the history row simple-history would write, with the same
ciphertexts and history user), without the ORM's insert path and signals: Model.save() with
post_save costs several times these statements. The model's pre_save and post_save signals are
therefore not sent: it refuses a model that something listens to (besides simple-history) or
that has a save() of its own. Later changes go through save() as before.

`children` are rows of other models (subjects of a signal) created with the aggregate, under its
key, with their history rows: one INSERT for the rows of each model and one for their history
rows, after the root (on PostgreSQL inside the root's statement, their foreign key to the root
taken from the row inserted there).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import NOT_PROVIDED
from django.db.models.signals import post_save, pre_save

from audit.history import history_copy_statement, history_create_bulk, history_listened
from audit.services import audit_event_append, audit_event_fields, claim_next_link, claim_statement
from privacy.crypto import data_key_new, data_key_stored, data_key_values
from privacy.sql import insert_rows_statement, insert_statement, write_cursor


@dataclass(frozen=True)
class _Plan:
    model: type
    fields: tuple  # the concrete fields the INSERT gives, primary key left out
    pk_column: str
    history_model: type


@cache
def _plan(model) -> _Plan:
    from audit.history import history_model_of

    pk = model._meta.pk
    if not pk.db_returning:
        raise ValueError(f"{model.__name__}: record_create needs a database-generated primary key")
    fields = tuple(f for f in model._meta.concrete_fields if f is not pk)
    for field in fields:
        if field.db_default is not NOT_PROVIDED:
            raise ValueError(f"{model.__name__}.{field.name}: record_create gives every field its value; no db_default")
    from privacy.fields import EncryptedModel

    if not issubclass(model, EncryptedModel) or model.save is not EncryptedModel.save:
        # record_create does what EncryptedModel.save does; a save() of the model's own would be skipped.
        raise ValueError(f"{model.__name__}: record_create stores EncryptedModels without a save() of their own")
    if model._meta.parents:
        raise ValueError(f"{model.__name__}: record_create writes one table; no multi-table inheritance")
    return _Plan(model=model, fields=fields, pk_column=pk.column, history_model=history_model_of(model))


def _check_no_receivers(model) -> None:
    """record_create sends no pre_save/post_save: refuse a model that something listens to,
    besides simple-history's own post_save (whose history row record_create writes itself)."""
    from audit.history import history_receiver

    own = history_receiver(model)
    for signal in (pre_save, post_save):
        # Django's own lookup of the receivers a send() would call (cached per sender).
        sync, asynchronous = signal._live_receivers(model)
        if any(receiver != own for receiver in (*sync, *asynchronous)):
            raise RuntimeError(
                f"{model.__name__} has pre_save/post_save receivers, which record_create does not call; "
                "use save() or move the receiver's work into the service"
            )


def record_create(instance, *, actor, action: str, data: dict | None = None, children=(), data_key=None):
    """Stores `instance` (a new aggregate root, an EncryptedModel without a data key yet) under a
    new data key, with its history row and the audit event `action` (with `data`: ids, codes
    and counts only) on its organisation's chain, in the caller's transaction. Then stores
    `children` (new rows pointing at the instance, of one or more models) under the same key.
    Returns the instance, saved.

    `data_key`: a key from privacy.crypto.data_key_new that the service used first (to encrypt
    files before taking any lock); it is stored here, with the row."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy looks it up
    if not db.in_atomic_block:
        raise RuntimeError("record_create runs inside the service's transaction")
    if not instance._state.adding or instance.pk is not None or instance.data_key_id is not None:
        raise ValueError("record_create stores a new aggregate; change an existing one with save()")
    for value in vars(instance).values():
        if hasattr(value, "resolve_expression"):
            raise ValueError("record_create stores values, not expressions (F(), Now()); use save()")
    model = type(instance)
    plan = _plan(model)
    _check_no_receivers(model)
    if actor is not None and not hasattr(instance, "_history_user"):
        instance._history_user = actor

    data_key = data_key or data_key_new()
    instance.data_key = data_key
    # As save() does: a related object assigned before it was saved gives its id now, and an
    # unsaved one is refused.
    instance._prepare_related_fields_for_save(operation_name="record_create")
    row = {field.attname: field.pre_save(instance, True) for field in plan.fields}
    # The history row is copied from the stored row by the database (audit.history); with
    # receivers on simple-history's create signals it is saved the ORM way after the row, so
    # they see it.
    copy_history = not history_listened(model)
    event = audit_event_fields(
        actor=actor,
        action=action,
        organisation_id=instance.organisation_id,
        record_type=model._meta.label_lower,
        record_id="",  # the new id, once known
        data=data,
    )
    from privacy.models import DataKey

    key_insert = insert_statement(DataKey, data_key_values(data_key))
    by_model = _children_by_model(instance, children)
    postgresql = db.vendor == "postgresql"
    # PostgreSQL: the children go in the root's statement, unless simple-history's receivers
    # must see their history rows or there are more than one statement takes.
    merged = (
        postgresql
        and copy_history
        and all(not history_listened(m) and len(rows) <= CHILDREN_PER_STATEMENT for m, (_, rows) in by_model.items())
    )
    with write_cursor() as cursor:  # one cursor for every statement of the aggregate
        if postgresql:
            merged_children = by_model if merged else {}
            pk, link, child_ids = _insert_postgresql(
                cursor, plan, instance, key_insert, row, copy_history, event["chain"], merged_children
            )
        else:
            pk, link = _insert_sqlite(cursor, key_insert, row, plan, event["chain"])
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = db.alias
        if merged:
            _children_stored(instance, by_model, child_ids)
        data_key_stored(data_key)
        if link is None:  # the organisation's first event: its chain head is made now
            link = claim_next_link(event["chain"])
        if not copy_history or not postgresql:  # else it went in with the row
            history_create_bulk([instance], cursor=cursor)
        event["record_id"] = str(pk)
        audit_event_append(event, seq=link[0], prev_hash=link[1], cursor=cursor)
    if not merged:
        for model, (_, rows) in by_model.items():
            for child in rows:
                # The parent saved just now gives its new id, as save() and bulk_create do.
                child._prepare_related_fields_for_save(operation_name="record_create")
            for start in range(0, len(rows), CHILDREN_PER_STATEMENT):
                _insert_children(_plan(model), rows[start : start + CHILDREN_PER_STATEMENT])
    return instance


def _insert_postgresql(
    cursor, plan: _Plan, instance, key_insert, row: dict, copy_history: bool, chain: str, children: dict
):
    """The root's statement; with `children` (see _children_by_model) their rows
    and history rows too, their foreign key to the root taken from new_row. Returns the root's
    id, the claimed link (None for a chain without a head yet) and the children's new ids."""
    quote = connection.ops.quote_name
    pk = quote(plan.pk_column)
    row_sql, row_params = insert_statement(plan.model, row, returning="*")
    parts = [f"new_key AS ({key_insert[0]})", f"new_row AS ({row_sql})"]
    params = [*key_insert[1], *row_params]
    if copy_history:
        sql, history_params = history_copy_statement(instance, "+", source="new_row")
        parts.append(f"new_history AS ({sql})")
        params.extend(history_params)
    claim_sql, claim_params = claim_statement(chain)
    parts.append(f"link AS ({claim_sql})")
    params.extend(claim_params)
    # Only quoted names from the models go into the SQL; every value is a parameter.
    root_id = f"(SELECT {pk} FROM new_row)"  # noqa: S608
    selected = [root_id, "(SELECT last_seq FROM link)", "(SELECT last_hash FROM link)"]
    for number, (model, (to_root, rows)) in enumerate(children.items()):
        child_plan = _plan(model)
        values = [{field.attname: field.pre_save(child, True) for field in child_plan.fields} for child in rows]
        insert, insert_params = insert_rows_statement(
            model, values, returning="*", expressions={to_root.attname: root_id}
        )
        history, history_params = history_copy_statement(rows[0], "+", source=f"child_{number}")
        parts += [f"child_{number} AS ({insert})", f"child_{number}_history AS ({history})"]
        params += [*insert_params, *history_params]
        # Ascending ids are the order of the VALUES: one INSERT draws them from the sequence row
        # by row.
        child_pk = quote(child_plan.pk_column)
        selected.append(f"(SELECT array_agg({child_pk} ORDER BY {child_pk}) FROM child_{number})")  # noqa: S608
    cursor.execute(f"WITH {', '.join(parts)} SELECT {', '.join(selected)}", params)
    pk, seq, last_hash, *child_ids = cursor.fetchone()
    return pk, None if seq is None else (seq, last_hash), child_ids


def _children_stored(instance, children: dict, child_ids: list) -> None:
    """The children of _insert_postgresql, stored: their new ids, and the saved root as their
    parent (as save() gives a parent saved after the assignment)."""
    for (model, (to_root, rows)), ids in zip(children.items(), child_ids, strict=True):
        if len(ids or ()) != len(rows):
            raise RuntimeError(f"{model.__name__}: {len(rows)} rows inserted, {len(ids or ())} ids back")
        for child, new_id in zip(rows, ids, strict=True):
            child.pk = new_id
            setattr(child, to_root.name, instance)
            child._state.adding = False
            child._state.db = instance._state.db


def _insert_sqlite(cursor, key_insert, row: dict, plan: _Plan, chain: str):
    cursor.execute(*key_insert)
    cursor.execute(*insert_statement(plan.model, row))
    pk = cursor.lastrowid  # the rowid is the id (an integer primary key); cheaper than RETURNING
    cursor.execute(*claim_statement(chain))
    link = cursor.fetchone()
    return pk, None if link is None else tuple(link)


CHILDREN_PER_STATEMENT = 200  # well within the databases' limits on parameters per statement


def _children_by_model(instance, children) -> dict[type, tuple]:
    """The children by model, checked and given the root's key and history user, before anything
    is written: model -> (its foreign key to the root, the rows). Each must point at the root;
    their other related objects must be saved already, as save() demands."""
    by_model: dict[type, list] = {}
    for child in children:
        by_model.setdefault(type(child), []).append(child)
    for model, rows in by_model.items():
        _plan(model)
        _check_no_receivers(model)
        for child in rows:
            if not child._state.adding or child.pk is not None:
                raise ValueError("record_create stores new children; change existing ones with save()")
            child.data_key = instance.data_key
            if hasattr(instance, "_history_user") and not hasattr(child, "_history_user"):
                child._history_user = instance._history_user
        to_root = _foreign_key_to(instance, rows)
        others = [f for f in model._meta.concrete_fields if f.is_relation and f is not to_root]
        for child in rows:
            # An unsaved related object is refused here, with save()'s message.
            child._prepare_related_fields_for_save(operation_name="record_create", fields=others)
        if to_root is None:
            raise ValueError(f"record_create: every {model.__name__} of the aggregate points at its root")
        by_model[model] = (to_root, rows)
    return by_model


def _foreign_key_to(instance, rows: list):
    """The foreign key through which every row of `rows` (children of one model) points at
    `instance`, or None."""
    model = type(rows[0])
    for field in model._meta.concrete_fields:
        if (
            field.many_to_one
            and field.related_model is type(instance)
            and all(field.is_cached(child) and field.get_cached_value(child) is instance for child in rows)
        ):
            return field
    return None


def _insert_children(plan: _Plan, rows: list) -> None:
    """One INSERT for the rows of one model, and one for their history rows (copied from the
    stored rows, one history date, user and reason for all), in one statement on PostgreSQL."""
    values = [{field.attname: field.pre_save(child, True) for field in plan.fields} for child in rows]
    postgresql = connection.vendor == "postgresql"
    insert, params = insert_rows_statement(plan.model, values, returning="*" if postgresql else "pk")
    copy_history = not history_listened(plan.model)
    pk = connection.ops.quote_name(plan.pk_column)
    with write_cursor() as cursor:
        if postgresql and copy_history:
            history, history_params = history_copy_statement(rows[0], "+", source="new_rows")
            cursor.execute(
                f"WITH new_rows AS ({insert}), new_history AS ({history}) SELECT {pk} FROM new_rows",  # noqa: S608
                [*params, *history_params],
            )
        else:
            cursor.execute(insert.replace("RETURNING *", f"RETURNING {pk}"), params)
        # The ids come back in the order of the VALUES, as Django's bulk_create also relies on.
        ids = [row[0] for row in cursor.fetchall()]
        if len(ids) != len(rows):
            raise RuntimeError(f"{plan.model.__name__}: {len(rows)} rows inserted, {len(ids)} ids back")
        for child, new_id in zip(rows, ids, strict=True):
            child.pk = new_id
            child._state.adding = False
            child._state.db = connection.alias
    if not (postgresql and copy_history):  # else it went in with the rows
        history_create_bulk(rows)
