"""Writes of the privacy core: retention, destruction (crypto-shredding) and key rotation."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.roles import Action, user_can
from audit.services import audit_event_record
from privacy.crypto import data_key_rewrap
from privacy.files import data_key_files_delete
from privacy.models import DataKey, RetentionPolicy, RetentionPostponement, Tombstone
from privacy.retention import RECORD_TYPES, retained_models

logger = logging.getLogger(__name__)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

MIN_REASON_LENGTH = 10
MAX_REASON_LENGTH = 1000
MAX_POSTPONE_YEARS = 10
POSTPONE_LIMIT_MESSAGE = (
    f"Stel vernietiging hooguit {MAX_POSTPONE_YEARS} jaar uit. Is het daarna nog nodig, stel dan opnieuw uit, "
    "met de reden van dat moment."
)


def postpone_limit() -> date:
    """The furthest day a postponement may reach, counted from today (Amsterdam): a legal hold is
    looked at again at least this often, and no record is kept for good by one postponement."""
    return timezone.localdate(timezone=AMSTERDAM) + relativedelta(years=MAX_POSTPONE_YEARS)


def retention_policy_for(*, organisation_id: int, record_type: str) -> RetentionPolicy:
    """The organisation's policy for a record type, created from the defaults on first use."""
    default = RECORD_TYPES[record_type]
    policy, _ = RetentionPolicy.objects.get_or_create(
        organisation_id=organisation_id,
        record_type=record_type,
        defaults={
            "term_months": default.term_months,
            "starts_at": default.starts_at,
            "selectielijst_category": default.category,
        },
    )
    return policy


MAX_TERM_MONTHS = 1200


def retention_policy_update(
    *, actor, policy: RetentionPolicy, term_months: int, starts_at: str, selectielijst_category: str, reminder_days: int
) -> RetentionPolicy:
    if not user_can(actor, Action.MANAGE_RETENTION_POLICY) or policy.organisation_id != actor.organisation_id:
        raise PermissionDenied
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise ValidationError({"term_months": "Een bewaartermijn ligt tussen 1 en 1200 maanden."})
    new = {
        "term_months": term_months,
        "starts_at": starts_at,
        "selectielijst_category": selectielijst_category,
        "reminder_days": reminder_days,
    }
    with transaction.atomic(durable=True):
        locked = RetentionPolicy.objects.select_for_update().get(pk=policy.pk)
        # Every field that changed, before and after: codes, numbers and the archivist's label of
        # the selectielijst category, never personal data.
        changed = {
            name: {"before": getattr(locked, name), "after": value}
            for name, value in new.items()
            if getattr(locked, name) != value
        }
        for name, value in new.items():
            setattr(locked, name, value)
        locked.save()
        audit_event_record(
            actor=actor,
            action="retention.policy_changed",
            organisation_id=locked.organisation_id,
            record=locked,
            data={"record_type": locked.record_type, "changed": changed},
        )
    return locked


#: The fields retention_start and retention_stop change, for the caller's save(update_fields=...).
RETENTION_FIELDS = (
    "retention_started_at",
    "retention_expires_at",
    "retention_reminded_at",
    "retention_term_months",
    "retention_category",
)


def retention_start(*, record, started_at: datetime | None = None) -> None:
    """Starts the clock on `record` (unsaved change; the calling service saves and audits).

    The expiry date is computed once, now, from the organisation's policy. A postponement made
    while the clock ran before (the record was reopened since) still holds: a legal hold is not
    undone by closing the record again."""
    record_type = record.RETENTION_RECORD_TYPE
    policy = retention_policy_for(organisation_id=record.organisation_id, record_type=record_type)
    started_at = started_at or timezone.now()
    expires_at = started_at + relativedelta(months=policy.term_months)
    if record.pk is not None:
        held_until = (
            RetentionPostponement.objects.filter(
                organisation_id=record.organisation_id, record_type=record_type, record_id=str(record.pk)
            )
            .order_by("-new_expiry")
            .values_list("new_expiry", flat=True)
            .first()
        )
        if held_until is not None and held_until > expires_at:
            expires_at = held_until
    record.retention_started_at = started_at
    record.retention_expires_at = expires_at
    record.retention_reminded_at = None
    record.retention_term_months = policy.term_months
    record.retention_category = policy.selectielijst_category


