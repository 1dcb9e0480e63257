from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from audit.selectors import audit_chain_verify
from privacy import services
from privacy.models import DataKey, RetentionPolicy, RetentionPostponement, Tombstone
from privacy.tasks import purge_expired_records, send_retention_reminders
from tests.example.models import Dossier, DossierNote
from tests.example.services import dossier_add_note, dossier_close, dossier_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation)


@pytest.fixture
def privacy_officer(make_user, organisation):
    return make_user(role=Role.PRIVACY_OFFICER, organisation=organisation, email="fg@example.org")


def _closed_dossier(actor, **kwargs) -> Dossier:
    dossier = dossier_create(actor=actor, title="te vernietigen", details={"x": 1}, attachment=b"bijlage", **kwargs)
    dossier_add_note(actor=actor, dossier=dossier, text="notitie")
    return dossier_close(actor=actor, dossier=Dossier.objects.get(pk=dossier.pk))


def test_expiry_is_computed_once_when_the_clock_starts(coordinator, make_user):
    dossier = _closed_dossier(coordinator)
    assert dossier.retention_expires_at == dossier.retention_started_at + relativedelta(months=6)

    admin = make_user(role=Role.ADMIN, organisation=coordinator.organisation)
    policy = RetentionPolicy.objects.get(organisation=coordinator.organisation, record_type="example_dossier")
    services.retention_policy_update(
        actor=admin,
        policy=policy,
        term_months=24,
        starts_at=policy.starts_at,
        selectielijst_category="x",
        reminder_days=30,
    )

    dossier.refresh_from_db()
    assert dossier.retention_expires_at == dossier.retention_started_at + relativedelta(months=6)
    event = AuditEvent.objects.get(action="retention.policy_changed")
    assert event.data["changed"]["term_months"] == {"before": 6, "after": 24}


def test_policy_is_per_organisation(coordinator, make_user, other_organisation):
    stranger = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    admin_elsewhere = make_user(role=Role.ADMIN, organisation=other_organisation)
    _closed_dossier(coordinator)
    _closed_dossier(stranger)
    policy = RetentionPolicy.objects.get(organisation=coordinator.organisation, record_type="example_dossier")

    with pytest.raises(PermissionDenied):
        services.retention_policy_update(
            actor=admin_elsewhere,
            policy=policy,
            term_months=1,
            starts_at="",
            selectielijst_category="",
            reminder_days=1,
        )


def test_postponing_needs_a_reason_and_is_audited(coordinator, privacy_officer):
    dossier = _closed_dossier(coordinator)
    before = dossier.retention_expires_at
    later = before + timedelta(days=90)

    with pytest.raises(ValidationError):
        services.retention_postpone(actor=privacy_officer, record=dossier, until=later, reason="kort")
    with pytest.raises(ValidationError):
        services.retention_postpone(
            actor=privacy_officer, record=dossier, until=before, reason="bezwaarprocedure loopt"
        )
    with pytest.raises(PermissionDenied):
        services.retention_postpone(actor=coordinator, record=dossier, until=later, reason="bezwaarprocedure loopt")
    dossier.refresh_from_db()
    assert dossier.retention_expires_at == before

    services.retention_postpone(actor=privacy_officer, record=dossier, until=later, reason="bezwaarprocedure loopt")

    dossier.refresh_from_db()
    assert dossier.retention_expires_at == later
    event = AuditEvent.objects.get(action="retention.postponed")
    assert event.actor_id == privacy_officer.pk
    assert "bezwaar" not in str(event.data)
    stored_reason = RetentionPostponement.objects.values_list("reason", flat=True).get()
    assert stored_reason.startswith("wb1:")


