"""Confidential reporting without an account: receipt codes, the reporter's contact details kept
apart, and the reasoned request to see who reported; and the messages between coordinator and
reporter, with or without an account.

Writes (services) and reads (selectors) of this part of the meldpunt; the signal itself is stored
through `signals.services.signal_submit`, like every other channel.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache

from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organisation
from accounts.roles import Action, user_can
from audit.services import audit_event_record
from privacy.crypto import with_data_keys
from signals.models import (
    ON_BEHALF_CHANNELS,
    Channel,
    MessageDirection,
    ReceiptCode,
    ReporterContact,
    ReporterIdentityRequest,
    Signal,
    SignalMessage,
)
from signals.services import SignalData, signal_submit

logger = logging.getLogger(__name__)

# --- Receipt codes ---------------------------------------------------------------------------------
# Crockford's base32: no I, L, O or U, so nothing reads as something else; typed O, I and L are read
# as 0, 1 and 1. 5 bits a character.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LOOKUP_LENGTH = 8  # 40 bits, public: finds the row
SECRET_LENGTH = 16  # 80 bits, secret: checked against the slow hash
CODE_LENGTH = LOOKUP_LENGTH + SECRET_LENGTH
GROUP_LENGTH = 4
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

# A double click or "back and send again" may issue another code, so that the page the browser
# finally shows carries one that works; only shortly after the signal came in, and a few at most.
REISSUE_WINDOW = timedelta(minutes=10)
MAX_CODES_PER_SIGNAL = 3

REASON_MIN_LENGTH = 20
MESSAGE_MAX_LENGTH = 5000

# Argon2id with Django's parameters, whatever PASSWORD_HASHERS says (tests use a fast one there).
_HASHER = Argon2PasswordHasher()


def receipt_code_generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def receipt_code_format(code: str) -> str:
    """ABCD-EFGH-...: six groups of four, easy to copy by hand."""
    return "-".join(code[i : i + GROUP_LENGTH] for i in range(0, len(code), GROUP_LENGTH))


def receipt_code_normalise(text: str) -> str | None:
    """The code as stored and hashed, from what a person typed; None when it cannot be a code."""
    compact = "".join((text or "").split()).replace("-", "").upper().translate(_READ_AS)
    if len(compact) != CODE_LENGTH or any(ch not in ALPHABET for ch in compact):
        return None
    return compact


def _hash(code: str) -> str:
    return make_password(code, hasher=_HASHER)


@cache
def _dummy_hash() -> str:
    """Checked against when the lookup id is unknown, so a miss costs what a hit costs."""
    return _hash(receipt_code_generate())


def receipt_code_check(*, code: str, lookup_allowed: bool = True) -> ReceiptCode | None:
    """The receipt the code belongs to, or None. Every call does one Argon2 verification, whether
    the lookup id exists or not (and when `lookup_allowed` is False, because the lookup id is
    cooling off after failures: then even the right code is refused)."""
    normalised = receipt_code_normalise(code)
    receipt = None
    if normalised is not None and lookup_allowed:
        receipt = ReceiptCode.objects.filter(lookup_id=normalised[:LOOKUP_LENGTH]).first()
    matches = _HASHER.verify(normalised or "", receipt.code_hash if receipt else _dummy_hash())
    return receipt if receipt is not None and matches else None


def receipt_lookup_id(code: str) -> str:
    """The public part of a typed code, for counting failures per code; '' when it is no code."""
    normalised = receipt_code_normalise(code)
    return normalised[:LOOKUP_LENGTH] if normalised else ""


# --- Submitting ------------------------------------------------------------------------------------


@dataclass
class ContactData:
    name: str = ""
    email: str = ""
    phone: str = ""

    def given(self) -> bool:
        return bool(self.name or self.email or self.phone)


@contextmanager
def _unlinked_from_request_user():
    """django-simple-history takes the history user from the request. Someone who happens to be
    logged in must not end up in the signal's history when they report without an account."""
    from simple_history.models import HistoricalRecords

    request = getattr(HistoricalRecords.context, "request", None)
    if request is not None:
        del HistoricalRecords.context.request
    try:
        yield
    finally:
        if request is not None:
            HistoricalRecords.context.request = request


