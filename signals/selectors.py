from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.roles import Action, user_can
from accounts.scoping import get_for_user_or_404
from privacy.crypto import with_data_keys
from signals.models import ON_BEHALF_CHANNELS, Attachment, Phenomenon, Signal, SignalStatus, Subject


def phenomenon_choices(*, organisation_id: int) -> QuerySet[Phenomenon]:
    """The active phenomena (each organisation gets the default list when it is created)."""
    return Phenomenon.objects.filter(organisation_id=organisation_id, is_active=True)


def phenomenon_list(*, actor) -> QuerySet[Phenomenon]:
    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    return Phenomenon.objects.for_user(actor)


def signal_list_for_reporter(*, user) -> QuerySet[Signal]:
    """The reporter's own signals: reference, date, phenomenon, coarse status, and whether a
    coordinator's question waits unread. Nothing internal."""
    if not user_can(user, Action.SUBMIT_SIGNAL):
        raise PermissionDenied
    return (
        Signal.objects.for_user(user)
        .filter(reporter=user)
        .select_related("phenomenon")
        .only("pk", "reference", "created_at", "status", "phenomenon__name", "organisation_id", "reporter_id")
        .annotate(unread_question=unread_question())
    )


def signal_get_for_reporter(*, user, pk: int) -> Signal:
    return get_for_user_or_404(Signal.objects.filter(reporter=user), user, pk=pk)


def own_signal_get(*, user, pk: int) -> Signal:
    """The reporter's own signal with its data key, for the page that shows what they reported
    and the messages (404 for anyone else's, also a colleague's or another organisation's)."""
    if not user_can(user, Action.SUBMIT_SIGNAL):
        raise PermissionDenied
    return get_for_user_or_404(
        with_data_keys(Signal.objects.filter(reporter=user).select_related("phenomenon", "reporter")), user, pk=pk
    )


#: The inbox filter for signals still to be handled: received or in handling.
OPEN = "open"
#: The inbox filter for signals nobody handles yet.
NOBODY = "niemand"


def signal_inbox(
    *,
    actor,
    status: str = "",
    phenomenon_id: int | None = None,
    acute_only: bool = False,
    unread_only: bool = False,
    handler: int | str = "",
    oldest_first: bool = False,
    subject_indexes: list[str] | None = None,
    reference: str = "",
) -> QuerySet[Signal]:
    """The organisation's signals, newest first, optionally narrowed. `subject_indexes` are blind
    indexes of an identifier the coordinator searched for (see identifier_indexes); `unread_only`
    keeps those with a reporter's message no coordinator has opened yet; `handler` a coordinator's
    id, or NOBODY for signals nobody handles yet."""
    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    signals = Signal.objects.for_user(actor)
    if status == OPEN:
        signals = signals.exclude(status=SignalStatus.CLOSED)
    elif status:
        signals = signals.filter(status=status)
    if phenomenon_id:
        signals = signals.filter(phenomenon_id=phenomenon_id)
    if acute_only:
        signals = signals.filter(acute_danger=True)
    if unread_only:
        signals = signals.filter(unread_message())
    if handler == NOBODY:
        signals = signals.filter(handler__isnull=True)
    elif handler:
        signals = signals.filter(handler_id=handler)
    if reference:
        signals = signals.filter(reference=reference)
    if subject_indexes is not None:
        matching = Subject.objects.filter(_any_index_in(subject_indexes) | Q(name_index__in=subject_indexes)).values(
            "signal_id"
        )
        signals = signals.filter(Q(pk__in=matching) | Q(address_index__in=subject_indexes))
    # Nothing on the list is encrypted, so no data keys are loaded. The counts are subqueries for
    # the rows of the page: joined and grouped, they were counted for every signal of the
    # organisation before the page was cut, and so was the paginator's total.
    return (
        signals.select_related("phenomenon", "handler")
        .annotate(
            subject_count=_count_per_signal(Subject),
            attachment_count=_count_per_signal(Attachment),
            news_after_closing=news_after_closing(),
            unread_message=unread_message(),
        )
        .order_by(*(("created_at", "pk") if oldest_first else ("-created_at", "-pk")))
    )


