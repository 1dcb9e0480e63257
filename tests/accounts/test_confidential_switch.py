"""The administrator switches confidential reporting without an account on and off (/beheer/)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Organisation
from accounts.roles import Role
from audit.models import AuditEvent
from tests.conftest import verified_client

SWITCH = "beheer:organisation_confidential_reporting"


def _public_form(organisation) -> str:
    return reverse("signals:confidential_submit", kwargs={"organisation_id": organisation.pk})


def test_the_administrator_switches_the_public_form_on_and_off(make_user, organisation):
    admin = make_user(role=Role.ADMIN, organisation=organisation)
    client = verified_client(admin)
    assert Client().get(_public_form(organisation)).status_code == 404

    page = client.get(reverse("beheer:organisation")).content.decode()
    assert "Vertrouwelijk melden zonder account</dt><dd>uit" in page and "Aanzetten" in page
    for _ in range(2):  # a double click: one change
        on = client.post(reverse(SWITCH), {"aan": "1"}, follow=True).content.decode()
    assert "Publiceer het adres hieronder" in on and f"http://127.0.0.1:8000{_public_form(organisation)}" in on
    assert Client().get(_public_form(organisation)).status_code == 200

    off = client.post(reverse(SWITCH), {"aan": "0"}, follow=True).content.decode()
    assert "kan zijn melding blijven volgen" in off
    assert Client().get(_public_form(organisation)).status_code == 404
    events = AuditEvent.objects.filter(action="organisation.confidential_reporting_switched").order_by("seq")
    assert [event.data for event in events] == [{"enabled": True}, {"enabled": False}]
    assert all(event.actor_id == admin.pk for event in events)


def test_a_switch_without_a_wanted_state_changes_nothing(make_user, organisation):
    client = verified_client(make_user(role=Role.ADMIN, organisation=organisation))
    response = client.post(reverse(SWITCH), {}, follow=True)
    assert "Kies met de knop" in response.content.decode()
    assert not Organisation.objects.get(pk=organisation.pk).confidential_reporting_enabled


@pytest.mark.parametrize("role", sorted(set(Role.values) - {Role.ADMIN}))
def test_only_the_administrator_switches_it(make_user, role):
    user = make_user(role=role)
    response = verified_client(user).post(reverse(SWITCH), {"aan": "1"})
    assert response.status_code == 403
    assert not Organisation.objects.get(pk=user.organisation_id).confidential_reporting_enabled
    assert not AuditEvent.objects.filter(action="organisation.confidential_reporting_switched").exists()
