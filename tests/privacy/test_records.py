"""privacy.records.record_create: a new aggregate's key, row, history row and audit event together,
and privacy.sql.write_cursor underneath it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import pre_save
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from audit.models import AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from privacy.models import DataKey
from privacy.records import record_create
from tests.example.models import Dossier, DossierNote

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation)


def _create(actor, **extra) -> Dossier:
    with transaction.atomic():
        dossier = Dossier(organisation_id=actor.organisation_id, title="titel", details={"n": 1}, kvk_index="idx")
        return record_create(dossier, actor=actor, action="dossier.created", **extra)


def test_one_call_stores_the_key_the_row_its_history_and_the_event(coordinator):
    dossier = _create(coordinator, data={"bron": 3})

    assert dossier.pk is not None and not dossier._state.adding
    stored = Dossier.objects.select_related("data_key").get(pk=dossier.pk)
    assert (stored.title, stored.details, stored.kvk_index) == ("titel", {"n": 1}, "idx")
    assert stored.data_key_id == dossier.data_key_id and stored.created_at is not None
    history = Dossier.history.get(id=dossier.pk)
    assert (history.history_type, history.history_user_id, history.title) == ("+", coordinator.pk, "titel")
    columns = ("title", "details", "data_key_id", "kvk_index", "created_at", "organisation_id")
    assert Dossier.history.filter(id=dossier.pk).values(*columns).get() == (
        Dossier.objects.filter(pk=dossier.pk).values(*columns).get()
    )  # the very ciphertext, not an encryption of its own
    event = AuditEvent.objects.get(action="dossier.created")
    assert (event.record_type, event.record_id, event.data) == ("example.dossier", str(dossier.pk), {"bron": 3})
    assert (event.actor_id, event.actor_role, event.organisation_id) == (
        coordinator.pk,
        Role.COORDINATOR,
        coordinator.organisation_id,
    )
    report = audit_chain_verify()
    assert report.ok and report.checked == 1


def test_later_writes_link_on_and_the_chain_verifies(coordinator):
    dossiers = [_create(coordinator) for _ in range(3)]
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert [e.record_id for e in events] == [str(d.pk) for d in dossiers]
    assert [e.at for e in events] == sorted(e.at for e in events)  # taken after the link is claimed
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    head = AuditChainHead.objects.get(chain=events[0].chain)
    assert (head.last_seq, head.last_hash) == (3, events[2].hash)
    assert audit_chain_verify().ok


def test_statements_sent(coordinator):
    """PostgreSQL: one statement for key, row, history and link, one for event and head."""
    _create(coordinator)  # the organisation's chain head exists from here on
    with CaptureQueriesContext(connection) as queries:
        _create(coordinator)
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    statements = [s for s in statements if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]
    assert len(statements) == (2 if connection.vendor == "postgresql" else 6)


def test_children_go_in_the_roots_statement_on_postgresql(coordinator):
    """PostgreSQL: the children and their history rows in the root's statement, still two in all;
    SQLite: one INSERT for the children and one for their history rows after the six."""
    _create(coordinator)  # the chain head exists from here on
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        dossier = Dossier(organisation_id=coordinator.organisation_id, title="met notities", details={})
        notes = [DossierNote(dossier=dossier, text=f"notitie {n}") for n in range(3)]
        record_create(dossier, actor=coordinator, action="dossier.created", children=notes)
    statements = [q["sql"] for q in queries.captured_queries]
    statements = [s for s in statements if not s.startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]
    assert len(statements) == (2 if connection.vendor == "postgresql" else 8)
    # Each note got its own new id, in the order given, and points at the new dossier.
    stored = {n.pk: (n.dossier_id, n.text) for n in DossierNote.objects.filter(dossier=dossier)}
    assert [stored[n.pk] for n in notes] == [(dossier.pk, f"notitie {i}") for i in range(3)]
    assert [n.pk for n in notes] == sorted(n.pk for n in notes)
    assert all(n.dossier is dossier and n.dossier_id == dossier.pk and not n._state.adding for n in notes)
    assert sorted(DossierNote.history.filter(dossier_id=dossier.pk).values_list("id", flat=True)) == sorted(stored)


def test_a_child_that_points_at_another_record_is_refused_before_anything_is_written(coordinator):
    other = _create(coordinator)
    before = (DataKey.objects.count(), Dossier.objects.count(), AuditEvent.objects.count())
    root = Dossier(organisation_id=coordinator.organisation_id, title="x", details={})
    with pytest.raises(ValueError, match="points at its root"), transaction.atomic():
        record_create(
            root, actor=coordinator, action="dossier.created", children=[DossierNote(dossier=other, text="t")]
        )
    assert (DataKey.objects.count(), Dossier.objects.count(), AuditEvent.objects.count()) == before
    assert root.pk is None


def test_children_share_the_key_and_get_history(coordinator):
    with transaction.atomic():
        dossier = Dossier(organisation_id=coordinator.organisation_id, title="met notities", details={})
        notes = [DossierNote(dossier=dossier, text=f"notitie {n}") for n in range(2)]
        record_create(dossier, actor=coordinator, action="dossier.created", children=notes)

    stored = list(DossierNote.objects.filter(dossier=dossier).order_by("pk"))
    assert [n.text for n in stored] == ["notitie 0", "notitie 1"]
    assert {n.data_key_id for n in stored} == {dossier.data_key_id}
    history = [(h.id, h.history_user_id, h.text) for h in DossierNote.history.order_by("id")]
    assert history == [(n.pk, coordinator.pk, n.text) for n in stored]
    assert list(DossierNote.history.order_by("id").values_list("text", flat=True)) == list(
        DossierNote.objects.filter(dossier=dossier).order_by("pk").values_list("text", flat=True)
    )


def test_a_failure_later_in_the_transaction_leaves_nothing(coordinator):
    _create(coordinator)
    before = (DataKey.objects.count(), Dossier.objects.count(), Dossier.history.count(), AuditEvent.objects.count())
    head = AuditChainHead.objects.values("last_seq", "last_hash").get()
    with pytest.raises(RuntimeError, match="later"), transaction.atomic():
        record_create(
            Dossier(organisation_id=coordinator.organisation_id, title="weg", details={}),
            actor=coordinator,
            action="dossier.created",
        )
        raise RuntimeError("something later in the service failed")
    after = (DataKey.objects.count(), Dossier.objects.count(), Dossier.history.count(), AuditEvent.objects.count())
    assert after == before
    assert AuditChainHead.objects.values("last_seq", "last_hash").get() == head
    assert audit_chain_verify().ok


def test_refuses_what_it_cannot_do_right(coordinator):
    existing = _create(coordinator)
    with pytest.raises(ValueError, match="new aggregate"), transaction.atomic():
        record_create(existing, actor=coordinator, action="dossier.created")

    def receiver(sender, instance, **kwargs):
        instance.kvk_index = "changed by a receiver"

    pre_save.connect(receiver, sender=Dossier)
    try:
        with pytest.raises(RuntimeError, match="pre_save/post_save receivers"), transaction.atomic():
            record_create(
                Dossier(organisation_id=coordinator.organisation_id, title="y", details={}),
                actor=coordinator,
                action="dossier.created",
            )
    finally:
        pre_save.disconnect(receiver, sender=Dossier)
    assert Dossier.objects.count() == 1 and DataKey.objects.count() == 1


def test_history_receivers_see_the_history_row(coordinator):
    from simple_history.signals import post_create_historical_record

    seen = []

    def receiver(sender, history_instance, **kwargs):
        seen.append((history_instance.id, history_instance.title))

    post_create_historical_record.connect(receiver, sender=Dossier.history.model)
    try:
        dossier = _create(coordinator)
    finally:
        post_create_historical_record.disconnect(receiver, sender=Dossier.history.model)
    assert seen == [(dossier.pk, "titel")]
    assert Dossier.history.filter(id=dossier.pk).count() == 1


def test_a_database_error_on_the_fast_path_is_djangos(coordinator):
    """Unwatched (no query log), SQLite writes go through the driver's cursor: its errors still
    arrive as Django's, so the services' except IntegrityError clauses hold."""
    from privacy.sql import insert_row

    dossier = _create(coordinator)
    key = DataKey.objects.get(pk=dossier.data_key_id)
    assert not connection.queries_logged
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(
            DataKey,
            {"id": key.pk, "master_key_id": key.master_key_id, "wrapped_key": b"x", "created_at": key.created_at},
        )
    assert DataKey.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_writes_are_prepared_once_per_connection_unless_switched_off(coordinator, settings):
    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return [row[0] for row in cursor.fetchall()]

    settings.WEERBAAR_PREPARED_WRITES = False
    connection.connection.prepare_threshold = None
    connection.connection._prepared.clear()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    _create(coordinator)
    assert prepared() == []

    settings.WEERBAAR_PREPARED_WRITES = True
    for _ in range(3):
        _create(coordinator)
    statements = prepared()
    assert any(s.startswith("WITH new_key AS (INSERT INTO") for s in statements)
    assert any(s.startswith("WITH new_event AS (INSERT INTO") for s in statements)
    # Django's own statements stay unprepared (bound on the client, for connection poolers).
    assert not any("accounts_user" in s for s in statements)
    assert audit_chain_verify().ok and audit_chain_verify().checked == 4


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_refuses(coordinator):
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        record_create(
            Dossier(organisation_id=coordinator.organisation_id, title="x", details={}),
            actor=coordinator,
            action="dossier.created",
        )
    assert not Dossier.objects.exists() and not DataKey.objects.exists()


def test_values_skipped_by_the_shortcut_are_what_the_fields_would_have_made(coordinator):
    """privacy.sql skips get_db_prep_save for values it returns unchanged; for every field of the
    models written this way, and values of every kind they hold, the result is the same."""
    import datetime
    import uuid
    import zoneinfo

    from django.utils import timezone

    from privacy.sql import prepared_values
    from signals.models import Signal, Subject

    samples = [None, "tekst", "", 7, 0, -3, 2**40, True, False, uuid.uuid4(), b"\x00\x01", {"a": [1, "b"]}]
    samples += [datetime.date(2026, 3, 14), datetime.datetime(2026, 3, 14, 9, 30, tzinfo=datetime.UTC)]
    samples += [datetime.datetime(2026, 3, 14, 9, 30, 5, 123456, tzinfo=datetime.UTC), timezone.now()]
    samples += [datetime.datetime(2026, 3, 14, 10, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))]
    samples += [datetime.datetime(2026, 3, 14, 10, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Amsterdam"))]
    for model in (Dossier, DossierNote, Signal, Subject, AuditEvent, DataKey, Dossier.history.model):
        for field in model._meta.concrete_fields:
            for value in samples:
                try:
                    expected = field.get_db_prep_save(value, connection)
                except (TypeError, ValueError, AttributeError, ValidationError, RuntimeWarning):
                    continue  # a value this field does not take at all
                assert [_comparable(v) for v in prepared_values((field,), [value], connection)] == [
                    _comparable(expected)
                ], (
                    model,
                    field.name,
                    value,
                )


def _comparable(value):
    """An adapted value with its type (an int and psycopg's Int8 compare equal, but are sent as
    different types); memoryview and psycopg's Jsonb and Binary wrappers by content."""
    if isinstance(value, memoryview):
        return bytes(value)
    if type(value).__module__.startswith("psycopg") and hasattr(value, "obj"):
        return (type(value).__name__, _comparable(value.obj))
    return (type(value).__name__, value)


