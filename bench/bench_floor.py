"""How far any implementation could go: the aggregate write's statements without Django.

The aggregate write (bench_privacy) is compared with a plain ORM insert. These rows take Django,
the ORM and the encryption away and send the very statements the write sends, to the very tables
(with their indexes), straight through the database driver:

- floor: the plain insert (BEGIN, INSERT, COMMIT), as the baseline of the rows below;
- floor: the aggregate write's six statements (data key, row, history row copied from the row,
  chain claim, event, chain head), values prepared once, only the new ids, the claimed link and
  its HMAC per run;
- on PostgreSQL, the same merged into two statements with data-modifying WITHs (the fewest the
  hash chain allows: the next event's hash needs the claimed link back first), as
  privacy.records.record_create sends them.

Their ratio is the most the aggregate write's ratio could be with this schema, whatever the
Python around it does: no target above it can be met by making the code faster, only by writing
fewer or smaller rows.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from _harness import Benchmark, Harness, Operation
from bench_privacy import DETAILS, TITLE, PlainDossier, _plain_table
from django.db import connection
from django.utils import timezone

FLOOR_PLAIN = "floor: plain insert, driver only (no Django)"
FLOOR_AGGREGATE = "floor: the aggregate write's 6 statements, driver only"
FLOOR_MERGED = "floor: the same merged into 2 statements (PostgreSQL)"

CHAIN = "bench:floor"


class _Driver:
    """BEGIN / statements / COMMIT on the driver's own connection, under Django's (autocommit)."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.sqlite = connection.vendor == "sqlite"
        self.cursor = connection.connection.cursor()
        self.begin = "BEGIN IMMEDIATE" if self.sqlite else "BEGIN"  # as the embedded default's atomic

    def execute(self, sql: str, params: list | tuple = ()):
        if self.sqlite:
            sql = sql.replace("%s", "?")
        self.cursor.execute(sql, params)
        return self.cursor


def _new_key_id(driver: _Driver):
    key_id = uuid.uuid4()
    return key_id.hex if driver.sqlite else key_id  # as UUIDField prepares it for each database


@contextlib.contextmanager
def floor_plain(harness: Harness) -> Iterator[Operation]:
    from privacy.sql import insert_statement

    with _plain_table():
        driver = _Driver()
        sql, params = insert_statement(
            PlainDossier,
            {
                "organisation_id": harness.user.organisation_id,
                "created_at": timezone.now(),
                "title": TITLE,
                "details": str(DETAILS),
                "kvk_index": "12345678",
            },
            returning_pk=True,
        )

        def insert() -> None:
            driver.execute(driver.begin)
            driver.execute(sql, params).fetchone()
            driver.execute("COMMIT")

        yield insert


@contextlib.contextmanager
def _aggregate_statements(harness: Harness) -> Iterator[dict]:
    """One real aggregate write supplies the values (ciphertexts, blind index, wrapped key); the
    statements are built from the models, as the write path builds them."""
    from audit.history import history_copy_statement
    from audit.models import AuditChainHead, AuditEvent
    from privacy.keyring import keyring
    from privacy.models import DataKey
    from privacy.sql import insert_statement
    from tests.example.models import Dossier
    from tests.example.services import dossier_create

    written = dossier_create(actor=harness.user, title=TITLE, details=DETAILS, kvk="1234 5678")
    row = Dossier.objects.select_related("data_key").get(pk=written.pk)
    AuditChainHead.objects.get_or_create(chain=CHAIN, defaults={"last_seq": 0, "last_hash": ""})
    now = timezone.now()
    dossier_values = _stored_values(row)
    quote = connection.ops.quote_name
    row_source = f"{quote(Dossier._meta.db_table)} WHERE {quote('id')} = %s"
    event_values = {
        "chain": CHAIN,
        "seq": 0,  # the claimed link, its hash and the record id are set per run (_link)
        "at": now,
        "organisation_id": harness.user.organisation_id,
        "actor_id": harness.user.pk,
        "actor_role": harness.user.role,
        "action": "dossier.created",
        "record_type": "example.dossier",
        "record_id": "0",
        "data": {},
        "prev_hash": "",
        "hash": "",
    }
    key_values = {
        "id": row.data_key_id,
        "master_key_id": row.data_key.master_key_id,
        "wrapped_key": bytes(row.data_key.wrapped_key),
        "created_at": now,
    }
    statements = {
        "key": insert_statement(DataKey, key_values),
        # SQLite: the new id from lastrowid; PostgreSQL: RETURNING it (the whole row when merged)
        "row": insert_statement(
            Dossier, {"data_key_id": None, **dossier_values}, returning_pk=connection.vendor == "postgresql"
        ),
        "row_all": insert_statement(Dossier, {"data_key_id": None, **dossier_values}, returning="*"),
        # The history row copied from the stored row (INSERT ... SELECT), as the write path does.
        "history": history_copy_statement(row, "+", source=row_source),
        "history_merged": history_copy_statement(row, "+", source="new_row"),
        "event": insert_statement(AuditEvent, event_values),
        "claim": (
            "UPDATE audit_auditchainhead SET last_seq = last_seq + 1 WHERE chain = %s RETURNING last_seq, last_hash",
            [CHAIN],
        ),
        "move_head": "UPDATE audit_auditchainhead SET last_hash = %s WHERE chain = %s",
        "event_positions": {name: i for i, name in enumerate(event_values)},
        "event_fields": {name: value for name, value in event_values.items() if name != "hash"},
        "audit_key": keyring().audit_key,
    }
    written: list = []  # the data key ids of the rows the runs write
    statements["written"] = written
    try:
        yield statements
    finally:
        # Their wrapped keys are copies, bound to another key id: rows that cannot be decrypted,
        # which later benchmarks (reading pages of records) must not meet.
        keys = [uuid.UUID(str(key_id)) for key_id in written]
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            Dossier.objects.filter(data_key_id__in=batch).delete()  # with their history rows
            DataKey.objects.filter(pk__in=batch).delete()


