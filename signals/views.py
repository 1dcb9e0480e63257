from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import require_action
from accounts.roles import Action
from accounts.scoping import get_for_user_or_404
from audit.services import access_log_record
from privacy.crypto import with_data_keys
from privacy.files import encrypted_file_read
from signals import confidential_services, held_files, selectors, services
from signals.confidential_forms import OwnSignalMessageForm, RegisterOnBehalfForm
from signals.forms import (
    ADD_SUBJECT,
    AcuteDangerForm,
    AssignForm,
    CloseSignalForm,
    IdentifierSearchForm,
    InboxFilterForm,
    SignalForm,
    SubjectFormSet,
    add_service_errors,
    forms_with_another_subject,
    signal_data,
)
from signals.models import Channel, MessageDirection, Phenomenon, Signal, SignalStatus

logger = logging.getLogger(__name__)

INBOX_PAGE_SIZE = 50

# The hidden field of the handling forms with the Signal.version the page showed.
VERSION_FIELD = "stand"

# A form sent again (back and send, a double click): the first one counts.
ALREADY_SENT = (
    "Dit formulier was al eerder verstuurd en is ontvangen als {reference}. Wat u daarna nog "
    "veranderde of toevoegde, is niet opgeslagen."
)

CHANGED_SINCE_PAGE = (
    "Dit signaal is gewijzigd nadat u de pagina opende, misschien door een collega. Hieronder ziet u de "
    "stand van nu; wat u typte staat er nog. Kijk die stand na voordat u afsluit."
)
CHANGED_SINCE_PAGE_ASSIGN = (
    "Dit signaal is gewijzigd nadat u de pagina opende, misschien door een collega. Er is niets opgeslagen. "
    "Hieronder ziet u de stand van nu, met de behandelaar die u koos. Kijk die stand na en sla dan opnieuw op."
)

SAVE_FAILED = (
    "Er ging iets mis bij het opslaan. Uw melding is niet opgeslagen. Probeer het over een paar minuten opnieuw; "
    "wat u typte staat er nog."
)
MESSAGE_SAVE_FAILED = SAVE_FAILED.replace("Uw melding", "Uw bericht")

UNCHANGED_HANDLER = "Er is niets veranderd: dat was al de behandelaar van dit signaal."
UNCHANGED_NO_HANDLER = "Er is niets veranderd: dit signaal had al geen behandelaar."