def test_a_model_with_a_save_of_its_own_is_refused(coordinator):
    """record_create does not call save(); a model that does more there must keep using save()."""
    from django.test.utils import isolate_apps

    from privacy.records import _plan

    with isolate_apps("tests.example"):

        class Checked(Dossier):
            class Meta:
                proxy = True
                app_label = "example"

            def save(self, *args, **kwargs):  # pragma: no cover - never called
                raise AssertionError

    with pytest.raises(ValueError, match="without a save"):
        _plan(Checked)
    assert _plan(Dossier).model is Dossier


def test_a_transaction_broken_by_an_earlier_error_is_refused(coordinator):
    """As Django's own cursor does: after an error caught without a savepoint, the transaction can
    only be rolled back; writing on would be thrown away silently at its end."""
    from django.db.transaction import TransactionManagementError

    existing = _create(coordinator)
    with transaction.atomic():
        try:
            with transaction.atomic(savepoint=False):
                DataKey.objects.create(pk=existing.data_key_id, master_key_id="x", wrapped_key=b"x")
        except IntegrityError:
            pass
        with pytest.raises(TransactionManagementError):
            record_create(
                Dossier(organisation_id=coordinator.organisation_id, title="na de fout", details={}),
                actor=coordinator,
                action="dossier.created",
            )
        transaction.set_rollback(True)


