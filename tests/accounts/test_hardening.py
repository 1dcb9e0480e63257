"""Attacks on the foundation (login, 2FA enrolment, lockout, sessions, Django admin, settings)
found in a review, each now refused. A test's docstring says how it went wrong before."""

from __future__ import annotations

import pytest
from django import forms
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import AuthenticatorApp
from accounts.roles import Role, role_requires_two_factor
from audit.models import AuditEvent
from tests.conftest import verified_client
from tests.factories import PASSWORD, UserFactory, add_static_code, add_totp, totp_now

pytestmark = pytest.mark.django_db

LOGIN = "/account/inloggen/"
SETUP = "/account/tweestapsverificatie/"


def _password_only_client(user) -> Client:
    """Logs in with the password only, as a user without an authenticator app does."""
    client = Client()
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _follow(client, url: str, limit: int = 10):
    """Follows redirects by hand and returns (final response, addresses visited)."""
    visited = [url]
    response = client.get(url)
    while response.status_code in (301, 302) and len(visited) <= limit:
        url = response["Location"]
        visited.append(url)
        response = client.get(url)
    return response, visited


# --- 2FA enrolment --------------------------------------------------------------------------------


def test_a_session_not_verified_cannot_replace_an_enrolled_authenticator(make_user):
    """accounts/views.py two_factor_setup: any authenticated session may enrol a new app, and
    confirming it deletes the confirmed one (services.totp_device_confirm). A session opened with
    the password before the user enrolled (a shared PC at the town hall) stays logged in and,
    after the real user enrolled elsewhere, takes over the second factor and the backup codes."""
    user = make_user(role=Role.COORDINATOR)
    left_behind = _password_only_client(user)  # logged in, walked away before enrolling

    owner = _password_only_client(user)  # the real user enrols on another PC
    owner.get(SETUP)
    own_device = AuthenticatorApp.objects.get(user=user, confirmed=False)
    assert owner.post(SETUP, {"token": totp_now(own_device)}).status_code == 200
    own_device.refresh_from_db()
    assert own_device.confirmed

    page = left_behind.get(SETUP)  # the old session is still logged in and sent here
    if page.status_code == 200 and AuthenticatorApp.objects.filter(user=user, confirmed=False).exists():
        intruder_device = AuthenticatorApp.objects.get(user=user, confirmed=False)
        left_behind.post(SETUP, {"token": totp_now(intruder_device)})

    assert AuthenticatorApp.objects.filter(pk=own_device.pk, confirmed=True).exists(), (
        "a session without the second factor replaced the user's enrolled authenticator"
    )
    assert not left_behind.get("/").wsgi_request.user.is_verified()


def test_enrolment_gives_the_session_a_new_key(make_user):
    """accounts/views.py two_factor_setup: otp_login raises the session to 'verified' without
    cycle_key, so a session id captured before enrolment becomes a fully verified session."""
    user = make_user(role=Role.COORDINATOR)
    client = _password_only_client(user)
    client.get(SETUP)
    before = client.session.session_key
    device = AuthenticatorApp.objects.get(user=user, confirmed=False)

    assert client.post(SETUP, {"token": totp_now(device)}).status_code == 200

    assert client.session.session_key != before


def test_backup_codes_are_not_stored_as_they_are_shown(make_user):
    """accounts/services.py _replace_backup_codes: backup codes are stored in plaintext
    (django-otp StaticToken.token), unlike API tokens; whoever reads the database or a backup has
    every user's second factor."""
    user = make_user(role=Role.COORDINATOR)
    codes = verified_client(user).post(reverse("accounts:backup_codes")).context["codes"]

    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM otp_static_statictoken")
        stored = {row[0] for row in cursor.fetchall()}
    assert stored, "no backup codes were stored"
    assert not stored & set(codes)


# --- Login, lockout and logs ----------------------------------------------------------------------


