"""Pages of confidential reporting without an account.

Public (no login): the form per organisation, the page that shows the receipt code once, and the
follow-up with the code. For coordinators: the messages with a reporter and the reasoned request
to see who reported.

Nothing here stores or logs an IP address: the client is counted under a keyed hash of its address,
in Django's cache only. The receipt code never appears in a URL; between the form and the page that
shows it, it waits in the session, encrypted, and is removed when shown.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import logging
import time
import uuid

from axes.helpers import get_client_ip_address
from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.context_processors import keep_alive_seconds
from accounts.decorators import require_action
from accounts.roles import Action
from audit.services import access_log_record
from privacy.crypto import decrypt, encrypt
from signals import confidential_services as services
from signals import held_files, selectors
from signals.confidential_forms import (
    ConfidentialSignalForm,
    IdentityRequestForm,
    ReceiptCodeForm,
    ReporterMessageForm,
    ReporterQuestionForm,
)
from signals.forms import ADD_SUBJECT, AcuteDangerForm, SubjectFormSet, add_service_errors, signal_data
from signals.models import MessageDirection, SignalStatus
from signals.views import (
    MESSAGE_SAVE_FAILED,
    OWN_MESSAGE_SENT,
    OWN_MESSAGE_SENT_CLOSED,
    SAVE_FAILED,
    render_with_held_files,
    with_another_subject,
)

logger = logging.getLogger(__name__)

TOO_MANY_SUBMISSIONS = (
    "U heeft in korte tijd veel berichten verstuurd. Uw bericht is niet opgeslagen. Probeer het over een uur "
    "opnieuw; wat u typte staat er nog."
)
# "Nog een betrokkene toevoegen" with files chosen, past the hour's sends: the files are not held.
TOO_MANY_FILES_HELD = (
    "U heeft in korte tijd veel berichten verstuurd: de bijlagen die u nu koos, zijn niet bewaard. Kies ze over "
    "een uur opnieuw; wat u typte staat er nog."
)
# One message for every wrong code: unknown, mistyped, or cooling off after too many tries.
WRONG_CODE = (
    "Met deze code kunnen wij geen melding openen. Controleer de code en probeer het opnieuw. "
    "Na een paar onjuiste pogingen moet u een tijd wachten."
)
ACCESS_ENDED = "Vul uw ontvangstcode opnieuw in om uw melding te bekijken."

# Which forms this browser was given (see _given_forms): a signed cookie of its own, apart from
# the session, so that it outlives an expired session and the session store never holds it.
FORM_COOKIE = "weerbaar_meldformulier"
FORM_COOKIE_SALT = "weerbaar.confidential.forms"
FORM_COOKIE_HOURS = 24
FORM_KEYS_KEPT = 5
RECEIPT_SESSION_KEY = "weerbaar.confidential.receipt"
ACCESS_SESSION_KEY = "weerbaar.confidential.access"
# An answer that could not be sent, sealed, from the right code to the next page (once).
DRAFT_SESSION_KEY = "weerbaar.confidential.draft"


# --- Counting clients, never storing their address -------------------------------------------------


def _client_id(request) -> str:
    """A keyed hash of the client's address (with the proxy set-up django-axes uses): the address
    itself is not kept, and the hash cannot be reversed without the secret key."""
    address = get_client_ip_address(request) or "unknown"
    return salted_hmac("weerbaar.confidential.client", address, algorithm="sha256").hexdigest()[:32]


class _Counter:
    """A count in Django's cache that starts at the first hit and lapses after `seconds`."""

    def __init__(self, scope: str, subject: str, *, limit: int, seconds: int):
        digest = salted_hmac("weerbaar.confidential.counter", f"{scope}|{subject}", algorithm="sha256").hexdigest()
        self.key = f"weerbaar:confidential:{scope}:{digest[:32]}"
        self.limit = limit
        self.seconds = seconds

    def take(self) -> bool:
        """Counts one attempt and says whether it is within the limit. Counting first (one atomic
        increment) means parallel requests cannot all slip past a check made before counting."""
        if cache.add(self.key, 1, self.seconds):
            return self.limit >= 1
        try:
            count = cache.incr(self.key)
        except ValueError:  # lapsed in between
            cache.add(self.key, 1, self.seconds)
            count = 1
        return count <= self.limit

    def give_back(self) -> None:
        """An attempt that turned out right does not count against the client."""
        with contextlib.suppress(ValueError):
            cache.decr(self.key)


