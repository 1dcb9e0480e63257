"""The coordinator takes a signal into handling or closes it without a case: the transitions, who
may, what is recorded, what the reporter sees, and two coordinators acting at once."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AccessLog, AuditEvent
from privacy.services import retention_policy_for
from signals.models import ClosureReason, Signal, SignalStatus
from signals.services import signal_close, signal_reopen, signal_start_triage
from tests.conftest import verified_client
from tests.factories import UserFactory, make_signal

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal(employee):
    return make_signal(employee)


def _state(signal) -> tuple:
    """What a transition changes, and what it writes besides: to show that nothing changed."""
    stored = Signal.objects.get(pk=signal.pk)
    return (
        stored.status,
        stored.closure_reason,
        stored.closed_at,
        stored.retention_expires_at,
        Signal.history.filter(id=signal.pk).count(),
        AuditEvent.objects.filter(record_type="signals.signal", record_id=str(signal.pk)).count(),
    )


_STAND = re.compile(r'name="stand" value="([^"]+)"')


def _seen(client, signal) -> dict:
    """What the handling forms of the signal's page send back: the state the page showed."""
    page = client.get(reverse("signals:detail", args=[signal.pk])).content.decode()
    return {"stand": html.unescape(_STAND.search(page).group(1))}


def test_coordinator_takes_a_signal_into_handling_and_the_reporter_sees_it(coordinator, employee, signal):
    client = verified_client(coordinator)
    page = client.get(reverse("signals:detail", args=[signal.pk])).content.decode()
    assert "In behandeling nemen" in page

    response = client.post(reverse("signals:start_triage", args=[signal.pk]), _seen(client, signal), follow=True)

    assert response.redirect_chain[-1][0] == reverse("signals:detail", args=[signal.pk])
    assert "U heeft het signaal in behandeling genomen." in response.content.decode()
    assert "In behandeling nemen" not in response.content.decode()
    assert Signal.objects.get(pk=signal.pk).status == SignalStatus.IN_TRIAGE
    event = AuditEvent.objects.filter(action="signal.triage_started").get()
    assert (event.record_id, event.actor_id, event.data) == (
        str(signal.pk),
        coordinator.pk,
        {"from": "received", "handler_id": coordinator.pk},
    )
    latest = Signal.history.filter(id=signal.pk).latest("history_date")
    assert (latest.status, latest.history_user_id) == (SignalStatus.IN_TRIAGE, coordinator.pk)
    mine = verified_client(employee).get(reverse("signals:mine")).content.decode()
    assert "in behandeling" in mine


def test_coordinator_closes_a_signal_the_retention_term_starts_and_the_reporter_sees_afgerond(
    coordinator, employee, signal
):
    policy = retention_policy_for(organisation_id=coordinator.organisation_id, record_type="signal_without_case")
    client = verified_client(coordinator)
    note = "Eigenaar sprak het vermoeden zelf tegen; geen aanwijzingen voor lokale verankering."

    before = timezone.now()
    response = client.post(
        reverse("signals:close", args=[signal.pk]),
        {"reden": ClosureReason.NOT_UNDERMINING, "toelichting": note, **_seen(client, signal)},
        follow=True,
    )

    page = response.content.decode()
    assert "Het signaal is afgesloten. De bewaartermijn loopt vanaf nu." in page
    assert "Geen ondermijning" in page and note in page
    assert "Signaal afsluiten" not in page  # nothing left to do
    stored = Signal.objects.get(pk=signal.pk)
    assert stored.status == SignalStatus.CLOSED
    assert (stored.closure_reason, stored.closure_note) == (ClosureReason.NOT_UNDERMINING, note)
    assert before <= stored.closed_at <= timezone.now()
    assert stored.retention_started_at == stored.closed_at
    assert stored.retention_expires_at == stored.closed_at + relativedelta(months=policy.term_months)
    assert f"Bewaard tot</dt><dd>{date_filter(timezone.localtime(stored.retention_expires_at), 'j F Y')}" in page
    event = AuditEvent.objects.filter(action="signal.closed").get()
    # Codes only: the note may name people and stays out of the audit trail.
    assert event.data == {"from": "received", "reason": "not_undermining"}
    assert note not in str(event.data)
    latest = Signal.history.filter(id=signal.pk).latest("history_date")
    assert (latest.status, latest.closure_note, latest.history_user_id) == ("closed", note, coordinator.pk)
    mine = verified_client(employee).get(reverse("signals:mine")).content.decode()
    assert "afgerond" in mine and note not in mine


