"""The "Verloop" of a signal on the coordinator's page: what happened, by whom, from the audit trail."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from signals import selectors, services
from signals.confidential_services import (
    ContactData,
    on_behalf_signal_submit,
    reporter_message_add,
    reporter_question_send,
)
from signals.models import Channel, ClosureReason, Signal
from tests.conftest import verified_client
from tests.factories import make_signal


def _timeline_on_page(client, signal) -> list[str]:
    page = client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()
    block = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert block is not None, "the page has no Verloop"
    return [re.sub(r"<time[^>]*>.*?</time>\s*", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", block[1])]


def _page(client, signal) -> str:
    return client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()


def _confidential_signal(organisation) -> Signal:
    from signals.confidential_services import confidential_signal_submit
    from signals.services import SignalData

    organisation.confidential_reporting_enabled = True
    organisation.save()
    signal, _ = confidential_signal_submit(
        organisation_id=organisation.pk,
        submission_key=uuid.uuid4(),
        data=SignalData(description="Loods met verduisterde ramen"),
        contact=ContactData(),
        same_browser=True,
    )
    return signal


def _version(signal_id: int) -> str:
    return Signal.objects.get(pk=signal_id).version


def test_the_page_tells_who_did_what_with_the_signal_in_order(coordinator, employee, make_user, organisation):
    colleague = make_user(role=Role.COORDINATOR, organisation=organisation, first_name="Ali", last_name="Bakker")
    coordinator.first_name, coordinator.last_name = "Sanne", "Jansen"
    coordinator.save()
    signal = make_signal(employee)
    services.signal_start_triage(actor=coordinator, signal_id=signal.pk)
    services.signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=colleague.pk)
    reporter_question_send(actor=colleague, signal=Signal.objects.get(pk=signal.pk), text="Welke avonden?")
    reporter_message_add(actor=employee, signal=Signal.objects.get(pk=signal.pk), text="Dinsdag en donderdag.")
    services.signal_close(actor=colleague, signal_id=signal.pk, reason=ClosureReason.REFERRED)
    services.signal_reopen(actor=coordinator, signal_id=signal.pk)
    services.signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=None)

    assert _timeline_on_page(verified_client(coordinator), signal) == [
        f"Gemeld door {employee.display_name} via het meldformulier (ingelogd)",
        "Sanne Jansen nam het signaal in behandeling en werd behandelaar",
        "Sanne Jansen maakte Ali Bakker behandelaar",
        "Ali Bakker stelde de melder een vraag",
        "De melder schreef een bericht",
        "Afgesloten door Ali Bakker: doorverwezen (politie, andere gemeente, RIEC of andere instantie)",
        "Heropend door Sanne Jansen",
        "Sanne Jansen haalde de behandelaar weg",
    ]


def test_a_registration_on_behalf_and_a_look_at_the_reporters_details_are_in_it(coordinator):
    from signals.confidential_services import reporter_identity_disclose
    from signals.services import SignalData

    coordinator.first_name, coordinator.last_name = "Sanne", "Jansen"
    coordinator.save()
    signal = on_behalf_signal_submit(
        actor=coordinator,
        organisation_id=coordinator.organisation_id,
        channel=Channel.PHONE,
        submission_key=uuid.uuid4(),
        data=SignalData(description="Iemand belde over de loods"),
        contact=ContactData(name="Kees Beller"),
    )
    reporter_identity_disclose(actor=coordinator, signal=signal, reason="Nodig om terug te bellen over de loods")

    entries = [e.text for e in selectors.signal_timeline(actor=coordinator, signal=signal).entries]

    assert entries == [
        "Geregistreerd door Sanne Jansen (telefoon)",
        "Sanne Jansen legde de gegevens van de melder vast",
        "Sanne Jansen vroeg de gegevens van de melder op",
    ]
    # Nothing of the content: not the caller's name, not the reason given.
    assert not any("Kees" in text or "terug te bellen" in text for text in entries)


def test_a_confidential_signal_says_the_reporter_got_a_code_and_no_reads_are_listed(coordinator, organisation):
    signal = _confidential_signal(organisation)
    client = verified_client(coordinator)
    client.get(reverse("signals:detail", kwargs={"pk": signal.pk}))  # a read: in the access log, not here

    assert _timeline_on_page(client, signal) == [
        "Gemeld via het vertrouwelijk meldformulier (zonder account)",
        "De melder kreeg een ontvangstcode",
    ]


def test_only_the_signals_own_events_and_a_removed_account_is_named_so(coordinator, employee, make_user, organisation):
    colleague = make_user(role=Role.COORDINATOR, organisation=organisation)
    signal, other = make_signal(employee), make_signal(employee)
    services.signal_start_triage(actor=colleague, signal_id=other.pk)
    services.signal_start_triage(actor=colleague, signal_id=signal.pk)
    for handled in (signal, other):
        services.signal_assign(actor=coordinator, signal_id=handled.pk, handler_id=coordinator.pk)
    colleague.delete()  # possible once they handle nothing

    entries = [e.text for e in selectors.signal_timeline(actor=coordinator, signal=signal).entries]

    assert entries == [
        f"Gemeld door {employee.display_name} via het meldformulier (ingelogd)",
        "Een verwijderd account nam het signaal in behandeling en werd behandelaar",
        f"{coordinator.display_name} werd behandelaar",
    ]


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.OFFICE_HOLDER, Role.MANAGER, Role.ADMIN, Role.PRIVACY_OFFICER])
def test_nobody_but_a_coordinator_of_the_organisation_gets_the_timeline(
    role, employee, make_user, organisation, other_organisation
):
    signal = make_signal(employee)
    elsewhere = make_user(role=Role.COORDINATOR, organisation=other_organisation)

    for actor in (make_user(role=role, organisation=organisation), elsewhere):
        with pytest.raises(PermissionDenied):
            selectors.signal_timeline(actor=actor, signal=signal)


def test_the_timeline_costs_the_same_queries_however_long_it_is(coordinator, employee, make_user, organisation):
    colleagues = [make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(3)]
    short, long = make_signal(employee), make_signal(employee)
    for colleague in colleagues:
        services.signal_assign(actor=colleague, signal_id=long.pk, handler_id=colleague.pk)
        reporter_question_send(actor=colleague, signal=Signal.objects.get(pk=long.pk), text="Nog iets?")
    client = verified_client(coordinator)

    counts = []
    for signal in (short, long):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert len(selectors.signal_timeline(actor=coordinator, signal=long).entries) == 7
    assert counts[0] == counts[1]


def test_what_other_roles_do_with_the_record_and_events_of_other_records_are_left_out(
    coordinator, employee, make_user, organisation
):
    from audit.services import audit_event_record
    from privacy.services import retention_postpone

    signal = make_signal(employee)
    services.signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.NOT_UNDERMINING)
    officer = make_user(role=Role.PRIVACY_OFFICER, organisation=organisation, first_name="Fien", last_name="Gerrits")
    retention_postpone(
        actor=officer,
        record=Signal.objects.get(pk=signal.pk),
        until=Signal.objects.get(pk=signal.pk).retention_expires_at + timedelta(days=1),
        reason="Een Wob-verzoek loopt nog",
    )
    # Another record type with the same id: not the signal's.
    audit_event_record(
        actor=coordinator,
        action="signal.closed",
        organisation_id=organisation.pk,
        record_type="signals.attachment",
        record_id=str(signal.pk),
        data={"reason": ClosureReason.DUPLICATE},
    )

    entries = [e.text for e in selectors.signal_timeline(actor=coordinator, signal=signal).entries]

    assert entries == [
        f"Gemeld door {employee.display_name} via het meldformulier (ingelogd)",
        f"Afgesloten door {coordinator.display_name}: {ClosureReason.NOT_UNDERMINING.label[0].lower()}"
        f"{ClosureReason.NOT_UNDERMINING.label[1:]}",
    ]
    assert "Fien" not in _page(verified_client(coordinator), signal)


def test_a_long_history_shows_the_newest_entries_and_says_how_many_are_left_out(coordinator, organisation, monkeypatch):
    monkeypatch.setattr(selectors, "TIMELINE_LIMIT", 5)
    signal = _confidential_signal(organisation)
    for number in range(7):
        reporter_message_add(actor=None, signal=Signal.objects.get(pk=signal.pk), text=f"Aanvulling {number}")
    client = verified_client(coordinator)

    timeline = selectors.signal_timeline(actor=coordinator, signal=signal)

    # 2 (reported, code) + 7 messages = 9; the newest 5 shown, oldest of them first.
    assert [e.text for e in timeline.entries] == ["De melder schreef een bericht"] * 5
    assert timeline.earlier == 4
    assert timeline.entries == sorted(timeline.entries, key=lambda e: e.at)
    assert "4 eerdere gebeurtenissen staan niet in dit overzicht" in _page(client, signal)
    assert len(_timeline_on_page(client, signal)) == 5


def test_a_second_receipt_code_is_called_a_new_one(coordinator, organisation):
    from audit.services import audit_event_record

    signal = _confidential_signal(organisation)
    audit_event_record(
        actor=None,
        action="signal.receipt_issued",
        organisation_id=organisation.pk,
        record=signal,
        data={"receipt_id": 0, "contact_details": False, "codes": 2},
    )

    entries = [e.text for e in selectors.signal_timeline(actor=coordinator, signal=signal).entries]

    assert entries[-2:] == ["De melder kreeg een ontvangstcode", "De melder kreeg een nieuwe ontvangstcode"]


def test_taking_into_handling_a_signal_a_colleague_already_gave_you_is_one_line_without_werd_behandelaar(
    coordinator, employee, make_user, organisation
):
    colleague = make_user(role=Role.COORDINATOR, organisation=organisation)
    signal = make_signal(employee)
    services.signal_assign(actor=colleague, signal_id=signal.pk, handler_id=coordinator.pk)
    services.signal_start_triage(actor=coordinator, signal_id=signal.pk)

    entries = [e.text for e in selectors.signal_timeline(actor=coordinator, signal=signal).entries]

    assert entries[1:] == [
        f"{colleague.display_name} maakte {coordinator.display_name} behandelaar",
        f"In behandeling genomen door {coordinator.display_name}",
    ]


def test_making_oneself_handler_later_is_its_own_line_not_merged_with_taking_it_into_handling(
    coordinator, employee, make_user, organisation
):
    colleague = make_user(role=Role.COORDINATOR, organisation=organisation)
    signal = make_signal(employee)
    services.signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=colleague.pk)
    services.signal_start_triage(actor=coordinator, signal_id=signal.pk)  # the colleague stays handler
    services.signal_assign(actor=coordinator, signal_id=signal.pk, handler_id=coordinator.pk)

    entries = [e.text for e in selectors.signal_timeline(actor=coordinator, signal=signal).entries]

    assert entries[1:] == [
        f"{coordinator.display_name} maakte {colleague.display_name} behandelaar",
        f"In behandeling genomen door {coordinator.display_name}",
        f"{coordinator.display_name} werd behandelaar",
    ]


def test_a_closure_for_another_reason_or_as_a_repeat_reads_as_such(coordinator, employee):
    earlier, again, other = make_signal(employee), make_signal(employee), make_signal(employee)
    services.signal_close(
        actor=coordinator, signal_id=again.pk, reason=ClosureReason.DUPLICATE, earlier_reference=earlier.reference
    )
    services.signal_close(actor=coordinator, signal_id=other.pk, reason=ClosureReason.OTHER, note="Verhuisd")

    def last(signal) -> str:
        return selectors.signal_timeline(actor=coordinator, signal=signal).entries[-1].text

    assert last(again) == f"Afgesloten door {coordinator.display_name}: al eerder gemeld ({earlier.reference})"
    assert last(other) == f"Afgesloten door {coordinator.display_name}, om een andere reden"
