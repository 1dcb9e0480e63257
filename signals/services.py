"""Writes of the meldpunt. One path for every channel: signal_submit."""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from accounts.models import Organisation
from accounts.roles import Action, user_can
from audit.services import audit_event_record
from privacy.blind_index import blind_index, name_blind_index, person_blind_index
from privacy.crypto import data_key_new, with_data_keys
from privacy.files import encrypted_file_save
from privacy.records import record_create
from privacy.services import RETENTION_FIELDS, retention_start, retention_stop
from privacy.sql import increment, insert_row
from signals.attachments import CheckedFile, clamd_scan
from signals.models import (
    ON_BEHALF_CHANNELS,
    SUBJECT_INDEX_VERSION,
    Attachment,
    Channel,
    ClosureReason,
    CoordinatorNotification,
    HandlerNotification,
    Phenomenon,
    ReferenceCounter,
    ScanStatus,
    Signal,
    SignalStatus,
    Subject,
    SubjectKind,
)

logger = logging.getLogger(__name__)

REFERENCE_ATTEMPTS = 5
PHENOMENON_NAME_MAX = 100

DEFAULT_PHENOMENA = [
    "Drugs",
    "Witwassen",
    "Mensenhandel / uitbuiting",
    "Vastgoed",
    "Horeca",
    "Zorgfraude",
    "Misbruik van vergunningen of subsidies",
    "Intimidatie / beïnvloeding van bestuur",
    "Overig",
]


@dataclass
class SubjectData:
    kind: str
    name: str = ""
    date_of_birth: date | None = None
    kvk: str = ""
    address: str = ""
    kenteken: str = ""
    remarks: str = ""

    def index(self) -> str:
        if self.kind == SubjectKind.PERSON:
            return person_blind_index(self.name, self.date_of_birth)
        if self.kind == SubjectKind.COMPANY:
            return blind_index("kvk", self.kvk) if self.kvk else person_blind_index(self.name, None)
        if self.kind == SubjectKind.ADDRESS:
            return blind_index("address", self.address)
        if self.kind == SubjectKind.VEHICLE:
            return blind_index("kenteken", self.kenteken)
        raise ValueError(self.kind)

    def name_index(self) -> str:
        """The blind index of the name alone, for the search by name ("" without one)."""
        if self.kind in {SubjectKind.PERSON, SubjectKind.COMPANY} and self.name.strip():
            return name_blind_index(self.name, company=self.kind == SubjectKind.COMPANY)
        return ""

    def address_index(self) -> str:
        """The address given with a subject of another kind (where a person lives), indexed as an
        address is ("" without one)."""
        return blind_index("address", self.address) if self.address and self.kind != SubjectKind.ADDRESS else ""

    def kenteken_index(self) -> str:
        """The kenteken given with a subject of another kind (a company's car), indexed as a
        vehicle is ("" without one)."""
        return blind_index("kenteken", self.kenteken) if self.kenteken and self.kind != SubjectKind.VEHICLE else ""

    def indexes(self) -> dict[str, str]:
        """Every index of the subject, as Subject stores them (ValidationError if one is refused)."""
        return {field: compute() for field, compute in self.index_computations().items()}

    def index_computations(self) -> dict[str, Callable[[], str]]:
        """How each of Subject.INDEX_FIELDS is computed."""
        computations = {
            "blind_index": self.index,
            "name_index": self.name_index,
            "address_index": self.address_index,
            "kenteken_index": self.kenteken_index,
        }
        return {field: computations[field] for field in Subject.INDEX_FIELDS}


@dataclass
class SignalData:
    description: str
    acute_danger: bool = False
    phenomenon: Phenomenon | None = None
    address: str = ""
    location: str = ""
    observed_on: date | None = None
    noticed_how: str = ""
    subjects: list[SubjectData] = field(default_factory=list)
    files: list[CheckedFile] = field(default_factory=list)


def phenomena_ensure_defaults(*, organisation_id: int) -> None:
    if not Phenomenon.objects.filter(organisation_id=organisation_id).exists():
        Phenomenon.objects.bulk_create(
            [
                Phenomenon(organisation_id=organisation_id, name=name, position=i)
                for i, name in enumerate(DEFAULT_PHENOMENA)
            ],
            ignore_conflicts=True,
        )


