from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.forms import LOGIN_ERROR
from accounts.roles import Role
from tests.factories import PASSWORD, add_static_code, add_totp, totp_now

LOGIN = "/account/inloggen/"


def _login(client, user, *, password=PASSWORD, code="", next_url=None):
    data = {"username": user.username, "password": password, "otp_token": code}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def test_password_and_totp_code_log_in_verified(client, make_user):
    user = make_user(role=Role.COORDINATOR)
    device = add_totp(user)

    response = _login(client, user, code=totp_now(device))

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert home.wsgi_request.user.is_verified()


@pytest.mark.parametrize("mistake", ["password", "code", "no_code", "unknown_user"])
def test_every_mistake_gives_the_same_message_and_no_session(client, make_user, mistake):
    user = make_user(role=Role.COORDINATOR)
    device = add_totp(user)
    good_code = totp_now(device)
    data = {"username": user.username, "password": PASSWORD, "otp_token": good_code}
    if mistake == "password":
        data["password"] = "verkeerd-wachtwoord"
    elif mistake == "code":
        data["otp_token"] = "000000" if good_code != "000000" else "111111"
    elif mistake == "no_code":
        data["otp_token"] = ""
    else:
        data["username"] = "bestaat.niet"

    response = client.post(LOGIN, data)

    assert response.status_code == 200
    assert LOGIN_ERROR in response.content.decode()
    assert SESSION_KEY not in client.session


def test_backup_code_works_once(client, make_user):
    user = make_user(role=Role.MANAGER)
    add_totp(user)
    code = add_static_code(user, "reserve42")

    assert _login(client, user, code=code).status_code == 302
    client.post(reverse("accounts:logout"))
    second = _login(client, user, code=code)
    assert second.status_code == 200
    assert LOGIN_ERROR in second.content.decode()


def test_lockout_after_repeated_failures_counts_wrong_codes_too(client, make_user, settings):
    user = make_user(role=Role.COORDINATOR)
    device = add_totp(user)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        bad = {"password": "fout"} if attempt % 2 else {"code": "999999" if totp_now(device) != "999999" else "888888"}
        _login(client, user, **bad)

    # Now even the right password and code are refused, with the Dutch lockout page.
    response = _login(client, user, code=totp_now(device))

    assert response.status_code == 429
    assert "Tijdelijk geblokkeerd" in response.content.decode()
    assert SESSION_KEY not in client.session


def test_lockout_ends_after_cooloff(client, make_user, settings):
    user = make_user(role=Role.EMPLOYEE)
    add_totp(user)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, user, password="fout")
    assert _login(client, user, password="fout").status_code == 429

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(minutes=1)):
        device = user.authenticatorapp_set.get()
        response = _login(client, user, code=totp_now(device))
    assert response.status_code == 302


def test_administrator_can_unlock(client, make_user, login_as, settings):
    user = make_user(role=Role.EMPLOYEE)
    device = add_totp(user)
    admin = make_user(role=Role.ADMIN, organisation=user.organisation)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, user, password="fout")
    assert _login(client, user, code=totp_now(device)).status_code == 429

    login_as(admin).post(reverse("beheer:user_unlock", kwargs={"pk": user.pk}))

    assert _login(client, user, code=totp_now(device)).status_code == 302


def test_logout_clears_the_session(client, make_user):
    user = make_user(role=Role.COORDINATOR)
    device = add_totp(user)
    _login(client, user, code=totp_now(device))
    session_key = client.session.session_key

    response = client.post(reverse("accounts:logout"))

    assert response["Location"] == reverse("accounts:login")
    assert "U bent uitgelogd" in client.get(response["Location"]).content.decode()
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=session_key).exists()
    assert client.get(reverse("home")).status_code == 302


def test_logout_by_get_is_refused(client, make_user):
    user = make_user(role=Role.COORDINATOR)
    device = add_totp(user)
    _login(client, user, code=totp_now(device))
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200


def test_idle_session_expires_then_login_returns_to_the_form(client, make_user, settings):
    admin = make_user(role=Role.ADMIN)
    device = add_totp(admin)
    _login(client, admin, code=totp_now(device))
    form_url = reverse("beheer:user_create")
    assert client.get(form_url).status_code == 200

    later = timezone.now() + timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES + 1)
    with time_machine.travel(later):
        response = client.post(form_url, {"username": "nieuw"})
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('accounts:login')}?next={form_url}"
        login = _login(client, admin, code=totp_now(device), next_url=form_url)
        assert login["Location"] == form_url
    from accounts.models import User

    assert not User.objects.filter(username="nieuw").exists()


def test_activity_keeps_the_session_alive(client, make_user, settings):
    user = make_user(role=Role.EMPLOYEE)
    device = add_totp(user)
    _login(client, user, code=totp_now(device))
    step = timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES - 5)
    now = timezone.now()
    for i in range(1, 4):
        with time_machine.travel(now + step * i):
            assert client.get(reverse("home")).status_code == 200


def test_open_redirect_is_refused(client, make_user):
    user = make_user(role=Role.EMPLOYEE)
    device = add_totp(user)
    response = _login(client, user, code=totp_now(device), next_url="https://evil.example/")
    assert response["Location"] == reverse("home")


def test_login_page_has_labelled_fields_and_error_tied_to_summary(client, make_user):
    page = client.post(LOGIN, {"username": "", "password": ""}).content.decode()
    assert '<label for="id_username">' in page
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_username_error"' in page
    assert 'id="id_username_error"' in page
    assert 'role="alert"' in page