def test_a_second_factor_typed_at_a_failed_login_is_not_kept(make_user):
    """django-axes stores the POST data of every failed attempt (AccessAttempt.post_data); it
    masks 'password' and 'username', not 'otp_token'. A wrong password with a valid backup code
    leaves that unused backup code in plaintext in axes_accessattempt."""
    from axes.models import AccessAttempt

    user = make_user(role=Role.COORDINATOR)
    add_totp(user)
    code = add_static_code(user, "geheim77")

    Client().post(LOGIN, {"username": user.username, "password": "verkeerd", "otp_token": code})

    attempts = list(AccessAttempt.objects.values_list("post_data", flat=True))
    assert attempts, "the failure was not recorded"
    assert not any(code in data for data in attempts)


def test_reporters_behind_the_documented_proxy_are_counted_apart(organisation, settings):
    """config/settings.py: WEERBAAR_PROXY_COUNT (.env.example: 'number of trusted proxies ... for
    the client address') only feeds AXES_IPWARE_*, and django-ipware is not installed, so axes
    uses REMOTE_ADDR. Behind the proxy the README asks for, every reporter is the proxy: one
    person guessing receipt codes locks the follow-up page for everyone."""
    from signals.confidential_views import WRONG_CODE

    settings.WEERBAAR_PROXY_COUNT = 1
    settings.WEERBAAR_RECEIPT_FAILURE_LIMIT = 3
    settings.WEERBAAR_RECEIPT_CHECK_MILLISECONDS = 0
    cache.clear()
    url = reverse("signals:confidential_follow_up")
    guesser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.44")
    for n in range(3):
        guesser.post(url, {"code": f"{n:04d}-AAAA-AAAA-AAAA-AAAA-AAAA"})

    reporter = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    response = reporter.post(url, {"code": "9999-BBBB-BBBB-BBBB-BBBB-BBBB"})
    cache.clear()

    assert response.status_code == 200, "another reporter behind the same proxy is locked out"
    assert WRONG_CODE in response.content.decode()


# --- Audit of account changes ---------------------------------------------------------------------


def test_choosing_a_password_through_the_activation_link_is_audited(make_user):
    """accounts/views.py ActivateView: the password is set by Django's form, outside any service,
    and no audit event records that the account was activated."""
    from accounts.services import activation_path

    user = make_user(role=Role.COORDINATOR)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    client = Client()
    form = client.get(activation_path(user), follow=True)
    assert "Kies uw wachtwoord" in form.content.decode()

    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "een-lang-nieuw-wachtwoord", "new_password2": "een-lang-nieuw-wachtwoord"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.has_usable_password()

    assert AuditEvent.objects.filter(record_type="accounts.user", record_id=str(user.pk)).exists()


def _superuser():
    return UserFactory(role="", organisation=None, is_superuser=True, is_staff=True)


def _admin_change_data(client, user) -> dict:
    """The Django admin's change form for `user`, as the browser would send it back."""
    form = client.get(reverse("admin:accounts_user_change", args=[user.pk])).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        widget = field.widget
        if isinstance(widget, forms.MultiWidget):
            parts = widget.decompress(value) if not isinstance(value, list) else value
            for index, (sub, part) in enumerate(zip(widget.widgets, parts, strict=False)):
                data[f"{name}_{index}"] = sub.format_value(part) or ""
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else str(value)
    return data