def confidential_organisation_get(*, organisation_id: int) -> Organisation | None:
    """The organisation whose public form this is, when it has switched confidential reporting on."""
    return Organisation.objects.filter(pk=organisation_id, confidential_reporting_enabled=True).first()


def confidential_signal_submit(
    *, organisation_id: int, submission_key, data: SignalData, contact: ContactData, same_browser: bool
) -> tuple[Signal, str | None]:
    """Stores a signal reported without an account, the reporter's contact details apart (with a
    key of their own) and a receipt code; returns the signal and the code, which is stored only as
    a slow hash and must be shown to the reporter once.

    All of it is stored in `signal_submit`'s one transaction. A repeated submit returns the signal
    with a new code shortly after it came in (a double click, whose first answer the browser
    dropped), and without one (None) later on, or when it does not come from the browser the
    form was given to (`same_browser`): a replayed key gets neither a code nor its contact
    details attached."""
    if confidential_organisation_get(organisation_id=organisation_id) is None:
        raise PermissionDenied
    code = receipt_code_generate()
    code_hash = _hash(code)  # slow: before the transaction, not while holding the lock
    issued_with_signal: list[str] = []

    def issue_with_the_signal(signal: Signal) -> None:
        # Inside signal_submit's transaction: the signal, its code and the contact details are
        # stored together or not at all.
        issued_with_signal.append(_issue(signal, code, code_hash, contact, already_issued=0))

    with _unlinked_from_request_user():
        signal = signal_submit(
            actor=None,
            organisation_id=organisation_id,
            channel=Channel.CONFIDENTIAL_FORM,
            submission_key=submission_key,
            data=data,
            after_create=issue_with_the_signal,
        )
    if signal.channel != Channel.CONFIDENTIAL_FORM:
        raise PermissionDenied  # someone else's form key replayed here
    if issued_with_signal:
        return signal, issued_with_signal[0]
    if not same_browser:
        return signal, None
    # The same form again: a new code for the same signal, shortly after it came in.
    with transaction.atomic(durable=True):
        locked = Signal.objects.select_for_update().get(pk=signal.pk)
        locked.repeated_submission = True
        issued = ReceiptCode.objects.filter(signal=locked).count()
        if issued and (issued >= MAX_CODES_PER_SIGNAL or timezone.now() - locked.created_at > REISSUE_WINDOW):
            return locked, None
        code = _issue(locked, code, code_hash, contact, already_issued=issued)
    return locked, code


ANONYMOUS_CHANNEL = (
    "Een melding via Meld Misdaad Anoniem is anoniem: vul geen naam of contactgegevens van de melder in."
)


def on_behalf_signal_submit(
    *, actor, organisation_id: int, channel: str, submission_key, data: SignalData, contact: ContactData
) -> Signal:
    """A coordinator registers a signal received by phone, letter, e-mail or in person, with the
    reporter's name and contact details if they gave them: stored apart from the signal under a
    key of their own, in the same transaction, and shown only after a reasoned request, as for a
    reporter without an account. The same form sent twice stores them once."""
    if channel not in ON_BEHALF_CHANNELS:
        raise PermissionDenied
    if channel == Channel.MELD_MISDAAD_ANONIEM and contact.given():
        raise ValidationError({"reporter_name": ANONYMOUS_CHANNEL})

    def contact_with_the_signal(signal: Signal) -> None:
        if not contact.given():
            return
        stored = ReporterContact(  # no data_key given: EncryptedModel creates one of its own
            signal=signal, name=contact.name or None, email=contact.email or None, phone=contact.phone or None
        )
        stored.save()
        audit_event_record(
            actor=actor,
            action="signal.reporter_contact_recorded",
            organisation_id=signal.organisation_id,
            record=signal,
            data={"contact_id": stored.pk},
        )

    return signal_submit(
        actor=actor,
        organisation_id=organisation_id,
        channel=channel,
        submission_key=submission_key,
        data=data,
        after_create=contact_with_the_signal,
    )