def test_unsaved_related_objects_and_expressions_are_refused(coordinator):
    from django.db.models.functions import Now

    unsaved = Dossier(organisation_id=coordinator.organisation_id, title="ouder", details={})
    root = Dossier(organisation_id=coordinator.organisation_id, title="x", details={})
    with pytest.raises(ValueError, match="unsaved related object 'dossier'"), transaction.atomic():
        record_create(
            root, actor=coordinator, action="dossier.created", children=[DossierNote(dossier=unsaved, text="t")]
        )
    expression = Dossier(organisation_id=coordinator.organisation_id, title="x", details={}, created_at=Now())
    with pytest.raises(ValueError, match="not expressions"), transaction.atomic():
        record_create(expression, actor=coordinator, action="dossier.created")
    assert not Dossier.objects.exists() and not AuditEvent.objects.exists()


def test_insert_row_refuses_a_model_that_something_listens_to(coordinator):
    """insert_row (the outbox row of a signal, data keys, history rows) sends no pre_save or
    post_save; a receiver added later must not be skipped silently."""
    from django.db.models.signals import post_save

    from privacy.sql import insert_row
    from signals.models import CoordinatorNotification

    def receiver(**kwargs):
        pass  # only its presence matters

    post_save.connect(receiver, sender=CoordinatorNotification)
    try:
        with transaction.atomic(), pytest.raises(RuntimeError, match="receivers"):
            insert_row(CoordinatorNotification, {"signal_id": 1, "created_at": None, "sent_at": None})
    finally:
        post_save.disconnect(receiver, sender=CoordinatorNotification)
    assert not CoordinatorNotification.objects.exists()