def _count_per_signal(model) -> Coalesce:
    rows = model.objects.filter(signal=OuterRef("pk")).order_by().values("signal").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


_NAME_AND_BIRTH_DATE = re.compile(r"^(?P<name>.*\S)\s+(?P<day>\d{1,2})[-/.](?P<month>\d{1,2})[-/.](?P<year>\d{4})$")
# Text that starts as a postcode is an address, typed wrong if it is no valid one: not a name.
_STARTS_AS_POSTCODE = re.compile(r"^\d{4}\s*[A-Za-z]{2}\b")
NO_SUCH_DATE = "Die geboortedatum bestaat niet. Schrijf de naam met de datum als Piet Jansen 17-05-1980."


def identifier_indexes(text: str) -> list[str]:
    """The blind indexes of every reading of a typed identifier (identifier_readings)."""
    return [index for _, index in identifier_readings(text)]


# How the search reads what is typed, for the page that found nothing.
READ_AS = {
    "kvk": "een KvK-nummer",
    "address": "een adres",
    "kenteken": "een kenteken",
    "person": "een persoon met geboortedatum",
    "name": "een naam",
}
# A postcode alone is no address: the search needs the house number too.
POSTCODE_ONLY = re.compile(r"^\d{4}\s*[A-Za-z]{2}$")


def identifier_readings(text: str) -> list[tuple[str, str]]:
    """Every reading of a typed identifier as (kind, blind index) of a kind the meldpunt stores (a
    subject's name, KvK number, address or kenteken, a signal's address; a name followed by a
    date of birth, 17-05-1980, as that person), so one search box finds signals about it without
    decrypting anything. Each kind is its own HMAC domain, so the readings never match one another.
    Not e-mail or phone: only a confidential reporter's contact details have those, and a reporter
    is never searched for. A name with a date of birth that does not exist: ValidationError."""
    from datetime import date

    from django.core.exceptions import ValidationError

    from privacy.blind_index import blind_index, name_blind_index, person_blind_index

    text = text.strip()
    readings = []
    for kind in ("kvk", "address", "kenteken"):
        try:
            readings.append((kind, blind_index(kind, text)))
        except ValidationError:
            continue
    born = _NAME_AND_BIRTH_DATE.match(text)
    if born:
        try:
            birth_date = date(int(born["year"]), int(born["month"]), int(born["day"]))
        except ValueError:
            raise ValidationError(NO_SUCH_DATE) from None
        with contextlib.suppress(ValidationError):
            readings.append(("person", person_blind_index(born["name"], birth_date)))
    # A name has a letter, and is no e-mail address or address (whose parts would read as a name).
    elif any(ch.isalpha() for ch in text) and "@" not in text and not _STARTS_AS_POSTCODE.match(text):
        with contextlib.suppress(ValidationError):
            # As a person's name and as a company's (a legal form at the end left out).
            person, company = name_blind_index(text), name_blind_index(text, company=True)
            readings.extend([("name", person)] + ([("name", company)] if company != person else []))
    return readings


def nothing_found_hint(text: str, criteria: dict | None = None) -> str:
    """What the inbox says when a search found nothing: how it read what was typed, and for a
    postcode alone, that an address needs the house number."""
    if criteria and criteria.get("reference"):
        return f"Uw organisatie heeft geen signaal met kenmerk {criteria['reference']}."
    kinds = list(dict.fromkeys(kind for kind, _ in identifier_readings(text)))
    read_as = [READ_AS[kind] for kind in kinds]
    said = read_as[0] if len(read_as) == 1 else ", ".join(read_as[:-1]) + " of " + read_as[-1]
    hint = f"Geen signalen gevonden. We zochten dit als {said}."
    if POSTCODE_ONLY.match(text.strip()):
        hint += " Zoekt u een adres? Vul dan ook het huisnummer in, bijvoorbeeld 1506 AB 12."
    return hint