def _stored_values(instance) -> dict:
    """The row's values as stored (ciphertexts for encrypted fields), primary key left out."""
    from privacy.fields import _EncryptedMixin

    return {
        f.attname: f.ciphertext_for(instance) if isinstance(f, _EncryptedMixin) else getattr(instance, f.attname)
        for f in type(instance)._meta.concrete_fields
        if not f.primary_key
    }


def _link(statements: dict, seq: int, prev_hash: str, record_id) -> tuple[list, str]:
    """The event's parameters for the claimed link, with its hash (the write path's own HMAC)."""
    from audit.chain import event_hash

    fields = dict(statements["event_fields"], seq=seq, prev_hash=prev_hash, record_id=str(record_id))
    digest = event_hash(key=statements["audit_key"], **fields)
    params = list(statements["event"][1])
    at = statements["event_positions"]
    params[at["seq"]], params[at["prev_hash"]], params[at["record_id"]] = seq, prev_hash, str(record_id)
    params[at["hash"]] = digest
    return params, digest


@contextlib.contextmanager
def floor_aggregate(harness: Harness) -> Iterator[Operation]:
    with _aggregate_statements(harness) as s:
        driver = _Driver()
        (key_sql, key_params), (row_sql, row_params) = s["key"], s["row"]
        history_sql, history_params = s["history"]

        def write() -> None:
            key_id = _new_key_id(driver)
            s["written"].append(key_id)
            driver.execute(driver.begin)
            driver.execute(key_sql, [key_id, *key_params[1:]])
            cursor = driver.execute(row_sql, [key_id, *row_params[1:]])
            pk = cursor.lastrowid if driver.sqlite else cursor.fetchone()[0]
            driver.execute(history_sql, [*history_params, pk])
            seq, prev_hash = driver.execute(*s["claim"]).fetchone()
            params, digest = _link(s, seq, prev_hash, pk)
            driver.execute(s["event"][0], params)
            driver.execute(s["move_head"], [digest, CHAIN])
            driver.execute("COMMIT")

        yield write


@contextlib.contextmanager
def floor_merged(harness: Harness) -> Iterator[Operation]:
    if connection.vendor != "postgresql":
        raise NotImplementedError("data-modifying WITH is PostgreSQL only")
    with _aggregate_statements(harness) as s:
        driver = _Driver()
        key_sql, key_params = s["key"]
        row_sql, row_params = s["row_all"]
        history_sql, history_params = s["history_merged"]
        first = (
            f"WITH new_key AS ({key_sql}), new_row AS ({row_sql}), new_history AS ({history_sql}), "  # noqa: S608
            f"link AS ({s['claim'][0]}) SELECT (SELECT id FROM new_row), last_seq, last_hash FROM link"
        )
        event_sql = s["event"][0]
        second = f"WITH new_event AS ({event_sql}) {s['move_head']}"

        def write() -> None:
            key_id = _new_key_id(driver)
            s["written"].append(key_id)
            driver.execute(driver.begin)
            pk, seq, prev_hash = driver.execute(
                first,
                [key_id, *key_params[1:], key_id, *row_params[1:], *history_params, CHAIN],
            ).fetchone()
            params, digest = _link(s, seq, prev_hash, pk)
            driver.execute(second, [*params, digest, CHAIN])
            driver.execute("COMMIT")

        yield write


BENCHMARKS = [
    Benchmark(name=FLOOR_PLAIN, baseline=FLOOR_PLAIN, prepare=floor_plain),
    Benchmark(name=FLOOR_AGGREGATE, baseline=FLOOR_PLAIN, prepare=floor_aggregate),
    Benchmark(name=FLOOR_MERGED, baseline=FLOOR_PLAIN, prepare=floor_merged, vendors=("postgresql",)),
]