def phenomenon_add(*, actor, name: str) -> Phenomenon:
    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Geef het fenomeen een naam."})
    if len(name) > PHENOMENON_NAME_MAX:
        raise ValidationError({"name": f"Een naam is hooguit {PHENOMENON_NAME_MAX} tekens."})
    # Control characters (NUL, tab, line breaks) and half UTF-16 pairs; not the invisible format
    # characters a pasted word or emoji may carry (a soft hyphen, a zero-width joiner).
    if any(unicodedata.category(character) in ("Cc", "Cs") for character in name):
        raise ValidationError({"name": "Een naam bestaat uit letters, cijfers en leestekens; geen tab of regeleinde."})
    with transaction.atomic(durable=True):
        # Two coordinators adding at once queue up on their organisation's row, so the check
        # below (which ignores case, unlike the unique constraint) sees the other's name.
        Organisation.objects.select_for_update().filter(pk=actor.organisation_id).first()
        if Phenomenon.objects.filter(organisation_id=actor.organisation_id, name__iexact=name).exists():
            raise ValidationError({"name": "Dit fenomeen staat al in de lijst."})
        last = Phenomenon.objects.filter(organisation_id=actor.organisation_id).order_by("-position").first()
        phenomenon = Phenomenon.objects.create(
            organisation_id=actor.organisation_id, name=name, position=(last.position + 1) if last else 0
        )
        audit_event_record(
            actor=actor, action="phenomenon.added", organisation_id=actor.organisation_id, record=phenomenon
        )
    return phenomenon


def phenomenon_set_active(*, actor, phenomenon: Phenomenon, active: bool) -> bool:
    """Puts a phenomenon in or out of use; False (nothing changed, nothing audited) when it was so
    already: a double click, or a colleague who did the same a moment before."""
    if not user_can(actor, Action.HANDLE_SIGNALS) or phenomenon.organisation_id != actor.organisation_id:
        raise PermissionDenied
    with transaction.atomic(durable=True):
        if not Phenomenon.objects.filter(pk=phenomenon.pk).exclude(is_active=active).update(is_active=active):
            return False
        audit_event_record(
            actor=actor,
            action="phenomenon.activated" if active else "phenomenon.deactivated",
            organisation_id=actor.organisation_id,
            record=phenomenon,
        )
    return True


def _next_reference(organisation_id: int) -> str:
    """The next number in the organisation's year. The counter row stays locked for the rest of the
    transaction, so reports that come in at the same moment are numbered one after another."""
    year = timezone.localdate().year
    (number,) = increment(
        ReferenceCounter, keys={"organisation_id": organisation_id, "year": year}, counter="last_number"
    )
    return _reference(year, number)


def _reference(year: int, number: int) -> str:
    return f"S{year}-{number:05d}"


_TYPED_REFERENCE = re.compile(r"^\s*S\s*(\d{4})\s*-\s*(\d{1,5})\s*$", re.IGNORECASE)


def reference_read(text: str) -> str:
    """A signal's reference as typed (s2026-12, S2026-00012), written as stored; "" if it is none."""
    match = _TYPED_REFERENCE.match(text or "")
    return _reference(int(match[1]), int(match[2])) if match else ""


def _catch_up_reference_counter(organisation_id: int) -> None:
    """Moves this year's counter up to the highest reference in use (a rare repair, so a scan)."""
    year = timezone.localdate().year
    prefix = f"S{year}-"
    numbers = [
        int(reference.removeprefix(prefix))
        for reference in Signal.objects.filter(organisation_id=organisation_id, reference__startswith=prefix)
        .values_list("reference", flat=True)
        .iterator()
        if reference.removeprefix(prefix).isdigit()
    ]
    if numbers:
        with transaction.atomic():
            ReferenceCounter.objects.filter(
                organisation_id=organisation_id, year=year, last_number__lt=max(numbers)
            ).update(last_number=max(numbers))
            logger.warning("signal reference counter caught up (organisation %s, year %s)", organisation_id, year)


