"""The role-by-page matrix: every role reaches exactly its pages, with a verified session."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from privacy.services import retention_policy_for
from tests.conftest import verified_client
from tests.example.models import Dossier
from tests.example.services import dossier_close, dossier_create
from tests.factories import PDF_BYTES, make_signal

EVERY_ROLE = set(Role.values)
REPORTERS = {Role.EMPLOYEE, Role.OFFICE_HOLDER, Role.COORDINATOR, Role.MANAGER}

# (url name, the kind of object of the user's own organisation it needs or None, allowed roles)
PAGES = [
    ("home", None, EVERY_ROLE),
    ("accounts:security", None, EVERY_ROLE),
    ("api_docs", None, EVERY_ROLE),
    ("beheer:user_list", None, {Role.ADMIN}),
    ("beheer:user_create", None, {Role.ADMIN}),
    ("beheer:user_detail", "user", {Role.ADMIN}),
    ("beheer:user_edit", "user", {Role.ADMIN}),
    ("beheer:organisation", None, {Role.ADMIN}),
    ("privacy:policy_list", None, {Role.ADMIN}),
    ("privacy:policy_edit", "retention_policy", {Role.ADMIN}),
    ("audit:event_list", None, {Role.PRIVACY_OFFICER}),
    ("audit:event_export", None, {Role.PRIVACY_OFFICER}),
    ("audit:access_log", None, {Role.PRIVACY_OFFICER}),
    ("audit:retention", None, {Role.PRIVACY_OFFICER}),
    ("audit:retention_postpone", "dossier_retention", {Role.PRIVACY_OFFICER}),
    ("signals:submit", None, REPORTERS),
    ("signals:mine", None, REPORTERS),
    ("signals:inbox", None, {Role.COORDINATOR}),
    ("signals:register", None, {Role.COORDINATOR}),
    ("signals:phenomena", None, {Role.COORDINATOR}),
    ("signals:detail", "signal", {Role.COORDINATOR}),
    ("signals:attachment", "signal_attachment", {Role.COORDINATOR}),
    ("signals:confidential_messages", "signal", {Role.COORDINATOR}),
    ("signals:confidential_reporter", "signal", {Role.COORDINATOR}),
]

# Public pages of confidential reporting without an account: open to everyone, logged in or not.
PUBLIC_PAGES = [
    ("signals:confidential_submit", "organisation"),
    ("signals:confidential_submitted", None),
    ("signals:confidential_follow_up", None),
]

# Actions (POST) and their allowed roles; the target is a colleague in the same organisation.
ACTIONS = [
    ("beheer:user_reset_two_factor", {Role.ADMIN}),
    ("beheer:user_unlock", {Role.ADMIN}),
    ("beheer:user_activation_resend", {Role.ADMIN}),
    ("beheer:user_set_active", {Role.ADMIN}),
]


def _own_object_kwargs(kind: str | None, colleague) -> dict | None:
    """URL arguments for an object of the colleague's (= the user's) organisation."""
    if kind is None:
        return None
    if kind == "user":
        return {"pk": colleague.pk}
    if kind == "retention_policy":
        policy = retention_policy_for(organisation_id=colleague.organisation_id, record_type="bibob")
        return {"pk": policy.pk}
    if kind == "dossier_retention":
        dossier = dossier_close(actor=colleague, dossier=dossier_create(actor=colleague, title="x", details={}))
        return {"record_type": Dossier.RETENTION_RECORD_TYPE, "pk": dossier.pk}
    if kind in {"signal", "signal_attachment"}:
        # Confidential-form signals exist in any organisation, whatever roles it has.
        signal = make_signal(None, organisation_id=colleague.organisation_id, files=[("stuk.pdf", PDF_BYTES)])
        if kind == "signal":
            return {"pk": signal.pk}
        return {"pk": signal.pk, "attachment_pk": signal.attachments.get().pk}
    raise ValueError(kind)


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
@pytest.mark.parametrize(("url_name", "object_kind", "allowed"), PAGES, ids=[p[0] for p in PAGES])
def test_role_page_matrix(make_user, role, url_name, object_kind, allowed):
    user = make_user(role=role)
    colleague = make_user(role=Role.EMPLOYEE if role != Role.PARTNER else Role.PARTNER, organisation=user.organisation)
    url = reverse(url_name, kwargs=_own_object_kwargs(object_kind, colleague))

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


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
def test_postpone_retention_matrix(make_user, role):
    user = make_user(role=role)
    colleague = make_user(role=Role.EMPLOYEE if role != Role.PARTNER else Role.PARTNER, organisation=user.organisation)
    dossier = dossier_close(actor=colleague, dossier=dossier_create(actor=colleague, title="x", details={}))
    expiry = dossier.retention_expires_at
    url = reverse("audit:retention_postpone", kwargs={"record_type": Dossier.RETENTION_RECORD_TYPE, "pk": dossier.pk})

    until = (timezone.localdate() + timedelta(days=730)).isoformat()  # within the 10 years a postponement may reach
    response = verified_client(user).post(url, {"until": until, "reason": "Er loopt een bezwaarprocedure."})

    dossier.refresh_from_db()
    if role == Role.PRIVACY_OFFICER:
        assert response.status_code == 302
        assert dossier.retention_expires_at > expiry
    else:
        assert response.status_code == 403
        assert dossier.retention_expires_at == expiry


@pytest.mark.parametrize("url_name", [p[0] for p in PAGES if not p[1]])
def test_anonymous_is_sent_to_login(client, url_name):
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("role", [None, *sorted(EVERY_ROLE)])
@pytest.mark.parametrize(("url_name", "argument"), PUBLIC_PAGES, ids=[p[0] for p in PUBLIC_PAGES])
def test_public_confidential_pages_are_open_to_everyone(make_user, organisation, role, url_name, argument):
    organisation.confidential_reporting_enabled = True
    organisation.save(update_fields=["confidential_reporting_enabled"])
    client = verified_client(make_user(role=role)) if role else Client()
    kwargs = {"organisation_id": organisation.pk} if argument == "organisation" else None

    response = client.get(reverse(url_name, kwargs=kwargs))

    assert response.status_code == 200, (role, url_name)


def test_navigation_shows_only_reachable_pages(make_user):
    employee = make_user(role=Role.EMPLOYEE)
    admin = make_user(role=Role.ADMIN, organisation=employee.organisation)

    employee_nav = verified_client(employee).get(reverse("home")).context["navigation"]
    admin_nav = verified_client(admin).get(reverse("home")).context["navigation"]

    assert "Gebruikers" not in [item["label"] for item in employee_nav]
    assert "Gebruikers" in [item["label"] for item in admin_nav]


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
def test_the_api_documentation_is_linked_from_the_footer_not_the_menu(make_user, role):
    response = verified_client(make_user(role=role)).get(reverse("home"))

    assert "API" not in [item["label"] for item in response.context["navigation"]]
    footer = response.content.decode().split('<footer class="site-footer">')[1]
    assert f'<a href="{reverse("api_docs")}">API-documentatie</a>' in footer


def test_no_api_link_before_logging_in(client):
    assert reverse("api_docs") not in client.get(reverse("accounts:login")).content.decode()


@pytest.mark.parametrize("role", sorted(EVERY_ROLE))
def test_audit_navigation_and_shortcut_only_for_the_privacy_officer(make_user, role):
    response = verified_client(make_user(role=role)).get(reverse("home"))

    labels = [item["label"] for item in response.context["navigation"]]
    shortcuts = [url_name for _, url_name, _ in response.context["shortcuts"]]
    assert ("Audit" in labels) == (role == Role.PRIVACY_OFFICER)
    assert ("audit:event_list" in shortcuts) == (role == Role.PRIVACY_OFFICER)
    assert ("audit:retention" in shortcuts) == (role == Role.PRIVACY_OFFICER)
    assert ("privacy:policy_list" in shortcuts) == (role == Role.ADMIN)


def test_home_page_speaks_to_the_role(make_user):
    coordinator = make_user(role=Role.COORDINATOR)
    page = verified_client(coordinator).get(reverse("home")).content.decode()
    assert "Coördinator bestuurlijke aanpak" in page
    assert "beoordeelt u binnenkomende signalen" in page
    manager = verified_client(make_user(role=Role.MANAGER)).get(reverse("home")).content.decode()
    assert "komt in een volgende versie" in manager  # not promised as a page that is not there


def test_django_admin_only_for_verified_superusers(make_user, db):
    from tests.factories import UserFactory

    admin_role = make_user(role=Role.ADMIN)
    superuser = UserFactory(role="", organisation=None, is_superuser=True, is_staff=True)

    assert verified_client(admin_role).get("/admin/").status_code == 302
    assert verified_client(superuser).get("/admin/").status_code == 200


def test_the_django_admin_deactivates_accounts_but_cannot_delete_them(make_user, db):
    from tests.factories import UserFactory

    superuser = UserFactory(role="", organisation=None, is_superuser=True, is_staff=True)
    coordinator = make_user(role=Role.COORDINATOR)
    client = verified_client(superuser)

    assert client.get(reverse("admin:accounts_user_delete", args=[coordinator.pk])).status_code == 403
    assert client.post(reverse("admin:accounts_user_delete", args=[coordinator.pk]), {"post": "yes"}).status_code == 403
    bulk = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [coordinator.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert User.objects.filter(pk=coordinator.pk).exists()


def test_the_keep_alive_call_renews_a_session_only_for_a_logged_in_user(make_user):
    from django.conf import settings

    user = make_user(role=Role.EMPLOYEE)
    client = verified_client(user)
    page = client.get(reverse("signals:submit"), {"acuut": "nee"}).content.decode()
    assert f'data-keep-alive="{reverse("accounts:keep_alive")}"' in page and "/static/js/keep-alive.js" in page

    idle = settings.SESSION_IDLE_TIMEOUT_MINUTES
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=idle - 10)):
        response = client.post(reverse("accounts:keep_alive"))
        assert response.status_code == 204 and response.content == b""
    with time_machine.travel(start + timedelta(minutes=idle + 15)):  # past the timeout counted from the page
        assert client.get(reverse("signals:mine")).status_code == 200
    with time_machine.travel(start + timedelta(minutes=idle + 15 + idle + 1)):  # idle since then
        assert client.get(reverse("signals:mine")).status_code == 302
    assert Client().post(reverse("accounts:keep_alive")).status_code == 401
    assert client.get(reverse("accounts:keep_alive")).status_code == 405
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.cookies = client.cookies
    assert csrf_checked.post(reverse("accounts:keep_alive")).status_code == 403


def test_the_pages_where_people_write_longer_keep_the_session_alive_while_they_type(make_user, organisation):
    from signals.models import Signal

    employee = make_user(role=Role.EMPLOYEE, organisation=organisation)
    coordinator = make_user(role=Role.COORDINATOR, organisation=organisation)
    signal = make_signal(employee)
    keep_alive = f'data-keep-alive="{reverse("accounts:keep_alive")}"'
    pages = [
        (employee, reverse("signals:mine_detail", args=[signal.pk]), "signals:mine_detail"),  # answering
        (coordinator, reverse("signals:confidential_messages", args=[signal.pk]), "signals:confidential_messages"),
        (coordinator, reverse("signals:detail", args=[signal.pk]), "signals:close"),  # the reason for closing
    ]
    for user, url, form_action in pages:
        page = verified_client(user).get(url).content.decode()
        form = re.search(rf'<form[^>]*action="{reverse(form_action, args=[signal.pk])}[^"]*"[^>]*>', page)
        assert form is not None and keep_alive in form.group(0), url
        assert "/static/js/keep-alive.js" in page
    assert Signal.objects.count() == 1


def test_the_login_page_after_a_redirect_says_an_idle_session_ends(make_user):
    from django.conf import settings

    redirected = Client().get(reverse("signals:mine"), follow=True).content.decode()
    assert f"na {settings.SESSION_IDLE_TIMEOUT_MINUTES} minuten zonder activiteit uitgelogd" in redirected
    assert "zonder activiteit" not in Client().get(reverse("accounts:login")).content.decode()
