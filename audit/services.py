"""Writing audit data. Called by every service inside its own transaction."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import chain_for, event_hash
from audit.models import AccessLog, AuditChainHead, AuditEvent
from privacy.keyring import keyring
from privacy.sql import increment, insert_statement, write_cursor


def _record_ref(record) -> tuple[str, str]:
    if record is None:
        return "", ""
    return record._meta.label_lower, str(record.pk)


def audit_event_record(
    *,
    actor,
    action: str,
    organisation_id: int | None,
    record=None,
    record_type: str = "",
    record_id: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Appends an event to the organisation's chain, in the caller's transaction.

    `data` holds ids, codes and counts only; never names, free text or other personal data."""
    if record is not None:
        record_type, record_id = _record_ref(record)
    fields = audit_event_fields(
        actor=actor,
        action=action,
        organisation_id=organisation_id,
        record_type=record_type,
        record_id=record_id,
        data=data,
    )
    seq, prev_hash = claim_next_link(fields["chain"])
    event = AuditEvent(**audit_event_append(fields, seq=seq, prev_hash=prev_hash))
    event._state.adding = False
    event._state.db = connection.alias
    return event


def audit_event_fields(
    *, actor, action: str, organisation_id: int | None, record_type: str, record_id: str, data: dict | None
) -> dict:
    """An event's fields but its link (seq, prev_hash): checked, for `audit_event_append`. For a
    caller that claims the link itself, in a statement of its own (privacy.records)."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit events are written inside the service's transaction")
    data = data or {}
    _check_plain(data)
    return {
        "chain": chain_for(organisation_id),
        "at": None,  # set by audit_event_append, once the link is claimed: `at` rises with `seq`
        "organisation_id": organisation_id,
        "actor_id": getattr(actor, "pk", None),
        "actor_role": getattr(actor, "role", "") or ("platform" if getattr(actor, "is_superuser", False) else ""),
        "action": action,
        "record_type": record_type,
        "record_id": record_id,
        "data": data,
    }


def audit_event_append(fields: dict, *, seq: int, prev_hash: str, cursor=None) -> dict:
    """Stores the event with the link claimed for it (claim_next_link or claim_statement) and
    moves the chain head on to it. Returns the stored values, the new id and hash included.
    `cursor`: a privacy.sql.write_cursor the caller has open already, else one is opened."""
    values = {**fields, "seq": seq, "prev_hash": prev_hash, "at": timezone.now()}
    values["hash"] = event_hash(key=keyring().audit_key, **values)
    values["id"] = _insert_event_and_move_head({name: values[name] for name in _EVENT_FIELDS}, cursor)
    return values


_EVENT_FIELDS = [f.attname for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def _insert_event_and_move_head(values: dict, cursor=None) -> int:
    """Stores the event (`values`: every column but the id) and moves the chain head's hash on
    to it; returns the event's id.

    Plain SQL: every service write passes here, and the ORM's insert path costs several times
    the statement itself. On PostgreSQL both go in one statement (a data-modifying WITH), one
    round trip less per write; SQLite, in-process, runs the two statements."""
    postgresql = connection.vendor == "postgresql"
    insert, params = insert_statement(AuditEvent, values, returning_pk=postgresql)
    if cursor is None:
        with write_cursor() as cursor:
            return _send_event(cursor, insert, params, values, postgresql)
    return _send_event(cursor, insert, params, values, postgresql)


def _send_event(cursor, insert: str, params: list, values: dict, postgresql: bool) -> int:
    move_head = f"UPDATE {_HEAD} SET last_hash = %s WHERE chain = %s"  # noqa: S608
    if postgresql:
        cursor.execute(
            f"WITH new_event AS ({insert}) {move_head} RETURNING (SELECT id FROM new_event)",  # noqa: S608
            [*params, values["hash"], values["chain"]],
        )
        row = cursor.fetchone()
        if row is None:  # the head row was claimed in this transaction; it cannot be missing
            raise RuntimeError(f"audit chain head {values['chain']} disappeared while writing an event")
        return row[0]
    cursor.execute(insert, params)
    pk = cursor.lastrowid  # SQLite: the rowid is the id; cheaper than RETURNING
    cursor.execute(move_head, [values["hash"], values["chain"]])
    return pk


def _check_plain(value) -> None:
    """Audit data is ids, codes, counts and flags: values that survive a JSON round trip in every
    database unchanged (a float may not, and would then break the hash)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("audit data keys must be strings")
            _check_plain(item)
    elif isinstance(value, list):
        for item in value:
            _check_plain(item)
    elif not isinstance(value, str | int | bool | type(None)):
        raise TypeError(f"audit data may hold str, int, bool or None, not {type(value).__name__}")


_HEAD = AuditChainHead._meta.db_table


def claim_next_link(chain: str) -> tuple[int, str]:
    """Takes the next number of `chain` and the hash to link to; the head row stays locked until
    the transaction ends, so concurrent writers queue up and each links to the previous one."""
    seq, last_hash = increment(
        AuditChainHead, keys={"chain": chain}, counter="last_seq", initial={"last_hash": ""}, returning=("last_hash",)
    )
    return seq, last_hash


def claim_statement(chain: str) -> tuple[str, list]:
    """claim_next_link as one UPDATE ... RETURNING last_seq, last_hash, for a caller that sends it
    inside a larger statement. It returns no row while the chain has no head yet (its first
    event): then call claim_next_link, which creates the head."""
    return (
        f"UPDATE {_HEAD} SET last_seq = last_seq + 1 WHERE chain = %s RETURNING last_seq, last_hash",  # noqa: S608
        [chain],
    )


def access_log_record(*, user, record_type: str, record_id: str = "", page: str) -> None:
    """Notes that `user` opened a sensitive record (or list) on `page` (a view name, not a URL)."""
    with transaction.atomic():
        AccessLog.objects.create(
            organisation_id=user.organisation_id,
            user_id=user.pk,
            user_role=user.role or ("platform" if user.is_superuser else ""),
            record_type=record_type,
            record_id=str(record_id),
            page=page,
        )