def _submit(request, *, form, subjects, channel: str, template: str, context: dict, store=None):
    """Validates, stores through the service (`store`, signal_submit unless given), and redirects;
    on errors shows the form again with everything typed kept, and the chosen files that passed
    the checks held (signals.held_files)."""
    organisation_id = request.user.organisation_id
    form.held = held_files.held_files_for(organisation_id=organisation_id, data=request.POST, holder=request.user)
    if form.is_valid() and subjects.is_valid():
        channel = form.cleaned_data.get("channel", channel)
        try:
            signal = (store or services.signal_submit)(
                actor=request.user,
                organisation_id=request.user.organisation_id,
                channel=channel,
                submission_key=form.cleaned_data["submission_key"],
                data=signal_data(form, subjects),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except DatabaseError as error:
            # The type only: a database error's details can quote the values of the row.
            logger.error("signal_submit failed: %s", type(error).__name__)
            form.add_error(None, SAVE_FAILED)
        else:
            held_files.held_files_destroy(held.pk for held in form.held)  # sent along, or unticked
            return signal
    return render_with_held_files(
        request, template, {**context, "form": form, "subjects": subjects}, holder=request.user
    )


def render_with_held_files(
    request, template: str, context: dict, *, holder, organisation_id=None, hold_new: bool = True, status=200
):
    """The form again after a send that stored nothing: the files that passed the checks held
    (unless `hold_new` is False), with a notice that names them, or one that asks to choose the
    files again when they could not be held."""
    form = context["form"]
    new = held_files.files_hold_after_failed_send(
        form, organisation_id=organisation_id or request.user.organisation_id, holder=holder, hold_new=hold_new
    )
    notice = {
        "files_dropped": bool(request.FILES) and new is None,
        "files_held": _held_notice(new or [], beside_refused="attachments" in form.errors),
    }
    return render(request, template, {**context, **notice}, status=status)


def _held_notice(new: list, *, beside_refused: bool) -> str:
    if not new:
        return ""
    names = [held.filename for held in new]
    one = len(names) == 1
    listed = names[0] if one else ", ".join(names[:-1]) + " en " + names[-1]
    if beside_refused:
        held = (
            f"{'Dit bestand was' if one else 'Deze bestanden waren'} wel in orde en {'is' if one else 'zijn'} bewaard"
        )
    else:
        held = f"{'De bijlage die u koos, is' if one else 'De bijlagen die u koos, zijn'} bewaard"
    return (
        f"{held}: {listed}. U hoeft {'het' if one else 'ze'} niet opnieuw te kiezen; u ziet "
        f'{"het" if one else "ze"} onder "Bijlagen die al bewaard zijn".'
    )


def with_another_subject(
    request,
    form_class,
    *,
    template: str,
    context: dict,
    held=(),
    holder,
    hold_new: bool = True,
    not_held: str = "",
    **form_kwargs,
):
    """The "Nog een betrokkene toevoegen" button: the form again, unchecked, nothing stored but
    the files. Held files from an earlier send stay as they were ticked (the unticked ones are
    destroyed, as are those whose stored file is gone); files chosen now are checked and those
    that pass are held, as after a send with an error, and the page names any that were refused.
    With `hold_new` False none are checked or held, and the page says why (`not_held`) or else
    asks to choose them again."""
    form, subjects = forms_with_another_subject(form_class, request.POST, **form_kwargs)
    checking = form_class(request.POST, request.FILES, **form_kwargs)
    checking.held = list(held)
    chosen = bool(request.FILES.getlist("attachments"))
    # Ticked held files are read again too: one gone meanwhile is named now, not only at the send.
    checked = hold_new and (chosen or bool(request.POST.getlist(held_files.HELD_FIELD)))
    refused = checking.files_check_only() if checked else []
    new = held_files.files_hold_after_failed_send(
        checking, organisation_id=form_kwargs["organisation_id"], holder=holder, hold_new=hold_new
    )
    form.held = checking.held
    said_why = chosen and not hold_new and bool(not_held)
    return render(
        request,
        template,
        {
            **context,
            "form": form,
            "subjects": subjects,
            "files_held": _held_notice(new or [], beside_refused=bool(refused)),
            "files_refused": [not_held] if said_why else refused,
            "files_dropped": chosen and not said_why and (new is None or not hold_new),
        },
    )


@require_action(Action.SUBMIT_SIGNAL)
def signal_submit(request):
    """Step 1 asks about acute danger; step 2 is the form (with "Bel 112" when there is danger)."""
    organisation_id = request.user.organisation_id
    if request.method == "POST":
        acute = request.POST.get("acute_danger") in {"True", "true", "on", "1"}
        if ADD_SUBJECT in request.POST:
            return with_another_subject(
                request,
                SignalForm,
                template="signals/submit.html",
                context={"acute": acute},
                held=held_files.held_files_for(organisation_id=organisation_id, data=request.POST, holder=request.user),
                holder=request.user,
                organisation_id=organisation_id,
            )
        form = SignalForm(request.POST, request.FILES, organisation_id=organisation_id)
        subjects = SubjectFormSet(request.POST, prefix="betrokkene")
        result = _submit(
            request,
            form=form,
            subjects=subjects,
            channel=Channel.WEB_FORM,
            template="signals/submit.html",
            context={"acute": acute},
        )
        if isinstance(result, HttpResponse):
            return result
        if result.repeated_submission:
            messages.warning(
                request,
                ALREADY_SENT.format(reference=result.reference)
                + " Wilt u nog iets toevoegen? Dat kan bij Mijn meldingen, onder deze melding.",
            )
        return redirect("signals:submitted", pk=result.pk)
    danger = AcuteDangerForm(request.GET or None)
    if not danger.is_bound or not danger.is_valid():
        return render(request, "signals/submit_start.html", {"danger_form": danger})
    acute = danger.cleaned_data["acuut"] == "ja"
    form = SignalForm(organisation_id=organisation_id, initial={"acute_danger": acute})
    subjects = SubjectFormSet(prefix="betrokkene")
    return render(request, "signals/submit.html", {"form": form, "subjects": subjects, "acute": acute})


@require_action(Action.SUBMIT_SIGNAL)
def signal_submitted(request, pk: int):
    signal = selectors.signal_get_for_reporter(user=request.user, pk=pk)
    return render(request, "signals/submitted.html", {"signal": signal})


@require_action(Action.SUBMIT_SIGNAL)
def my_signals(request):
    """The reporter's own signals, newest first, 50 a page."""
    signals = selectors.signal_list_for_reporter(user=request.user).order_by("-created_at")
    page = Paginator(signals, INBOX_PAGE_SIZE).get_page(request.GET.get("pagina"))
    return render(request, "signals/my_signals.html", {"signals": page, "page": page})


# What a reporter (with or without an account) is told when their message was sent.
OWN_MESSAGE_SENT = "Uw bericht is verstuurd naar de coördinator."
OWN_MESSAGE_SENT_CLOSED = (
    "Uw bericht is verstuurd naar de coördinator. Uw melding was afgerond; de coördinator leest uw bericht en "
    "beslist of de melding weer wordt opgepakt."
)


@require_action(Action.SUBMIT_SIGNAL)
def my_signal(request, pk: int):
    """The reporter's own signal: what they reported, the coarse status, the coordinator's
    questions, and a form to answer or add information. Opening it reads the questions."""
    signal = selectors.own_signal_get(user=request.user, pk=pk)
    form = OwnSignalMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            confidential_services.reporter_message_add(
                actor=request.user,
                signal=signal,
                text=form.cleaned_data["text"],
                submission_key=form.cleaned_data["submission_key"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        except DatabaseError as error:
            logger.error("own signal message failed: %s", type(error).__name__)
            form.add_error(None, MESSAGE_SAVE_FAILED)
        else:
            closed = signal.status == SignalStatus.CLOSED
            messages.success(request, OWN_MESSAGE_SENT_CLOSED if closed else OWN_MESSAGE_SENT)
            return redirect("signals:mine_detail", pk=signal.pk)
    access_log_record(user=request.user, record_type="signals.signal", record_id=signal.pk, page="signals:mine_detail")
    conversation = confidential_services.signal_messages(signal=signal)
    confidential_services.messages_mark_read(
        shown=conversation, direction=MessageDirection.TO_REPORTER, reader=request.user
    )
    return render(
        request,
        "signals/my_signal.html",
        {
            "signal": signal,
            "subjects": list(with_data_keys(signal.subjects.all())),
            "attachments": list(with_data_keys(signal.attachments.all())),
            "conversation": conversation,
            "form": form,
        },
    )


@require_action(Action.HANDLE_SIGNALS)
def inbox(request):
    """The organisation's signals: filters by status, phenomenon and acute danger (GET), or a search
    by identifier (POST, so the identifier stays out of URLs and logs), 50 a page."""
    filter_data = None
    if set(request.GET) - {"pagina"}:  # a page number alone is no filter
        filter_data = request.GET.copy()
        # Filters without a status (a link or bookmark with only the order): the open ones, as the
        # list opens, and the status field says so.
        filter_data.setdefault("status", selectors.OPEN)
    filters = InboxFilterForm(
        filter_data,
        organisation_id=request.user.organisation_id,
        handlers=services.handler_choices(actor=request.user),
        stale_handlers=services.stale_handlers(actor=request.user),
    )
    search = IdentifierSearchForm(request.POST or None)
    # Opened without filters: what still needs work. "Alle" (status empty) shows the closed too.
    criteria = {"status": selectors.OPEN}
    if request.method == "POST":
        criteria = search.criteria() if search.is_valid() else None
    elif filters.is_bound and filters.is_valid():
        criteria = filters.criteria()
    elif filters.is_bound:
        criteria = None
    signals = selectors.signal_inbox(actor=request.user, **criteria) if criteria is not None else Signal.objects.none()
    searching = request.method == "POST" and criteria is not None
    # A search's next page is asked with the search again (POST): the identifier stays out of the URL.
    page = Paginator(signals, INBOX_PAGE_SIZE).get_page((request.POST if searching else request.GET).get("pagina"))
    access_log_record(user=request.user, record_type="signals.signal", record_id="", page="signals:inbox")
    query = request.GET.copy()
    query.pop("pagina", None)
    return render(
        request,
        "signals/inbox.html",
        {
            "signals": page,
            "page": page,
            "filters": filters,
            "search": search,
            "query": query.urlencode(),
            "searching": searching,
            "nothing_found": selectors.nothing_found_hint(search.data["zoek"], criteria)
            if searching and not page.paginator.count
            else "",
            # A search, a filter, or filters that could not be read (their errors show above); not
            # the open signals or all of them, in either order.
            "narrowed": request.method == "POST"
            or criteria is None
            or any(value for key, value in criteria.items() if key not in ("oldest_first", "status"))
            or criteria.get("status") not in ("", selectors.OPEN),
            "only_open": bool(criteria and criteria.get("status") == selectors.OPEN),
            "all_statuses": bool(criteria is not None and request.method == "GET" and criteria.get("status") == ""),
            # Whether an empty list of open signals means all is done, or nothing came in yet.
            "has_signals": not page.paginator.count and Signal.objects.for_user(request.user).exists(),
            "oldest_first": bool(criteria and criteria.get("oldest_first")),
            # The links between the open and all signals keep the order chosen.
            "order_query": "&volgorde=oudste" if criteria and criteria.get("oldest_first") else "",
            "refused": criteria is None,  # nothing was searched or filtered: the errors say why
            # Already the list of one's own open signals (the link to it is left out).
            "mine": bool(
                criteria
                and request.method == "GET"
                and criteria.get("handler") == request.user.pk
                and criteria.get("status") == selectors.OPEN
            ),
        },
    )


@require_action(Action.HANDLE_SIGNALS)
def detail(request, pk: int):
    signal = selectors.signal_get_for_coordinator(actor=request.user, pk=pk)
    return _detail_page(request, signal, close_form=CloseSignalForm())


def _detail_page(request, signal: Signal, *, close_form: CloseSignalForm, status: int = 200, assign_form=None):
    access_log_record(user=request.user, record_type="signals.signal", record_id=signal.pk, page="signals:detail")
    related, related_more = _newest(selectors.signals_sharing_subjects(actor=request.user, signal=signal))
    namesakes, namesakes_more = _newest(selectors.signals_sharing_names(actor=request.user, signal=signal))
    handlers = list(services.handler_choices(actor=request.user))
    if assign_form is None:
        assign_form = AssignForm(
            initial={"behandelaar": str(signal.handler_id or "")}, handlers=handlers, current=signal.handler
        )
    handler = selectors.messages_handler(signal)
    unread_writers = selectors.signal_unread_writers(signal)
    return render(
        request,
        "signals/detail.html",
        {
            "signal": signal,
            "subjects": list(with_data_keys(signal.subjects.all())),
            "attachments": list(with_data_keys(signal.attachments.all())),
            "related": related,
            "related_more": related_more,
            "namesakes": namesakes,
            "namesakes_more": namesakes_more,
            "news_after_closing": selectors.signal_news_after_closing(signal),
            "unread_message": bool(unread_writers),
            # The notice names the handler only for a message that waits for them.
            "unread_waits_for": handler
            if handler is not None
            and any(confidential_services.written_for_handler(writer, handler) for writer in unread_writers)
            else None,
            # Signals closed as repeating this one (their references only: the list is the organisation's).
            "duplicates": list(signal.duplicates.order_by("created_at").values("pk", "reference")),
            "close_form": close_form,
            "assign_form": assign_form,
            "handler_stale": signal.handler is not None and signal.handler not in handlers,
            "timeline": selectors.signal_timeline(actor=request.user, signal=signal),
        },
        status=status,
    )


# How many related signals a signal's page lists (newest first); the search finds them all.
RELATED_SHOWN = 20


def _newest(signals) -> tuple[list[Signal], int]:
    """The first RELATED_SHOWN of `signals`, and how many more there are (one more query only then)."""
    shown = list(signals[: RELATED_SHOWN + 1])
    if len(shown) <= RELATED_SHOWN:
        return shown, 0
    return shown[:RELATED_SHOWN], signals.count() - RELATED_SHOWN


@require_POST
@require_action(Action.HANDLE_SIGNALS)
def start_triage(request, pk: int):
    return _transition(request, pk, services.signal_start_triage, "U heeft het signaal in behandeling genomen.")


@require_POST
@require_action(Action.HANDLE_SIGNALS)
def reopen(request, pk: int):
    done = "Het signaal is heropend en weer in behandeling. De bewaartermijn is gestopt."
    return _transition(request, pk, services.signal_reopen, done)


def _transition(request, pk: int, service, done: str):
    """A transition without a form: the service, then the signal's page with what happened."""
    signal = selectors.signal_get_for_coordinator(actor=request.user, pk=pk)
    try:
        service(actor=request.user, signal_id=signal.pk, seen_version=request.POST.get(VERSION_FIELD, ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except Signal.DoesNotExist:
        raise Http404 from None
    else:
        messages.success(request, done)
    return redirect("signals:detail", pk=signal.pk)


@require_POST
@require_action(Action.HANDLE_SIGNALS)
def assign(request, pk: int):
    """Makes a coordinator the signal's handler, or nobody; errors go next to the field."""
    signal = selectors.signal_get_for_coordinator(actor=request.user, pk=pk)
    if signal.status == SignalStatus.CLOSED:
        # Closed meanwhile: the page has no assign form to show an error next to.
        messages.error(request, services.CLOSED_NO_HANDLER)
        return redirect("signals:detail", pk=signal.pk)
    form = AssignForm(request.POST, handlers=services.handler_choices(actor=request.user), current=signal.handler)
    if form.is_valid():
        chosen = form.cleaned_data["behandelaar"]
        try:
            assigned = services.signal_assign(
                actor=request.user,
                signal_id=signal.pk,
                handler_id=int(chosen) if chosen else None,
                seen_version=request.POST.get(VERSION_FIELD, ""),
            )
        except ValidationError as error:
            code = getattr(error, "code", None)
            if code == "changed_meanwhile":
                return _assign_form_again(request, signal, form)  # the choice kept, the page as it is now
            if code != "already_handled":
                add_service_errors(form, error)
                return _assign_form_again(request, signal, form)
            messages.error(request, " ".join(error.messages))
        except Signal.DoesNotExist:
            raise Http404 from None
        else:
            if assigned.handler_id == signal.handler_id:
                messages.info(request, UNCHANGED_HANDLER if assigned.handler_id else UNCHANGED_NO_HANDLER)
            elif assigned.handler_id == request.user.pk:
                messages.success(request, "U bent nu de behandelaar van dit signaal.")
            elif assigned.handler_id:
                messages.success(request, f"{assigned.handler.display_name} is nu de behandelaar van dit signaal.")
            else:
                messages.success(request, "Dit signaal heeft nu geen behandelaar.")
        return redirect("signals:detail", pk=signal.pk)
    return _assign_form_again(request, signal, form)


def _assign_form_again(request, signal: Signal, form: AssignForm):
    """The page again with the assign form's error; warned when it now shows another state than
    the coordinator's page did (as _close_form_again)."""
    if request.POST.get(VERSION_FIELD, "") != signal.version:
        messages.warning(request, CHANGED_SINCE_PAGE_ASSIGN)
    return _detail_page(request, signal, close_form=CloseSignalForm(), assign_form=form)


@require_POST
@require_action(Action.HANDLE_SIGNALS)
def close(request, pk: int):
    """Closes the signal without a case; on errors the detail page again, with what was typed."""
    signal = selectors.signal_get_for_coordinator(actor=request.user, pk=pk)
    form = CloseSignalForm(request.POST)
    if form.is_valid():
        try:
            services.signal_close(
                actor=request.user,
                signal_id=signal.pk,
                reason=form.cleaned_data["reden"],
                note=form.cleaned_data["toelichting"],
                earlier_reference=form.cleaned_data["eerder"],
                seen_version=request.POST.get(VERSION_FIELD, ""),
            )
        except ValidationError as error:
            code = getattr(error, "code", None)
            if code == "changed_meanwhile":
                # Changed since the page, still open: the form again with the reason and note
                # typed, and the page as it is now, so one more click closes what they now see.
                return _close_form_again(request, signal, form)
            if code != "already_handled":
                add_service_errors(form, error)
                return _close_form_again(request, signal, form)
            messages.error(request, " ".join(error.messages))
        except Signal.DoesNotExist:
            raise Http404 from None
        else:
            messages.success(request, "Het signaal is afgesloten. De bewaartermijn loopt vanaf nu.")
        return redirect("signals:detail", pk=signal.pk)
    if signal.status == SignalStatus.CLOSED:
        # Closed meanwhile (a colleague, another tab): the form is gone from the page, so its
        # errors would show nowhere; say what happened instead.
        messages.error(request, services.ALREADY_HANDLED["close"])
        return redirect("signals:detail", pk=signal.pk)
    return _close_form_again(request, signal, form)


def _close_form_again(request, signal: Signal, form: CloseSignalForm):
    """The page again with the close form's errors. It shows the signal as it is now and its
    forms carry that state; if that is not what the coordinator's page showed, it says so, or the
    next click would close a signal changed under their eyes without a word."""
    if request.POST.get(VERSION_FIELD, "") != signal.version:
        messages.warning(request, CHANGED_SINCE_PAGE)
    return _detail_page(request, signal, close_form=form, status=200)


@require_action(Action.HANDLE_SIGNALS)
def attachment_download(request, pk: int, attachment_pk: int):
    signal = selectors.signal_get_for_coordinator(actor=request.user, pk=pk)
    attachment = signal.attachments.filter(pk=attachment_pk).first()
    if attachment is None or not attachment.downloadable:
        raise Http404
    content = encrypted_file_read(instance=signal, name=attachment.storage_name)
    if content is None:
        raise Http404
    access_log_record(
        user=request.user, record_type="signals.attachment", record_id=attachment.pk, page="signals:attachment"
    )
    response = HttpResponse(content, content_type=attachment.content_type)
    # The file name is personal data: it goes in the header, never in the URL.
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(attachment.filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@require_action(Action.HANDLE_SIGNALS)
def register_on_behalf(request):
    organisation_id = request.user.organisation_id
    if request.method == "POST" and ADD_SUBJECT in request.POST:
        return with_another_subject(
            request,
            RegisterOnBehalfForm,
            template="signals/register.html",
            context={},
            held=held_files.held_files_for(organisation_id=organisation_id, data=request.POST, holder=request.user),
            holder=request.user,
            organisation_id=organisation_id,
        )
    form = RegisterOnBehalfForm(request.POST or None, request.FILES or None, organisation_id=organisation_id)
    subjects = SubjectFormSet(request.POST or None, prefix="betrokkene")
    if request.method == "POST":

        def with_contact(**submission):
            return confidential_services.on_behalf_signal_submit(**submission, contact=form.contact_data())

        result = _submit(
            request,
            form=form,
            subjects=subjects,
            channel="",
            template="signals/register.html",
            context={},
            store=with_contact,
        )
        if isinstance(result, HttpResponse):
            return result
        if result.repeated_submission:
            messages.warning(request, ALREADY_SENT.format(reference=result.reference))
            return redirect("signals:detail", pk=result.pk)
        messages.success(request, f"Signaal {result.reference} is geregistreerd.")
        return redirect("signals:detail", pk=result.pk)
    return render(request, "signals/register.html", {"form": form, "subjects": subjects})


@require_action(Action.HANDLE_SIGNALS)
def phenomena(request):
    error = None
    if request.method == "POST":
        try:
            services.phenomenon_add(actor=request.user, name=request.POST.get("name", ""))
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, "Het fenomeen is toegevoegd.")
            return redirect("signals:phenomena")
    return render(
        request,
        "signals/phenomena.html",
        {
            "phenomena": selectors.phenomenon_list(actor=request.user),
            "error": error,
            "name": request.POST.get("name", ""),
        },
    )


@require_POST
@require_action(Action.HANDLE_SIGNALS)
def phenomenon_toggle(request, pk: int):
    phenomenon = get_for_user_or_404(Phenomenon.objects.all(), request.user, pk=pk)
    wanted = request.POST.get("actief")
    if wanted not in ("0", "1"):
        messages.error(request, "Kies met de knop of het fenomeen in gebruik moet zijn.")
        return redirect("signals:phenomena")
    # The state the button asked for, not the opposite of now: a double click stays one change.
    services.phenomenon_set_active(actor=request.user, phenomenon=phenomenon, active=wanted == "1")
    return redirect("signals:phenomena")
