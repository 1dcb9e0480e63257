"""The meldpunt (norm 4.3, 4.4): signals of undermining crime, their subjects and attachments."""

from __future__ import annotations

import uuid
from datetime import UTC

from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition

from accounts.scoping import OrganisationScopedQuerySet
from audit.history import WeerbaarHistoricalRecords
from privacy.blind_index import kenteken_display
from privacy.fields import EncryptedModel, EncryptedTextField
from privacy.models import RetainedRecord, retention_expiry_index


class ReferenceCounter(models.Model):
    """The last signal number an organisation gave out in a year (references S2026-00001, ...).

    One row per organisation and year, moved on with one UPDATE ... RETURNING, which also queues
    up reports that come in at the same moment; no scan of earlier references."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "kenmerkteller"
        verbose_name_plural = "kenmerktellers"
        constraints = [models.UniqueConstraint(fields=["organisation", "year"], name="reference_counter_per_year")]

    def __str__(self) -> str:
        return f"kenmerkteller {self.year}"


class Phenomenon(models.Model):
    """A kind of undermining, as the organisation's coordinator keeps the list."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    name = models.CharField("naam", max_length=100)
    is_active = models.BooleanField("in gebruik", default=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = OrganisationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "fenomeen"
        verbose_name_plural = "fenomenen"
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="phenomenon_name_per_org")]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    WEB_FORM = "web_form", "Meldformulier (ingelogd)"
    CONFIDENTIAL_FORM = "confidential_form", "Vertrouwelijk meldformulier (zonder account)"
    PHONE = "phone", "Telefoon"
    LETTER = "letter", "Brief"
    EMAIL = "email", "E-mail"
    IN_PERSON = "in_person", "Persoonlijk gesprek"
    MELD_MISDAAD_ANONIEM = "mma", "Meld Misdaad Anoniem"


ON_BEHALF_CHANNELS = [
    Channel.PHONE,
    Channel.LETTER,
    Channel.EMAIL,
    Channel.IN_PERSON,
    Channel.MELD_MISDAAD_ANONIEM,
]


class NoticedHow(models.TextChoices):
    IN_JOB = "in_job", "In mijn werk of functie"
    PRIVATELY = "privately", "Privé"
    OTHER = "other", "Anders"


# How it came to the reporter's attention, as the coordinator reads it (the choices are the
# reporter's own words: "In mijn werk of functie").
NOTICED_HOW_FOR_COORDINATOR = {
    NoticedHow.IN_JOB: "In het werk of de functie van de melder",
    NoticedHow.PRIVATELY: "Privé",
    NoticedHow.OTHER: "Anders",
}


class SignalStatus(models.TextChoices):
    """Internal states; the reporter sees only the coarse status (see `coarse_status`)."""

    RECEIVED = "received", "Ontvangen"
    IN_TRIAGE = "in_triage", "In behandeling"
    CLOSED = "closed", "Afgerond"


class ClosureReason(models.TextChoices):
    """Why a signal is closed without a case (the weighing steps of the Modelprotocol ondermijning)."""

    NOT_UNDERMINING = "not_undermining", "Geen ondermijning"
    NO_TASK = "no_task", "Geen taak of bevoegdheid van de gemeente"
    REFERRED = "referred", "Doorverwezen (politie, andere gemeente, RIEC of andere instantie)"
    INSUFFICIENT = "insufficient", "Te weinig informatie om mee verder te gaan"
    DUPLICATE = "duplicate", "Al eerder gemeld"
    OTHER = "other", "Anders"


def _may_handle(signal: Signal, user) -> bool:
    """The transitions' permission: a coordinator of the signal's own organisation."""
    from accounts.roles import Action, user_can

    return user_can(user, Action.HANDLE_SIGNALS) and user.organisation_id == signal.organisation_id


COARSE_STATUS = {
    SignalStatus.RECEIVED: "ontvangen",
    SignalStatus.IN_TRIAGE: "in behandeling",
    SignalStatus.CLOSED: "afgerond",
}


class SignalQuerySet(OrganisationScopedQuerySet):
    pass