def test_changing_an_accounts_role_in_the_django_admin_is_audited(make_user):
    """accounts/admin.py WeerbaarUserAdmin: a role or organisation change is written by the admin
    form, with no audit event in the organisation's chain (only django_admin_log, which the
    superuser can delete) and without a new security stamp (models.py says a role change ends
    the user's sessions)."""
    coordinator = make_user(role=Role.COORDINATOR)
    stamp = coordinator.security_stamp
    client = verified_client(_superuser())
    data = _admin_change_data(client, coordinator)
    data["role"] = Role.EMPLOYEE

    response = client.post(reverse("admin:accounts_user_change", args=[coordinator.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    coordinator.refresh_from_db()
    assert coordinator.role == Role.EMPLOYEE

    assert AuditEvent.objects.filter(record_type="accounts.user", record_id=str(coordinator.pk)).exists()
    assert coordinator.security_stamp != stamp


def test_setting_a_password_in_the_django_admin_is_audited_and_ends_access(make_user):
    """The admin's password form: the new password, an audit event (no password in it), the
    account's sessions ended and its API tokens revoked; with a password too short nothing."""
    from accounts.models import ApiToken
    from accounts.services import api_token_create

    coordinator = make_user(role=Role.COORDINATOR)
    api_token_create(user=coordinator, name="koppeling", verified=True)
    their_session = verified_client(coordinator)
    assert their_session.get(reverse("signals:inbox")).status_code == 200
    client = verified_client(_superuser())
    url = reverse("admin:auth_user_password_change", args=[coordinator.pk])
    events = AuditEvent.objects.filter(record_type="accounts.user", record_id=str(coordinator.pk))

    refused = client.post(url, {"password1": "kort", "password2": "kort", "usable_password": "true"})
    assert refused.status_code == 200 and refused.context["form"].errors
    coordinator.refresh_from_db()
    assert coordinator.check_password(PASSWORD) and not events.exists()

    new_password = "een-nieuw-lang-wachtwoord-2026"
    response = client.post(url, {"password1": new_password, "password2": new_password, "usable_password": "true"})
    assert response.status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.check_password(new_password)
    event = events.get()
    assert event.action == "user.password_set_by_platform_admin" and event.data == {"usable": True}
    assert new_password not in str(event.data)
    assert not ApiToken.objects.active().filter(user=coordinator).exists()
    assert their_session.get(reverse("signals:inbox")).status_code == 302  # logged out


def test_the_django_admin_shows_no_second_factors(make_user):
    """django-otp registers its devices in the admin: their pages show an account's authenticator
    secret and add or delete second factors without an audit event. They are not offered."""
    coordinator = make_user(role=Role.COORDINATOR)
    device = add_totp(coordinator)
    client = verified_client(_superuser())
    for model in ("accounts/authenticatorapp", "otp_static/staticdevice"):
        assert client.get(f"/admin/{model}/").status_code == 404
        assert client.get(f"/admin/{model}/add/").status_code == 404
        assert client.get(f"/admin/{model}/{device.pk}/change/").status_code == 404
    index = client.get("/admin/").content.decode()
    assert "authenticatorapp" not in index and device.secret not in index


def test_a_superuser_cannot_give_themselves_an_organisations_content(make_user, organisation):
    """accounts/admin.py + models.py: nothing stops a platform superuser from giving their own
    account an organisation and the coordinator role in the Django admin; the next page load shows
    them that organisation's signals (decisions.md: superusers 'see no organisation data')."""
    superuser = _superuser()
    client = verified_client(superuser)
    data = _admin_change_data(client, superuser)
    data["organisation"] = str(organisation.pk)
    data["role"] = Role.COORDINATOR

    client.post(reverse("admin:accounts_user_change", args=[superuser.pk]), data)
    superuser.refresh_from_db()

    assert superuser.organisation_id is None, "the superuser joined an organisation"
    assert client.get(reverse("signals:inbox")).status_code != 200


# --- Django admin ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["superuser", "coordinator"])
def test_the_django_admin_login_does_not_redirect_in_a_loop(make_user, who):
    """config/admin_site.py WeerbaarAdminSite.login always redirects to the product's login, and
    the product's login sends a verified user back to next=/admin/login/...: an endless loop.
    Coming from /admin/ (anonymous -> login -> next) a verified superuser never reaches the admin;
    a verified coordinator who opens /admin/ gets ERR_TOO_MANY_REDIRECTS instead of a refusal."""
    user = _superuser() if who == "superuser" else make_user(role=Role.COORDINATOR)
    client = verified_client(user)

    response, visited = _follow(client, "/admin/login/?next=/admin/")

    assert response.status_code not in (301, 302), f"redirect loop: {visited[:4]} ..."
    if who == "superuser":
        assert response.status_code == 200 and visited[-1] == "/admin/"


# --- Settings -------------------------------------------------------------------------------------


def test_roles_that_see_signals_cannot_be_exempted_from_2fa(settings):
    """accounts/roles.py role_requires_two_factor: WEERBAAR_2FA_EXEMPT_ROLES accepts any role,
    so WEERBAAR_2FA_EXEMPT_ROLES=coordinator (or admin) lets those roles work without a second
    factor; the issue requires 2FA for every role that sees signals, cases, incidents or audit
    data. Neither refused at start-up nor ignored."""
    from django.core import checks

    settings.WEERBAAR_2FA_EXEMPT_ROLES = ["coordinator", "admin"]

    refused = any(
        "WEERBAAR_2FA_EXEMPT_ROLES" in message.msg for message in checks.run_checks() if message.level >= checks.ERROR
    )
    assert refused or (role_requires_two_factor(Role.COORDINATOR) and role_requires_two_factor(Role.ADMIN))


def test_health_answers_the_load_balancer_with_ssl_redirect_on(settings):
    """config/settings.py: production sets SECURE_SSL_REDIRECT (default true) without
    SECURE_REDIRECT_EXEMPT, so a plain-HTTP probe of /health/ (load balancer, Kubernetes) gets
    301 instead of 200/503 with the JSON."""
    settings.SECURE_SSL_REDIRECT = True

    response = Client().get("/health/")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_logout_by_get_gets_a_dutch_page(make_user):
    """accounts/views.py LogoutView (and every @require_POST view): a GET, e.g. a bookmarked
    'uitloggen' link, returns Django's bare 405 with an empty body, not a Dutch page."""
    client = verified_client(make_user(role=Role.EMPLOYEE))

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert 'lang="nl"' in response.content.decode() and "Deze pagina werkt zo niet" in response.content.decode()
    assert "POST" in response["Allow"] and "Content-Security-Policy" in response


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.9", "10.0.0.2"),  # no proxy: what the client writes is ignored
        (1, "198.51.100.9", "198.51.100.9"),  # one nginx appended the client
        (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # the client wrote the first entry itself
        (2, "6.6.6.6, 198.51.100.9, 10.1.1.1", "198.51.100.9"),
        (2, "198.51.100.9", "10.0.0.2"),  # not through both proxies: the peer
        (1, "geen-adres", "10.0.0.2"),
        (1, "10.20.30.40", "10.20.30.40"),  # an intranet address counts like any other
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxies_saw(settings, rf, proxies, forwarded, expected):
    from accounts.client_address import client_address

    settings.WEERBAAR_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_a_platform_administrator_lands_in_the_django_admin_after_login():
    """A platform administrator has no organisation and so no home page: after logging in they
    went to / and met a 403."""
    superuser = _superuser()
    device = add_totp(superuser)

    response = Client().post(
        LOGIN, {"username": superuser.username, "password": PASSWORD, "otp_token": totp_now(device)}
    )

    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_a_successful_login_leaves_no_address_behind_in_axes(make_user):
    """django-axes kept every successful login's IP address and user agent without end."""
    from axes.models import AccessLog as AxesAccessLog

    user = make_user(role=Role.COORDINATOR)
    device = add_totp(user)

    response = Client().post(LOGIN, {"username": user.username, "password": PASSWORD, "otp_token": totp_now(device)})

    assert response.status_code == 302
    assert not AxesAccessLog.objects.exists()


def test_a_tls_proxy_without_a_proxy_count_is_warned_about(settings):
    from django.core import checks

    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    def warned() -> bool:
        return any(message.id == "accounts.W001" for message in checks.run_checks())

    settings.WEERBAAR_PROXY_COUNT = 0
    assert warned()
    settings.WEERBAAR_PROXY_COUNT = 1
    assert not warned()


@pytest.mark.django_db(transaction=True)
def test_the_logins_axes_logged_before_are_removed(make_user):
    from axes.models import AccessLog as AxesAccessLog

    from tests.conftest import migrating

    user = make_user(role=Role.COORDINATOR)
    AxesAccessLog.objects.create(username=user.username, ip_address="10.0.0.2", user_agent="Firefox")

    with migrating("accounts", "0004_superuser_without_organisation", "0005_remove_axes_login_log"):
        pass

    assert not AxesAccessLog.objects.exists()