def _from_the_reporter():
    from signals.models import MessageDirection, SignalMessage

    return SignalMessage.objects.filter(direction=MessageDirection.FROM_REPORTER)


def news_after_closing():
    """Annotation: whether a closed signal's reporter wrote after it was closed. The
    list and the signal's page say so, or the information would wait unseen under "afgerond"."""
    return Exists(_from_the_reporter().filter(signal_id=OuterRef("pk"), created_at__gt=OuterRef("closed_at")))


def unread_message():
    """Annotation: whether the signal has a reporter's message no coordinator has opened yet."""
    return Exists(_from_the_reporter().filter(signal_id=OuterRef("pk"), read_at__isnull=True))


def unread_question():
    """Annotation for the reporter's own list: whether a coordinator's question waits unread."""
    from signals.models import MessageDirection, SignalMessage

    return Exists(
        SignalMessage.objects.filter(
            signal_id=OuterRef("pk"), direction=MessageDirection.TO_REPORTER, read_at__isnull=True
        )
    )


def signal_unread_writers(signal: Signal) -> set:
    """Who wrote the reporter's messages on the signal that nobody read yet: the accounts' ids,
    None for a confidential reporter; empty when there are none. One query, for the signal's page."""
    return set(_from_the_reporter().filter(signal=signal, read_at__isnull=True).values_list("sent_by_id", flat=True))


def signal_news_after_closing(signal: Signal) -> bool:
    """news_after_closing for the one signal a page shows."""
    if signal.closed_at is None:
        return False
    return _from_the_reporter().filter(signal=signal, created_at__gt=signal.closed_at).exists()


def signal_get_for_coordinator(*, actor, pk: int) -> Signal:
    if not user_can(actor, Action.HANDLE_SIGNALS):
        raise PermissionDenied
    return get_for_user_or_404(
        with_data_keys(
            Signal.objects.select_related("phenomenon", "reporter", "registered_by", "handler", "duplicate_of")
        ),
        actor,
        pk=pk,
    )


def _any_index_in(indexes) -> Q:
    """A subject with one of `indexes` as its own index or as the address or kenteken given with
    it. Each kind is its own HMAC domain, so an address index only ever equals an address index,
    whichever column holds it."""
    condition = Q()
    for field in Subject.IDENTITY_INDEX_FIELDS:
        condition |= Q(**{f"{field}__in": indexes})
    return condition


def signals_sharing_subjects(*, actor, signal: Signal) -> QuerySet[Signal]:
    """Other signals of the organisation about the same person, company, address or vehicle,
    across years, matched on blind indexes only: a subject's own index, the address or kenteken
    given with a subject (where a person lives is the address named elsewhere), and the signal's
    address field, each way round."""
    if not user_can(actor, Action.HANDLE_SIGNALS) or signal.organisation_id != actor.organisation_id:
        raise PermissionDenied
    rows = Subject.objects.filter(signal=signal).values_list(*Subject.IDENTITY_INDEX_FIELDS)
    indexes = {index for row in rows for index in row if index}
    if signal.address_index:
        indexes.add(signal.address_index)
    matches = Signal.objects.for_user(actor).exclude(pk=signal.pk)
    ids = (
        Subject.objects.filter(_any_index_in(indexes), signal__organisation_id=signal.organisation_id)
        .values("signal_id")
        .distinct()
    )
    return matches.filter(Q(pk__in=ids) | Q(address_index__in=indexes)).order_by("-created_at")