def test_a_closed_signal_is_destroyed_when_its_term_ends(coordinator, signal):
    from privacy.services import purge_expired

    closed = signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)

    assert purge_expired(now=closed.retention_expires_at - timedelta(days=1), removed_by="test") == []
    purged = purge_expired(now=closed.retention_expires_at + timedelta(seconds=1), removed_by="test")
    assert purged == [("signal_without_case", str(signal.pk))]
    assert not Signal.objects.filter(pk=signal.pk).exists()
    assert not Signal.history.filter(id=signal.pk).exists()


def test_a_signal_in_handling_can_be_closed_too(coordinator, signal):
    signal_start_triage(actor=coordinator, signal_id=signal.pk)
    closed = signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.REFERRED)
    assert closed.status == SignalStatus.CLOSED
    assert AuditEvent.objects.get(action="signal.closed").data == {"from": "in_triage", "reason": "referred"}


def test_a_closed_signal_is_reopened_its_clock_stops_and_its_closure_stays_in_the_history(
    coordinator, employee, signal
):
    from privacy.services import purge_expired

    closed = signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.OTHER, note="Vergissing.")
    client = verified_client(coordinator)
    assert "Signaal heropenen" in client.get(reverse("signals:detail", args=[signal.pk])).content.decode()

    response = client.post(reverse("signals:reopen", args=[signal.pk]), _seen(client, signal), follow=True)

    page = response.content.decode()
    assert "Het signaal is heropend en weer in behandeling." in page and "Signaal afsluiten" in page
    stored = Signal.objects.get(pk=signal.pk)
    assert stored.status == SignalStatus.IN_TRIAGE
    assert (stored.closure_reason, stored.closure_note, stored.closed_at) == ("", None, None)
    assert (stored.retention_started_at, stored.retention_expires_at) == (None, None)
    assert AuditEvent.objects.get(action="signal.reopened").data == {"closure_reason": "other"}
    versions = list(Signal.history.filter(id=signal.pk).order_by("history_date").values_list("status", flat=True))
    assert versions == ["received", "closed", "in_triage"]
    assert Signal.history.get(id=signal.pk, status="closed").closure_note == "Vergissing."
    assert "in behandeling" in verified_client(employee).get(reverse("signals:mine")).content.decode()
    assert purge_expired(now=closed.retention_expires_at + timedelta(days=1), removed_by="test") == []

    again = signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)
    assert again.retention_started_at == again.closed_at > closed.closed_at  # a new term from the new closure


def test_a_postponement_still_holds_after_the_signal_is_reopened_and_closed_again(make_user, coordinator, signal):
    from privacy.services import purge_expired, retention_postpone

    officer = make_user(role=Role.PRIVACY_OFFICER, organisation=coordinator.organisation)
    closed = signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)
    hold = closed.retention_expires_at + relativedelta(years=3)
    retention_postpone(actor=officer, record=closed, until=hold, reason="Bezwaarprocedure loopt nog bij de rechter.")
    signal_reopen(actor=coordinator, signal_id=signal.pk)

    again = signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)

    assert again.retention_expires_at == hold > again.retention_started_at + relativedelta(months=6)
    assert Signal.objects.get(pk=signal.pk).retention_expires_at == hold
    assert purge_expired(now=hold - timedelta(days=1), removed_by="test") == []
    assert purge_expired(now=hold + timedelta(seconds=1), removed_by="test") == [
        ("signal_without_case", str(signal.pk))
    ]


def test_only_a_closed_signal_can_be_reopened(coordinator, signal):
    before = _state(signal)
    response = verified_client(coordinator).post(reverse("signals:reopen", args=[signal.pk]), follow=True)
    assert "Dit signaal is al heropend, misschien door een collega." in response.content.decode()
    with pytest.raises(ValidationError):
        signal_reopen(actor=coordinator, signal_id=signal.pk)
    assert _state(signal) == before


