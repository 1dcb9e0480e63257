from __future__ import annotations

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
    assert Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/v1/users/").status_code == 403


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
