"""The employee who reported, at Mijn meldingen: their own signal, the coordinator's questions
(announced by a mail with a link only), their answers and additions; and who else may not."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AccessLog, AuditEvent
from signals.confidential_services import reporter_message_add, reporter_question_send
from signals.confidential_tasks import send_pending_reporter_message_notifications
from signals.models import MessageDirection, SignalMessage
from tests.conftest import verified_client
from tests.factories import make_signal

pytestmark = pytest.mark.django_db

DESCRIPTION = "De snackbar aan de Kerkweg is altijd dicht maar verlengt elk jaar de vergunning."
QUESTION = "Weet u sinds wanneer de snackbar dicht is?"
ANSWER = "Sinds de zomer van vorig jaar, de rolluiken zijn steeds omlaag."


@pytest.fixture
def signal(employee):
    return make_signal(employee, description=DESCRIPTION)


def _page(pk: int) -> str:
    return reverse("signals:mine_detail", kwargs={"pk": pk})


def _messages_page(pk: int) -> str:
    return reverse("signals:confidential_messages", kwargs={"pk": pk})


def _row(html: str, reference: str) -> str:
    return re.search(rf"{reference}</a>.*?</tr>", html, re.S).group(0)


def test_a_question_reaches_the_employee_by_a_link_and_the_answer_reaches_the_coordinator(
    signal, employee, coordinator, eager_tasks, django_capture_on_commit_callbacks
):
    coordinators = verified_client(coordinator)
    reporter = verified_client(employee)

    with django_capture_on_commit_callbacks(execute=True):
        sent = coordinators.post(_messages_page(signal.pk), {"text": QUESTION}, follow=True)
    assert "De melder krijgt een e-mail met een link" in sent.content.decode()

    # The mail: to the reporter only, a link to their own report, no question, reference or name.
    assert [m.to for m in mail.outbox] == [[employee.email]]
    body = mail.outbox[0].subject + mail.outbox[0].body
    assert _page(signal.pk) in body
    assert "snackbar" not in body and QUESTION not in body and signal.reference not in body
    assert coordinator.last_name not in body

    # Mijn meldingen marks the question until it is opened.
    assert "nieuwe vraag" in _row(reporter.get(reverse("signals:mine")).content.decode(), signal.reference)
    page = reporter.get(_page(signal.pk)).content.decode()
    assert QUESTION in page and DESCRIPTION in page and "nieuw</span>" in page
    assert coordinator.last_name not in page  # "Vraag van de coördinator", no name
    assert "nieuwe vraag" not in _row(reporter.get(reverse("signals:mine")).content.decode(), signal.reference)
    assert "Gelezen door de melder op" in coordinators.get(_messages_page(signal.pk)).content.decode()

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answered = reporter.post(_page(signal.pk), {"text": ANSWER, "submission_key": str(uuid.uuid4())}, follow=True)
    assert "Uw bericht is verstuurd naar de coördinator." in answered.content.decode()
    assert ANSWER in answered.content.decode()

    assert [m.to for m in mail.outbox] == [[coordinator.email]]
    assert ANSWER not in mail.outbox[0].body and _messages_page(signal.pk) in mail.outbox[0].body

    inbox = coordinators.get(reverse("signals:inbox")).content.decode()
    assert "nieuw bericht van de melder" in _row(inbox, signal.reference)
    assert "nieuw bericht van de melder" in _row(
        coordinators.get(reverse("signals:inbox"), {"bericht": "on"}).content.decode(), signal.reference
    )
    assert ANSWER in coordinators.get(_messages_page(signal.pk)).content.decode()
    inbox = coordinators.get(reverse("signals:inbox")).content.decode()
    assert "nieuw bericht van de melder" not in _row(inbox, signal.reference)
    assert signal.reference not in coordinators.get(reverse("signals:inbox"), {"bericht": "on"}).content.decode()

    answer = SignalMessage.objects.get(direction=MessageDirection.FROM_REPORTER)
    assert answer.sent_by == employee and answer.read_at is not None
    events = AuditEvent.objects.filter(record_id=str(signal.pk)).values_list("action", "actor_id")
    assert ("signal.question_sent", coordinator.pk) in events
    assert ("signal.reporter_message_added", employee.pk) in events
    assert AccessLog.objects.filter(user_id=employee.pk, page="signals:mine_detail").exists()


def test_an_employee_adds_information_without_a_question(signal, employee, coordinator):
    reporter = verified_client(employee)
    reporter.post(_page(signal.pk), {"text": "Ik vergat: er staat vaak een zwarte bestelbus voor."})

    assert SignalMessage.objects.get().direction == MessageDirection.FROM_REPORTER
    assert "zwarte bestelbus" in verified_client(coordinator).get(_messages_page(signal.pk)).content.decode()


def test_information_on_a_closed_signal_is_sent_and_the_reporter_told_the_coordinator_decides(
    signal, employee, coordinator
):
    from signals.models import ClosureReason
    from signals.services import signal_close

    signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.INSUFFICIENT)
    reporter = verified_client(employee)
    page = reporter.get(_page(signal.pk)).content.decode()
    assert "afgerond" in page and "Te weinig informatie" not in page  # nothing internal

    sent = reporter.post(_page(signal.pk), {"text": ANSWER}, follow=True).content.decode()

    assert "de coördinator leest uw bericht en beslist of de melding weer wordt opgepakt" in sent
    inbox = verified_client(coordinator).get(reverse("signals:inbox"), {"status": ""}).content.decode()
    assert "nieuw bericht van de melder" in _row(inbox, signal.reference)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "Schrijf uw bericht."),
        ("x" * 5001, "Een bericht is hooguit 5000 tekens."),
    ],
)
def test_an_empty_or_too_long_answer_is_refused_and_kept(signal, employee, text, message):
    response = verified_client(employee).post(_page(signal.pk), {"text": text})

    html = response.content.decode()
    assert response.status_code == 200 and message in html
    assert text.strip()[:100] in html  # what was typed is still there
    assert not SignalMessage.objects.exists()


def test_an_answer_sent_twice_is_one_message(signal, employee):
    reporter = verified_client(employee)
    key = str(uuid.uuid4())
    for _ in range(2):
        assert reporter.post(_page(signal.pk), {"text": ANSWER, "submission_key": key}).status_code == 302
    assert SignalMessage.objects.count() == 1


def test_nobody_but_the_reporter_opens_or_writes_on_the_report(
    signal, employee, coordinator, make_user, organisation, other_organisation
):
    colleague = make_user(role=Role.EMPLOYEE, organisation=organisation)
    elsewhere = make_user(role=Role.EMPLOYEE, organisation=other_organisation)
    administrator = make_user(role=Role.ADMIN, organisation=organisation)
    for user in (colleague, elsewhere, coordinator, administrator):
        client = verified_client(user)
        assert client.get(_page(signal.pk)).status_code in {403, 404}, user.role
        assert client.post(_page(signal.pk), {"text": "Ik ook"}).status_code in {403, 404}, user.role
    anonymous = Client()
    assert anonymous.get(_page(signal.pk)).status_code == 302  # to the login
    assert anonymous.post(_page(signal.pk), {"text": "Ik ook"}).status_code in {302, 403}
    assert not SignalMessage.objects.exists()

    # Questions are for the organisation's coordinators only.
    other_coordinator = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    assert verified_client(other_coordinator).post(_messages_page(signal.pk), {"text": "?"}).status_code == 404
    assert verified_client(employee).post(_messages_page(signal.pk), {"text": "?"}).status_code == 403
    assert not SignalMessage.objects.exists()


def test_the_services_refuse_anyone_else_as_the_reporter(signal, employee, make_user, organisation):
    colleague = make_user(role=Role.EMPLOYEE, organisation=organisation)
    confidential = make_signal(None, organisation_id=organisation.pk)
    for actor, target in ((colleague, signal), (None, signal), (employee, confidential)):
        with pytest.raises(PermissionDenied):
            reporter_message_add(actor=actor, signal=target, text="Nog iets")
    assert not SignalMessage.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"is_active": False},  # blocked
        {"role": Role.ADMIN},  # a role that does not report: Mijn meldingen is closed to it
        {"email": ""},  # nothing to mail
        {"organisation": "other"},  # moved to another organisation by a platform administrator
    ],
    ids=["geblokkeerd", "andere-rol", "geen-adres", "andere-organisatie"],
)
def test_a_reporter_who_cannot_read_it_gets_no_question(
    signal, employee, coordinator, other_organisation, change, eager_tasks, django_capture_on_commit_callbacks
):
    for field, value in change.items():
        setattr(employee, field, other_organisation if value == "other" else value)
    employee.save()

    page = verified_client(coordinator).get(_messages_page(signal.pk)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = verified_client(coordinator).post(_messages_page(signal.pk), {"text": QUESTION})

    assert "Vraag versturen" not in page
    assert "De melder kan uw vraag in Weerbaar niet lezen" in response.content.decode()
    assert not SignalMessage.objects.exists() and mail.outbox == []


def test_only_the_messages_a_page_showed_are_read(signal, employee, coordinator):
    """A question saved while the reporter's page was being made stays unread."""
    from signals.confidential_services import messages_mark_read, signal_messages

    reporter_question_send(actor=coordinator, signal=signal, text="Eerste vraag")
    shown = signal_messages(signal=signal)
    late = reporter_question_send(actor=coordinator, signal=signal, text="Tweede vraag")

    assert messages_mark_read(shown=shown, direction=MessageDirection.TO_REPORTER, reader=employee) == 1
    late.refresh_from_db()
    assert late.read_at is None