def signals_sharing_names(*, actor, signal: Signal) -> QuerySet[Signal]:
    """Other signals of the organisation with a person or company of the same name as one of
    this signal's, matched on the name index only: perhaps the same one, perhaps a namesake (the
    date of birth or KvK number differs or was not given). Not those about the same subject
    (signals_sharing_subjects), however many there are."""
    if not user_can(actor, Action.HANDLE_SIGNALS) or signal.organisation_id != actor.organisation_id:
        raise PermissionDenied
    names = Subject.objects.filter(signal=signal).exclude(name_index="").exclude(name_index__isnull=True)
    matching = Subject.objects.filter(name_index__in=names.values("name_index")).values("signal_id")
    return (
        Signal.objects.for_user(actor)
        .filter(pk__in=matching)
        .exclude(pk=signal.pk)
        .exclude(pk__in=signals_sharing_subjects(actor=actor, signal=signal).order_by().values("pk"))
        .order_by("-created_at")
    )


def active_handler(signal: Signal):
    """The signal's handler while they are an active coordinator of its organisation, else None
    (nobody, or one blocked or moved on: then the signal is everyone's again)."""
    from accounts.roles import Role

    handler = signal.handler if signal.handler_id else None
    if handler is None or not handler.is_active or handler.role != Role.COORDINATOR:
        return None
    return handler if handler.organisation_id == signal.organisation_id else None


def messages_handler(signal: Signal):
    """Who reads the reporter's new messages for the others and alone is mailed about them: the
    active handler, when they have an e-mail address to be told at (an account made outside the
    forms may have none; then the messages are everyone's, as they are all told)."""
    handler = active_handler(signal)
    return handler if handler is not None and handler.email else None