def test_the_inbox_filters_the_signals_still_open(coordinator, employee):
    new, in_handling, closed = (make_signal(employee) for _ in range(3))
    signal_start_triage(actor=coordinator, signal_id=in_handling.pk)
    signal_close(actor=coordinator, signal_id=closed.pk, reason=ClosureReason.DUPLICATE)
    client = verified_client(coordinator)

    def shown(**query):
        return {s.pk for s in client.get(reverse("signals:inbox"), query).context["signals"]}

    assert shown(status="open") == {new.pk, in_handling.pk}
    assert shown(status="closed") == {closed.pk}
    assert shown(status="") == {new.pk, in_handling.pk, closed.pk}  # "Alle"
    # The list opens with the signals still open, a page number alone changes nothing of that.
    assert shown() == shown(pagina="1") == {new.pk, in_handling.pk}
    page = client.get(reverse("signals:inbox")).content.decode()
    assert re.search(r'<option value="open" selected>Nog open \(ontvangen of in behandeling\)</option>', page)
    assert "2 signalen nog open, nieuwste eerst" in page and "gevonden" not in page
    assert f'<a href="{reverse("signals:inbox")}?status=">Ook de afgeronde signalen tonen</a>' in page
    everything = client.get(reverse("signals:inbox"), {"status": ""}).content.decode()
    assert "3 signalen, nieuwste eerst" in everything


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reden": "", "toelichting": "x"}, "reden", "Kies een reden."),
        ({"reden": "verzonnen", "toelichting": ""}, "reden", "Kies een reden."),
        ({"reden": "other", "toelichting": "   "}, "toelichting", "Licht toe waarom u het signaal afsluit"),
        ({"reden": "other", "toelichting": "x" * 2001}, "toelichting", "Gebruik hoogstens 2000 tekens."),
    ],
)
def test_a_bad_closing_form_gets_its_message_keeps_the_input_and_changes_nothing(
    coordinator, signal, data, field, message
):
    before = _state(signal)
    response = verified_client(coordinator).post(reverse("signals:close", args=[signal.pk]), data)

    assert response.status_code == 200
    form = response.context["close_form"]
    assert any(message in error for error in form.errors[field])
    assert form["toelichting"].value() == data["toelichting"]
    assert "Er is iets niet goed ingevuld" in response.content.decode()
    assert _state(signal) == before


def test_the_service_refuses_bad_input_too(coordinator, signal):
    before = _state(signal)
    with pytest.raises(ValidationError):
        signal_close(actor=coordinator, signal_id=signal.pk, reason="verzonnen")
    with pytest.raises(ValidationError):
        signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.OTHER, note=" ")
    assert _state(signal) == before


def test_transitions_that_are_not_allowed_get_a_clear_message_and_change_nothing(coordinator, signal):
    client = verified_client(coordinator)
    signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)
    before = _state(signal)

    again = client.post(reverse("signals:close", args=[signal.pk]), {"reden": "insufficient"}, follow=True)
    triage = client.post(reverse("signals:start_triage", args=[signal.pk]), follow=True)

    assert "Dit signaal is al afgesloten, misschien door een collega." in again.content.decode()
    assert "al in behandeling genomen of afgesloten" in triage.content.decode()
    assert _state(signal) == before
    assert Signal.objects.get(pk=signal.pk).closure_reason == ClosureReason.DUPLICATE


def test_a_coordinator_on_a_stale_page_is_told_and_the_first_decision_stands(make_user, organisation, signal):
    """Both opened the page while the signal was new; the second click arrives after the first
    one's transaction: the first decision stands, the second gets a clear message."""
    first, second = (make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(2))
    first_client, second_client = verified_client(first), verified_client(second)
    first_seen, second_seen = _seen(first_client, signal), _seen(second_client, signal)

    first_client.post(reverse("signals:close", args=[signal.pk]), {"reden": "referred", **first_seen})
    response = second_client.post(
        reverse("signals:close", args=[signal.pk]),
        {"reden": "other", "toelichting": "Anders", **second_seen},
        follow=True,
    )

    assert "Dit signaal is al afgesloten, misschien door een collega." in response.content.decode()
    stored = Signal.objects.get(pk=signal.pk)
    assert (stored.closure_reason, stored.closure_note) == (ClosureReason.REFERRED, None)
    assert list(AuditEvent.objects.filter(action="signal.closed").values_list("actor_id", flat=True)) == [first.pk]