def _submission_counter(request) -> _Counter:
    return _Counter(
        "submit", _client_id(request), limit=settings.WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR, seconds=3600
    )


def _failure_counters(request, code: str) -> tuple[_Counter, _Counter]:
    limit = settings.WEERBAAR_RECEIPT_FAILURE_LIMIT
    seconds = settings.WEERBAAR_RECEIPT_LOCKOUT_MINUTES * 60
    per_client = _Counter("code-client", _client_id(request), limit=limit, seconds=seconds)
    per_code = _Counter("code-lookup", services.receipt_lookup_id(code) or "-", limit=limit, seconds=seconds)
    return per_client, per_code


def _pad_to_check_time(started: float) -> None:
    """Every code check takes the same time, right or wrong."""
    remaining = settings.WEERBAAR_RECEIPT_CHECK_MILLISECONDS / 1000 - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


# --- What the session holds: sealed, so the database's session table shows nothing -------------------


def _session_key() -> bytes:
    return salted_hmac("weerbaar.confidential.session", "aes-256-gcm", algorithm="sha256").digest()


def _seal(payload: dict) -> str:
    return encrypt(_session_key(), json.dumps(payload).encode(), aad=b"weerbaar-confidential-session")


def _unseal(token) -> dict | None:
    if not isinstance(token, str):
        return None
    try:
        return json.loads(decrypt(_session_key(), token, aad=b"weerbaar-confidential-session"))
    except (InvalidTag, ValueError, binascii.Error):
        return None


def _grant_access(request, signal_id: int) -> None:
    until = timezone.now().timestamp() + settings.WEERBAAR_RECEIPT_SESSION_MINUTES * 60
    request.session[ACCESS_SESSION_KEY] = _seal({"signal_id": signal_id, "until": until})


def _signal_with_access(request):
    """The signal the session may follow, renewing the access; None when there is none."""
    access = _unseal(request.session.get(ACCESS_SESSION_KEY))
    if not access or access.get("until", 0) < timezone.now().timestamp():
        request.session.pop(ACCESS_SESSION_KEY, None)
        return None
    signal = services.reporter_signal_get(signal_id=access["signal_id"])
    if signal is None:
        request.session.pop(ACCESS_SESSION_KEY, None)
        return None
    _grant_access(request, signal.pk)  # idle timeout: renewed while the reporter is busy
    return signal


# --- Public pages -----------------------------------------------------------------------------------


def _organisation_or_404(organisation_id: int):
    organisation = services.confidential_organisation_get(organisation_id=organisation_id)
    if organisation is None:
        raise Http404
    return organisation