def signal_submit(
    *,
    actor,
    organisation_id: int,
    channel: str,
    submission_key: uuid.UUID,
    data: SignalData,
    after_create: Callable[[Signal], None] | None = None,
) -> Signal:
    """Stores a signal with its subjects and attachments, writes the audit event and queues the
    coordinators' notification, all or nothing. Submitting the same form twice (same
    submission_key) returns the first signal."""
    on_behalf = channel in ON_BEHALF_CHANNELS
    if channel == Channel.WEB_FORM:
        if not user_can(actor, Action.SUBMIT_SIGNAL) or actor.organisation_id != organisation_id:
            raise PermissionDenied
    elif on_behalf:
        if not user_can(actor, Action.HANDLE_SIGNALS) or actor.organisation_id != organisation_id:
            raise PermissionDenied
    elif channel != Channel.CONFIDENTIAL_FORM or actor is not None:
        raise PermissionDenied
    if data.phenomenon is not None and data.phenomenon.organisation_id != organisation_id:
        raise ValidationError({"phenomenon": "Kies een fenomeen uit de lijst."})
    # The files first, before the transaction: encrypting and writing them takes longest, and the
    # reference counter and the audit chain head stay locked from their first use to the commit.
    # Files of a transaction that then fails are removed by the orphan sweep (privacy.files).
    data_key = data_key_new()
    stored = [encrypted_file_save(data_key=data_key, content=checked.content) for checked in data.files]
    for attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic(durable=True):
                signal = _create(
                    actor=actor,
                    organisation_id=organisation_id,
                    channel=channel,
                    key=submission_key,
                    data=data,
                    data_key=data_key,
                    stored_files=stored,
                )
                if after_create is not None:
                    after_create(signal)  # in the same transaction: all or nothing
                return signal
        except IntegrityError:
            existing = Signal.objects.filter(submission_key=submission_key).first()
            if existing is None:
                # The reference was taken already: the counter is behind the references in use
                # (restored or imported signals). Move it past them and number this one again.
                if attempt + 1 < REFERENCE_ATTEMPTS:
                    _catch_up_reference_counter(organisation_id)
                    continue
                raise
            # The same form again (double click, back and resubmit): the unique key stopped the
            # second insert, and the first signal is the answer, if it is the same person's.
            if existing.organisation_id != organisation_id or (
                actor is not None and actor.pk not in (existing.reporter_id, existing.registered_by_id)
            ):
                raise PermissionDenied from None
            existing.repeated_submission = True
            return existing
    raise AssertionError("unreachable")


def _create(
    *, actor, organisation_id: int, channel: str, key: uuid.UUID, data: SignalData, data_key, stored_files: list[str]
) -> Signal:
    on_behalf = channel in ON_BEHALF_CHANNELS
    signal = Signal(
        organisation_id=organisation_id,
        reference=_next_reference(organisation_id),
        submission_key=key,
        channel=channel,
        reporter=actor if channel == Channel.WEB_FORM else None,
        registered_by=actor if on_behalf else None,
        acute_danger=data.acute_danger,
        description=data.description,
        phenomenon=data.phenomenon,
        address=data.address or None,
        address_index=blind_index("address", data.address) if data.address else "",
        location=data.location or None,
        observed_on=data.observed_on,
        noticed_how=data.noticed_how,
    )
    subjects = [
        Subject(
            signal=signal,
            kind=subject.kind,
            name=subject.name or None,
            date_of_birth=subject.date_of_birth.isoformat() if subject.date_of_birth else None,
            kvk=subject.kvk or None,
            address=subject.address or None,
            kenteken=subject.kenteken or None,
            remarks=subject.remarks or None,
            **subject.indexes(),
        )
        for subject in data.subjects
    ]
    # The key, the signal, its history row and the audit event together; then the subjects under
    # the same key, one INSERT for all and one for their history rows (privacy.records).
    record_create(
        signal,
        actor=actor,
        action="signal.submitted",
        data={
            "channel": channel,
            "subjects": len(data.subjects),
            "attachments": len(data.files),
            "acute_danger": data.acute_danger,
        },
        children=subjects,
        data_key=data_key,
    )
    scan_later = []
    for checked, storage_name in zip(data.files, stored_files, strict=True):  # checked and scanned before
        status = checked.scan_status
        attachment = Attachment(
            signal=signal,
            data_key=signal.data_key,
            filename=checked.filename,
            content_type=checked.content_type,
            size=len(checked.content),
            scan_status=status,
            storage_name=storage_name,
        )
        attachment.save()
        if status == ScanStatus.PENDING:
            scan_later.append(attachment.pk)
    # The outbox row (a plain model without signals): one INSERT, not the ORM's insert path.
    notification_id = insert_row(
        CoordinatorNotification,
        {"signal_id": signal.pk, "created_at": timezone.now(), "sent_at": None},
        returning_pk=True,
    )
    from signals.tasks import queue_notification, scan_attachment

    transaction.on_commit(lambda: queue_notification(notification_id))
    for attachment_id in scan_later:
        transaction.on_commit(lambda attachment_id=attachment_id: _queue_scan(scan_attachment, attachment_id))
    return signal