def test_a_form_from_a_page_older_than_a_colleagues_change_changes_nothing(make_user, organisation, signal):
    """Three opened the page while the signal was new. One closes it, another reopens it (new
    information): the third's close form, from the page of before, must not close it again. Nor
    does a close from a page that showed "ontvangen" after a colleague took it into handling."""
    first, second, third = (make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(3))
    clients = [verified_client(user) for user in (first, second, third)]
    stale = _seen(clients[2], signal)
    clients[0].post(reverse("signals:close", args=[signal.pk]), {"reden": "duplicate", **_seen(clients[0], signal)})
    clients[1].post(reverse("signals:reopen", args=[signal.pk]), _seen(clients[1], signal))
    before = _state(signal)

    response = clients[2].post(reverse("signals:close", args=[signal.pk]), {"reden": "referred", **stale}, follow=True)

    assert "gewijzigd nadat u de pagina opende" in response.content.decode()
    assert _state(signal) == before and Signal.objects.get(pk=signal.pk).status == SignalStatus.IN_TRIAGE

    other = make_signal(first)
    old_page = _seen(clients[2], other)
    clients[0].post(reverse("signals:start_triage", args=[other.pk]), _seen(clients[0], other))
    refused = clients[2].post(reverse("signals:close", args=[other.pk]), {"reden": "referred", **old_page}, follow=True)
    assert "gewijzigd nadat u de pagina opende" in refused.content.decode()
    assert Signal.objects.get(pk=other.pk).status == SignalStatus.IN_TRIAGE
    # From the page of now, the close goes through.
    clients[2].post(reverse("signals:close", args=[other.pk]), {"reden": "referred", **_seen(clients[2], other)})
    assert Signal.objects.get(pk=other.pk).status == SignalStatus.CLOSED


def test_a_close_form_with_errors_from_a_page_older_than_a_change_says_so(make_user, organisation, signal):
    """The close form comes back with its errors and the signal as it is now: if a colleague
    changed it after the page was opened, the page says so before the next click closes it."""
    first, second = (make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(2))
    first_client, second_client = verified_client(first), verified_client(second)
    stale = _seen(second_client, signal)
    first_client.post(reverse("signals:start_triage", args=[signal.pk]), _seen(first_client, signal))
    before = _state(signal)

    again = second_client.post(reverse("signals:close", args=[signal.pk]), {"reden": "other", **stale})

    page = again.content.decode()
    assert again.status_code == 200 and "gewijzigd nadat u de pagina opende" in page
    assert "Licht toe waarom u het signaal afsluit" in page
    assert _state(signal) == before
    # Without a change in between, the same mistake shows only its own error.
    fresh = second_client.post(
        reverse("signals:close", args=[signal.pk]), {"reden": "other", **_seen(second_client, signal)}
    )
    assert fresh.status_code == 200 and "gewijzigd nadat u de pagina opende" not in fresh.content.decode()


def test_a_bad_form_on_a_signal_closed_meanwhile_says_it_was_closed(coordinator, signal):
    """The closing form is gone from the page of a closed signal: its error would show nowhere."""
    signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.REFERRED)
    before = _state(signal)

    response = verified_client(coordinator).post(
        reverse("signals:close", args=[signal.pk]), {"reden": "other", "toelichting": ""}, follow=True
    )

    assert "Dit signaal is al afgesloten, misschien door een collega." in response.content.decode()
    assert _state(signal) == before