def coordinator_emails(*, organisation_id: int) -> list[str]:
    """Where the meldpunt's link-only notifications go: the organisation's active coordinators."""
    from accounts.models import User
    from accounts.roles import Role

    return list(
        User.objects.filter(organisation_id=organisation_id, role=Role.COORDINATOR, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    earlier: int  # entries left out before the first one shown


# What the Verloop shows, each with its own sentence in signal_timeline.
TIMELINE_ACTIONS = (
    "signal.submitted",
    "signal.triage_started",
    "signal.assigned",
    "signal.question_sent",
    "signal.reporter_message_added",
    "signal.receipt_issued",
    "signal.reporter_contact_recorded",
    "signal.reporter_identity_disclosed",
    "signal.closed",
    "signal.reopened",
)
# A reporter can write any number of messages; the page shows the newest this many entries.
TIMELINE_LIMIT = 100


def signal_timeline(*, actor, signal: Signal) -> Timeline:
    """What happened to the signal, oldest first, from its audit events: reported or registered,
    taken into handling, who handles it, questions and messages, the reporter's details recorded or
    looked up, closed and reopened. Only those actions (TIMELINE_ACTIONS): reads are not in it
    (those are the access log's), nor what other roles do with the record (a privacy officer who
    postpones its destruction), nor any content: the events hold ids and codes only. The newest
    TIMELINE_LIMIT entries, with how many earlier ones are left out; two queries, one more when
    entries are left out and one more when a closure names an earlier signal,
    however long the history."""
    from accounts.models import User
    from audit.models import AuditEvent
    from signals.models import Channel, ClosureReason

    if not user_can(actor, Action.HANDLE_SIGNALS) or actor.organisation_id != signal.organisation_id:
        raise PermissionDenied
    of_signal = AuditEvent.objects.filter(
        organisation_id=signal.organisation_id,
        record_type="signals.signal",
        record_id=str(signal.pk),
        action__in=TIMELINE_ACTIONS,
    )
    events = list(of_signal.only("at", "actor_id", "action", "data").order_by("-at", "-pk")[: TIMELINE_LIMIT + 1])
    earlier = 0
    if len(events) > TIMELINE_LIMIT:
        events = events[:TIMELINE_LIMIT]
        earlier = of_signal.count() - TIMELINE_LIMIT
    events.reverse()
    user_ids = {e.actor_id for e in events} | {e.data.get("to") for e in events if e.action == "signal.assigned"}
    names = {
        user.pk: user.display_name
        for user in User.objects.filter(pk__in=user_ids - {None}).only("first_name", "last_name", "username")
    }

    # The earlier signals named by "al eerder gemeld" closures (a query only when there are any).
    earlier_ids = {e.data.get("duplicate_of") for e in events if e.action == "signal.closed"} - {None}
    references = (
        dict(
            Signal.objects.filter(pk__in=earlier_ids, organisation_id=signal.organisation_id).values_list(
                "pk", "reference"
            )
        )
        if earlier_ids
        else {}
    )

    def who(user_id) -> str:
        return names.get(user_id, "een verwijderd account") if user_id is not None else "Weerbaar"

    def text(event) -> str:
        by, data = who(event.actor_id), event.data
        match event.action:
            case "signal.submitted":
                channel = Channel(data["channel"]) if data.get("channel") in Channel.values else Channel.WEB_FORM
                if channel in ON_BEHALF_CHANNELS:
                    label = channel.label if channel == Channel.MELD_MISDAAD_ANONIEM else channel.label.lower()
                    return f"Geregistreerd door {by} ({label})"
                via = f"via het {channel.label[0].lower()}{channel.label[1:]}"
                return f"Gemeld door {by} {via}" if event.actor_id is not None else f"Gemeld {via}"
            case "signal.triage_started":
                return f"In behandeling genomen door {by}"
            case "signal.assigned":
                if data.get("to") is None:
                    return f"{by} haalde de behandelaar weg"
                if data["to"] == event.actor_id:
                    return f"{by} werd behandelaar"
                return f"{by} maakte {who(data['to'])} behandelaar"
            case "signal.question_sent":
                return f"{by} stelde de melder een vraag"
            case "signal.reporter_message_added":
                return "De melder schreef een bericht"
            case "signal.receipt_issued":
                return (
                    "De melder kreeg een nieuwe ontvangstcode"
                    if data.get("codes", 1) > 1
                    else "De melder kreeg een ontvangstcode"
                )
            case "signal.reporter_contact_recorded":
                return f"{by} legde de gegevens van de melder vast"
            case "signal.reporter_identity_disclosed":
                return f"{by} vroeg de gegevens van de melder op"
            case "signal.closed":
                reason = data.get("reason")
                if reason == ClosureReason.OTHER:
                    return f"Afgesloten door {by}, om een andere reden"
                label = ClosureReason(reason).label if reason in ClosureReason.values else "zonder reden"
                repeats = references.get(data.get("duplicate_of"))
                return f"Afgesloten door {by}: {label[0].lower()}{label[1:]}" + (f" ({repeats})" if repeats else "")
            case "signal.reopened":
                return f"Heropend door {by}"
        raise AssertionError(event.action)  # TIMELINE_ACTIONS and these texts go together

    entries, skip = [], False
    for event, following in zip(events, [*events[1:], None], strict=True):
        if skip:  # said with the line before
            skip = False
            continue
        if _made_handler_by_triage(event, following):  # one line, not two
            line = f"{who(event.actor_id)} nam het signaal in behandeling en werd behandelaar"
            entries.append(TimelineEntry(at=event.at, text=_capitalised(line)))
            skip = True
            continue
        entries.append(TimelineEntry(at=event.at, text=_capitalised(text(event))))
    return Timeline(entries=entries, earlier=earlier)


def _made_handler_by_triage(event, following) -> bool:
    """Whether `event` took the signal into handling and made its actor handler by it (its
    handler_id is theirs), with `following` the assignment signal_start_triage then writes."""
    actor_id = event.actor_id
    return (
        event.action == "signal.triage_started"
        and actor_id is not None
        and event.data.get("handler_id") == actor_id
        and following is not None
        and following.action == "signal.assigned"
        and following.actor_id == actor_id
        and following.data.get("to") == actor_id
    )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