def _queue_scan(task, attachment_id: int) -> None:
    try:
        task.delay(attachment_id)
    except Exception:  # broker down: the periodic sweep rescans pending files
        logger.warning("scan of attachment %s not queued; the sweep will retry", attachment_id)


def attachment_scan(*, attachment_id: int) -> str:
    """Scans a file in quarantine; an infected file is destroyed. Safe to run twice."""
    from privacy.files import encrypted_file_read

    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().select_related("signal").filter(pk=attachment_id).first()
        if attachment is None or attachment.scan_status != ScanStatus.PENDING:
            return attachment.scan_status if attachment else "gone"
        content = encrypted_file_read(instance=attachment.signal, name=attachment.storage_name)
        if content is None:
            logger.warning("attachment %s: file missing, left in quarantine", attachment_id)
            return attachment.scan_status
        clean = clamd_scan(content)
        attachment.scan_status = ScanStatus.CLEAN if clean else ScanStatus.INFECTED
        attachment.save(update_fields=["scan_status"])
        audit_event_record(
            actor=None,
            action="attachment.scanned",
            organisation_id=attachment.signal.organisation_id,
            record=attachment,
            data={"result": attachment.scan_status},
        )
        if not clean:
            from django.core.files.storage import default_storage

            name = attachment.storage_name
            transaction.on_commit(lambda: default_storage.delete(name))
    return attachment.scan_status


# --- Handling: the coordinator takes a signal into handling or closes it without a case ---------

ALREADY_HANDLED = {
    "reopen": "Dit signaal is al heropend, misschien door een collega. Er is niets gewijzigd; "
    "hieronder ziet u de stand van nu.",
    "start_triage": "Dit signaal is al in behandeling genomen of afgesloten, misschien door een collega. "
    "Er is niets gewijzigd; hieronder ziet u de stand van nu.",
    "close": "Dit signaal is al afgesloten, misschien door een collega. Er is niets gewijzigd; "
    "hieronder ziet u de stand van nu.",
}
CHANGED_MEANWHILE = (
    "Dit signaal is gewijzigd nadat u de pagina opende, misschien door een collega. Er is niets gewijzigd; "
    "hieronder ziet u de stand van nu. Kijk die na en kies dan opnieuw."
)
CLOSURE_NOTE_MAX = 2000
# What closing and reopening change: the state, the closure and the retention clock.
_CLOSURE_FIELDS = [
    "status",
    "closure_reason",
    "closure_note",
    "closed_at",
    "duplicate_of",
    *RETENTION_FIELDS,
    "updated_at",
]


def signal_start_triage(*, actor, signal_id: int, seen_version: str | None = None) -> Signal:
    """The coordinator takes a received signal into handling (the reporter then sees "in
    behandeling"). `seen_version`: the Signal.version the coordinator's page showed (see
    _locked_for)."""
    with transaction.atomic(durable=True):
        signal = _locked_for(actor, signal_id, "start_triage", seen_version)
        previous, previous_handler = signal.status, signal.handler_id
        signal.start_triage()
        # Who takes it into handling handles it, unless an active coordinator was assigned before.
        if previous_handler is None or not handler_choices(actor=actor).filter(pk=previous_handler).exists():
            signal.handler = actor
        signal._history_user = actor
        signal.save(update_fields=["status", "handler", "updated_at"])
        audit_event_record(
            actor=actor,
            action="signal.triage_started",
            organisation_id=signal.organisation_id,
            record=signal,
            data={"from": previous, "handler_id": signal.handler_id},
        )
        if signal.handler_id != previous_handler:
            audit_event_record(
                actor=actor,
                action="signal.assigned",
                organisation_id=signal.organisation_id,
                record=signal,
                data={"from": previous_handler, "to": signal.handler_id},
            )
    return signal