def test_the_service_locks_the_signal_row(coordinator, signal):
    """Two coordinators at once queue up on the row lock (PostgreSQL; SQLite has one writer)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        signal_start_triage(actor=coordinator, signal_id=signal.pk)
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "signals_signal"' in q["sql"]]
    assert reads and reads[0].startswith("SELECT")
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in reads[0]


def test_a_note_with_line_breaks_counts_them_as_the_browser_does(coordinator, signal):
    note = "regel\r\n" * 333 + "x"  # 1999 characters in the browser, 2332 as sent
    client = verified_client(coordinator)
    response = client.post(
        reverse("signals:close", args=[signal.pk]), {"reden": "other", "toelichting": note, **_seen(client, signal)}
    )
    assert response.status_code == 302
    assert Signal.objects.get(pk=signal.pk).closure_note == note.replace("\r\n", "\n")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer in at a time")
@pytest.mark.django_db(transaction=True)
def test_coordinators_closing_at_the_same_moment_give_one_success_and_clear_errors(make_user, organisation):
    import threading

    from django.db import connections

    signal = make_signal(make_user(role=Role.EMPLOYEE, organisation=organisation))
    coordinators = [make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(6)]
    barrier = threading.Barrier(len(coordinators))
    outcomes = []

    def close(user):
        try:
            barrier.wait(timeout=30)
            signal_close(actor=user, signal_id=signal.pk, reason=ClosureReason.INSUFFICIENT)
            outcomes.append("closed")
        except ValidationError as error:
            outcomes.append(error.code)
        except Exception as error:  # asserted below: nothing else may happen
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=close, args=(user,)) for user in coordinators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["already_handled"] * 5 + ["closed"]
    assert AuditEvent.objects.filter(action="signal.closed").count() == 1
    assert Signal.history.filter(id=signal.pk, status="closed").count() == 1


@pytest.mark.parametrize("role", [role for role in Role.values if role != Role.COORDINATOR] + ["superuser"])
def test_only_coordinators_may_handle_signals(make_user, organisation, signal, role):
    if role == "superuser":  # a platform superuser belongs to no organisation
        user = UserFactory(role="", organisation=None, is_superuser=True, is_staff=True)
    else:
        user = make_user(role=role, organisation=organisation)
    client = verified_client(user)
    before = _state(signal)

    assert client.get(reverse("signals:detail", args=[signal.pk])).status_code == 403
    assert client.post(reverse("signals:start_triage", args=[signal.pk])).status_code == 403
    assert client.post(reverse("signals:close", args=[signal.pk]), {"reden": "duplicate"}).status_code == 403
    assert client.post(reverse("signals:reopen", args=[signal.pk])).status_code == 403
    assert _state(signal) == before


def test_a_coordinator_of_another_organisation_gets_not_found_and_changes_nothing(
    make_user, other_organisation, coordinator, signal
):
    outsider = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    client = verified_client(outsider)
    before = _state(signal)

    assert client.post(reverse("signals:start_triage", args=[signal.pk])).status_code == 404
    assert client.post(reverse("signals:close", args=[signal.pk]), {"reden": "duplicate"}).status_code == 404
    assert client.post(reverse("signals:reopen", args=[signal.pk])).status_code == 404
    with pytest.raises(Signal.DoesNotExist):
        signal_close(actor=outsider, signal_id=signal.pk, reason=ClosureReason.DUPLICATE)
    with pytest.raises(PermissionDenied):
        signal_start_triage(actor=make_user(role=Role.EMPLOYEE, organisation=signal.organisation), signal_id=signal.pk)
    assert _state(signal) == before


def test_without_login_or_csrf_token_nothing_happens(coordinator, signal):
    before = _state(signal)
    anonymous = Client().post(reverse("signals:close", args=[signal.pk]), {"reden": "duplicate"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("accounts:login"))

    strict = verified_client(coordinator)
    strict.handler.enforce_csrf_checks = True
    assert strict.post(reverse("signals:start_triage", args=[signal.pk])).status_code == 403
    assert strict.post(reverse("signals:close", args=[signal.pk]), {"reden": "duplicate"}).status_code == 403
    assert strict.post(reverse("signals:reopen", args=[signal.pk])).status_code == 403
    assert _state(signal) == before


def test_handling_pages_are_post_only(coordinator, signal):
    client = verified_client(coordinator)
    assert client.get(reverse("signals:start_triage", args=[signal.pk])).status_code == 405
    assert client.get(reverse("signals:close", args=[signal.pk])).status_code == 405
    assert client.get(reverse("signals:reopen", args=[signal.pk])).status_code == 405


def test_showing_the_form_again_logs_the_read(coordinator, signal):
    client = verified_client(coordinator)
    client.post(reverse("signals:close", args=[signal.pk]), {"reden": ""})
    assert AccessLog.objects.filter(user_id=coordinator.pk, record_id=str(signal.pk), page="signals:detail").exists()


def test_a_close_from_a_page_older_than_a_colleagues_change_keeps_the_reason_and_note_typed(
    make_user, organisation, signal
):
    """A colleague made someone handler after the page was opened: nothing is closed, the page
    shows the signal as it is now with the close form as it was filled in, and one more click
    (from the page of now) closes it."""
    first, second = (make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(2))
    first_client, second_client = verified_client(first), verified_client(second)
    stale = _seen(second_client, signal)
    first_client.post(
        reverse("signals:assign", args=[signal.pk]), {"behandelaar": str(first.pk), **_seen(first_client, signal)}
    )
    before = _state(signal)

    again = second_client.post(
        reverse("signals:close", args=[signal.pk]),
        {"reden": "other", "toelichting": "Bleek een verhuizing te zijn", **stale},
    )

    page = again.content.decode()
    assert again.status_code == 200 and "gewijzigd nadat u de pagina opende" in page
    assert "wat u typte staat er nog" in page
    assert "Bleek een verhuizing te zijn</textarea>" in page
    assert re.search(r'<option value="other"[^>]*selected', page)
    assert _state(signal) == before
    closed = second_client.post(
        reverse("signals:close", args=[signal.pk]),
        {"reden": "other", "toelichting": "Bleek een verhuizing te zijn", **_seen_in(page)},
    )
    assert closed.status_code == 302 and Signal.objects.get(pk=signal.pk).status == SignalStatus.CLOSED


def _seen_in(page: str) -> dict:
    return {"stand": html.unescape(_STAND.search(page).group(1))}


def test_the_inbox_marks_a_signal_with_acute_danger(coordinator, employee):
    acute, calm = make_signal(employee, acute_danger=True), make_signal(employee)

    page = verified_client(coordinator).get(reverse("signals:inbox")).content.decode()

    def row(signal):
        return re.search(rf"{signal.reference}</a>.*?</tr>", page, re.S).group(0)

    assert '<strong class="acute">ja</strong>' in row(acute)
    assert "<td>nee</td>" in row(calm) and "acute" not in row(calm)


def test_a_signal_closed_as_reported_before_links_to_the_earlier_one_and_back(coordinator, employee):
    earlier, again = make_signal(employee), make_signal(employee)
    client = verified_client(coordinator)

    response = client.post(
        reverse("signals:close", args=[again.pk]),
        {"reden": "duplicate", "eerder": f"  {earlier.reference.lower()} ", **_seen(client, again)},
    )

    assert response.status_code == 302
    stored = Signal.objects.get(pk=again.pk)
    assert (stored.status, stored.closure_reason, stored.duplicate_of_id) == (
        SignalStatus.CLOSED,
        ClosureReason.DUPLICATE,
        earlier.pk,
    )
    page = client.get(reverse("signals:detail", args=[again.pk])).content.decode()
    link = f'<a href="{reverse("signals:detail", args=[earlier.pk])}">{earlier.reference}</a>'
    assert f"Al eerder gemeld: {link}" in page
    back = client.get(reverse("signals:detail", args=[earlier.pk])).content.decode()
    assert f'<dt>Later opnieuw gemeld als</dt><dd><a href="{reverse("signals:detail", args=[again.pk])}">' in back
    event = AuditEvent.objects.get(action="signal.closed", record_id=str(again.pk))
    assert event.data == {"from": SignalStatus.RECEIVED, "reason": ClosureReason.DUPLICATE, "duplicate_of": earlier.pk}

    signal_reopen(actor=coordinator, signal_id=again.pk)
    assert Signal.objects.get(pk=again.pk).duplicate_of is None


def test_an_earlier_reference_that_is_not_another_signal_of_the_organisation_closes_nothing(
    coordinator, employee, make_user, other_organisation
):
    signal = make_signal(employee)
    elsewhere = make_signal(make_user(role=Role.EMPLOYEE, organisation=other_organisation))
    client = verified_client(coordinator)
    before = _state(signal)
    cases = [
        (
            {"reden": "duplicate", "eerder": "S2026-99999"},
            "Er is geen ander signaal met dit kenmerk in uw organisatie.",
        ),
        (
            {"reden": "duplicate", "eerder": elsewhere.reference},
            "Er is geen ander signaal met dit kenmerk in uw organisatie.",
        ),
        (
            {"reden": "duplicate", "eerder": signal.reference},
            "Er is geen ander signaal met dit kenmerk in uw organisatie.",
        ),
        ({"reden": "referred", "eerder": elsewhere.reference}, "Vul het kenmerk van het eerdere signaal alleen in"),
    ]

    for data, message in cases:
        response = client.post(reverse("signals:close", args=[signal.pk]), {**data, **_seen(client, signal)})
        page = response.content.decode()
        assert response.status_code == 200 and message in page
        assert f'value="{data["eerder"]}"' in page  # what was typed is kept
        assert _state(signal) == before


def test_a_duplicate_outlives_the_earlier_signal_it_pointed_to(coordinator, employee):
    from privacy.services import purge_expired

    earlier, again = make_signal(employee), make_signal(employee)
    signal_close(actor=coordinator, signal_id=earlier.pk, reason=ClosureReason.NOT_UNDERMINING)
    expires = Signal.objects.get(pk=earlier.pk).retention_expires_at
    with time_machine.travel(expires - timedelta(days=1)):
        signal_close(
            actor=coordinator, signal_id=again.pk, reason=ClosureReason.DUPLICATE, earlier_reference=earlier.reference
        )

    purged = purge_expired(now=expires + timedelta(seconds=1), removed_by="test")

    assert purged == [("signal_without_case", str(earlier.pk))]
    remaining = Signal.objects.get(pk=again.pk)
    assert remaining.duplicate_of is None and remaining.closure_reason == ClosureReason.DUPLICATE
    page = verified_client(coordinator).get(reverse("signals:detail", args=[again.pk])).content.decode()
    assert "<dd>Al eerder gemeld</dd>" in page


def test_the_service_refuses_an_earlier_reference_with_another_reason_or_one_that_came_in_later(coordinator, employee):
    first, second = make_signal(employee), make_signal(employee)
    before = _state(second)

    with pytest.raises(ValidationError) as other_reason:
        signal_close(
            actor=coordinator, signal_id=second.pk, reason=ClosureReason.REFERRED, earlier_reference=first.reference
        )
    assert "alleen in als u 'Al eerder gemeld' kiest" in str(other_reason.value)
    assert _state(second) == before

    # The later one is the repeat: the first signal cannot name the second as earlier.
    before_first = _state(first)
    with pytest.raises(ValidationError) as later:
        signal_close(
            actor=coordinator, signal_id=first.pk, reason=ClosureReason.DUPLICATE, earlier_reference=second.reference
        )
    assert "Dat signaal kwam later binnen dan dit signaal." in str(later.value)
    assert _state(first) == before_first


def test_the_later_reports_cost_the_earlier_signals_page_no_query_per_report(coordinator, employee):
    earlier = make_signal(employee)
    client = verified_client(coordinator)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("signals:detail", args=[earlier.pk])).status_code == 200
        return len(ctx.captured_queries)

    again = make_signal(employee)
    signal_close(
        actor=coordinator, signal_id=again.pk, reason=ClosureReason.DUPLICATE, earlier_reference=earlier.reference
    )
    one = queries()
    for _ in range(4):
        later = make_signal(employee)
        signal_close(
            actor=coordinator, signal_id=later.pk, reason=ClosureReason.DUPLICATE, earlier_reference=earlier.reference
        )
    assert queries() == one


def test_the_coordinator_reads_a_kenteken_with_its_dashes(coordinator, employee):
    from signals.services import SubjectData

    signal = make_signal(employee, subjects=[SubjectData(kind="vehicle", kenteken="VTX12B")])  # as the form stores it

    page = verified_client(coordinator).get(reverse("signals:detail", args=[signal.pk])).content.decode()

    assert "<td>VTX-12-B</td>" in page