class Signal(EncryptedModel, RetainedRecord):
    RETENTION_RECORD_TYPE = "signal_without_case"
    #: Not stored: True on the signal signal_submit returns for a form that was sent before (the
    #: same submission_key), whose content may differ from what is stored and was not saved.
    repeated_submission = False

    # Organisation and reporter: indexed by Meta.indexes (they lead two of them).
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reference = models.CharField("kenmerk", max_length=20)
    submission_key = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    channel = models.CharField("kanaal", max_length=30, choices=Channel.choices)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = FSMField(default=SignalStatus.RECEIVED, choices=SignalStatus.choices, protected=True)
    # The coordinator who handles it: whoever takes it into handling, or whom a colleague assigns.
    # Only assigned signals are in its (partial) index, so a new signal writes no entry for it.
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name="behandelaar",
    )
    acute_danger = models.BooleanField("acuut gevaar", default=False)
    description = EncryptedTextField("wat is er opgevallen")
    phenomenon = models.ForeignKey(
        Phenomenon, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="fenomeen"
    )
    address = EncryptedTextField("adres", blank=True, null=True)
    address_index = models.CharField(max_length=64, blank=True, db_index=True)
    location = EncryptedTextField("plaats (omschrijving)", blank=True, null=True)
    observed_on = models.DateField("wanneer", null=True, blank=True)
    noticed_how = models.CharField("hoe opgemerkt", max_length=20, choices=NoticedHow.choices, blank=True)
    closed_at = models.DateTimeField("afgesloten op", null=True, blank=True)
    closure_reason = models.CharField("reden van afsluiten", max_length=30, choices=ClosureReason.choices, blank=True)
    closure_note = EncryptedTextField("toelichting bij afsluiten", blank=True, null=True)
    # Closed as "al eerder gemeld": the earlier signal it repeats, if the coordinator named it.
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="duplicates",
        verbose_name="eerder gemeld als",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = WeerbaarHistoricalRecords(excluded_fields=["submission_key"])

    objects = SignalQuerySet.as_manager()

    class Meta:
        verbose_name = "signaal"
        verbose_name_plural = "signalen"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["organisation", "reference"], name="signal_reference_per_org")]
        # These also serve every lookup by organisation or reporter alone (their first column),
        # so the two foreign keys have no index of their own.
        indexes = [
            models.Index(fields=["organisation", "-created_at"]),
            models.Index(fields=["reporter", "-created_at"]),
            models.Index(fields=["handler"], condition=models.Q(handler__isnull=False), name="signal_handler_idx"),
            retention_expiry_index(),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def version(self) -> str:
        """Which state of the signal a page showed (its last change, in UTC): a form sends it back,
        and a transition from a page that no longer shows the state of now is refused."""
        return self.updated_at.astimezone(UTC).isoformat()

    @property
    def noticed_how_for_coordinator(self) -> str:
        return NOTICED_HOW_FOR_COORDINATOR.get(self.noticed_how, "")

    @property
    def coarse_status(self) -> str:
        return COARSE_STATUS.get(self.status, "ontvangen")

    # Transitions change the state and stamp fields only; signals.services calls them (with the
    # permission check, the retention clock, history and the audit event).

    @transition(field=status, source=SignalStatus.RECEIVED, target=SignalStatus.IN_TRIAGE, permission=_may_handle)
    def start_triage(self) -> None:
        """A coordinator takes the signal into handling."""

    @transition(
        field=status,
        source=[SignalStatus.RECEIVED, SignalStatus.IN_TRIAGE],
        target=SignalStatus.CLOSED,
        permission=_may_handle,
    )
    def close(self, *, reason: str, note: str, at, duplicate_of: Signal | None = None) -> None:
        """Closed without a case: why, and when (from then on the retention term runs)."""
        self.closure_reason = reason
        self.closure_note = note or None
        self.closed_at = at
        self.duplicate_of = duplicate_of

    @transition(field=status, source=SignalStatus.CLOSED, target=SignalStatus.IN_TRIAGE, permission=_may_handle)
    def reopen(self) -> None:
        """Closed by mistake, or new information came in: back in handling. The closure stays in
        the history rows and the audit trail; the service stops the retention clock."""
        self.closure_reason = ""
        self.closure_note = None
        self.closed_at = None
        self.duplicate_of = None


class SubjectKind(models.TextChoices):
    PERSON = "person", "Persoon"
    COMPANY = "company", "Bedrijf"
    ADDRESS = "address", "Adres"
    VEHICLE = "vehicle", "Voertuig"


# What a subject's indexes are: raise it when a change to the normalisation (privacy.blind_index)
# or to what is indexed changes the index of a subject already stored; a subject keeps the version
# it was indexed with, and the nightly reindex brings older ones up to date.
# 1: names word by word; 2: a person's initials as one word ("P.J." is "pj"); 3: the address and
# kenteken given with a subject of another kind indexed too.
SUBJECT_INDEX_VERSION = 3


class Subject(EncryptedModel):
    """Who or what a signal is about. Each has a blind index, so signals about the same person,
    company, address or vehicle are found together without decrypting anything."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="subjects")
    kind = models.CharField("soort", max_length=20, choices=SubjectKind.choices)
    name = EncryptedTextField("naam", blank=True, null=True)
    date_of_birth = EncryptedTextField("geboortedatum", blank=True, null=True)
    kvk = EncryptedTextField("KvK-nummer", blank=True, null=True)
    address = EncryptedTextField("adres", blank=True, null=True)
    kenteken = EncryptedTextField("kenteken", blank=True, null=True)
    remarks = EncryptedTextField("toelichting", blank=True, null=True)
    blind_index = models.CharField(max_length=64, db_index=True)
    # The name alone (a person or a company with a name): a search by name finds the person
    # whether or not a date of birth was given. Empty without a name (an address, a vehicle);
    # NULL only for a subject stored before it existed, until the nightly task gives it one.
    name_index = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    # An address or kenteken given with a subject of another kind (where a person lives, the car
    # a company drives): found with the same address or vehicle elsewhere. Empty without one, or
    # when it is the subject itself (then it is blind_index).
    address_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    kenteken_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    # How the indexes were computed (SUBJECT_INDEX_VERSION); older ones are recomputed by the
    # nightly task, so old and new signals keep matching.
    index_version = models.PositiveSmallIntegerField(default=SUBJECT_INDEX_VERSION)
    history = WeerbaarHistoricalRecords()

    # Every blind index a subject has; and those that identify it or something given with it,
    # which link signals about the same subject (the name alone only finds namesakes).
    INDEX_FIELDS = ("blind_index", "name_index", "address_index", "kenteken_index")
    IDENTITY_INDEX_FIELDS = ("blind_index", "address_index", "kenteken_index")

    class Meta:
        verbose_name = "betrokkene"
        verbose_name_plural = "betrokkenen"
        ordering = ["pk"]

    @property
    def date_of_birth_display(self) -> str:
        """The date of birth as people write it (17-05-1980); stored as 1980-05-17."""
        value = self.date_of_birth or ""
        year, _, rest = value.partition("-")
        month, _, day = rest.partition("-")
        return f"{day}-{month}-{year}" if day and month and year.isdigit() else value

    @property
    def kenteken_display(self) -> str:
        """The kenteken with its dashes (VTX-12-B); stored without them, as it is indexed."""
        return kenteken_display(self.kenteken or "")

    @property
    def details_for_reporter(self) -> list[str]:
        """What the reporter gave besides the name, each part on its own ("geboren 14-03-1975",
        "1541 KL 22", "kenteken GB-123-K", the remark)."""
        parts = [
            f"geboren {self.date_of_birth_display}" if self.date_of_birth else "",
            f"KvK {self.kvk}" if self.kvk else "",
            self.address or "",
            f"kenteken {self.kenteken_display}" if self.kenteken else "",
            self.remarks or "",
        ]
        return [part for part in parts if part]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} bij {self.signal_id}"


class ScanStatus(models.TextChoices):
    NOT_SCANNED = "not_scanned", "Niet gescand (geen virusscanner ingesteld)"
    PENDING = "pending", "In quarantaine: wordt gescand"
    CLEAN = "clean", "Schoon"
    INFECTED = "infected", "Geweigerd: besmet"


class StoredFile(EncryptedModel):
    """A file checked on upload (signals.attachments), its content in an encrypted file under the
    row's data key (privacy.files), its name encrypted."""

    filename = EncryptedTextField("bestandsnaam")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    storage_name = models.CharField(max_length=200)
    scan_status = models.CharField(max_length=20, choices=ScanStatus.choices, default=ScanStatus.NOT_SCANNED)

    class Meta:
        abstract = True


class Attachment(StoredFile):
    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="attachments")
    created_at = models.DateTimeField(auto_now_add=True)
    history = WeerbaarHistoricalRecords()

    class Meta:
        verbose_name = "bijlage"
        verbose_name_plural = "bijlagen"
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"bijlage {self.pk}"

    @property
    def downloadable(self) -> bool:
        return self.scan_status in {ScanStatus.NOT_SCANNED, ScanStatus.CLEAN}