NOT_A_HANDLER = "Kies een coördinator van uw organisatie met een actief account."
CLOSED_NO_HANDLER = "Een afgerond signaal krijgt geen andere behandelaar. Heropen het eerst als er weer werk aan is."


def coordinators_of(organisation_id: int):
    """Who may handle an organisation's signals: its active coordinators (the one definition, for
    the choices, the assignment and the handler's mail)."""
    from accounts.models import User
    from accounts.roles import Role

    return User.objects.filter(organisation_id=organisation_id, role=Role.COORDINATOR, is_active=True).order_by(
        "first_name", "last_name", "pk"
    )


def handler_choices(*, actor):
    """The coordinators `actor` may make handler of their organisation's signals."""
    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    return coordinators_of(actor.organisation_id)


def stale_handlers(*, actor):
    """Handlers of the organisation's signals who no longer are active coordinators of it
    (blocked, another role or organisation): shown marked, so their signals can still be found."""
    from accounts.models import User

    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    # Open signals only: a closed one keeps its handler, but nobody needs to find it by them.
    handling = (
        Signal.objects.for_user(actor)
        .filter(handler__isnull=False)
        .exclude(status=SignalStatus.CLOSED)
        .values("handler_id")
    )
    return (
        User.objects.filter(pk__in=handling)
        .exclude(pk__in=handler_choices(actor=actor).values("pk"))
        .order_by("first_name", "last_name", "pk")
    )


def signal_assign(*, actor, signal_id: int, handler_id: int | None, seen_version: str | None = None) -> Signal:
    """Makes a coordinator of the organisation the signal's handler (None: nobody). Refused on an
    afgerond signal (it keeps the handler it had), for anyone but an active coordinator of the
    organisation (locked, so one blocked at this moment is not made handler), and from a page
    older than the signal's last change (a colleague assigned it meanwhile). The handler it has
    already, even one no longer active, is no change."""
    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    with transaction.atomic(durable=True):
        signal = with_data_keys(Signal.objects.select_for_update(of=("self",))).filter(pk=signal_id).first()
        if signal is None or signal.organisation_id != actor.organisation_id:
            raise Signal.DoesNotExist
        if seen_version is not None and seen_version != signal.version:
            raise ValidationError(CHANGED_MEANWHILE, code="changed_meanwhile")
        if signal.status == SignalStatus.CLOSED:
            raise ValidationError(CLOSED_NO_HANDLER, code="already_handled")
        if signal.handler_id == handler_id:
            return signal  # nothing changes: no new version, no event
        handler = None
        if handler_id is not None:
            handler = handler_choices(actor=actor).select_for_update(of=("self",)).filter(pk=handler_id).first()
            if handler is None:
                raise ValidationError({"behandelaar": NOT_A_HANDLER})
        previous = signal.handler_id
        signal.handler = handler
        signal._history_user = actor
        signal.save(update_fields=["handler", "updated_at"])
        audit_event_record(
            actor=actor,
            action="signal.assigned",
            organisation_id=signal.organisation_id,
            record=signal,
            data={"from": previous, "to": signal.handler_id},
        )
        if handler is not None and handler.pk != actor.pk:
            # A colleague's choice: the new handler hears of it (a link only), after commit.
            notification = HandlerNotification.objects.create(signal=signal, handler=handler)
            from signals.tasks import queue_handler_notification

            transaction.on_commit(lambda: queue_handler_notification(notification.pk))
    return signal


NOT_A_DUPLICATE = "Vul het kenmerk van het eerdere signaal alleen in als u 'Al eerder gemeld' kiest."
LATER_NOT_EARLIER = (
    "Dat signaal kwam later binnen dan dit signaal. Sluit dan dat signaal af als 'Al eerder gemeld', "
    "met het kenmerk van dit signaal."
)
NO_SUCH_REFERENCE = (
    "Er is geen ander signaal met dit kenmerk in uw organisatie. Kijk het kenmerk na, bijvoorbeeld S2026-00012."
)


