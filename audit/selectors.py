from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import QuerySet

from accounts.roles import Action, user_can
from audit.chain import FIELDS, ChainReport, verify_rows
from audit.models import AccessLog, AuditChainHead, AuditEvent


def _filtered(queryset: QuerySet, *, person_field: str, **filters) -> QuerySet:
    """The filters both lists share; empty values mean "any"."""
    lookups = {
        person_field: filters.get("person_id"),
        "record_type": filters.get("record_type"),
        "record_id": filters.get("record_id"),
        "action": filters.get("action"),
        "at__gte": filters.get("since"),
        "at__lt": filters.get("until"),
    }
    return queryset.filter(**{lookup: value for lookup, value in lookups.items() if value})


def audit_event_list(
    *,
    actor,
    person_id: int | None = None,
    record_type: str = "",
    record_id: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    if not user_can(actor, Action.VIEW_AUDIT_TRAIL):
        raise PermissionDenied
    events = _filtered(
        AuditEvent.objects.for_user(actor),
        person_field="actor_id",
        person_id=person_id,
        record_type=record_type,
        record_id=record_id,
        action=action,
        since=since,
        until=until,
    )
    return events.order_by("-at", "-seq")


def access_log_list(
    *, actor, person_id: int | None = None, record_type: str = "", record_id: str = "", since=None, until=None
) -> QuerySet[AccessLog]:
    if not user_can(actor, Action.VIEW_AUDIT_TRAIL):
        raise PermissionDenied
    entries = _filtered(
        AccessLog.objects.for_user(actor),
        person_field="user_id",
        person_id=person_id,
        record_type=record_type,
        record_id=record_id,
        since=since,
        until=until,
    )
    return entries.order_by("-at")


def audit_chain_verify(*, chain: str | None = None) -> ChainReport:
    """Walks every chain (or one) in order; memory stays flat however many events there are.

    Writers go on during the walk: the heads are read before and after it (see verify_rows), so
    no snapshot or lock is needed. On the embedded SQLite a transaction would even take the write
    lock (IMMEDIATE) for the whole walk; on PostgreSQL the server-side cursor needs one."""

    def heads() -> dict[str, tuple[int, str]]:
        found = AuditChainHead.objects.all()
        if chain:
            found = found.filter(chain=chain)
        return {h.chain: (h.last_seq, h.last_hash) for h in found}

    before = heads()
    cursor_transaction = transaction.atomic() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with cursor_transaction:
        return verify_rows(_event_rows(chain), before, heads_after=heads)


def _event_rows(chain: str | None, batch: int = 5000) -> Iterator[tuple]:
    """Every event (of one chain) in (chain, seq) order, as verify_rows reads them.

    Plain SQL through a server-side cursor on PostgreSQL: a nightly walk over millions of rows,
    where the ORM's per-row conversion cost more than the hashing. The database hands the moment
    over as the very text the hash covers (UTC, microseconds), so no row parses a timestamp."""
    table = AuditEvent._meta.db_table
    columns = [AuditEvent._meta.get_field(name).column for name in FIELDS]
    at_index = FIELDS.index("at")
    if connection.vendor == "postgresql":
        columns[at_index] = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        columns[FIELDS.index("data")] = "data::text"
    else:
        # SQLite keeps the moment as Django wrote it, UTC text without the fraction for a whole
        # second: "2026-03-14 09:30:00[.123456]". Selected as an expression, it stays text.
        columns[at_index] = "replace(at, ' ', 'T') || CASE WHEN length(at) = 19 THEN '.000000' ELSE '' END || 'Z'"
    where, params = ("WHERE chain = %s", [chain]) if chain else ("", [])
    sql = f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY chain, seq"  # noqa: S608
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows


def audit_chain_anchor() -> dict[str, list]:
    """The newest link of every chain, {chain: [seq, hash]}: kept outside the database (the nightly
    log line, a file), it proves later that no events were taken off the end of a chain."""
    return {head.chain: [head.last_seq, head.last_hash] for head in AuditChainHead.objects.order_by("chain")}


def audit_chain_check_anchor(anchor: dict[str, list]) -> list[str]:
    """What no longer matches an earlier anchor: a chain that is shorter now, or whose event at the
    anchored number has another hash. Empty when everything still matches."""
    problems = []
    for chain, (seq, digest) in sorted(anchor.items()):
        event = AuditEvent.objects.filter(chain=chain, seq=seq).values_list("hash", flat=True).first()
        if event is None:
            problems.append(f"keten {chain}: event {seq} uit het anker bestaat niet meer")
        elif event != digest:
            problems.append(f"keten {chain}: event {seq} heeft een andere hash dan in het anker")
    return problems