@never_cache
def confidential_submit(request, organisation_id: int):
    """Step 1 asks about acute danger; step 2 is the form, with "Bel 112" when there is danger."""
    organisation = _organisation_or_404(organisation_id)
    context = {"organisation": organisation}
    if request.method == "POST":
        context["acute"] = request.POST.get("acute_danger") in {"True", "true", "on", "1"}
        if ADD_SUBJECT in request.POST:
            # Not a submission: nothing is stored but the chosen files, which are held as after a
            # send (for the browser given the form only); only then does it count as one.
            given = _given_this_form(request)
            chosen = bool(request.FILES.getlist("attachments"))
            within_limit = not chosen or not given or _submission_counter(request).take()
            response = with_another_subject(
                request,
                ConfidentialSignalForm,
                template="signals/confidential_submit.html",
                context=context,
                held=_held_files(request, organisation),
                holder=None,
                hold_new=given and within_limit,
                not_held="" if within_limit else TOO_MANY_FILES_HELD,
                organisation_id=organisation.pk,
            )
            if given:
                _give_sent_form_again(request, response)
            return response
        form = ConfidentialSignalForm(request.POST, request.FILES, organisation_id=organisation.pk)
        subjects = SubjectFormSet(request.POST, prefix="betrokkene")
        given = _given_this_form(request)
        form.held = _held_files(request, organisation)
        if not _submission_counter(request).take():
            form.add_error(None, TOO_MANY_SUBMISSIONS)
            form.held = form.held_kept()  # nothing checked or held: the files as they were ticked
            return render(
                request,
                "signals/confidential_submit.html",
                {**context, "form": form, "subjects": subjects, "files_dropped": bool(request.FILES)},
                status=429,
            )
        if form.is_valid() and subjects.is_valid():
            try:
                key = form.cleaned_data["submission_key"]
                signal, code = services.confidential_signal_submit(
                    organisation_id=organisation.pk,
                    submission_key=key,
                    data=signal_data(form, subjects),
                    contact=form.contact_data(),
                    same_browser=_form_digest(key) in _given_forms(request),
                )
            except PermissionDenied:
                raise Http404 from None
            except ValidationError as error:
                add_service_errors(form, error)
            except DatabaseError as error:
                logger.error("confidential submit failed: %s", type(error).__name__)  # no details: they hold data
                form.add_error(None, SAVE_FAILED)
            else:
                held_files.held_files_destroy(held.pk for held in form.held)  # sent along, or unticked
                request.session[RECEIPT_SESSION_KEY] = _seal(
                    {
                        "code": code,
                        "organisation": organisation.name,
                        "acute": signal.acute_danger,
                        "repeat": signal.repeated_submission,
                    }
                )
                return redirect("signals:confidential_submitted")
        # Held only for the browser that was given the form (the only one that can send them
        # along), which keeps it for as long again.
        response = render_with_held_files(
            request,
            "signals/confidential_submit.html",
            {**context, "form": form, "subjects": subjects},
            holder=None,
            organisation_id=organisation.pk,
            hold_new=given,
        )
        if given:
            _give_sent_form_again(request, response)
        return response
    danger = AcuteDangerForm(request.GET or None)
    if not danger.is_bound or not danger.is_valid():
        return render(request, "signals/confidential_start.html", {**context, "danger_form": danger})
    acute = danger.cleaned_data["acuut"] == "ja"
    form = ConfidentialSignalForm(organisation_id=organisation.pk, initial={"acute_danger": acute})
    subjects = SubjectFormSet(prefix="betrokkene")
    response = render(
        request, "signals/confidential_submit.html", {**context, "form": form, "subjects": subjects, "acute": acute}
    )
    _give_form(request, response, form.initial["submission_key"])
    return response


def _held_files(request, organisation) -> list:
    """The files held for the form this browser sent, if it was given that form."""
    if not _given_this_form(request):
        return []
    return held_files.held_files_for(organisation_id=organisation.pk, data=request.POST, holder=None)


def _given_this_form(request) -> bool:
    """Whether this browser was given the form it sent (see _give_form). Only such a browser finds
    the files held for the form (signals.held_files): a confidential reporter has no account to
    hold them for."""
    key = held_files.submission_key_read(request.POST.get("submission_key"))
    return key is not None and _form_digest(key) in _given_forms(request)


def _form_digest(key) -> str:
    return salted_hmac(FORM_COOKIE_SALT, str(key), algorithm="sha256").hexdigest()[:32]


def _given_forms(request) -> list[str]:
    """The digests of the forms given to this browser in the last FORM_COOKIE_HOURS."""
    value = request.get_signed_cookie(FORM_COOKIE, default="", salt=FORM_COOKIE_SALT, max_age=FORM_COOKIE_HOURS * 3600)
    return value.split(",") if value else []


