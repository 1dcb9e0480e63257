"""The privacy officer's audit viewer: filters, isolation, paging, CSV export and its own traces."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse

from accounts.roles import Role
from audit.models import AccessLog, AuditEvent
from audit.services import access_log_record, audit_event_record
from tests.conftest import verified_client
from tests.example.services import dossier_close, dossier_create, dossier_update_title

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def privacy_officer(make_user, organisation):
    return make_user(role=Role.PRIVACY_OFFICER, organisation=organisation)


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation, first_name="Cora", last_name="Coördinator")


@pytest.fixture
def officer_client(privacy_officer):
    return verified_client(privacy_officer)


def _events(actor, count: int, action: str = "test.event") -> None:
    with transaction.atomic():
        for n in range(count):
            audit_event_record(
                actor=actor,
                action=action,
                organisation_id=actor.organisation_id,
                record_type="example.dossier",
                record_id=str(1000 + n),
            )


def _rows(response) -> list[AuditEvent]:
    return [row["event"] for row in response.context["rows"]]


def _csv(response) -> tuple[bytes, list[list[str]]]:
    body = b"".join(response.streaming_content)
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


# --- the list ------------------------------------------------------------------------------------


def test_list_shows_the_organisations_events_with_names_not_other_organisations(
    officer_client, coordinator, make_user, other_organisation
):
    dossier = dossier_create(actor=coordinator, title="eigen", details={})
    stranger = make_user(
        role=Role.COORDINATOR, organisation=other_organisation, first_name="Vreemde", last_name="Ander"
    )
    foreign = dossier_create(actor=stranger, title="vreemd", details={})
    assert AuditEvent.objects.filter(organisation=other_organisation).exists()

    response = officer_client.get(reverse("audit:event_list"))

    assert response.status_code == 200
    events = _rows(response)
    assert [e.record_id for e in events] == [str(dossier.pk)]
    assert {e.organisation_id for e in events} == {coordinator.organisation_id}
    page = response.content.decode()
    assert "Cora Coördinator" in page
    assert "Coördinator bestuurlijke aanpak" in page  # the role, by its label
    assert "dossier.created" in page
    assert "Vreemde Ander" not in page
    assert str(foreign.pk) not in [e.record_id for e in events]
    # The person filter only offers the organisation's own people.
    people = dict(response.context["form"].fields["person"].choices)
    assert coordinator.pk in people and stranger.pk not in people


def test_filter_by_person(officer_client, coordinator, make_user, organisation):
    colleague = make_user(role=Role.COORDINATOR, organisation=organisation)
    dossier_create(actor=coordinator, title="a", details={})
    dossier_create(actor=colleague, title="b", details={})

    response = officer_client.get(reverse("audit:event_list"), {"person": coordinator.pk})

    assert {e.actor_id for e in _rows(response)} == {coordinator.pk}


def test_filter_by_action_offers_the_actions_present(officer_client, coordinator):
    dossier = dossier_create(actor=coordinator, title="a", details={})
    dossier_update_title(actor=coordinator, dossier=dossier, title="b")

    response = officer_client.get(reverse("audit:event_list"), {"action": "dossier.updated"})

    assert [e.action for e in _rows(response)] == ["dossier.updated"]
    actions = [value for value, _ in response.context["form"].fields["action"].choices]
    assert actions == ["", "dossier.created", "dossier.updated"]


def test_filter_by_record(officer_client, coordinator):
    first = dossier_create(actor=coordinator, title="a", details={})
    dossier_create(actor=coordinator, title="b", details={})

    response = officer_client.get(
        reverse("audit:event_list"), {"record_type": "example.dossier", "record_id": f" {first.pk} "}
    )

    assert [e.record_id for e in _rows(response)] == [str(first.pk)]


def test_filter_by_period_includes_the_last_day_in_amsterdam_time(officer_client, coordinator):
    # 23:30 in Amsterdam on 1 March is 22:30 UTC: it belongs to 1 March, not 2 March.
    with time_machine.travel(datetime(2025, 3, 1, 23, 30, tzinfo=AMSTERDAM), tick=False):
        early = dossier_create(actor=coordinator, title="a", details={})
    with time_machine.travel(datetime(2025, 3, 2, 0, 30, tzinfo=AMSTERDAM), tick=False):
        middle = dossier_create(actor=coordinator, title="b", details={})
    with time_machine.travel(datetime(2025, 3, 10, 12, 0, tzinfo=AMSTERDAM), tick=False):
        dossier_create(actor=coordinator, title="c", details={})

    only_first = officer_client.get(reverse("audit:event_list"), {"since": "2025-03-01", "until": "2025-03-01"})
    first_two = officer_client.get(reverse("audit:event_list"), {"since": "2025-03-01", "until": "2025-03-02"})

    assert [e.record_id for e in _rows(only_first)] == [str(early.pk)]
    assert [e.record_id for e in _rows(first_two)] == [str(middle.pk), str(early.pk)]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "gisteren"}, "since", "Vul een geldige datum in"),
        ({"since": "2025-03-10", "until": "2025-03-01"}, "until", "Deze datum ligt vóór de begindatum (Vanaf)."),
        ({"until": "0001-01-01"}, "until", "Vul een datum tussen 1900 en 2999 in."),
        ({"person": "iemand"}, "person", "Kies een persoon uit de lijst."),
        ({"action": "bestaat.niet"}, "action", "Kies een actie uit de lijst."),
    ],
)
def test_invalid_filters_show_a_dutch_message_next_to_the_field(officer_client, coordinator, params, field, message):
    dossier_create(actor=coordinator, title="a", details={})

    response = officer_client.get(reverse("audit:event_list"), params)

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page  # next to the field, linked by aria-describedby
    assert "Er is iets niet goed ingevuld" in page
    assert response.context["rows"] is None  # no events under filters that were not understood


def test_pages_of_fifty(officer_client, coordinator):
    _events(coordinator, 55)

    first = officer_client.get(reverse("audit:event_list"))
    second = officer_client.get(reverse("audit:event_list"), {"page": 2})
    beyond = officer_client.get(reverse("audit:event_list"), {"page": "xyz"})

    assert len(_rows(first)) == 50
    assert len(_rows(second)) == 5
    assert len(_rows(beyond)) == 50
    assert "?page=2" in first.content.decode()


@pytest.mark.parametrize("count", [3, 30])
def test_list_costs_a_constant_number_of_queries(
    officer_client, coordinator, make_user, organisation, django_assert_num_queries, count
):
    others = [make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(3)]
    for n in range(count):
        _events(others[n % 3] if n % 2 else coordinator, 1)

    # session, user, 2FA device, access-log entry (3 with its savepoint), people, actions, record
    # types, count, page, names of the page's people, session save (3 with its savepoint)
    with django_assert_num_queries(15):
        response = officer_client.get(reverse("audit:event_list"))

    assert len(_rows(response)) == count


# --- CSV export ----------------------------------------------------------------------------------


def test_export_streams_the_filtered_events_as_csv(officer_client, coordinator):
    with time_machine.travel(datetime(2025, 6, 30, 23, 30, tzinfo=AMSTERDAM), tick=False):
        dossier = dossier_create(actor=coordinator, title="a", details={})
        dossier_close(actor=coordinator, dossier=dossier)
        response = officer_client.get(reverse("audit:event_export"), {"action": "dossier.closed"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audittrail-2025-06-30.csv"'
    body, rows = _csv(response)
    assert body.startswith(b"\xef\xbb\xbf")
    assert rows[0][:5] == ["Tijdstip", "Persoon", "Persoon-id", "Rol", "Actie"]
    assert len(rows) == 2
    time, person, person_id, role, action, record_type, record_id, chain, seq, _, label = rows[1]
    assert time == "2025-06-30T23:30:00+02:00"
    assert (person, person_id, role, action) == (
        "Cora Coördinator",
        str(coordinator.pk),
        "Coördinator bestuurlijke aanpak",
        "dossier.closed",
    )
    assert label == "dossier.closed"  # the test app's action has no label: its code
    assert (record_type, record_id, chain, seq) == (
        "example.dossier",
        str(dossier.pk),
        f"org:{coordinator.organisation_id}",
        "2",
    )


def test_export_holds_only_the_organisations_events(officer_client, coordinator, make_user, other_organisation):
    stranger = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    dossier_create(actor=stranger, title="vreemd", details={})
    dossier_create(actor=coordinator, title="eigen", details={})

    _, rows = _csv(officer_client.get(reverse("audit:event_export")))

    assert [row[7] for row in rows[1:]] == [f"org:{coordinator.organisation_id}"]


def test_export_is_safe_against_csv_injection(officer_client, make_user, organisation):
    sly = make_user(role=Role.COORDINATOR, organisation=organisation, first_name="=HYPERLINK(1)", last_name="x")
    with transaction.atomic():
        audit_event_record(
            actor=sly, action="+cmd", organisation_id=organisation.pk, record_type="@SUM(1)", record_id="-1+1"
        )

    _, rows = _csv(officer_client.get(reverse("audit:event_export")))

    row = rows[1]
    assert row[1] == "'=HYPERLINK(1) x"
    assert row[4] == "'+cmd"
    assert row[5] == "'@SUM(1)"
    assert row[6] == "'-1+1"


def test_export_with_invalid_filters_goes_back_to_the_list(officer_client):
    response = officer_client.get(reverse("audit:event_export"), {"since": "morgen"})

    assert response.status_code == 302
    assert response["Location"] == reverse("audit:event_list") + "?since=morgen"
    assert not AccessLog.objects.filter(page="audit_event_export").exists()


# --- the viewer leaves its own trace -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "page"),
    [
        ("audit:event_list", "audit_event_list"),
        ("audit:event_export", "audit_event_export"),
        ("audit:access_log", "access_log_list"),
    ],
)
def test_viewing_and_exporting_are_logged(officer_client, privacy_officer, url_name, page):
    response = officer_client.get(reverse(url_name))
    if response.streaming:
        b"".join(response.streaming_content)

    entry = AccessLog.objects.get()
    assert (entry.user_id, entry.user_role, entry.organisation_id) == (
        privacy_officer.pk,
        Role.PRIVACY_OFFICER,
        privacy_officer.organisation_id,
    )
    assert (entry.record_type, entry.record_id, entry.page) == ("audit_trail", "", page)


# --- the access log ------------------------------------------------------------------------------


def test_access_log_shows_the_organisations_entries_filtered(
    officer_client, coordinator, make_user, organisation, other_organisation
):
    colleague = make_user(role=Role.COORDINATOR, organisation=organisation)
    stranger = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    access_log_record(user=coordinator, record_type="example.dossier", record_id="7", page="dossier_detail")
    access_log_record(user=colleague, record_type="example.dossier", record_id="8", page="dossier_detail")
    access_log_record(user=stranger, record_type="example.dossier", record_id="9", page="dossier_detail")

    everything = officer_client.get(reverse("audit:access_log"))
    by_person = officer_client.get(reverse("audit:access_log"), {"person": coordinator.pk})
    by_record = officer_client.get(reverse("audit:access_log"), {"record_type": "example.dossier", "record_id": "8"})

    shown = [row["entry"].record_id for row in everything.context["rows"]]
    assert "9" not in shown
    assert {"7", "8"} <= set(shown)
    assert [row["entry"].record_id for row in by_person.context["rows"]] == ["7"]
    assert [row["entry"].record_id for row in by_record.context["rows"]] == ["8"]
    assert "Cora Coördinator" in by_person.content.decode()
    assert "action" not in everything.context["form"].fields


def test_access_log_rejects_a_period_that_ends_before_it_starts(officer_client):
    response = officer_client.get(reverse("audit:access_log"), {"since": "2025-02-01", "until": "2025-01-01"})

    assert response.status_code == 200
    assert response.context["form"].errors["until"]
    assert response.context["rows"] is None
