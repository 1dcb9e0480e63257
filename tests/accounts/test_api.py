from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ApiToken
from accounts.roles import Role
from tests.conftest import verified_client


def test_me_requires_authentication(client):
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_me_over_session(make_user):
    user = make_user(role=Role.COORDINATOR)
    data = verified_client(user).get("/api/v1/me/").json()
    assert data["username"] == user.username
    assert data["role"] == "coordinator"
    assert data["organisation"]["name"] == user.organisation.name
    assert "handle_signals" in data["permissions"]


def test_token_is_shown_once_stored_hashed_and_works(make_user):
    user = make_user(role=Role.COORDINATOR)
    response = verified_client(user).post("/account/tokens/", {"name": "koppeling"})
    raw = response.context["token"]
    stored = ApiToken.objects.get(user=user)
    assert stored.digest != raw
    assert raw not in stored.digest
    assert stored.digest == ApiToken.digest_for(raw)

    api = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/me/").json()["username"] == user.username
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_revoked_or_wrong_token_is_refused(make_user):
    user = make_user(role=Role.COORDINATOR)
    client = verified_client(user)
    raw = client.post("/account/tokens/", {"name": "koppeling"}).context["token"]
    token = ApiToken.objects.get(user=user)
    client.post(f"/account/tokens/{token.pk}/intrekken/")

    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/me/").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Token verkeerd").get("/api/v1/me/").status_code == 401


def test_a_token_expires_after_its_term_and_shows_when(make_user, settings, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    settings.WEERBAAR_API_TOKEN_DAYS = 30
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    user = make_user(role=Role.COORDINATOR)
    client = verified_client(user)
    raw = client.post("/account/tokens/", {"name": "koppeling"}).context["token"]
    token = ApiToken.objects.get(user=user)
    assert token.expires_at == start + timedelta(days=30)
    from django.urls import reverse
    from django.utils import dateformat, translation

    with translation.override("nl"):
        shown = dateformat.format(timezone.localtime(token.expires_at), "j F Y")
    assert f"<td>{shown}</td>" in client.get(reverse("accounts:security")).content.decode()

    time_machine.move_to(start + timedelta(days=30, seconds=-1), tick=False)
    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/me/").status_code == 200
    time_machine.move_to(start + timedelta(days=30), tick=False)
    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/me/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_tokens_made_before_expiry_existed_get_the_default_term(make_user):
    from datetime import timedelta

    from tests.conftest import migrating

    user = make_user(role=Role.COORDINATOR)
    with migrating("accounts", "0005_remove_axes_login_log", "0006_api_token_expiry") as old_apps:
        OldToken = old_apps.get_model("accounts", "ApiToken")
        old = OldToken.objects.create(user_id=user.pk, name="oud", prefix="abcdefgh", digest="e" * 64)

    token = ApiToken.objects.get(pk=old.pk)
    assert token.expires_at == token.created_at + timedelta(days=90)


def test_token_of_deactivated_user_is_refused(make_user):
    user = make_user(role=Role.COORDINATOR)
    raw = verified_client(user).post("/account/tokens/", {"name": "x"}).context["token"]
    user.is_active = False
    user.save()
    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/me/").status_code == 401


def test_user_endpoint_needs_the_admin_role(make_user):
    employee = make_user(role=Role.EMPLOYEE)
    assert verified_client(employee).get("/api/v1/users/").status_code == 403
    raw = verified_client(employee).post("/account/tokens/", {"name": "x"}).context["token"]
    refused = Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/users/")
    # The reason is the role, not the second factor (the token stands for a verified session).
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Uw rol geeft geen toegang tot deze gegevens."}


def test_what_the_api_does_not_find_is_said_in_dutch_as_json(make_user, other_organisation):
    admin = make_user(role=Role.ADMIN)
    elsewhere = make_user(role=Role.EMPLOYEE, organisation=other_organisation)
    api = Client(
        HTTP_AUTHORIZATION=f"Token {verified_client(admin).post('/account/tokens/', {'name': 'x'}).context['token']}"
    )
    for path in (f"/api/v1/users/{elsewhere.pk}/", "/api/v1/users/99999999/", "/api/v1/users/abc/", "/api/v1/niets/"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Niet gevonden, of u heeft er geen toegang toe."}, path


def test_user_list_over_token_is_scoped(make_user, organisation, other_organisation):
    admin = make_user(role=Role.ADMIN, organisation=organisation)
    make_user(role=Role.EMPLOYEE, organisation=other_organisation)
    raw = verified_client(admin).post("/account/tokens/", {"name": "x"}).context["token"]
    data = Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/users/").json()
    assert [row["id"] for row in data["results"]] == [admin.pk]


def test_api_writes_need_csrf_over_session(make_user):
    user = make_user(role=Role.ADMIN)
    client = verified_client(user)
    client.handler.enforce_csrf_checks = True
    assert client.post("/api/v1/users/", {}).status_code == 403


def test_openapi_schema_and_docs(make_user):
    client = verified_client(make_user(role=Role.EMPLOYEE))
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    assert b"/api/v1/me/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower()
