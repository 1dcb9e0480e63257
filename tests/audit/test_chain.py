"""The audit trail: chained events per organisation; tampering by raw SQL is detected and named."""

from __future__ import annotations

import itertools
import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from accounts.roles import Role
from audit.models import AccessLog, AuditChainHead, AuditEvent
from audit.selectors import audit_chain_verify
from audit.services import audit_event_record
from audit.tasks import verify_audit_chain_nightly
from tests.example.services import dossier_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(make_user, organisation, other_organisation):
    """Five events in one organisation's chain and two in another's."""
    actor = make_user(role=Role.COORDINATOR, organisation=organisation)
    other = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    for i in range(5):
        dossier_create(actor=actor, title=f"dossier {i}", details={})
    for i in range(2):
        dossier_create(actor=other, title=f"elders {i}", details={})
    return list(AuditEvent.objects.filter(organisation=organisation).order_by("seq"))


@pytest.fixture(autouse=True)
def _anchor_file(settings, tmp_path):
    """The nightly check's anchor file, one per test (not the shared var/)."""
    settings.WEERBAAR_AUDIT_ANCHOR_FILE = tmp_path / "audit-anchor.json"
    return settings.WEERBAAR_AUDIT_ANCHOR_FILE


def _raw(sql: str, params=()) -> None:
    """What a database administrator could do, bypassing the product."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a superuser switching the triggers off
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_the_moment_reads_back_exactly_as_it_was_hashed(make_user, organisation, time_machine):
    """verify reads the moment as text, formatted by the database (PostgreSQL from its timestamp,
    SQLite from the text Django wrote); a whole second, a far-off year and a moment in summer time hash the same as written."""
    actor = make_user(role=Role.COORDINATOR, organisation=organisation)
    for moment in ("2026-03-14 09:30:00 +00:00", "2099-12-31 23:59:59.999999 +00:00", "2026-07-01 12:00:00.5 +02:00"):
        time_machine.move_to(moment, tick=False)
        dossier_create(actor=actor, title="moment", details={})
    assert audit_chain_verify().ok and audit_chain_verify().checked == 3


def test_a_changed_moment_is_found(events):
    _raw(
        "UPDATE audit_auditevent SET at = at + interval '1 microsecond' WHERE id = %s"
        if connection.vendor == "postgresql"
        else "UPDATE audit_auditevent SET at = '2020-01-01 00:00:00.000001' WHERE id = %s",
        [events[2].pk],
    )
    report = audit_chain_verify()
    assert not report.ok and report.problem.event_id == events[2].pk


@pytest.mark.django_db(transaction=True)
def test_events_written_during_the_check_are_no_alarm(events, make_user, organisation, monkeypatch):
    """Another request stores an event while the nightly check walks the chain."""
    import threading

    from django.db import connections

    import audit.selectors

    actor = make_user(role=Role.COORDINATOR, organisation=organisation)
    walk = audit.selectors._event_rows

    def another_request():
        try:
            dossier_create(actor=actor, title="tijdens de controle", details={})
        finally:
            connections.close_all()

    def walk_while_others_write(chain, batch=5000):
        rows = walk(chain, batch)
        yield next(rows)
        writer = threading.Thread(target=another_request)
        writer.start()
        writer.join()
        yield from rows

    monkeypatch.setattr(audit.selectors, "_event_rows", walk_while_others_write)
    report = audit_chain_verify()
    assert report.ok, report.problem
    assert AuditChainHead.objects.get(chain=events[0].chain).last_seq == 6


def test_an_event_beyond_the_head_is_found(events):
    """An event after the last one, correctly hashed (as only the application could), that did
    not move the head: the chain itself agrees, the head after the walk does not."""
    from audit.chain import event_hash
    from privacy.keyring import keyring

    last = events[-1]
    fields = {
        "chain": last.chain,
        "seq": last.seq + 1,
        "at": last.at,
        "organisation_id": last.organisation_id,
        "actor_id": last.actor_id,
        "actor_role": last.actor_role,
        "action": "dossier.created",
        "record_type": "",
        "record_id": "",
        "data": {},
        "prev_hash": last.hash,
    }
    AuditEvent.objects.bulk_create([AuditEvent(**fields, hash=event_hash(key=keyring().audit_key, **fields))])

    report = audit_chain_verify()
    assert not report.ok
    assert (report.problem.event_id, report.problem.seq) == (None, last.seq + 1)
    assert "einde van de keten" in report.problem.reason


def test_services_write_a_chain_per_organisation(events, organisation):
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == ""
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert {e.action for e in events} == {"dossier.created"}
    assert audit_chain_verify().ok
    assert audit_chain_verify().checked == 7


def test_events_hold_no_content(events):
    for event in events:
        assert "dossier" not in str(event.data)
        assert event.record_type == "example.dossier"


def test_an_altered_row_is_detected_and_named(events):
    victim = events[2]
    _raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["dossier.verwijderd", victim.pk])

    report = audit_chain_verify()

    assert not report.ok
    assert report.problem.event_id == victim.pk
    assert "gewijzigd" in report.problem.reason


def test_a_removed_row_is_detected_and_named(events):
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    report = audit_chain_verify()

    assert not report.ok
    assert report.problem.event_id == events[2].pk
    assert "ontbreken" in report.problem.reason


def test_an_inserted_row_is_detected_and_named(events):
    last = events[-1]
    _raw("UPDATE audit_auditevent SET seq = seq + 1 WHERE id = %s", [last.pk])
    _raw(
        "INSERT INTO audit_auditevent (chain, seq, at, organisation_id, actor_id, actor_role, action, record_type,"
        " record_id, data, prev_hash, hash) VALUES (%s, %s, %s, %s, NULL, '', 'vals', '', '', '{}', %s, %s)",
        [last.chain, last.seq, last.at, last.organisation_id, events[-2].hash, "0" * 64],
    )

    report = audit_chain_verify()

    assert not report.ok
    inserted = AuditEvent.objects.get(action="vals")
    assert report.problem.event_id == inserted.pk


def test_removing_the_newest_events_is_detected(events):
    _raw("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [events[-1].pk, events[-2].pk])

    report = audit_chain_verify()

    assert not report.ok
    assert "verwijderd" in report.problem.reason


def test_the_command_exits_non_zero_and_names_the_event(events):
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert "Audittrail intact: 7 events in 2 ketens" in out.getvalue()

    _raw("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"x": 1}', events[0].pk])
    with pytest.raises(CommandError, match=f"event {events[0].pk} "):
        call_command("verify_audit_chain", stdout=out)


def test_checking_one_chain_that_does_not_exist_is_no_success(events):
    chain = events[0].chain
    out = StringIO()
    call_command("verify_audit_chain", "--chain", chain, stdout=out)
    assert "Audittrail intact: 5 events in 1 ketens" in out.getvalue()
    with pytest.raises(CommandError, match="Keten org:999999 bestaat niet"):
        call_command("verify_audit_chain", "--chain", "org:999999", stdout=StringIO())


def test_nightly_check_alerts_administrators_without_content(events, make_user, other_organisation):
    make_user(role=Role.PRIVACY_OFFICER, organisation=events[0].organisation, email="fg@example.org")
    make_user(role=Role.PRIVACY_OFFICER, organisation=other_organisation, email="fg-elders@example.org")
    assert verify_audit_chain_nightly() is True
    assert mail.outbox == []

    _raw("UPDATE audit_auditevent SET actor_role = 'admin' WHERE id = %s", [events[3].pk])

    assert verify_audit_chain_nightly() is False
    assert [m.to for m in mail.outbox] == [["fg@example.org"]]  # not the other organisation's officer
    assert f"event {events[3].pk}" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_writing_an_event_outside_a_transaction_is_refused(make_user):
    with pytest.raises(RuntimeError):
        audit_event_record(actor=make_user(), action="x", organisation_id=None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="de triggers zijn er alleen op PostgreSQL")
def test_postgresql_refuses_update_and_delete_of_audit_data(events, make_user):
    from audit.services import access_log_record

    access_log_record(user=make_user(), record_type="x", page="p")
    for table in ("audit_auditevent", "audit_accesslog"):
        for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):  # noqa: S608
            with (
                pytest.raises(DatabaseError, match="kunnen niet worden gewijzigd"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql)
    assert AuditEvent.objects.count() == 7
    assert AccessLog.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="de triggers zijn er alleen op PostgreSQL")
def test_postgresql_refuses_truncate_and_moving_a_chain_head_back():
    from tests.conftest import TRUNCATE_TRIGGERS

    with connection.cursor() as cursor:
        for table, trigger in TRUNCATE_TRIGGERS.items():
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    for table in TRUNCATE_TRIGGERS:
        with (
            pytest.raises(DatabaseError, match="kunnen niet worden gewijzigd"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {table} CASCADE")
    AuditChainHead.objects.create(chain="org:999", last_seq=5, last_hash="x")
    for sql in (
        "UPDATE audit_auditchainhead SET last_seq = 4 WHERE chain = 'org:999'",
        "DELETE FROM audit_auditchainhead WHERE chain = 'org:999'",
    ):
        with (
            pytest.raises(DatabaseError, match="kunnen niet worden gewijzigd"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditChainHead.objects.get(chain="org:999").last_seq == 5


def test_an_event_moved_to_another_organisation_is_detected(events, other_organisation):
    _raw("UPDATE audit_auditevent SET organisation_id = %s WHERE id = %s", [other_organisation.pk, events[1].pk])

    report = audit_chain_verify()

    assert not report.ok
    assert report.problem.event_id == events[1].pk


def test_audit_data_refuses_values_that_do_not_survive_json(make_user):
    with pytest.raises(TypeError), transaction.atomic():
        audit_event_record(actor=make_user(), action="x", organisation_id=None, data={"bedrag": 1e16})


def test_the_admin_offers_no_way_to_change_audit_data():
    from django.contrib import admin

    for model in (AuditEvent, AccessLog, AuditChainHead):
        assert not admin.site.is_registered(model)


def _cut_off_the_newest_event(events):
    """What someone who can switch the triggers off does: removes the newest event and moves the
    head back, which leaves a chain that verifies on its own. Returns the removed event."""
    last = events[-1]
    _raw("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    _raw(
        "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE chain = %s",
        [events[-2].seq, events[-2].hash, last.chain],
    )
    assert audit_chain_verify().ok  # the chain alone cannot tell
    return last


def test_an_anchor_kept_outside_the_database_catches_a_shortened_chain(events, tmp_path):
    anchor = tmp_path / "anker.json"
    call_command("verify_audit_chain", "--write-anchor", str(anchor), stdout=StringIO())

    last = _cut_off_the_newest_event(events)

    with pytest.raises(CommandError, match=f"event {last.seq} uit het anker bestaat niet meer"):
        call_command("verify_audit_chain", "--anchor", str(anchor), stdout=StringIO())


def test_the_nightly_check_catches_a_chain_shortened_since_the_night_before(events, make_user, _anchor_file, caplog):
    make_user(role=Role.PRIVACY_OFFICER, organisation=events[0].organisation, email="fg@example.org")
    UserFactory(role="", organisation=None, is_superuser=True, is_staff=True, email="beheer@example.org")
    assert verify_audit_chain_nightly() is True  # the first night starts the anchor
    assert json.loads(_anchor_file.read_text())[events[0].chain] == [events[-1].seq, events[-1].hash]

    last = _cut_off_the_newest_event(events)

    assert verify_audit_chain_nightly() is False
    assert sorted(m.to[0] for m in mail.outbox) == ["beheer@example.org", "fg@example.org"]
    assert f"event {last.seq} uit het anker bestaat niet meer" in mail.outbox[0].body
    # The anchor is kept as it was: the next night says it again.
    assert json.loads(_anchor_file.read_text())[events[0].chain] == [last.seq, last.hash]
    assert verify_audit_chain_nightly() is False


@pytest.mark.parametrize("content", ["{", "null", '{"org:1": 5}', '{"org:1": ["x", "y"]}', "[]"])
def test_a_damaged_anchor_file_is_no_success_and_is_kept(events, _anchor_file, content):
    UserFactory(role="", organisation=None, is_superuser=True, is_staff=True, email="beheer@example.org")
    _anchor_file.write_text(content)
    assert verify_audit_chain_nightly() is False
    assert [m.to for m in mail.outbox] == [["beheer@example.org"]]
    assert "beschadigd of gewijzigd" in mail.outbox[0].body
    assert _anchor_file.read_text() == content  # kept for whoever looks into it


def test_an_unreadable_anchor_file_is_no_success(events, _anchor_file):
    _anchor_file.mkdir()  # a folder where the file should be
    assert verify_audit_chain_nightly() is False


def test_verify_with_an_anchor_file_that_is_not_there_says_so(events, tmp_path):
    with pytest.raises(CommandError, match="is niet te lezen: FileNotFoundError"):
        call_command("verify_audit_chain", "--anchor", str(tmp_path / "weg.json"), stdout=StringIO())


def test_one_refused_address_does_not_keep_the_alert_from_the_others(events, make_user, monkeypatch):
    import smtplib

    from audit import tasks

    make_user(role=Role.PRIVACY_OFFICER, organisation=events[0].organisation, email="fg@example.org")
    UserFactory(role="", organisation=None, is_superuser=True, is_staff=True, email="a-geweigerd@example.org")
    real_send = tasks.send_mail

    def send(subject, message, sender, recipients):
        if recipients == ["a-geweigerd@example.org"]:
            raise smtplib.SMTPRecipientsRefused({recipients[0]: (550, b"no such user")})
        return real_send(subject, message, sender, recipients)

    monkeypatch.setattr(tasks, "send_mail", send)
    _raw("UPDATE audit_auditevent SET actor_role = 'admin' WHERE id = %s", [events[3].pk])
    assert verify_audit_chain_nightly() is False
    assert [m.to for m in mail.outbox] == [["fg@example.org"]]


def test_the_nightly_check_logs_the_anchor(events, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="audit.tasks"):
        assert verify_audit_chain_nightly() is True
    assert events[-1].hash in caplog.text


@pytest.mark.parametrize(
    "moment",
    [
        "2026-03-14T09:30:00+01:00",  # a whole second: microseconds are still written
        "2026-12-31T23:59:59.999999+00:00",
        "2027-01-01T00:30:00.000001+01:00",  # another day and year in UTC
        "2026-03-29T03:15:00.5+02:00",  # summer time
    ],
)
def test_the_hashed_moment_is_the_utc_text_it_always_was(moment):
    from datetime import UTC, datetime

    from audit.chain import utc_text

    at = datetime.fromisoformat(moment)
    assert utc_text(at) == at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_event_hash_is_the_one_it_always_was():
    """A fixed event and key give the digest the chain has always stored: a faster way of
    computing it must not break the chains already written."""
    from datetime import UTC, datetime

    from audit.chain import event_hash

    digest = event_hash(
        key=b"\x07" * 32,
        chain="org:7",
        seq=42,
        at=datetime(2026, 3, 14, 9, 30, 0, 123456, tzinfo=UTC),
        organisation_id=7,
        actor_id=None,
        actor_role="coordinator",
        action="signal.submitted",
        record_type="signals.signal",
        record_id="19",
        data={"zeta": 1, "alfa": ["ë", 2.5, True, None], "b": {"y": 1, "x": 2}},
        prev_hash="ab" * 32,
    )
    # HMAC-SHA256 over the fields joined by \x1f, the data as sorted, compact, non-ASCII JSON.
    assert digest == "ca25b728b142084ae3473670ea8f9a93a5877a2b7e63cbc831e12c26f90c730c"