def _issue(signal: Signal, code: str, code_hash: str, contact: ContactData, *, already_issued: int) -> str:
    while ReceiptCode.objects.filter(lookup_id=code[:LOOKUP_LENGTH]).exists():  # 1 in 2**40
        code = receipt_code_generate()
        code_hash = _hash(code)
    receipt = ReceiptCode.objects.create(signal=signal, lookup_id=code[:LOOKUP_LENGTH], code_hash=code_hash)
    contact_stored = False
    if contact.given() and not ReporterContact.objects.filter(signal=signal).exists():
        ReporterContact(  # no data_key given: EncryptedModel creates one of its own
            signal=signal,
            name=contact.name or None,
            email=contact.email or None,
            phone=contact.phone or None,
        ).save()
        contact_stored = True
    audit_event_record(
        actor=None,
        action="signal.receipt_issued",
        organisation_id=signal.organisation_id,
        record=signal,
        data={"receipt_id": receipt.pk, "contact_details": contact_stored, "codes": already_issued + 1},
    )
    return code


# --- Messages --------------------------------------------------------------------------------------


def _clean_text(text: str, *, field: str, empty_message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: empty_message})
    if len(text) > MESSAGE_MAX_LENGTH:
        raise ValidationError({field: f"Een bericht is hooguit {MESSAGE_MAX_LENGTH} tekens."})
    return text


def _message_store(message: SignalMessage, on_stored) -> tuple[SignalMessage, bool]:
    """Saves a new message, or returns the one saved before with the same submission key (the
    same form sent twice); (message, whether it is new). `on_stored` runs for a new one, in the
    same transaction."""
    key = message.submission_key
    if key is not None:
        earlier = SignalMessage.objects.filter(submission_key=key).first()
        if earlier is not None:
            return _same_form_again(earlier, message), False
    try:
        with transaction.atomic(durable=True):
            message.save()
            on_stored(message)
    except IntegrityError:
        earlier = SignalMessage.objects.filter(submission_key=key).first() if key is not None else None
        if earlier is None:
            raise
        return _same_form_again(earlier, message), False
    return message, True


def _same_form_again(earlier: SignalMessage, message: SignalMessage) -> SignalMessage:
    if (earlier.signal_id, earlier.direction) != (message.signal_id, message.direction):
        raise PermissionDenied  # another form's key, replayed here
    return earlier


class QuestionRoute(StrEnum):
    """How a coordinator's question reaches the reporter of a signal."""

    RECEIPT_CODE = "code"  # a reporter without an account reads it after entering the receipt code
    ACCOUNT = "account"  # the employee who reported is mailed a link and reads it at Mijn meldingen
    ACCOUNT_GONE = "account_gone"  # that employee can no longer open the report, or has no address
    NONE = "none"  # registered on behalf of someone (phone, letter, ...): Weerbaar cannot reach them


NO_QUESTION = {
    QuestionRoute.ACCOUNT_GONE: (
        "De melder kan uw vraag in Weerbaar niet lezen: het account is geblokkeerd, heeft een andere rol of "
        "organisatie gekregen, of heeft geen e-mailadres. Neem op een andere manier contact op."
    ),
    QuestionRoute.NONE: (
        "Dit signaal is namens de melder geregistreerd; in Weerbaar kan de melder geen vraag lezen. Neem contact "
        "op langs de weg waarop het signaal binnenkwam."
    ),
}


def question_route(signal: Signal) -> QuestionRoute:
    if signal.channel == Channel.CONFIDENTIAL_FORM:
        return QuestionRoute.RECEIPT_CODE
    if signal.channel == Channel.WEB_FORM and signal.reporter_id is not None:
        return QuestionRoute.ACCOUNT if _reaches_own_report(signal.reporter, signal) else QuestionRoute.ACCOUNT_GONE
    return QuestionRoute.NONE


def _opens_own_report(user, signal: Signal) -> bool:
    """Whether `user`, the employee who reported, can still open the report at Mijn meldingen."""
    return user.is_active and user.organisation_id == signal.organisation_id and user_can(user, Action.SUBMIT_SIGNAL)