def retention_stop(*, record) -> None:
    """Stops the clock on `record` (reopened: its term starts again when it is closed again).
    Unsaved change; the calling service saves and audits."""
    record.retention_started_at = None
    record.retention_expires_at = None
    record.retention_reminded_at = None
    record.retention_term_months = None
    record.retention_category = ""


def retention_postpone(*, actor, record, until: datetime, reason: str) -> RetentionPostponement:
    """Postpones destruction (e.g. a pending objection or court case). Needs a reason; audited."""
    if not user_can(actor, Action.POSTPONE_RETENTION) or record.organisation_id != actor.organisation_id:
        raise PermissionDenied
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationError({"reason": "Geef een reden van minstens 10 tekens waarom vernietiging moet wachten."})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError({"reason": f"Houd de reden kort: hooguit {MAX_REASON_LENGTH} tekens."})
    if until <= timezone.now():
        raise ValidationError({"until": "De nieuwe datum moet in de toekomst liggen."})
    if timezone.localtime(until, AMSTERDAM).date() > postpone_limit():
        raise ValidationError({"until": POSTPONE_LIMIT_MESSAGE})
    with transaction.atomic(durable=True):
        model = type(record)
        # Checked on the locked row: two people postponing at once cannot shorten each other's term.
        locked = model.objects.select_for_update().get(pk=record.pk)
        if locked.retention_expires_at is None:
            raise ValidationError("De bewaartermijn van dit record loopt nog niet.")
        if until <= locked.retention_expires_at:
            raise ValidationError({"until": "De nieuwe datum moet na de huidige vernietigingsdatum liggen."})
        postponement = RetentionPostponement(
            data_key_id=locked.data_key_id,
            organisation_id=locked.organisation_id,
            record_type=model.RETENTION_RECORD_TYPE,
            record_id=str(locked.pk),
            previous_expiry=locked.retention_expires_at,
            new_expiry=until,
            reason=reason,
            postponed_by=actor,
        )
        postponement.save()
        locked.retention_expires_at = until
        locked.retention_reminded_at = None
        locked._change_reason = "bewaartermijn uitgesteld"
        locked._history_user = actor
        locked.save(update_fields=["retention_expires_at", "retention_reminded_at"])
        audit_event_record(
            actor=actor,
            action="retention.postponed",
            organisation_id=locked.organisation_id,
            record=locked,
            data={"postponement_id": postponement.pk, "until": until.date().isoformat()},
        )
    record.retention_expires_at = until
    return postponement


def _models_holding_data_keys():
    return [
        model
        for model in apps.get_models()
        if any(f.name == "data_key" and f.related_model is DataKey for f in model._meta.fields)
    ]


