"""Who handles a signal: whoever takes it into handling, or the coordinator a colleague assigns;
the inbox shows, filters and sorts by it. Refused for anyone but an active coordinator of the
organisation, on an afgerond signal, and from a page older than the signal's last change."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from signals.models import ClosureReason, Signal
from signals.services import signal_assign, signal_close, signal_reopen, signal_start_triage
from tests.conftest import verified_client
from tests.factories import make_signal

pytestmark = pytest.mark.django_db

_STAND = re.compile(r'name="stand" value="([^"]+)"')


@pytest.fixture
def colleague(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation, first_name="Fatima", last_name="el Amrani")


@pytest.fixture
def signal(employee):
    return make_signal(employee)


def _assign(client, signal, handler, *, stand=None):
    if stand is None:
        page = client.get(reverse("signals:detail", args=[signal.pk])).content.decode()
        stand = html.unescape(_STAND.search(page).group(1))
    return client.post(
        reverse("signals:assign", args=[signal.pk]),
        {"behandelaar": str(handler.pk) if handler else "", "stand": stand},
        follow=True,
    )


def _trail(signal) -> tuple:
    stored = Signal.objects.get(pk=signal.pk)
    return (
        stored.handler_id,
        Signal.history.filter(id=signal.pk).count(),
        AuditEvent.objects.filter(action="signal.assigned", record_id=str(signal.pk)).count(),
    )


def test_who_takes_a_signal_into_handling_handles_it_unless_it_was_assigned(signal, coordinator, colleague, employee):
    signal_start_triage(actor=coordinator, signal_id=signal.pk)
    assert Signal.objects.get(pk=signal.pk).handler == coordinator

    other = make_signal(employee)
    signal_assign(actor=coordinator, signal_id=other.pk, handler_id=colleague.pk)
    signal_start_triage(actor=coordinator, signal_id=other.pk)
    assert Signal.objects.get(pk=other.pk).handler == colleague


def test_a_coordinator_assigns_a_colleague_and_the_inbox_shows_and_filters_it(signal, coordinator, colleague, employee):
    client = verified_client(coordinator)
    unassigned = make_signal(employee)

    response = _assign(client, signal, colleague)

    page = response.content.decode()
    assert "Fatima el Amrani is nu de behandelaar van dit signaal." in page
    stored = Signal.objects.get(pk=signal.pk)
    assert stored.handler == colleague
    event = AuditEvent.objects.get(action="signal.assigned")
    assert (event.actor_id, event.data) == (coordinator.pk, {"from": None, "to": colleague.pk})
    assert Signal.history.filter(id=signal.pk).latest("history_date").handler_id == colleague.pk

    inbox = client.get(reverse("signals:inbox")).content.decode()
    assert "Fatima el Amrani" in re.search(rf"{signal.reference}</a>.*?</tr>", inbox, re.S).group(0)
    mine = client.get(reverse("signals:inbox"), {"behandelaar": str(colleague.pk)})
    assert [s.pk for s in mine.context["signals"]] == [signal.pk]
    nobody = client.get(reverse("signals:inbox"), {"behandelaar": "niemand"})
    assert [s.pk for s in nobody.context["signals"]] == [unassigned.pk]

    _assign(client, signal, None)
    assert Signal.objects.get(pk=signal.pk).handler is None


def test_the_inbox_sorts_oldest_first_on_request(coordinator, employee):
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        oldest = make_signal(employee)
    newest = make_signal(employee)
    client = verified_client(coordinator)

    default = client.get(reverse("signals:inbox"))
    oldest_first = client.get(reverse("signals:inbox"), {"volgorde": "oudste"})

    assert [s.pk for s in default.context["signals"]] == [newest.pk, oldest.pk]
    assert [s.pk for s in oldest_first.context["signals"]] == [oldest.pk, newest.pk]
    # A sort is no filter: not "gevonden"; without a status the open ones, as the list opens.
    assert "2 signalen nog open, oudste eerst" in oldest_first.content.decode()
    # The filter form as sent with its button: the open ones, in the order chosen, no search.
    sent = client.get(
        reverse("signals:inbox"), {"status": "open", "fenomeen": "", "behandelaar": "", "volgorde": "oudste"}
    ).content.decode()
    assert "2 signalen nog open, oudste eerst" in sent and "Terug naar de open signalen" not in sent
    assert "Ook de afgeronde signalen tonen" in sent
    everything = client.get(reverse("signals:inbox"), {"status": ""}).content.decode()
    assert f'<a href="{reverse("signals:inbox")}?status=open">Alleen de open signalen tonen</a>' in everything
    # The links between the two keep the order, and a status left out reads as the open ones.
    oldest_all = client.get(reverse("signals:inbox"), {"status": "", "volgorde": "oudste"}).content.decode()
    assert f'href="{reverse("signals:inbox")}?status=open&amp;volgorde=oudste">Alleen de open' in oldest_all
    assert f'href="{reverse("signals:inbox")}?status=&amp;volgorde=oudste">Ook de afgeronde' in sent
    assert re.search(r'<option value="open" selected>', oldest_first.content.decode())


@pytest.mark.parametrize("who", ["employee", "elsewhere", "blocked"])
def test_only_an_active_coordinator_of_the_organisation_can_handle_it(
    signal, coordinator, employee, make_user, other_organisation, who
):
    candidates = {
        "employee": lambda: employee,
        "elsewhere": lambda: make_user(role=Role.COORDINATOR, organisation=other_organisation),
        "blocked": lambda: make_user(role=Role.COORDINATOR, organisation=coordinator.organisation, is_active=False),
    }
    handler = candidates[who]()
    before = _trail(signal)

    response = _assign(verified_client(coordinator), signal, handler)

    assert "Kies een coördinator uit de lijst." in response.content.decode()
    assert _trail(signal) == before
    # The service refuses it as well, for a caller that bypasses the form.
    with pytest.raises(ValidationError) as refused:
        signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=handler.pk)
    assert "Kies een coördinator van uw organisatie" in str(refused.value)
    assert _trail(signal) == before


def test_an_afgerond_signal_gets_no_handler(signal, coordinator, colleague):
    signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)
    before = _trail(signal)

    response = verified_client(coordinator).post(
        reverse("signals:assign", args=[signal.pk]),
        {"behandelaar": str(colleague.pk), "stand": Signal.objects.get(pk=signal.pk).version},
        follow=True,
    )

    assert "Een afgerond signaal krijgt geen andere behandelaar" in response.content.decode()
    assert _trail(signal) == before


def test_two_coordinators_assigning_at_once_the_second_is_told_and_changes_nothing(signal, coordinator, colleague):
    mine, theirs = verified_client(coordinator), verified_client(colleague)
    page = mine.get(reverse("signals:detail", args=[signal.pk])).content.decode()
    stand = html.unescape(_STAND.search(page).group(1))
    _assign(theirs, signal, colleague)  # the colleague takes it meanwhile
    before = _trail(signal)

    response = _assign(mine, signal, coordinator, stand=stand)

    assert "gewijzigd nadat u de pagina opende" in response.content.decode()
    assert _trail(signal) == before
    assert Signal.objects.get(pk=signal.pk).handler == colleague


def test_assigning_the_handler_it_has_writes_nothing(signal, coordinator):
    signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=coordinator.pk)
    before = _trail(signal)
    signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=coordinator.pk)
    assert _trail(signal) == before


def test_an_employee_cannot_assign(signal, employee, coordinator):
    response = verified_client(employee).post(
        reverse("signals:assign", args=[signal.pk]), {"behandelaar": str(coordinator.pk)}
    )
    assert response.status_code == 403
    assert Signal.objects.get(pk=signal.pk).handler is None


def test_the_inbox_with_handlers_costs_a_constant_number_of_queries(coordinator, colleague, employee):
    client = verified_client(coordinator)
    counts = []
    for n in (2, 8):
        while Signal.objects.count() < n:
            signal = make_signal(employee)
            signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=colleague.pk)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("signals:inbox"), {"volgorde": "oudste"}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_a_blocked_handler_stays_marked_and_their_signals_can_still_be_found(signal, coordinator, colleague):
    signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=colleague.pk)
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    client = verified_client(coordinator)

    page = client.get(reverse("signals:detail", args=[signal.pk])).content.decode()
    assert "Fatima el Amrani (geen actieve coördinator meer)" in page
    assert re.search(rf'<option value="{colleague.pk}" selected>', page)  # not silently "Nog niemand"
    found = client.get(reverse("signals:inbox"), {"behandelaar": str(colleague.pk)})
    assert [s.pk for s in found.context["signals"]] == [signal.pk]
    assert "Fatima el Amrani (geen actieve coördinator meer)" in found.content.decode()

    before = _trail(signal)
    _assign(client, signal, colleague)  # the page sent back as it was: no change
    assert _trail(signal) == before

    signal_start_triage(actor=coordinator, signal_id=signal.pk)  # taken over by whoever takes it up
    assert Signal.objects.get(pk=signal.pk).handler == coordinator
    event = AuditEvent.objects.filter(action="signal.assigned").latest("pk")
    assert event.data == {"from": colleague.pk, "to": coordinator.pk}


def test_a_refused_assignment_from_an_outdated_page_says_the_signal_changed(signal, coordinator, colleague, employee):
    client = verified_client(coordinator)
    page = client.get(reverse("signals:detail", args=[signal.pk])).content.decode()
    stand = html.unescape(_STAND.search(page).group(1))
    signal_start_triage(actor=colleague, signal_id=signal.pk)  # meanwhile

    response = _assign(client, signal, employee, stand=stand)  # not a coordinator: the form refuses

    text = response.content.decode()
    assert "Kies een coördinator uit de lijst." in text
    assert "gewijzigd nadat u de pagina opende" in text


def test_assigning_on_a_signal_closed_meanwhile_says_so(signal, coordinator, colleague, employee):
    client = verified_client(coordinator)
    page = client.get(reverse("signals:detail", args=[signal.pk])).content.decode()
    stand = html.unescape(_STAND.search(page).group(1))
    signal_close(actor=colleague, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)

    response = _assign(client, signal, employee, stand=stand)

    assert "Een afgerond signaal krijgt geen andere behandelaar" in response.content.decode()
    assert Signal.objects.get(pk=signal.pk).handler is None


def test_the_coordinator_a_colleague_assigns_gets_a_link_only_mail(
    signal, coordinator, colleague, eager_tasks, django_capture_on_commit_callbacks
):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=colleague.pk)
        signal_assign(actor=colleague, signal_id=signal.pk, handler_id=None)
        signal_assign(actor=colleague, signal_id=signal.pk, handler_id=colleague.pk)  # themselves: no mail

    assert [m.to for m in mail.outbox] == [[colleague.email]]
    body = mail.outbox[0].subject + mail.outbox[0].body
    assert reverse("signals:detail", args=[signal.pk]) in body
    assert signal.reference not in body and "Winkel" not in body and coordinator.last_name not in body


def test_a_handler_mail_waits_for_the_broker_and_is_not_sent_once_reassigned(
    signal, coordinator, colleague, make_user, organisation, broker_down, django_capture_on_commit_callbacks
):
    from django.core import mail

    from signals.models import HandlerNotification
    from signals.tasks import send_pending_handler_notifications

    third = make_user(role=Role.COORDINATOR, organisation=organisation)
    other = make_signal(coordinator)
    with django_capture_on_commit_callbacks(execute=True):  # queuing fails: logged, not raised
        signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=colleague.pk)
        signal_assign(actor=coordinator, signal_id=other.pk, handler_id=colleague.pk)
        signal_assign(actor=coordinator, signal_id=other.pk, handler_id=third.pk)  # changed its mind
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        old = make_signal(coordinator)
        signal_assign(actor=coordinator, signal_id=old.pk, handler_id=colleague.pk)
    assert mail.outbox == []

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_handler_notifications() == 2  # the signal, and the third's
        assert send_pending_handler_notifications() == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted([colleague.email, third.email])
    assert HandlerNotification.objects.filter(sent_at__isnull=True).count() == 1  # the week-old one: left


def test_assigned_back_and_forth_or_closed_before_the_broker_is_back_mails_once_or_not(
    signal, coordinator, colleague, make_user, organisation, employee, broker_down, django_capture_on_commit_callbacks
):
    from django.core import mail

    from signals.tasks import send_pending_handler_notifications

    third = make_user(role=Role.COORDINATOR, organisation=organisation)
    closed = make_signal(employee)
    with django_capture_on_commit_callbacks(execute=True):
        for handler in (colleague, third, colleague):
            signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=handler.pk)
        signal_assign(actor=coordinator, signal_id=closed.pk, handler_id=third.pk)
    signal_close(actor=coordinator, signal_id=closed.pk, reason=ClosureReason.DUPLICATE)

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_handler_notifications() == 1
    assert [m.to for m in mail.outbox] == [[colleague.email]]


def test_an_assignment_from_an_outdated_page_changes_nothing_and_keeps_the_choice(signal, coordinator, colleague):
    client = verified_client(coordinator)
    page = client.get(reverse("signals:detail", args=[signal.pk])).content.decode()
    stand = html.unescape(_STAND.search(page).group(1))
    signal_close(actor=colleague, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)
    signal_reopen(actor=colleague, signal_id=signal.pk)  # open again, but not the page's state
    before = _trail(signal)

    response = _assign(client, signal, colleague, stand=stand)

    text = response.content.decode()
    assert "Er is niets opgeslagen. Hieronder ziet u de stand van nu, met de behandelaar die u koos." in text
    assert "voordat u afsluit" not in text
    assert re.search(rf'<option value="{colleague.pk}"[^>]*selected', text)
    assert _trail(signal) == before


@pytest.mark.parametrize("handled", [True, False])
def test_saving_the_handler_a_signal_already_has_says_nothing_changed(signal, coordinator, colleague, handled):
    client = verified_client(coordinator)
    if handled:
        _assign(client, signal, colleague)
    before = _trail(signal)

    response = _assign(client, signal, colleague if handled else None)

    text = response.content.decode()
    expected = "dat was al de behandelaar" if handled else "dit signaal had al geen behandelaar"
    assert f"Er is niets veranderd: {expected}" in text
    assert "is nu de behandelaar" not in text and "heeft nu geen behandelaar" not in text
    assert _trail(signal) == before


def test_an_organisation_without_signals_is_told_there_are_none_yet(coordinator):
    page = verified_client(coordinator).get(reverse("signals:inbox")).content.decode()

    assert "Er zijn nog geen signalen." in page and "alles is afgerond" not in page


def test_my_open_signals_are_one_link_away(coordinator, colleague, employee):
    mine = make_signal(employee)
    theirs = make_signal(employee)
    closed = make_signal(employee)
    signal_start_triage(actor=coordinator, signal_id=mine.pk)
    signal_start_triage(actor=colleague, signal_id=theirs.pk)
    signal_start_triage(actor=coordinator, signal_id=closed.pk)
    signal_close(actor=coordinator, signal_id=closed.pk, reason=ClosureReason.NOT_UNDERMINING)
    client = verified_client(coordinator)
    inbox = client.get(reverse("signals:inbox")).content.decode()
    link = re.search(r'<a href="([^"]+)">Mijn open signalen \(ik ben behandelaar\)</a>', inbox).group(1)

    page = client.get(html.unescape(link))

    assert [s.pk for s in page.context["signals"]] == [mine.pk]
    assert "Mijn open signalen (ik ben behandelaar)" not in page.content.decode()  # it is this list