def test_a_coordinator_who_reported_does_not_read_their_own_message_for_the_others(
    make_user, organisation, coordinator, eager_tasks, django_capture_on_commit_callbacks
):
    reporting = make_user(role=Role.COORDINATOR, organisation=organisation, email="melder@example.org")
    signal = make_signal(reporting)
    with django_capture_on_commit_callbacks(execute=True):
        reporter_message_add(actor=reporting, signal=signal, text=ANSWER)
    assert [m.to for m in mail.outbox] == [[coordinator.email]]  # not to the writer

    verified_client(reporting).get(_messages_page(signal.pk))
    assert SignalMessage.objects.get().read_at is None
    verified_client(coordinator).get(_messages_page(signal.pk))
    assert SignalMessage.objects.get().read_at is not None


def test_the_only_coordinator_is_not_mailed_about_their_own_message(
    employee, organisation, make_user, django_capture_on_commit_callbacks
):
    from signals.confidential_tasks import send_reporter_message_notification

    only = make_user(role=Role.COORDINATOR, organisation=organisation, email="enige@example.org")
    signal = make_signal(only)
    message = reporter_message_add(actor=only, signal=signal, text=ANSWER)

    assert send_reporter_message_notification(message.pk) is False
    message.refresh_from_db()
    assert message.notified_at is not None and mail.outbox == []  # done: the sweep does not try again