def record_purge(*, record, removed_by: str, now: datetime | None = None) -> Tombstone | None:
    """Destroys one expired record: every row under its data key (children, history copies,
    postponement reasons), its files and the key itself, leaving a content-free tombstone. One
    transaction, so an interruption leaves the record whole and a rerun finishes it.

    Returns None when the record is gone or no longer expired (postponed meanwhile)."""
    model = type(record)
    record_type = model.RETENTION_RECORD_TYPE
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        record = model._base_manager.select_for_update().filter(pk=record.pk).first()
        if record is None or record.retention_expires_at is None or record.retention_expires_at > now:
            return None
        # The term and category applied when the clock started; today's policy for records whose
        # clock started before they were kept.
        if record.retention_term_months is None:
            policy = retention_policy_for(organisation_id=record.organisation_id, record_type=record_type)
            term_months, category = policy.term_months, policy.selectielijst_category
        else:
            term_months, category = record.retention_term_months, record.retention_category
        key_id = record.data_key_id
        tombstone, _ = Tombstone.objects.get_or_create(
            record_type=record_type,
            record_id=str(record.pk),
            defaults={
                "organisation_id": record.organisation_id,
                "record_created_at": getattr(record, "created_at", None),
                "retention_started_at": record.retention_started_at,
                "retention_expired_at": record.retention_expires_at,
                "term_months": term_months,
                "selectielijst_category": category,
                "purged_by": removed_by,
            },
        )
        record.delete()  # cascades to children; WeerbaarHistoricalRecords deletes their history
        for holder in _models_holding_data_keys():
            holder._base_manager.filter(data_key_id=key_id).delete()
        DataKey.objects.filter(pk=key_id).delete()
        audit_event_record(
            actor=None,
            action="retention.purged",
            organisation_id=tombstone.organisation_id,
            # The model's label, as every other event and access-log entry of the record has, so
            # filtering the audit trail by record shows its destruction too.
            record_type=model._meta.label_lower,
            record_id=tombstone.record_id,
            data={"tombstone_id": tombstone.pk, "retention_type": record_type, "removed_by": removed_by},
        )
        # The files are unreadable from here on (their key is gone); remove them after commit.
        transaction.on_commit(lambda: data_key_files_delete(key_id))
    return tombstone


def expired_records(*, now: datetime | None = None):
    now = now or timezone.now()
    for record_type, model in retained_models().items():
        for pk in model._base_manager.filter(retention_expires_at__lte=now).order_by("pk").values_list("pk", flat=True):
            yield record_type, model(pk=pk)


def purge_expired(*, now: datetime | None = None, dry_run: bool = False, removed_by: str) -> list[tuple[str, str]]:
    now = now or timezone.now()
    done = []
    # Only ids are collected up front; each record is locked and checked again by record_purge.
    for record_type, record in list(expired_records(now=now)):
        if dry_run or record_purge(record=record, removed_by=removed_by, now=now) is not None:
            done.append((record_type, str(record.pk)))
    if not dry_run and done:
        _checkpoint_sqlite()
        logger.info("purge_expired: %d records destroyed", len(done))
    return done


def _checkpoint_sqlite() -> None:
    """On the embedded SQLite, the write-ahead log still holds the pages as they were before the
    purge (the data keys included) until a checkpoint copies the overwritten pages back: do it now
    and empty the log."""
    from django.db import connection

    if connection.vendor != "sqlite" or connection.in_atomic_block:  # a checkpoint cannot run inside a transaction
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, _ = cursor.fetchone()
    if busy:
        logger.warning("purge_expired: the database was busy; old pages stay in the log until its next checkpoint")


def records_due_for_reminder(*, now: datetime | None = None):
    """(record type, record) pairs whose destruction is near and whose reminder was not sent."""
    now = now or timezone.now()
    policies = {(p.organisation_id, p.record_type): p.reminder_days for p in RetentionPolicy.objects.all()}
    for record_type, model in retained_models().items():
        horizon = now + timedelta(days=max([d for (_, t), d in policies.items() if t == record_type] or [30]))
        candidates = model._base_manager.filter(
            retention_expires_at__lte=horizon, retention_expires_at__gt=now, retention_reminded_at__isnull=True
        )
        for record in candidates:
            days = policies.get((record.organisation_id, record_type), 30)
            if record.retention_expires_at <= now + timedelta(days=days):
                yield record_type, record


def rotate_keys(*, batch_size: int = 500) -> int:
    """Re-wraps every data key under the newest master key, in small transactions, while the
    product keeps running: readers use whichever master key a row names, and both are loaded."""
    from privacy.crypto import ensure_master_key_check
    from privacy.keyring import keyring

    current = keyring().current_id
    ensure_master_key_check(current)  # so a mistyped new key is caught at the next start-up
    rotated = 0
    while True:
        with transaction.atomic():
            batch = list(DataKey.objects.select_for_update().exclude(master_key_id=current).order_by("pk")[:batch_size])
            for data_key in batch:
                if data_key_rewrap(data_key):
                    data_key.save(update_fields=["master_key_id", "wrapped_key"])
                    rotated += 1
        if len(batch) < batch_size:
            return rotated