def _reaches_own_report(user, signal: Signal) -> bool:
    """Whether the employee who reported can be mailed and can open the report at Mijn meldingen."""
    return bool(user.email) and _opens_own_report(user, signal)


def reporter_question_send(*, actor, signal: Signal, text: str, submission_key=None) -> SignalMessage:
    """A coordinator's question to the reporter: one without an account reads it after entering
    the receipt code (and is told nothing: there is no address); the employee who reported is
    mailed a link, without content, after commit. The same form sent twice (`submission_key`) is
    one question."""
    if not user_can(actor, Action.HANDLE_SIGNALS) or signal.organisation_id != actor.organisation_id:
        raise PermissionDenied
    route = question_route(signal)
    if route in NO_QUESTION:
        raise ValidationError(NO_QUESTION[route])
    text = _clean_text(text, field="text", empty_message="Schrijf uw vraag aan de melder.")
    message = SignalMessage(
        signal=signal,
        data_key_id=signal.data_key_id,
        direction=MessageDirection.TO_REPORTER,
        text=text,
        sent_by=actor,
        submission_key=submission_key,
    )

    def audited(message):
        audit_event_record(
            actor=actor,
            action="signal.question_sent",
            organisation_id=signal.organisation_id,
            record=signal,
            data={"message_id": message.pk},
        )
        if route == QuestionRoute.ACCOUNT:
            from signals.confidential_tasks import queue_reporter_question_notification

            transaction.on_commit(lambda: queue_reporter_question_notification(message.pk))

    return _message_store(message, audited)[0]


def _writes_as_reporter(signal: Signal, actor) -> bool:
    """Whether `actor` may answer or add information as the signal's reporter: nobody (the holder
    of a checked receipt code) on a confidential signal, the reporting employee on their own."""
    if signal.channel == Channel.CONFIDENTIAL_FORM:
        return actor is None
    return (
        signal.channel == Channel.WEB_FORM
        and actor is not None
        and signal.reporter_id == actor.pk
        and _opens_own_report(actor, signal)
    )


def reporter_message_add(*, signal: Signal, text: str, submission_key=None, actor=None) -> SignalMessage:
    """The reporter answers or adds information: without an account (`actor` None, the view
    checked the receipt code) or as the employee who reported (`actor`). The coordinators are
    mailed a link, without content, after commit. The same form sent twice is one message."""
    if not _writes_as_reporter(signal, actor):
        raise PermissionDenied
    text = _clean_text(text, field="text", empty_message="Schrijf uw bericht.")
    message = SignalMessage(
        signal=signal,
        data_key_id=signal.data_key_id,
        direction=MessageDirection.FROM_REPORTER,
        text=text,
        sent_by=actor,
        submission_key=submission_key,
    )

    def audited(message):
        audit_event_record(
            actor=actor,
            action="signal.reporter_message_added",
            organisation_id=signal.organisation_id,
            record=signal,
            data={"message_id": message.pk},
        )
        from signals.confidential_tasks import queue_reporter_message_notification

        transaction.on_commit(lambda: queue_reporter_message_notification(message.pk))

    return _message_store(message, audited)[0]


def written_for_handler(sent_by_id, handler) -> bool:
    """Whether a reporter's message written by `sent_by_id` (None: a confidential reporter) waits
    for the signal's `handler` to read it: all but one the handler wrote (they reported the signal
    too), which is the colleagues' to read."""
    return sent_by_id != handler.pk


def _waits_for_handler(message: SignalMessage, handler) -> bool:
    return message.direction == MessageDirection.FROM_REPORTER and written_for_handler(message.sent_by_id, handler)


def messages_wait_for_handler(*, shown: list[SignalMessage], handler) -> bool:
    """Whether some of the reporter's messages shown stay new until `handler` reads them."""
    return handler is not None and any(m.read_at is None and _waits_for_handler(m, handler) for m in shown)


