"""The role-by-page matrix: every role reaches exactly its pages, with a verified session."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests.conftest import verified_client

EVERY_ROLE = set(Role.values)

# (url name, needs an object of the user's own organisation, allowed roles)
PAGES = [
    ("home", False, EVERY_ROLE),
    ("accounts:security", False, EVERY_ROLE),
    ("api_docs", False, EVERY_ROLE),
    ("beheer:user_list", False, {Role.ADMIN}),
    ("beheer:user_create", False, {Role.ADMIN}),
    ("beheer:user_detail", True, {Role.ADMIN}),
    ("beheer:organisation", False, {Role.ADMIN}),
]

# Actions (POST) and their allowed roles; the target is a colleague in the same organisation.
ACTIONS = [
    ("beheer:user_reset_two_factor", {Role.ADMIN}),
    ("beheer:user_unlock", {Role.ADMIN}),
    ("beheer:user_set_active", {Role.ADMIN}),
]


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
@pytest.mark.parametrize(("url_name", "needs_object", "allowed"), PAGES, ids=[p[0] for p in PAGES])
def test_role_page_matrix(make_user, role, url_name, needs_object, allowed):
    user = make_user(role=role)
    colleague = make_user(role=Role.EMPLOYEE if role != Role.PARTNER else Role.PARTNER, organisation=user.organisation)
    url = reverse(url_name, kwargs={"pk": colleague.pk} if needs_object else None)

    response = verified_client(user).get(url)

    assert response.status_code == (200 if role in allowed else 403), (role, url_name)


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
@pytest.mark.parametrize(("url_name", "allowed"), ACTIONS, ids=[a[0] for a in ACTIONS])
def test_role_action_matrix(make_user, role, url_name, allowed):
    user = make_user(role=role)
    colleague = make_user(role=Role.EMPLOYEE if role != Role.PARTNER else Role.PARTNER, organisation=user.organisation)

    response = verified_client(user).post(reverse(url_name, kwargs={"pk": colleague.pk}), {"active": "0"})

    if role in allowed:
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        colleague.refresh_from_db()
        assert colleague.is_active


@pytest.mark.parametrize("url_name", [p[0] for p in PAGES if not p[1]])
def test_anonymous_is_sent_to_login(client, url_name):
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_navigation_shows_only_reachable_pages(make_user):
    employee = make_user(role=Role.EMPLOYEE)
    admin = make_user(role=Role.ADMIN, organisation=employee.organisation)

    employee_nav = verified_client(employee).get(reverse("home")).context["navigation"]
    admin_nav = verified_client(admin).get(reverse("home")).context["navigation"]

    assert "Gebruikers" not in [item["label"] for item in employee_nav]
    assert "Gebruikers" in [item["label"] for item in admin_nav]


def test_home_page_speaks_to_the_role(make_user):
    coordinator = make_user(role=Role.COORDINATOR)
    page = verified_client(coordinator).get(reverse("home")).content.decode()
    assert "Coördinator bestuurlijke aanpak" in page
    assert "signaaloverleg" in page


def test_django_admin_only_for_verified_superusers(make_user, db):
    from tests.factories import UserFactory

    admin_role = make_user(role=Role.ADMIN)
    superuser = UserFactory(role="", organisation=None, is_superuser=True, is_staff=True)

    assert verified_client(admin_role).get("/admin/").status_code == 302
    assert verified_client(superuser).get("/admin/").status_code == 200