class HeldFile(StoredFile):
    """A chosen file that passed the checks, on a form that came back with an error elsewhere (a
    field, another file): held, under a data key of its own, so that the reporter need not choose
    it again (a browser does not put files back in a file field). It goes into the signal when
    the form is sent, is dropped when the reporter unticks it, and is destroyed with its key after
    HELD_FILE_HOURS (signals.held_files)."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    # The form's own key (a hidden field, never in an address), and the account that sent it; a
    # confidential reporter has none and must use the browser that was given the form.
    submission_key = models.UUIDField(db_index=True)
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "bewaard bestand van een formulier"
        verbose_name_plural = "bewaarde bestanden van formulieren"
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"bewaard bestand {self.pk}"


class CoordinatorNotification(models.Model):
    """Transactional outbox: written with the signal, sent by a task; a task that could not be
    queued (broker down) is sent by the next sweep, so no notification is lost."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"melding {self.signal_id}"


class HandlerNotification(models.Model):
    """Outbox of the mail to a coordinator whom a colleague made a signal's handler (a link only);
    sent by a task, or by the sweep when the broker was down. Not sent when the signal has another
    handler by then."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="+")
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"toewijzing {self.signal_id}"


# --- Confidential reporting without an account (signals/confidential*.py) -------------------------


class ReceiptCode(models.Model):
    """The receipt code of a confidential report: a public lookup id (random, indexed) and a slow
    hash of the whole code. The code itself is shown once and stored nowhere.

    A signal may have a few codes: a double click on "versturen" issues one per request, so that
    whichever response the browser shows carries a code that works."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="receipt_codes")
    lookup_id = models.CharField(max_length=8, unique=True)
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "ontvangstcode"
        verbose_name_plural = "ontvangstcodes"

    def __str__(self) -> str:
        return f"ontvangstcode {self.pk}"