def _give_sent_form_again(request, response) -> None:
    """The form this browser sent comes back on `response`: it keeps it (and its held files) for
    as long again as when it was first given."""
    _give_form(request, response, held_files.submission_key_read(request.POST.get("submission_key")))


def _give_form(request, response, key) -> None:
    """Notes in this browser that it was given the form with `key`: a repeated submit (a double
    click whose first answer the browser dropped) gets a new receipt code only in a browser that
    was given the form, also after its session expired while the reporter typed. Another browser
    sending the same key gets no code and adds nothing. Only digests of the keys are kept, in the
    browser: nothing on the server ties the form, or the report made with it, to a session or an
    account logged in in the same browser."""
    digest = _form_digest(key)
    kept = [d for d in _given_forms(request) if d != digest][-(FORM_KEYS_KEPT - 1) :]
    response.set_signed_cookie(
        FORM_COOKIE,
        ",".join([*kept, digest]),
        salt=FORM_COOKIE_SALT,
        max_age=FORM_COOKIE_HOURS * 3600,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


@never_cache
def confidential_submitted(request):
    """Shows the receipt code once: it is removed from the session as it is shown."""
    receipt = _unseal(request.session.pop(RECEIPT_SESSION_KEY, None))
    code = receipt.get("code") if receipt else None
    return render(
        request,
        "signals/confidential_submitted.html",
        {
            "receipt": receipt,
            "code": services.receipt_code_format(code) if code else None,
        },
    )


@never_cache
def confidential_follow_up(request):
    """Enter the receipt code (POST only: it never goes into a URL)."""
    if request.method != "POST":
        if _signal_with_access(request) is not None:
            return redirect("signals:confidential_follow_up_signal")
        return render(request, "signals/confidential_follow_up.html", {"form": ReceiptCodeForm()})
    form = ReceiptCodeForm(request.POST)
    if not form.is_valid():
        return render(request, "signals/confidential_follow_up.html", {"form": form})
    code = form.cleaned_data["code"]
    per_client, per_code = _failure_counters(request, code)
    if not per_client.take():
        # Said straight away, without checking anything: it is about this client, not about the code.
        return render(
            request,
            "signals/confidential_follow_up.html",
            {
                "form": ReceiptCodeForm(**form.carried_draft()),
                "locked_minutes": settings.WEERBAAR_RECEIPT_LOCKOUT_MINUTES,
            },
            status=429,
        )
    started = time.monotonic()
    lookup_allowed = per_code.take()
    receipt = services.receipt_code_check(code=code, lookup_allowed=lookup_allowed)
    if receipt is None:
        _pad_to_check_time(started)
        # A fresh form: the typed code is not echoed back.
        return render(
            request,
            "signals/confidential_follow_up.html",
            {"form": ReceiptCodeForm(**form.carried_draft()), "wrong_code": WRONG_CODE},
        )
    _pad_to_check_time(started)
    per_client.give_back()
    per_code.give_back()
    request.session.cycle_key()
    _grant_access(request, receipt.signal_id)
    draft = form.carried_draft()
    if draft["draft"]:
        # Shown by the next page, which a redirect reaches: a page answering this POST would keep
        # the code in the browser's history, to be sent again with Back after signing off.
        draft["draft_key"] = str(draft["draft_key"]) if draft["draft_key"] else None
        request.session[DRAFT_SESSION_KEY] = _seal(draft)
    return redirect("signals:confidential_follow_up_signal")


@require_POST
def confidential_keep_alive(request):
    """static/js/keep-alive.js while the reporter types an answer: renews the access to the signal
    (204), or says it has ended (410), without showing anything of the signal."""
    return HttpResponse(status=204 if _signal_with_access(request) is not None else 410)


@never_cache
def confidential_follow_up_signal(request):
    """The coarse status, the coordinator's questions, and a form to answer or add information."""
    signal = _signal_with_access(request)
    if signal is None:
        typed = request.POST.get("text", "") if request.method == "POST" else ""
        if typed.strip():
            # The access lapsed while the reporter wrote: nothing is sent, and nothing typed is lost.
            form = ReceiptCodeForm(
                draft=typed,
                draft_key=_uuid_or_none(request.POST.get("submission_key")),
                draft_for=request.POST.get("melding", "")[:64],
            )
            return render(
                request,
                "signals/confidential_follow_up.html",
                {"form": form, "draft_not_sent": True, "access_minutes": settings.WEERBAAR_RECEIPT_SESSION_MINUTES},
            )
        messages.info(request, ACCESS_ENDED)
        return redirect("signals:confidential_follow_up")
    digest = report_digest(signal.pk)
    draft = _unseal(request.session.pop(DRAFT_SESSION_KEY, None)) if request.method != "POST" else None
    if draft:
        if draft.get("draft_for") == digest:
            # Not sent for the reporter: back in the answer form, to read over and send.
            initial = {"text": draft["draft"], "melding": digest}
            if _uuid_or_none(draft.get("draft_key")):
                initial["submission_key"] = _uuid_or_none(draft["draft_key"])
            return _follow_up_page(request, signal, ReporterMessageForm(initial=initial), draft_back=True)
        # Written for another report (another code was entered): shown, not filled in.
        form = ReporterMessageForm(initial={"melding": digest})
        return _follow_up_page(request, signal, form, draft_elsewhere=draft["draft"])
    form = ReporterMessageForm(request.POST or None, initial={"melding": digest})
    status = 200
    if request.method == "POST":
        if not _submission_counter(request).take():
            form.add_error(None, TOO_MANY_SUBMISSIONS)
            status = 429
        elif form.is_valid():
            try:
                services.reporter_message_add(
                    signal=signal, text=form.cleaned_data["text"], submission_key=form.cleaned_data["submission_key"]
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            except DatabaseError as error:
                logger.error("reporter message failed: %s", type(error).__name__)
                form.add_error(None, MESSAGE_SAVE_FAILED)
            else:
                closed = signal.status == SignalStatus.CLOSED
                messages.success(request, OWN_MESSAGE_SENT_CLOSED if closed else OWN_MESSAGE_SENT)
                return redirect("signals:confidential_follow_up_signal")
    return _follow_up_page(request, signal, form, status=status)


def _follow_up_page(request, signal, form, *, status: int = 200, draft_back: bool = False, draft_elsewhere=""):
    conversation = services.signal_messages(signal=signal)
    services.messages_mark_read(shown=conversation, direction=MessageDirection.TO_REPORTER)
    return render(
        request,
        "signals/confidential_follow_up_signal.html",
        {
            "signal": signal,
            "conversation": conversation,
            "form": form,
            "draft_back": draft_back,
            "draft_elsewhere": draft_elsewhere,
            "access_minutes": settings.WEERBAAR_RECEIPT_SESSION_MINUTES,
            "access_keep_alive_seconds": keep_alive_seconds(settings.WEERBAAR_RECEIPT_SESSION_MINUTES),
        },
        status=status,
    )


def report_digest(signal_id: int) -> str:
    """Names a report in a form without giving its id away."""
    return salted_hmac("weerbaar.confidential.report", str(signal_id), algorithm="sha256").hexdigest()[:32]


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@never_cache
@require_POST
def confidential_follow_up_end(request):
    request.session.pop(ACCESS_SESSION_KEY, None)
    messages.info(request, "U bent afgemeld. Met uw ontvangstcode kunt u later terugkomen.")
    return redirect("signals:confidential_follow_up")


# --- Coordinator pages ------------------------------------------------------------------------------


QUESTION_HELP = {
    services.QuestionRoute.RECEIPT_CODE: (
        "De melder heeft geen account en krijgt geen bericht: hij of zij leest uw vraag pas bij het volgen van de "
        "melding met de ontvangstcode."
    ),
    services.QuestionRoute.ACCOUNT: (
        "De melder krijgt een e-mail dat er een vraag is, met een link en zonder uw vraag, en leest en "
        "beantwoordt hem bij Mijn meldingen."
    ),
}

QUESTION_SENT = {
    services.QuestionRoute.RECEIPT_CODE: "Uw vraag staat klaar. De melder ziet hem bij het volgen van de melding.",
    services.QuestionRoute.ACCOUNT: "Uw vraag is verstuurd. De melder krijgt een e-mail met een link naar de vraag.",
}


@require_action(Action.HANDLE_SIGNALS)
def confidential_messages(request, pk: int):
    """The messages with the reporter of a signal, with or without an account; opening the page
    reads the reporter's messages (they are no longer marked new in the inbox)."""
    signal = selectors.signal_get_for_coordinator(actor=request.user, pk=pk)
    route = services.question_route(signal)
    form = ReporterQuestionForm(request.POST or None)
    if route in QUESTION_HELP:
        form.fields["text"].help_text = QUESTION_HELP[route]
    if request.method == "POST" and form.is_valid():
        try:
            services.reporter_question_send(
                actor=request.user,
                signal=signal,
                text=form.cleaned_data["text"],
                submission_key=form.cleaned_data["submission_key"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, QUESTION_SENT[route])
            return redirect("signals:confidential_messages", pk=signal.pk)
    access_log_record(
        user=request.user, record_type="signals.signal", record_id=signal.pk, page="signals:confidential_messages"
    )
    conversation = services.signal_messages(signal=signal)
    handler = selectors.messages_handler(signal)
    services.messages_mark_read(
        shown=conversation, direction=MessageDirection.FROM_REPORTER, reader=request.user, handler=handler
    )
    return render(
        request,
        "signals/confidential_messages.html",
        {
            "signal": signal,
            "route": route.value,
            "can_ask": route in QUESTION_HELP,
            "no_question": services.NO_QUESTION.get(route, ""),
            "conversation": conversation,
            "form": form,
            # A colleague of the handler reads along: the new messages stay new for the handler.
            "reading_for_handler": handler
            if handler is not None
            and handler.pk != request.user.pk
            and services.messages_wait_for_handler(shown=conversation, handler=handler)
            else None,
        },
    )


@require_action(Action.HANDLE_SIGNALS)
def confidential_reporter(request, pk: int):
    """The reporter's contact details: only in answer to a reasoned request, which is recorded."""
    signal = selectors.signal_get_for_coordinator(actor=request.user, pk=pk)
    form = IdentityRequestForm(request.POST or None)
    contact = None
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.reporter_identity_disclose(
                actor=request.user,
                signal=signal,
                reason=form.cleaned_data["reason"],
                submission_key=form.cleaned_data["submission_key"],
            )
        except ValidationError as error:
            form.add_error(None, error)  # the reason's own message goes next to the field
    if contact is not None:
        access_log_record(
            user=request.user,
            record_type="signals.reportercontact",
            record_id=contact.pk,
            page="signals:confidential_reporter",
        )
    else:
        access_log_record(
            user=request.user, record_type="signals.signal", record_id=signal.pk, page="signals:confidential_reporter"
        )
    return render(
        request,
        "signals/confidential_reporter.html",
        {
            "signal": signal,
            "has_contact": services.reporter_contact_exists(signal=signal),
            "contact": contact,
            "requests": services.identity_request_list(actor=request.user, signal=signal),
            "form": IdentityRequestForm() if contact is not None else form,
        },
    )


@never_cache
def confidential_index(request):
    """Where someone without an account starts: the organisations whose public form is on, and
    the follow-up with a receipt code."""
    from accounts.models import Organisation

    organisations = Organisation.objects.filter(confidential_reporting_enabled=True).order_by("name")
    return render(request, "signals/confidential_index.html", {"organisations": organisations})