def test_a_question_not_queued_is_mailed_by_the_sweep_and_only_to_an_employee(
    signal, employee, coordinator, organisation, broker_down, django_capture_on_commit_callbacks
):
    confidential = make_signal(None, organisation_id=organisation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        reporter_question_send(actor=coordinator, signal=signal, text=QUESTION)  # queuing fails: logged
        reporter_question_send(actor=coordinator, signal=confidential, text=QUESTION)  # never mailed
    assert mail.outbox == []

    assert send_pending_reporter_message_notifications() == 0  # too fresh: its own task may still come
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_reporter_message_notifications() == 1
        assert send_pending_reporter_message_notifications() == 0
    assert [m.to for m in mail.outbox] == [[employee.email]] and QUESTION not in mail.outbox[0].body
    assert SignalMessage.objects.get(signal=signal).notified_at is not None
    assert SignalMessage.objects.get(signal=confidential).notified_at is None


def test_the_sweep_does_not_mail_a_question_already_read_or_a_week_old(signal, employee, coordinator):
    read = reporter_question_send(actor=coordinator, signal=signal, text="Gelezen vraag")
    verified_client(employee).get(_page(signal.pk))  # the reporter opened the page meanwhile
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        reporter_question_send(actor=coordinator, signal=signal, text="Oude vraag")

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_reporter_message_notifications() == 0
    assert mail.outbox == []
    read.refresh_from_db()
    assert read.read_at is not None and read.notified_at is None


@pytest.mark.django_db(transaction=True)
def test_messages_from_before_read_marking_are_read_where_that_is_known(employee, coordinator):
    from tests.conftest import migrating

    signal = make_signal(employee)
    answered = reporter_question_send(actor=coordinator, signal=signal, text="Beantwoord")
    answer = reporter_message_add(actor=employee, signal=signal, text=ANSWER)
    unanswered = reporter_question_send(actor=coordinator, signal=signal, text="Nog open")

    with migrating("signals", "0010_identity_request_submission_key", "0011_message_read_at"):
        pass

    answered.refresh_from_db(), answer.refresh_from_db(), unanswered.refresh_from_db()
    assert answer.read_at == answer.created_at
    assert answered.read_at == answer.created_at
    assert unanswered.read_at is None


def test_the_raw_database_holds_no_plaintext_of_the_messages(signal, employee, coordinator):
    reporter_question_send(actor=coordinator, signal=signal, text=QUESTION)
    reporter_message_add(actor=employee, signal=signal, text=ANSWER)

    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM signals_signalmessage")
        stored = [str(row[0]) for row in cursor.fetchall()]
    assert len(stored) == 2
    assert not any("snackbar" in value or "rolluiken" in value for value in stored)


def test_the_reporters_pages_cost_a_constant_number_of_queries(employee, coordinator):
    reporter = verified_client(employee)
    list_counts, page_counts = [], []
    signal = make_signal(employee)
    for _ in range(2):
        make_signal(employee)
        for n in range(3):
            reporter_question_send(actor=coordinator, signal=signal, text=f"Vraag {n}")
            reporter_message_add(actor=employee, signal=signal, text=f"Antwoord {n}")
        with CaptureQueriesContext(connection) as ctx:
            assert reporter.get(reverse("signals:mine")).status_code == 200
        list_counts.append(len(ctx.captured_queries))
        with CaptureQueriesContext(connection) as ctx:
            assert reporter.get(_page(signal.pk)).status_code == 200
        page_counts.append(len(ctx.captured_queries))
    assert list_counts[0] == list_counts[1]
    assert page_counts[0] == page_counts[1]


def test_the_signal_page_leads_to_the_messages_but_not_to_a_disclosure_request(signal, coordinator):
    page = verified_client(coordinator).get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()

    assert _messages_page(signal.pk) in page
    assert reverse("signals:confidential_reporter", kwargs={"pk": signal.pk}) not in page  # the name is shown


def test_the_reporter_sees_the_subjects_and_the_files_they_gave(employee):
    from signals.services import SubjectData
    from tests.factories import PDF_BYTES

    signal = make_signal(
        employee,
        subjects=[
            SubjectData(kind="company", name="Snackbar De Hoek", kvk="12345678"),
            SubjectData(kind="vehicle", kenteken="AB123C", remarks="Witte bus"),
        ],
        files=[("foto.pdf", PDF_BYTES)],
    )

    page = verified_client(employee).get(_page(signal.pk)).content.decode()

    assert "Snackbar De Hoek" in page and "KvK 12345678" in page and "Witte bus" in page
    assert "foto.pdf (" in page
    # Names and sizes only: the reporter has the files themselves, so nothing is served back.
    assert "/bijlagen/" not in page and "download" not in page.lower()


def test_the_reporter_is_told_when_a_file_they_sent_was_removed_for_a_virus(employee):
    from signals.models import Attachment, ScanStatus
    from tests.factories import PDF_BYTES

    signal = make_signal(employee, files=[("brief.pdf", PDF_BYTES), ("foto.pdf", PDF_BYTES)])
    infected, waiting = Attachment.objects.filter(signal=signal).order_by("pk")
    Attachment.objects.filter(pk=infected.pk).update(scan_status=ScanStatus.INFECTED)
    Attachment.objects.filter(pk=waiting.pk).update(scan_status=ScanStatus.PENDING)

    page = verified_client(employee).get(_page(signal.pk)).content.decode()

    assert "brief.pdf" in page and "verwijderd, er zat een virus in" in page
    assert "foto.pdf" in page and "wordt nog op virussen gecontroleerd" in page


def test_the_reporter_sees_where_when_and_how_as_they_reported_it_and_the_coordinator_reads_it_as_theirs(
    employee, coordinator
):
    from datetime import date

    from signals.models import NoticedHow

    signal = make_signal(
        employee,
        acute_danger=True,
        address="1506 AB 12-A",
        location="Achter het station",
        observed_on=date(2026, 3, 14),
        noticed_how=NoticedHow.IN_JOB,
    )
    bare = make_signal(employee)

    own = verified_client(employee).get(reverse("signals:mine_detail", args=[signal.pk])).content.decode()
    facts = re.search(r"<h2>Wat u meldde</h2>.*?</dl>", own, re.S).group(0)
    for shown in (
        "Ja, dat gaf u aan",
        "14 maart 2026",
        "In mijn werk of functie",
        "1506 AB 12-A",
        "Achter het station",
    ):
        assert shown in facts
    empty = verified_client(employee).get(reverse("signals:mine_detail", args=[bare.pk])).content.decode()
    assert re.search(r"<h2>Wat u meldde</h2>.*?</dl>", empty, re.S).group(0).count("niet ingevuld") == 4
    assert "Acuut gevaar" not in empty

    page = verified_client(coordinator).get(reverse("signals:detail", args=[signal.pk])).content.decode()
    assert "<dt>Hoe de melder het opmerkte</dt><dd>In het werk of de functie van de melder</dd>" in page
    assert "In mijn werk" not in page


def test_the_signals_own_page_says_a_message_from_the_reporter_waits_until_a_coordinator_reads_it(
    signal, employee, coordinator
):
    client = verified_client(coordinator)
    detail = reverse("signals:detail", args=[signal.pk])
    waiting = "De melder schreef een nieuw bericht dat nog geen coördinator las."
    assert waiting not in client.get(detail).content.decode()

    reporter_message_add(actor=employee, signal=signal, text=ANSWER)

    page = client.get(detail).content.decode()
    assert waiting in page and 'Berichten met de melder <span class="badge">nieuw bericht</span>' in page
    assert ANSWER not in page  # the page says there is one; the messages page shows it
    client.get(_messages_page(signal.pk))
    again = client.get(detail).content.decode()
    assert waiting not in again and "nieuw bericht</span>" not in again


def test_the_reporter_reads_each_detail_of_a_subject_apart(employee):
    from datetime import date

    from signals.services import SubjectData

    signal = make_signal(
        employee,
        subjects=[
            SubjectData(
                kind="person",
                name="Piet Jansen",
                date_of_birth=date(1975, 3, 14),
                address="1541 KL 22",
                kenteken="GB123K",
                remarks="bewoner",
            )
        ],
    )

    page = verified_client(employee).get(reverse("signals:mine_detail", args=[signal.pk])).content.decode()

    assert "<td>geboren 14-03-1975; 1541 KL 22; kenteken GB-123-K; bewoner</td>" in page
    assert "<dt>Onderwerp</dt><dd>weet ik niet</dd>" in page


def test_the_reporters_message_goes_to_the_handler_who_alone_reads_it(
    signal, employee, coordinator, make_user, organisation, eager_tasks, django_capture_on_commit_callbacks
):
    from signals.services import signal_start_triage

    handler = make_user(role=Role.COORDINATOR, organisation=organisation, email="behandelaar@example.org")
    signal_start_triage(actor=handler, signal_id=signal.pk)
    with django_capture_on_commit_callbacks(execute=True):
        reporter_message_add(actor=employee, signal=signal, text=ANSWER)
    assert [m.to for m in mail.outbox] == [[handler.email]]  # not every coordinator

    colleague_page = verified_client(coordinator).get(_messages_page(signal.pk)).content.decode()
    assert "is behandelaar van dit signaal: een nieuw bericht van de melder blijft nieuw" in colleague_page
    assert SignalMessage.objects.get().read_at is None  # a colleague looking in leaves it new
    detail = verified_client(coordinator).get(reverse("signals:detail", args=[signal.pk])).content.decode()
    assert f"De melder schreef een nieuw bericht dat {handler.display_name}, de behandelaar, nog niet las." in detail

    handler_page = verified_client(handler).get(_messages_page(signal.pk)).content.decode()
    assert "is behandelaar van dit signaal" not in handler_page
    assert SignalMessage.objects.get().read_at is not None


@pytest.mark.parametrize("unreachable", ["blocked", "no e-mail address"])
def test_with_a_handler_who_cannot_be_told_the_message_is_everyones_again(
    signal, employee, coordinator, make_user, organisation, eager_tasks, django_capture_on_commit_callbacks, unreachable
):
    from signals.services import signal_start_triage

    handler = make_user(role=Role.COORDINATOR, organisation=organisation, email="behandelaar@example.org")
    signal_start_triage(actor=handler, signal_id=signal.pk)
    if unreachable == "blocked":
        handler.is_active = False
    else:  # an account made outside the forms (which require one)
        handler.email = ""
    handler.save(update_fields=["is_active", "email"])
    with django_capture_on_commit_callbacks(execute=True):
        reporter_message_add(actor=employee, signal=signal, text=ANSWER)
    assert [m.to for m in mail.outbox] == [[coordinator.email]]

    verified_client(coordinator).get(_messages_page(signal.pk))
    assert SignalMessage.objects.get().read_at is not None


def test_a_message_the_handler_wrote_as_reporter_is_read_by_a_colleague(
    make_user, organisation, coordinator, eager_tasks, django_capture_on_commit_callbacks
):
    from signals.services import signal_start_triage

    reporting = make_user(role=Role.COORDINATOR, organisation=organisation, email="melder@example.org")
    signal = make_signal(reporting)
    signal_start_triage(actor=reporting, signal_id=signal.pk)  # who reported it also handles it
    with django_capture_on_commit_callbacks(execute=True):
        reporter_message_add(actor=reporting, signal=signal, text=ANSWER)
    assert [m.to for m in mail.outbox] == [[coordinator.email]]  # the colleagues are told
    detail = reverse("signals:detail", args=[signal.pk])
    for reader in (reporting, coordinator):  # the signal's page does not say it waits for the handler
        page = verified_client(reader).get(detail).content.decode()
        assert "De melder schreef een nieuw bericht dat nog geen coördinator las." in page
        assert "de behandelaar, nog niet las" not in page and "dat u nog niet las" not in page

    page = verified_client(coordinator).get(_messages_page(signal.pk)).content.decode()
    assert "is behandelaar van dit signaal" not in page  # it does not wait for its own writer
    assert SignalMessage.objects.get().read_at is not None
