"""Retention pages: the privacy officer's overview and postponement, the administrator's policies."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditEvent
from privacy.models import RetentionPolicy, RetentionPostponement, Tombstone
from privacy.retention import RECORD_TYPES
from privacy.services import record_purge
from tests.conftest import verified_client
from tests.example.models import Dossier
from tests.example.services import dossier_close, dossier_create

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CLOSED_AT = datetime(2025, 1, 15, 10, 0, tzinfo=AMSTERDAM)  # + 6 months: expires 15 July 2025
REASON = "Er loopt een bezwaarprocedure tegen het besluit."


@pytest.fixture
def privacy_officer(make_user, organisation):
    return make_user(role=Role.PRIVACY_OFFICER, organisation=organisation)


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation)


@pytest.fixture
def admin(make_user, organisation):
    return make_user(role=Role.ADMIN, organisation=organisation)


def _closed_dossier(actor, at: datetime = CLOSED_AT) -> Dossier:
    with time_machine.travel(at, tick=False):
        dossier = dossier_create(actor=actor, title="geheime inhoud", details={})
        return dossier_close(actor=actor, dossier=dossier)


def _postpone_url(dossier) -> str:
    return reverse("audit:retention_postpone", kwargs={"record_type": "example_dossier", "pk": dossier.pk})


# --- the overview --------------------------------------------------------------------------------


def test_overview_shows_every_policy_and_what_is_due_of_the_own_organisation(
    privacy_officer, coordinator, make_user, other_organisation
):
    due = _closed_dossier(coordinator)
    later = _closed_dossier(coordinator, at=CLOSED_AT + timedelta(days=90))
    overdue = _closed_dossier(coordinator, at=CLOSED_AT - timedelta(days=60))
    foreign = _closed_dossier(make_user(role=Role.COORDINATOR, organisation=other_organisation))
    dossier_create(actor=coordinator, title="nog open", details={})

    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        response = verified_client(privacy_officer).get(reverse("audit:retention"))

    assert response.status_code == 200
    assert [(r.record_type, r.pk, r.overdue) for r in response.context["due"]] == [
        ("example_dossier", overdue.pk, True),
        ("example_dossier", due.pk, False),
    ]
    assert later.pk not in [r.pk for r in response.context["due"]]
    assert foreign.pk not in [r.pk for r in response.context["due"]]
    page = response.content.decode()
    for record_type in RECORD_TYPES.values():
        assert record_type.label in page
    assert "Verlopen" in page
    assert "15 juli 2025" in page
    assert "geheime inhoud" not in page
    assert page.count('name="reason"') == 2  # a postpone form on each row
    assert _postpone_url(due) in page


def test_overview_shows_what_a_reminder_counted_when_the_policy_reminds_earlier(privacy_officer, coordinator, admin):
    """A policy that reminds 120 days ahead: the reminder mail links to the overview, which then
    lists the record too, not only what falls within 60 days."""
    from privacy.services import retention_policy_for, retention_policy_update
    from privacy.tasks import send_retention_reminders

    privacy_officer.email = "fg@example.org"
    privacy_officer.save(update_fields=["email"])
    policy = retention_policy_for(organisation_id=coordinator.organisation_id, record_type="example_dossier")
    retention_policy_update(
        actor=admin,
        policy=policy,
        term_months=policy.term_months,
        starts_at=policy.starts_at,
        selectielijst_category=policy.selectielijst_category,
        reminder_days=120,
    )
    dossier = _closed_dossier(coordinator)  # expires 15 July 2025
    with time_machine.travel(datetime(2025, 4, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        assert send_retention_reminders() == 1
        response = verified_client(privacy_officer).get(reverse("audit:retention"))
    assert [r.pk for r in response.context["due"]] == [dossier.pk]
    assert "binnen 120 dagen" in response.content.decode()


def test_the_due_list_is_paged_and_costs_the_same_queries_per_page(privacy_officer, coordinator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(53):
        _closed_dossier(coordinator)
    client = verified_client(privacy_officer)
    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        client.get(reverse("audit:retention"))  # the first visit makes the organisation's policies
        with CaptureQueriesContext(connection) as first_page:
            first = client.get(reverse("audit:retention"))
        with CaptureQueriesContext(connection) as second_page:
            second = client.get(reverse("audit:retention"), {"page": 2})
    assert len(first.context["due"]) == 50 and len(second.context["due"]) == 3
    assert first.context["page"].paginator.count == 53
    assert len(first_page.captured_queries) == len(second_page.captured_queries)
    assert "53 records binnen 60 dagen" in first.content.decode()


def test_the_retention_pages_are_in_the_access_log(privacy_officer, coordinator):
    from audit.models import AccessLog

    dossier = _closed_dossier(coordinator)
    client = verified_client(privacy_officer)
    client.get(reverse("audit:retention"))
    client.get(_postpone_url(dossier))
    assert list(AccessLog.objects.order_by("pk").values_list("page", "record_type", "record_id")) == [
        ("retention_overview", "retention", ""),
        ("retention_postpone", "example_dossier", str(dossier.pk)),
    ]


def test_overview_lists_the_organisations_tombstones(privacy_officer, coordinator, make_user, other_organisation):
    own = _closed_dossier(coordinator)
    foreign = _closed_dossier(make_user(role=Role.COORDINATOR, organisation=other_organisation))
    record_purge(record=own, removed_by="taak purge_expired_records")
    record_purge(record=foreign, removed_by="taak purge_expired_records")

    response = verified_client(privacy_officer).get(reverse("audit:retention"))

    shown = [tombstone for tombstone, _ in response.context["tombstones"]]
    assert [t.record_id for t in shown] == [str(own.pk)]
    assert Tombstone.objects.filter(record_id=str(foreign.pk)).exists()
    assert "Signaal dat niet tot een casus leidde" in response.content.decode()


# --- postponing ----------------------------------------------------------------------------------


def test_postpone_without_a_reason_changes_nothing(privacy_officer, coordinator):
    dossier = _closed_dossier(coordinator)
    expiry_before = dossier.retention_expires_at
    events_before = AuditEvent.objects.count()

    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        response = verified_client(privacy_officer).post(_postpone_url(dossier), {"until": "2026-01-31", "reason": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Geef een reden waarom vernietiging moet wachten."]
    assert 'id="id_reason_error"' in response.content.decode()
    dossier.refresh_from_db()
    assert dossier.retention_expires_at == expiry_before
    assert AuditEvent.objects.count() == events_before
    assert not AuditEvent.objects.filter(action="retention.postponed").exists()
    assert not RetentionPostponement.objects.exists()


def test_postpone_with_a_too_short_reason_shows_the_services_message(privacy_officer, coordinator):
    dossier = _closed_dossier(coordinator)

    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        response = verified_client(privacy_officer).post(
            _postpone_url(dossier), {"until": "2026-01-31", "reason": "bezwaar"}
        )

    assert "minstens 10 tekens" in response.context["form"].errors["reason"][0]
    assert not RetentionPostponement.objects.exists()


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("2025-07-01", "De nieuwe datum moet na de huidige vernietigingsdatum liggen."),
        ("2025-05-01", "De nieuwe datum moet na vandaag liggen."),
        ("31 januari", "Vul een geldige datum in, bijvoorbeeld 31-12-2026."),
        ("", "Vul de datum in tot wanneer de gegevens bewaard blijven."),
        ("2035-06-02", "Stel vernietiging hooguit 10 jaar uit."),
        ("9998-12-31", "Stel vernietiging hooguit 10 jaar uit."),
    ],
)
def test_postpone_date_errors_are_shown_next_to_the_field(privacy_officer, coordinator, until, message):
    dossier = _closed_dossier(coordinator)

    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        response = verified_client(privacy_officer).post(_postpone_url(dossier), {"until": until, "reason": REASON})

    assert response.context["form"].errors["until"][0].startswith(message)
    assert not RetentionPostponement.objects.exists()


def test_postpone_up_to_ten_years_ahead_with_a_reason_of_at_most_1000_characters(privacy_officer, coordinator):
    dossier = _closed_dossier(coordinator)
    client = verified_client(privacy_officer)
    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        too_long = client.post(_postpone_url(dossier), {"until": "2030-01-31", "reason": "x" * 1001})
        assert too_long.context["form"].errors["reason"] == ["Houd de reden kort: hooguit 1000 tekens."]
        assert not RetentionPostponement.objects.exists()
        # 1000 characters as the textarea counts them (line breaks sent as CR LF), ten years on.
        typed = "\n".join(["Bezwaar loopt nog."] * 60)[:999] + "."
        assert len(typed) == 1000
        response = client.post(_postpone_url(dossier), {"until": "2035-06-01", "reason": typed.replace("\n", "\r\n")})
    assert response.status_code == 302, response.context["form"].errors
    dossier.refresh_from_db()
    assert dossier.retention_expires_at == datetime(2035, 6, 1, 23, 59, tzinfo=AMSTERDAM)


def test_the_service_refuses_a_postponement_beyond_the_limit_too(privacy_officer, coordinator):
    from django.core.exceptions import ValidationError

    from privacy.services import retention_postpone

    dossier = _closed_dossier(coordinator)
    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        with pytest.raises(ValidationError, match="hooguit 10 jaar"):
            retention_postpone(
                actor=privacy_officer,
                record=dossier,
                until=datetime(2035, 6, 2, 0, 30, tzinfo=AMSTERDAM),
                reason=REASON,
            )
        with pytest.raises(ValidationError, match="hooguit 1000 tekens"):
            retention_postpone(
                actor=privacy_officer, record=dossier, until=datetime(2030, 1, 1, tzinfo=AMSTERDAM), reason="x" * 1001
            )
    assert not RetentionPostponement.objects.exists()


def test_postpone_with_a_reason_moves_the_expiry_and_is_audited(privacy_officer, coordinator):
    dossier = _closed_dossier(coordinator)

    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=AMSTERDAM), tick=False):
        response = verified_client(privacy_officer).post(
            _postpone_url(dossier), {"until": "2026-01-31", "reason": REASON}
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("audit:retention")
    dossier.refresh_from_db()
    assert dossier.retention_expires_at == datetime(2026, 1, 31, 23, 59, tzinfo=AMSTERDAM)
    event = AuditEvent.objects.get(action="retention.postponed")
    assert (event.actor_id, event.record_id) == (privacy_officer.pk, str(dossier.pk))
    raw_reasons = list(RetentionPostponement.objects.values_list("reason", flat=True))
    assert len(raw_reasons) == 1
    assert raw_reasons[0].startswith("wb1:")
    assert "bezwaarprocedure" not in raw_reasons[0]
    assert RetentionPostponement.objects.get().reason == REASON


def test_postpone_page_shows_the_record_and_the_form(privacy_officer, coordinator):
    dossier = _closed_dossier(coordinator)

    response = verified_client(privacy_officer).get(_postpone_url(dossier))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Vernietiging uitstellen" in page
    assert 'for="id_reason"' in page and 'for="id_until"' in page


def test_postpone_of_an_unknown_record_type_or_record_is_404(privacy_officer, coordinator):
    dossier = _closed_dossier(coordinator)
    client = verified_client(privacy_officer)

    unknown_type = client.post(
        reverse("audit:retention_postpone", kwargs={"record_type": "bestaat_niet", "pk": dossier.pk}),
        {"until": "2099-01-31", "reason": REASON},
    )
    registered_without_model = client.post(
        reverse("audit:retention_postpone", kwargs={"record_type": "case", "pk": dossier.pk}),
        {"until": "2099-01-31", "reason": REASON},
    )
    unknown_record = client.post(
        reverse("audit:retention_postpone", kwargs={"record_type": "example_dossier", "pk": dossier.pk + 1000}),
        {"until": "2099-01-31", "reason": REASON},
    )

    assert unknown_type.status_code == 404
    assert registered_without_model.status_code == 404
    assert unknown_record.status_code == 404
    assert not RetentionPostponement.objects.exists()


# --- the administrator's policies ----------------------------------------------------------------


def test_admin_sees_every_policy(admin):
    response = verified_client(admin).get(reverse("privacy:policy_list"))

    page = response.content.decode()
    for record_type in RECORD_TYPES.values():
        assert record_type.label in page
    policies = RetentionPolicy.objects.filter(organisation=admin.organisation)
    assert set(policies.values_list("record_type", flat=True)) == set(RECORD_TYPES)
    for policy in policies:
        assert reverse("privacy:policy_edit", kwargs={"pk": policy.pk}) in page


def test_admin_changes_a_policy_and_it_is_audited(admin):
    client = verified_client(admin)
    client.get(reverse("privacy:policy_list"))
    policy = RetentionPolicy.objects.get(organisation=admin.organisation, record_type="bibob")
    url = reverse("privacy:policy_edit", kwargs={"pk": policy.pk})
    assert client.get(url).context["form"]["term_months"].value() == 60

    response = client.post(
        url,
        {
            "term_months": "84",
            "starts_at": "afronding van het onderzoek",
            "selectielijst_category": "Bibob: 7 jaar",
            "reminder_days": "45",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("privacy:policy_list")
    policy.refresh_from_db()
    assert (policy.term_months, policy.selectielijst_category, policy.reminder_days) == (84, "Bibob: 7 jaar", 45)
    event = AuditEvent.objects.get(action="retention.policy_changed")
    assert event.actor_id == admin.pk
    # Every changed field before and after (the start event did not change, so it is not named).
    assert event.data == {
        "record_type": "bibob",
        "changed": {
            "term_months": {"before": 60, "after": 84},
            "selectielijst_category": {"before": "Bibob-onderzoek: 5 jaar", "after": "Bibob: 7 jaar"},
            "reminder_days": {"before": 30, "after": 45},
        },
    }


@pytest.mark.parametrize(
    ("term_months", "message"),
    [("0", "Een bewaartermijn is minstens 1 maand."), ("vijf", "Vul een heel aantal maanden in.")],
)
def test_invalid_policy_is_refused_in_dutch(admin, term_months, message):
    client = verified_client(admin)
    client.get(reverse("privacy:policy_list"))
    policy = RetentionPolicy.objects.get(organisation=admin.organisation, record_type="bibob")

    response = client.post(
        reverse("privacy:policy_edit", kwargs={"pk": policy.pk}),
        {"term_months": term_months, "starts_at": "x", "selectielijst_category": "", "reminder_days": "30"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["term_months"] == [message]
    assert "Er is iets niet goed ingevuld" in response.content.decode()
    policy.refresh_from_db()
    assert policy.term_months == 60
    assert not AuditEvent.objects.filter(action="retention.policy_changed").exists()


def test_navigation_points_each_role_to_its_retention_page(privacy_officer, admin):
    officer_nav = verified_client(privacy_officer).get(reverse("audit:retention")).context["navigation"]
    admin_nav = verified_client(admin).get(reverse("privacy:policy_list")).context["navigation"]

    assert [item["label"] for item in officer_nav if item["active"]] == ["Bewaartermijnen"]
    assert "Audit" in [item["label"] for item in officer_nav]
    assert [item["label"] for item in admin_nav if item["active"]] == ["Bewaartermijnen instellen"]
    assert "Audit" not in [item["label"] for item in admin_nav]