def test_dry_run_lists_and_changes_nothing(coordinator):
    dossier = _closed_dossier(coordinator)
    out = StringIO()
    with time_machine.travel(dossier.retention_expires_at + timedelta(days=1)):
        call_command("purge_expired", "--dry-run", stdout=out)
    assert f"zou vernietigen: example_dossier {dossier.pk}" in out.getvalue()
    assert Dossier.objects.filter(pk=dossier.pk).exists()
    assert not Tombstone.objects.exists()


def test_purge_destroys_record_children_history_files_and_key_and_leaves_a_tombstone(
    coordinator, django_capture_on_commit_callbacks
):
    dossier = _closed_dossier(coordinator)
    keep = _closed_dossier(coordinator)
    Dossier.objects.filter(pk=keep.pk).update(retention_expires_at=timezone.now() + timedelta(days=365 * 3))
    key_id = dossier.data_key_id
    file_folder = Path(default_storage.path(f"encrypted/{key_id}"))
    assert file_folder.exists()

    out = StringIO()
    with (
        time_machine.travel(dossier.retention_expires_at + timedelta(days=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("purge_expired", stdout=out)

    assert "1 record(s) vernietigd" in out.getvalue()
    assert not Dossier.objects.filter(pk=dossier.pk).exists()
    assert not Dossier.history.filter(id=dossier.pk).exists()
    assert not DossierNote.objects.filter(data_key_id=key_id).exists()
    assert not DossierNote.history.filter(data_key_id=key_id).exists()
    assert not DataKey.objects.filter(pk=key_id).exists()
    assert not file_folder.exists()
    tombstone = Tombstone.objects.get(record_id=str(dossier.pk))
    assert tombstone.record_type == "example_dossier"
    assert tombstone.organisation_id == coordinator.organisation_id
    assert tombstone.term_months == 6
    assert tombstone.purged_by == "commando purge_expired"
    # The other record is untouched and readable.
    assert Dossier.objects.get(pk=keep.pk).title == "te vernietigen"
    # Audit events outlive the record, the chain stays intact, and they hold no content.
    # Under the record's own label, as its other events are, so a filter by record finds it.
    purged = AuditEvent.objects.get(action="retention.purged", record_id=str(dossier.pk))
    assert purged.record_type == "example.dossier"
    assert purged.data == {
        "tombstone_id": tombstone.pk,
        "retention_type": "example_dossier",
        "removed_by": "commando purge_expired",
    }
    assert audit_chain_verify().ok


def test_purge_interrupted_after_commit_is_finished_by_the_next_run(coordinator, django_capture_on_commit_callbacks):
    dossier = _closed_dossier(coordinator)
    folder = Path(default_storage.path(f"encrypted/{dossier.data_key_id}"))
    with time_machine.travel(dossier.retention_expires_at + timedelta(days=1)):
        # The process dies right after the commit: the file removal never runs.
        with django_capture_on_commit_callbacks(execute=False):
            services.purge_expired(removed_by="test")
        assert folder.exists()  # left behind, but its key is gone: unreadable

    with time_machine.travel(dossier.retention_expires_at + timedelta(days=2)):
        assert purge_expired_records() == 0  # the next daily run removes the folder
    assert not folder.exists()
    assert Tombstone.objects.filter(record_id=str(dossier.pk)).count() == 1


def test_purging_twice_is_harmless(coordinator):
    dossier = _closed_dossier(coordinator)
    with time_machine.travel(dossier.retention_expires_at + timedelta(days=1)):
        assert purge_expired_records() == 1
        assert purge_expired_records() == 0
    assert Tombstone.objects.count() == 1


def test_open_records_are_never_purged(coordinator):
    dossier = dossier_create(actor=coordinator, title="open", details={})
    with time_machine.travel(timezone.now() + timedelta(days=365 * 20)):
        assert purge_expired_records() == 0
    assert Dossier.objects.filter(pk=dossier.pk).exists()


def test_reminder_mail_before_expiry_holds_a_count_and_link_only(coordinator, privacy_officer):
    dossier = _closed_dossier(coordinator)
    with time_machine.travel(dossier.retention_expires_at - timedelta(days=10)):
        assert send_retention_reminders() == 1
        assert send_retention_reminders() == 0  # not twice
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fg@example.org"]
    assert "te vernietigen" not in message.body
    assert "/audit/bewaartermijnen/" in message.body


def test_a_reminder_nobody_could_receive_is_sent_once_someone_can(coordinator, make_user, organisation):
    dossier = _closed_dossier(coordinator)
    with time_machine.travel(dossier.retention_expires_at - timedelta(days=10)):
        assert send_retention_reminders() == 0  # no privacy officer with an e-mail address yet
        assert mail.outbox == []
        Dossier.objects.filter(pk=dossier.pk, retention_reminded_at__isnull=True).get()
        make_user(role=Role.PRIVACY_OFFICER, organisation=organisation, email="fg-nieuw@example.org")
    with time_machine.travel(dossier.retention_expires_at - timedelta(days=9)):
        assert send_retention_reminders() == 1
    assert [m.to for m in mail.outbox] == [["fg-nieuw@example.org"]]


def test_one_refused_reminder_does_not_keep_the_others_from_theirs(
    coordinator, privacy_officer, make_user, other_organisation, monkeypatch
):
    import smtplib

    from privacy import tasks

    elsewhere = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    make_user(role=Role.PRIVACY_OFFICER, organisation=other_organisation, email="geweigerd@example.org")
    ours, theirs = _closed_dossier(coordinator), _closed_dossier(elsewhere)
    real_send = tasks.send_mail

    def send(*, recipient_list, **kwargs):
        if recipient_list == ["geweigerd@example.org"]:
            raise smtplib.SMTPRecipientsRefused({recipient_list[0]: (550, b"no such user")})
        return real_send(recipient_list=recipient_list, **kwargs)

    monkeypatch.setattr(tasks, "send_mail", send)
    with time_machine.travel(ours.retention_expires_at - timedelta(days=10)):
        assert send_retention_reminders() == 1
    assert [m.to for m in mail.outbox] == [["fg@example.org"]]
    assert Dossier.objects.get(pk=ours.pk).retention_reminded_at is not None
    assert Dossier.objects.get(pk=theirs.pk).retention_reminded_at is None  # tried again tomorrow


def test_no_reminder_long_before_expiry(coordinator, privacy_officer):
    _closed_dossier(coordinator)
    assert send_retention_reminders() == 0
    assert mail.outbox == []


def test_periodic_jobs_are_scheduled():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "privacy.tasks.purge_expired_records",
        "privacy.tasks.send_retention_reminders",
        "audit.tasks.verify_audit_chain_nightly",
    } <= tasks


def test_a_record_postponed_while_the_purge_runs_is_not_destroyed(coordinator, privacy_officer):
    dossier = _closed_dossier(coordinator)
    with time_machine.travel(dossier.retention_expires_at + timedelta(days=1)):
        listed = [record for _, record in services.expired_records()]
        services.retention_postpone(
            actor=privacy_officer,
            record=Dossier.objects.get(pk=dossier.pk),
            until=timezone.now() + timedelta(days=60),
            reason="bezwaarprocedure loopt nog",
        )
        assert services.record_purge(record=listed[0], removed_by="test") is None
    assert Dossier.objects.get(pk=dossier.pk).title == "te vernietigen"
    assert not Tombstone.objects.exists()


def test_orphan_folders_are_removed_only_after_a_grace_period():
    import uuid

    from django.core.files.base import ContentFile

    from privacy.files import orphan_file_folders_delete

    name = default_storage.save(f"encrypted/{uuid.uuid4()}/upload", ContentFile(b"versleuteld"))
    assert orphan_file_folders_delete() == 0  # may be an upload whose transaction is still open
    assert default_storage.exists(name)
    assert orphan_file_folders_delete(now=timezone.now() + timedelta(hours=25)) == 1
    assert not default_storage.exists(name)


def test_every_retained_model_indexes_its_expiry_date():
    """A system check: purging finds expired records by this index (a partial one: records whose
    clock has not started are not in it)."""
    from django.db import models
    from django.test.utils import isolate_apps

    from privacy.apps import check_retention_expiry_index, expiry_index_errors
    from privacy.models import RetainedRecord, retention_expiry_index

    assert check_retention_expiry_index() == []

    with isolate_apps("tests.example"):

        class Forgotten(RetainedRecord):
            class Meta:
                app_label = "example"
                indexes = [models.Index(fields=["retention_started_at"], name="forgotten_started")]

        class Remembered(RetainedRecord):
            class Meta:
                app_label = "example"
                indexes = [retention_expiry_index()]

        errors = expiry_index_errors([Forgotten, Remembered])
    assert [(e.id, e.obj) for e in errors] == [("privacy.E002", Forgotten)]


def test_a_record_type_has_one_holder():
    """The retention pages and purge_expired find a record by its type and id."""
    from django.test.utils import isolate_apps

    from privacy.models import RetainedRecord
    from privacy.retention import register_model, retained_models
    from signals.models import Signal

    assert retained_models()["signal_without_case"] is Signal
    assert retained_models()["example_dossier"] is Dossier
    register_model(Signal)  # the same model again: nothing changes
    with isolate_apps("tests.example"):

        class Impostor(RetainedRecord):
            RETENTION_RECORD_TYPE = "signal_without_case"

            class Meta:
                app_label = "example"

        with pytest.raises(ValueError, match="held by Signal already, not Impostor"):
            register_model(Impostor)
    assert retained_models()["signal_without_case"] is Signal


@pytest.mark.django_db(transaction=True)
def test_purged_keys_and_ciphertexts_do_not_linger_in_the_sqlite_file(coordinator):
    """Crypto-shredding on the embedded database: SQLite keeps deleted rows in free pages unless
    secure_delete is on, and some builds have it off by default."""
    from django.db import connection

    from config.embedded import SQLITE_OPTIONS
    from tests.privacy.test_encryption import _raw_database_bytes

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL removes dead rows with VACUUM (docs/privacy-and-audit.md)")
    # Set by the product, not left to the build's default (on in Debian's, off in upstream's).
    assert "PRAGMA secure_delete=ON" in SQLITE_OPTIONS["init_command"].split(";")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        assert cursor.fetchone()[0] == 1
    dossier = _closed_dossier(coordinator)
    key = DataKey.objects.get(pk=dossier.data_key_id)
    wrapped = bytes(key.wrapped_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT title FROM example_dossier WHERE id = %s", [dossier.pk])
        (ciphertext,) = cursor.fetchone()
    assert wrapped in _raw_database_bytes() and ciphertext.encode() in _raw_database_bytes()

    services.purge_expired(now=dossier.retention_expires_at + timedelta(days=1), removed_by="test")

    raw = _raw_database_bytes()
    assert wrapped not in raw
    assert ciphertext.encode() not in raw


def test_the_tombstone_records_the_term_that_was_applied_not_a_later_policy(coordinator, make_user):
    dossier = _closed_dossier(coordinator)
    assert (dossier.retention_term_months, dossier.retention_category) == (6, "Test")
    admin = make_user(role=Role.ADMIN, organisation=coordinator.organisation)
    policy = RetentionPolicy.objects.get(organisation=coordinator.organisation, record_type="example_dossier")
    services.retention_policy_update(
        actor=admin,
        policy=policy,
        term_months=120,
        starts_at="afsluiting",
        selectielijst_category="Nieuw",
        reminder_days=30,
    )

    services.purge_expired(now=dossier.retention_expires_at + timedelta(days=1), removed_by="test")

    tombstone = Tombstone.objects.get(record_id=str(dossier.pk))
    assert (tombstone.term_months, tombstone.selectielijst_category) == (6, "Test")