def signal_close(
    *,
    actor,
    signal_id: int,
    reason: str,
    note: str = "",
    earlier_reference: str = "",
    seen_version: str | None = None,
) -> Signal:
    """Closes a signal that does not lead to a case, with a reason (and a note, required for
    "anders"; for "al eerder gemeld" optionally the reference of the earlier signal of the
    organisation, which then links to it). Its retention term starts now (record type
    signal_without_case); the note is stored encrypted and is not in the audit event, which holds
    the reason's code and the earlier signal's id only."""
    if reason not in ClosureReason.values:
        raise ValidationError({"reden": "Kies een reden uit de lijst."})
    note = note.strip()
    if reason == ClosureReason.OTHER and not note:
        raise ValidationError({"toelichting": "Licht toe waarom u het signaal afsluit als u 'Anders' kiest."})
    if len(note) > CLOSURE_NOTE_MAX:
        raise ValidationError({"toelichting": f"Gebruik hoogstens {CLOSURE_NOTE_MAX} tekens."})
    typed_reference = earlier_reference.strip()
    if typed_reference and reason != ClosureReason.DUPLICATE:
        raise ValidationError({"eerder": NOT_A_DUPLICATE})
    earlier_reference = reference_read(typed_reference)
    if typed_reference and not earlier_reference:
        raise ValidationError({"eerder": NO_SUCH_REFERENCE})
    with transaction.atomic(durable=True):
        signal = _locked_for(actor, signal_id, "close", seen_version)
        earlier = None
        if earlier_reference:
            # Locked, so it is not destroyed at the end of its term before this commits.
            earlier = (
                Signal.objects.select_for_update(of=("self",))
                .filter(organisation_id=signal.organisation_id, reference=earlier_reference)
                .exclude(pk=signal.pk)
                .first()
            )
            if earlier is None:
                raise ValidationError({"eerder": NO_SUCH_REFERENCE})
            if earlier.created_at >= signal.created_at:  # so no chain of repeats can loop
                raise ValidationError({"eerder": LATER_NOT_EARLIER})
        previous = signal.status
        now = timezone.now()
        signal.close(reason=reason, note=note, at=now, duplicate_of=earlier)
        retention_start(record=signal, started_at=now)
        signal._history_user = actor
        signal.save(update_fields=_CLOSURE_FIELDS)
        data = {"from": previous, "reason": reason}
        if earlier is not None:
            data["duplicate_of"] = earlier.pk
        audit_event_record(
            actor=actor,
            action="signal.closed",
            organisation_id=signal.organisation_id,
            record=signal,
            data=data,
        )
    return signal


def signal_reopen(*, actor, signal_id: int, seen_version: str | None = None) -> Signal:
    """A closed signal back in handling (closed by mistake, or new information). Its retention
    clock stops until it is closed again; the closure stays in the history and the audit trail."""
    with transaction.atomic(durable=True):
        signal = _locked_for(actor, signal_id, "reopen", seen_version)
        reason = signal.closure_reason
        signal.reopen()
        retention_stop(record=signal)
        signal._history_user = actor
        signal.save(update_fields=_CLOSURE_FIELDS)
        audit_event_record(
            actor=actor,
            action="signal.reopened",
            organisation_id=signal.organisation_id,
            record=signal,
            data={"closure_reason": reason},
        )
    return signal


def _locked_for(actor, signal_id: int, transition_name: str, seen_version: str | None = None) -> Signal:
    """The signal, read again and locked for the rest of the transaction, so two coordinators
    acting at once are handled one after the other: the second sees the first one's result and
    gets ALREADY_HANDLED instead of undoing it. With `seen_version` (what the page showed) a
    transition from a page older than the signal's last change is refused too: a close form
    from before a colleague reopened or took the signal must not undo that."""
    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    signal = with_data_keys(Signal.objects.select_for_update(of=("self",))).filter(pk=signal_id).first()
    if signal is None or signal.organisation_id != actor.organisation_id:
        raise Signal.DoesNotExist
    transition = getattr(signal, transition_name)
    if not can_proceed(transition):
        raise ValidationError(ALREADY_HANDLED[transition_name], code="already_handled")
    if not has_transition_perm(transition, actor):
        raise PermissionDenied
    if seen_version is not None and seen_version != signal.version:
        raise ValidationError(CHANGED_MEANWHILE, code="changed_meanwhile")
    return signal


