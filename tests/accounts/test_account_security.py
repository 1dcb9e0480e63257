"""What happens to sessions, tokens and the audit trail when an administrator acts on an account."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from accounts.roles import Role
from audit.models import AuditEvent
from tests.conftest import verified_client
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user, organisation):
    return make_user(role=Role.ADMIN, organisation=organisation)


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation)


@pytest.mark.parametrize(
    ("url_name", "data", "action"),
    [
        ("beheer:user_reset_two_factor", {}, "user.two_factor_reset"),
        ("beheer:user_set_active", {"active": "0"}, "user.blocked"),
    ],
)
def test_lost_phone_or_block_ends_sessions_and_revokes_tokens(admin, coordinator, url_name, data, action):
    victim_session = verified_client(coordinator)
    raw = victim_session.post(reverse("accounts:api_token_create"), {"name": "koppeling"}).context["token"]
    assert victim_session.get("/").status_code == 200

    verified_client(admin).post(reverse(url_name, kwargs={"pk": coordinator.pk}), data)

    assert victim_session.get("/").status_code == 302  # back to the login page
    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/me/").status_code == 401
    assert not ApiToken.objects.active().filter(user=coordinator).exists()
    event = AuditEvent.objects.get(action=action)
    assert event.actor_id == admin.pk and event.record_id == str(coordinator.pk)


def test_account_actions_are_audited(admin, coordinator, django_capture_on_commit_callbacks):
    client = verified_client(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("beheer:user_create"),
            {"username": "nieuw", "first_name": "N", "last_name": "N", "email": "n@example.org", "role": Role.EMPLOYEE},
        )
    client.post(reverse("beheer:user_unlock", kwargs={"pk": coordinator.pk}))
    own = verified_client(coordinator)
    own.post(reverse("accounts:backup_codes"))
    own.post(reverse("accounts:api_token_create"), {"name": "x"})
    token = ApiToken.objects.get(user=coordinator)
    own.post(reverse("accounts:api_token_revoke", kwargs={"pk": token.pk}))

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "user.created",
        "user.unlocked",
        "user.backup_codes_renewed",
        "api_token.created",
        "api_token.revoked",
    } <= actions
    for event in AuditEvent.objects.all():
        assert "nieuw" not in str(event.data) and "n@example.org" not in str(event.data)


def test_a_token_needs_a_session_verified_with_a_second_factor(make_user):
    reviewer = make_user(role=Role.REVIEWER)  # may work without 2FA
    client = Client()
    client.post(reverse("accounts:login"), {"username": reviewer.username, "password": PASSWORD})

    response = client.post(reverse("accounts:api_token_create"), {"name": "x"}, follow=True)

    assert "alleen na inloggen met tweestapsverificatie" in response.content.decode()
    assert not ApiToken.objects.filter(user=reviewer).exists()


def test_a_token_of_a_role_that_needs_2fa_stops_without_a_device(coordinator):
    from accounts.models import AuthenticatorApp

    raw = verified_client(coordinator).post(reverse("accounts:api_token_create"), {"name": "x"}).context["token"]
    api = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/me/").status_code == 200
    AuthenticatorApp.objects.filter(user=coordinator).delete()  # e.g. removed by hand
    assert api.get("/api/v1/me/").status_code == 403


def test_the_openapi_schema_needs_a_login(client, coordinator):
    assert client.get("/api/v1/schema/").status_code in {401, 403}
    assert verified_client(coordinator).get("/api/v1/schema/").status_code == 200
