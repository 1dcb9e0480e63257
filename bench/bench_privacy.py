"""The privacy and audit core (issue 3).

- Writing one aggregate with two encrypted fields, its history row, a blind index and a chained
  audit event, against the same insert with none of them; each in its own transaction, as a
  service runs. Target: throughput ratio >= 0.5.
- Decrypting a page of 50 records (title and details), loaded with their data keys.
  Target: median <= 5 ms.
- verify_audit_chain over BENCH_AUDIT_EVENTS events (default 1,000,000). Target: <= 30 s.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta

from _harness import Benchmark, Harness, Operation
from django.db import connection, models, transaction
from django.utils import timezone

PLAIN_INSERT = "plain insert (no encryption, history, index or audit)"
AGGREGATE_WRITE = "aggregate write: 2 encrypted fields + history + blind index + audit event"
PLAIN_PAGE = "read a page of 50 plain rows"
DECRYPT_PAGE = "decrypt a page of 50 records (2 fields each)"
CHAIN_EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", "1000000"))
VERIFY_CHAIN = f"verify_audit_chain over {CHAIN_EVENTS:,} events"

TITLE = "Winkel zonder klanten verlengt elk jaar de vergunning"
DETAILS = {"omschrijving": "Veel contant geld, wisselende huurders op het adres.", "bron": "vergunningen"}


class PlainDossier(models.Model):
    organisation_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    title = models.TextField()
    details = models.TextField()
    kvk_index = models.CharField(max_length=64, blank=True)

    class Meta:
        app_label = "bench_privacy"

    def __str__(self) -> str:
        return self.title


@contextlib.contextmanager
def _plain_table() -> Iterator[None]:
    with connection.schema_editor() as editor:
        editor.create_model(PlainDossier)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(PlainDossier)


@contextlib.contextmanager
def plain_insert(harness: Harness) -> Iterator[Operation]:
    with _plain_table():

        def insert() -> None:
            with transaction.atomic():
                PlainDossier.objects.create(
                    organisation_id=harness.user.organisation_id,
                    title=TITLE,
                    details=str(DETAILS),
                    kvk_index="12345678",
                )

        yield insert


@contextlib.contextmanager
def aggregate_write(harness: Harness) -> Iterator[Operation]:
    from tests.example.services import dossier_create

    def write() -> None:
        dossier_create(actor=harness.user, title=TITLE, details=DETAILS, kvk="1234 5678")

    yield write


@contextlib.contextmanager
def plain_page(harness: Harness) -> Iterator[Operation]:
    with _plain_table():
        PlainDossier.objects.bulk_create(
            PlainDossier(organisation_id=1, title=TITLE, details=str(DETAILS)) for _ in range(50)
        )

        def read() -> None:
            rows = list(PlainDossier.objects.order_by("pk")[:50])
            assert len(rows) == 50 and all(r.title and r.details for r in rows)

        yield read


@contextlib.contextmanager
def decrypt_page(harness: Harness) -> Iterator[Operation]:
    from tests.example.models import Dossier
    from tests.example.services import dossier_create

    for _ in range(50 - Dossier.objects.count()):
        dossier_create(actor=harness.user, title=TITLE, details=DETAILS)

    from privacy.crypto import with_data_keys

    def read() -> None:
        rows = list(with_data_keys(Dossier.objects.order_by("pk"))[:50])
        assert len(rows) == 50 and all(r.title == TITLE and r.details == DETAILS for r in rows)

    yield read


@contextlib.contextmanager
def verify_chain(harness: Harness) -> Iterator[Operation]:
    """Writes CHAIN_EVENTS chained events straight into the table (the service would take hours),
    then times one full verification."""
    from audit.chain import chain_for, event_hash
    from audit.models import AuditChainHead, AuditEvent
    from audit.selectors import audit_chain_verify
    from privacy.keyring import keyring

    # A chain of its own (the platform chain, no organisation), apart from the other benches' events.
    chain = chain_for(None)
    key = keyring().audit_key
    start = timezone.now() - timedelta(days=365)
    prev = ""
    batch: list[AuditEvent] = []
    for seq in range(1, CHAIN_EVENTS + 1):
        at = start + timedelta(seconds=seq)
        data = {"n": seq}
        digest = event_hash(
            key=key,
            chain=chain,
            seq=seq,
            at=at,
            organisation_id=None,
            actor_id=harness.user.pk,
            actor_role="coordinator",
            action="bench.event",
            record_type="bench.record",
            record_id=str(seq),
            data=data,
            prev_hash=prev,
        )
        batch.append(
            AuditEvent(
                chain=chain,
                seq=seq,
                at=at,
                organisation_id=None,
                actor_id=harness.user.pk,
                actor_role="coordinator",
                action="bench.event",
                record_type="bench.record",
                record_id=str(seq),
                data=data,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
        if len(batch) == 10000:
            AuditEvent.objects.bulk_create(batch)
            batch.clear()
    AuditEvent.objects.bulk_create(batch)
    AuditChainHead.objects.create(chain=chain, last_seq=CHAIN_EVENTS, last_hash=prev)

    def verify() -> None:
        report = audit_chain_verify(chain=chain)
        if not report.ok or report.checked != CHAIN_EVENTS:
            raise RuntimeError(f"verification failed: {report}")

    yield verify


BENCHMARKS = [
    Benchmark(name=PLAIN_INSERT, baseline=PLAIN_INSERT, prepare=plain_insert),
    Benchmark(name=AGGREGATE_WRITE, baseline=PLAIN_INSERT, prepare=aggregate_write),
    Benchmark(name=PLAIN_PAGE, baseline=PLAIN_PAGE, prepare=plain_page),
    Benchmark(name=DECRYPT_PAGE, baseline=PLAIN_PAGE, prepare=decrypt_page),
    Benchmark(name=VERIFY_CHAIN, baseline=VERIFY_CHAIN, prepare=verify_chain, runs=1, warmup=0),
]