def messages_mark_read(*, shown: list[SignalMessage], direction: str, reader=None, handler=None) -> int:
    """The other side opened a page that showed these messages: those of `direction` among them
    not read before are read now. The reporter's messages are read by the signal's `handler`
    (selectors.messages_handler) when it has one, else by the first coordinator who opens them, for
    all: a colleague looking in does not take a message away from the handler. A message saved
    after the page was read stays unread, and so does one `reader` wrote (a coordinator who
    reported the signal: the other coordinators have not read it). One the handler wrote (they
    reported the signal too) is the colleagues' to read, as they were the ones mailed."""
    colleague = handler is not None and reader is not None and reader.pk != handler.pk
    unread = [
        message.pk
        for message in shown
        if message.direction == direction
        and message.read_at is None
        and (reader is None or message.sent_by_id != reader.pk)
        and not (colleague and _waits_for_handler(message, handler))
    ]
    if not unread:
        return 0
    return SignalMessage.objects.filter(pk__in=unread, read_at__isnull=True).update(read_at=timezone.now())


# --- The reporter's identity -----------------------------------------------------------------------


def reporter_identity_disclose(*, actor, signal: Signal, reason: str, submission_key=None) -> ReporterContact:
    """Records a coordinator's reasoned request to see the reporter's contact details and returns
    them. The reason is stored encrypted; the audit event holds ids only. The same form sent twice
    (`submission_key`) is one request; each time the details are shown is logged by the view."""
    if not user_can(actor, Action.HANDLE_SIGNALS) or signal.organisation_id != actor.organisation_id:
        raise PermissionDenied
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationError(
            {"reason": f"Geef een reden van minstens {REASON_MIN_LENGTH} tekens waarom u de gegevens nodig heeft."}
        )
    contact = with_data_keys(ReporterContact.objects.filter(signal=signal)).first()
    if contact is None:
        raise ValidationError("De melder heeft geen naam of contactgegevens achtergelaten.")
    earlier = _identity_request_earlier(actor, signal, submission_key) if submission_key is not None else None
    if earlier is not None:
        if earlier.reason == reason:
            return contact  # the same request sent twice
        submission_key = None  # the form sent again with another reason: a request of its own
    try:
        with transaction.atomic(durable=True):
            request = ReporterIdentityRequest(
                signal=signal,
                data_key_id=signal.data_key_id,
                requested_by=actor,
                reason=reason,
                submission_key=submission_key,
            )
            request.save()
            audit_event_record(
                actor=actor,
                action="signal.reporter_identity_disclosed",
                organisation_id=signal.organisation_id,
                record=signal,
                data={"request_id": request.pk, "contact_id": contact.pk},
            )
    except IntegrityError:
        # The same form at the same moment (a double click on two processes): the other one counted.
        if submission_key is None or _identity_request_earlier(actor, signal, submission_key) is None:
            raise
    return contact


def _identity_request_earlier(actor, signal: Signal, submission_key) -> ReporterIdentityRequest | None:
    """The request this form made before, if any; another coordinator's or another signal's key
    is refused."""
    earlier = with_data_keys(ReporterIdentityRequest.objects.filter(submission_key=submission_key)).first()
    if earlier is not None and (earlier.signal_id, earlier.requested_by_id) != (signal.pk, actor.pk):
        raise PermissionDenied  # another form's key, replayed here
    return earlier


# --- Reads -----------------------------------------------------------------------------------------


def signal_messages(*, signal: Signal) -> list[SignalMessage]:
    return list(with_data_keys(SignalMessage.objects.filter(signal=signal).select_related("sent_by")))


def reporter_signal_get(*, signal_id: int) -> Signal | None:
    """The signal a reporter holds a checked code for (None once it is destroyed)."""
    return Signal.objects.filter(pk=signal_id, channel=Channel.CONFIDENTIAL_FORM).first()


def reporter_contact_exists(*, signal: Signal) -> bool:
    return ReporterContact.objects.filter(signal=signal).exists()


def identity_request_list(*, actor, signal: Signal) -> list[ReporterIdentityRequest]:
    if not user_can(actor, Action.HANDLE_SIGNALS) or signal.organisation_id != actor.organisation_id:
        raise PermissionDenied
    return list(with_data_keys(ReporterIdentityRequest.objects.filter(signal=signal).select_related("requested_by")))