class ReporterContact(EncryptedModel):
    """Name and contact details a reporter without an account chose to give. Kept apart from the
    signal, under a data key of its own, and shown to a coordinator only after a reasoned request
    (ReporterIdentityRequest)."""

    signal = models.OneToOneField(Signal, on_delete=models.CASCADE, related_name="reporter_contact")
    name = EncryptedTextField("naam", blank=True, null=True)
    email = EncryptedTextField("e-mailadres", blank=True, null=True)
    phone = EncryptedTextField("telefoonnummer", blank=True, null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "contactgegevens melder"
        verbose_name_plural = "contactgegevens melders"

    def __str__(self) -> str:
        return f"contactgegevens bij {self.signal_id}"


class ReporterIdentityRequest(EncryptedModel):
    """A coordinator's reasoned request to see who reported; the reason is encrypted with the
    signal's key, so it is destroyed with the signal."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="identity_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField("reden")
    created_at = models.DateTimeField(auto_now_add=True)
    # The form's own key: the same request sent twice (a double click) is one request.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        verbose_name = "verzoek om gegevens van de melder"
        verbose_name_plural = "verzoeken om gegevens van de melder"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"verzoek {self.pk} bij {self.signal_id}"


class MessageDirection(models.TextChoices):
    TO_REPORTER = "to_reporter", "Vraag van de coördinator"
    FROM_REPORTER = "from_reporter", "Bericht van de melder"


class SignalMessage(EncryptedModel):
    """A question of a coordinator to the reporter, or the reporter's answer or addition; encrypted
    with the signal's key. Messages are never edited. The reporter is someone without an account
    (who reads with the receipt code) or the employee who reported (who reads at Mijn meldingen);
    a signal registered on behalf of someone has no messages."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=20, choices=MessageDirection.choices)
    text = EncryptedTextField("bericht")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When the other side was mailed about it (outbox, as for signals): the coordinators for a
    # reporter's message, the reporter for a question to an employee. A reporter without an
    # account is never mailed.
    notified_at = models.DateTimeField(null=True, blank=True)
    # When the other side first opened the page that shows it: a coordinator for a reporter's
    # message, the reporter for a question. Unread ones are marked in the lists.
    read_at = models.DateTimeField(null=True, blank=True)
    # The form's own key: the same form sent twice (a double click) is one message.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        verbose_name = "bericht"
        verbose_name_plural = "berichten"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["signal", "created_at"])]

    def __str__(self) -> str:
        return f"bericht {self.pk} bij {self.signal_id}"