def subjects_reindex(*, batch_size: int = 500, stale_only: bool = False) -> dict[str, int]:
    """Recomputes every subject's blind indexes with today's normalisation, after it changed (names
    in any script, letters such as ø and ł, foreign number plates, initials as one word): stored
    subjects keep matching new signals about the same person, company, address or vehicle. Only the
    indexes change, on the row and on its history copies (no new version: the content is the
    same), and each subject is marked with today's SUBJECT_INDEX_VERSION. An audit event per
    organisation and batch, with counts, in the batch's own transaction. Safe to run again; a
    subject whose details today's rules refuse keeps its index and is counted as such.

    `stale_only`: only subjects indexed with an older normalisation, or without a name index
    (NULL: stored before the search by name existed); the nightly task runs this, so an upgrade
    that changes the rules needs nothing by hand. A subject whose name today's rules refuse gets
    an empty name index and today's version, so it is not tried again every night."""
    counts = {"changed": 0, "unchanged": 0, "refused": 0}
    subjects = Subject.objects.all()
    if stale_only:
        subjects = subjects.filter(Q(index_version__lt=SUBJECT_INDEX_VERSION) | Q(name_index__isnull=True))
    last_pk = 0
    while True:
        batch = list(
            with_data_keys(subjects.filter(pk__gt=last_pk).select_related("signal").order_by("pk"))[:batch_size]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        per_organisation: dict[int, dict[str, int]] = {}
        up_to_date = []  # only the version to set
        with transaction.atomic(durable=True):
            for subject in batch:
                indexes, refused = _indexes_today(subject)
                written = not all(getattr(subject, field) == value for field, value in indexes.items())
                if written:
                    _set_indexes(subject.pk, **indexes)
                else:
                    up_to_date.append(subject.pk)
                outcome = "refused" if refused else "changed" if written else "unchanged"
                counts[outcome] += 1
                if outcome != "unchanged":
                    of_organisation = per_organisation.setdefault(subject.signal.organisation_id, {})
                    of_organisation[outcome] = of_organisation.get(outcome, 0) + 1
            if up_to_date:
                for rows in (Subject.objects.filter(pk__in=up_to_date), Subject.history.filter(id__in=up_to_date)):
                    rows.filter(index_version__lt=SUBJECT_INDEX_VERSION).update(index_version=SUBJECT_INDEX_VERSION)
            for organisation_id, of_organisation in sorted(per_organisation.items()):
                audit_event_record(
                    actor=None,
                    action="subjects.reindexed",
                    organisation_id=organisation_id,
                    record_type="signals.subject",
                    data=of_organisation,  # the counts of this batch, as returned
                )
    return counts


def _indexes_today(subject: Subject) -> tuple[dict[str, str], bool]:
    """The subject's indexes by today's rules, each on its own: one that today's rules refuse keeps
    what it was (a missing name index becomes empty, so it is not tried again), and the others are
    still brought up to date. Also whether any was refused."""
    try:
        details = _subject_data_of(subject)
    except ValueError:  # a stored date of birth that is no date: nothing can be computed
        return {column: getattr(subject, column) or "" for column in Subject.INDEX_FIELDS}, True
    indexes, refused = {}, False
    for column, compute in details.index_computations().items():
        try:
            indexes[column] = compute()
        except (ValidationError, ValueError):
            refused = True
            indexes[column] = getattr(subject, column) or ""
    return indexes, refused


def _set_indexes(subject_id: int, **indexes: str) -> None:
    """A subject's indexes, on the row and on its history copies: a subject is never edited, so
    every copy holds the same details."""
    indexes["index_version"] = SUBJECT_INDEX_VERSION
    Subject.objects.filter(pk=subject_id).update(**indexes)
    Subject.history.filter(id=subject_id).update(**indexes)


def _subject_data_of(subject: Subject) -> SubjectData:
    born = subject.date_of_birth
    return SubjectData(
        kind=subject.kind,
        name=(subject.name or "").strip(),
        date_of_birth=date.fromisoformat(born) if born else None,
        kvk=subject.kvk or "",
        address=subject.address or "",
        kenteken=subject.kenteken or "",
    )
