from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken

from accounts.models import AuthenticatorApp
from accounts.roles import Role, role_requires_two_factor
from accounts.second_factor import backup_code_digest
from tests.conftest import verified_client
from tests.factories import PASSWORD, add_totp, totp_now

SETUP = "/account/tweestapsverificatie/"


def _password_only_client(user) -> Client:
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


ROLES_NEEDING_2FA = [r for r in Role.values if role_requires_two_factor(r)]


def test_roles_that_see_sensitive_data_require_2fa():
    for role in [Role.COORDINATOR, Role.MANAGER, Role.PARTNER, Role.PRIVACY_OFFICER, Role.ADMIN, Role.EMPLOYEE]:
        assert role_requires_two_factor(role), role


@pytest.mark.parametrize("role", ROLES_NEEDING_2FA)
@pytest.mark.parametrize("url", ["/", "/account/", "/beheer/gebruikers/", "/api/v1/docs/"])
def test_unverified_session_reaches_only_enrolment(make_user, role, url):
    user = make_user(role=role)
    client = _password_only_client(user)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == SETUP


@pytest.mark.parametrize("role", ROLES_NEEDING_2FA)
def test_unverified_session_is_refused_by_the_api(make_user, role):
    client = _password_only_client(make_user(role=role))
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert "Tweestapsverificatie" in response.json()["detail"]


def test_exempt_role_may_work_without_2fa(make_user):
    reviewer = make_user(role=Role.REVIEWER)
    client = _password_only_client(reviewer)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200


def test_enrolment_confirms_device_verifies_session_and_gives_backup_codes(make_user):
    user = make_user(role=Role.COORDINATOR)
    client = _password_only_client(user)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = AuthenticatorApp.objects.get(user=user, confirmed=False)

    response = client.post(SETUP, {"token": totp_now(device)})

    assert response.status_code == 200
    assert len(response.context["codes"]) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert StaticToken.objects.filter(device__user=user).count() == 10
    assert client.get("/").status_code == 200


def test_wrong_enrolment_code_changes_nothing(make_user):
    user = make_user(role=Role.COORDINATOR)
    client = _password_only_client(user)
    client.get(SETUP)
    device = AuthenticatorApp.objects.get(user=user, confirmed=False)
    wrong = "123456" if totp_now(device) != "123456" else "654321"

    response = client.post(SETUP, {"token": wrong})

    assert response.status_code == 200
    assert "Deze code klopt niet" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticToken.objects.filter(device__user=user).exists()
    assert client.get("/").status_code == 302


def test_malformed_enrolment_code_gets_a_field_message(make_user):
    client = _password_only_client(make_user(role=Role.COORDINATOR))
    response = client.post(SETUP, {"token": "abc"})
    assert "Vul de zes cijfers in" in response.content.decode()


def test_user_with_device_must_give_code(make_user):
    user = make_user(role=Role.REVIEWER)  # even an exempt role, once enrolled
    add_totp(user)
    response = Client().post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200


def test_administrator_reset_removes_devices_and_forces_enrolment(make_user):
    user = make_user(role=Role.MANAGER)
    add_totp(user)
    admin = make_user(role=Role.ADMIN, organisation=user.organisation)

    verified_client(admin).post(reverse("beheer:user_reset_two_factor", kwargs={"pk": user.pk}))

    assert not AuthenticatorApp.objects.filter(user=user).exists()
    client = _password_only_client(user)
    assert client.get("/")["Location"] == SETUP


def test_regenerating_backup_codes_invalidates_old_ones(make_user):
    user = make_user(role=Role.COORDINATOR)
    client = verified_client(user)
    first = client.post(reverse("accounts:backup_codes")).context["codes"]
    second = client.post(reverse("accounts:backup_codes")).context["codes"]
    stored = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert stored == {backup_code_digest(code) for code in second}
    assert not stored & {backup_code_digest(code) for code in first}


@pytest.mark.django_db(transaction=True)
def test_backup_codes_stored_before_are_turned_into_digests_and_still_log_in(make_user):
    """The migration to digests: a code a user got before it still works afterwards, and the
    table no longer holds it."""
    from django_otp.plugins.otp_static.models import StaticDevice

    from tests.conftest import migrating

    user = make_user(role=Role.COORDINATOR)
    add_totp(user)
    device = StaticDevice.objects.create(user=user, name="reservecodes", confirmed=True)
    device.token_set.create(token="oudecode")  # as stored before: the code itself

    with migrating("accounts", "0002_security_stamp_confidential_reporting", "0003_backup_codes_as_digests"):
        pass

    assert list(StaticToken.objects.values_list("token", flat=True)) == [backup_code_digest("oudecode")]
    login = reverse("accounts:login")
    response = Client().post(login, {"username": user.username, "password": PASSWORD, "otp_token": "OUDECODE"})
    assert response.status_code == 302 and not StaticToken.objects.exists()  # used up


def _old_totp_table():
    """django-otp's TOTP plugin's table as an earlier version of Weerbaar had it."""
    from django.db import models

    from accounts.models import User

    fields = {
        "user": models.ForeignKey(User, on_delete=models.CASCADE, db_constraint=False, related_name="+"),
        "name": models.CharField(max_length=64),
        "confirmed": models.BooleanField(default=True),
        "key": models.CharField(max_length=80),
        "step": models.PositiveSmallIntegerField(default=30),
        "t0": models.BigIntegerField(default=0),
        "digits": models.PositiveSmallIntegerField(default=6),
        "tolerance": models.PositiveSmallIntegerField(default=1),
        "drift": models.SmallIntegerField(default=0),
        "last_t": models.BigIntegerField(default=-1),
        "throttling_failure_timestamp": models.DateTimeField(null=True),
        "throttling_failure_count": models.PositiveIntegerField(default=0),
        "created_at": models.DateTimeField(null=True),
        "last_used_at": models.DateTimeField(null=True),
    }
    meta = type("Meta", (), {"app_label": "tests_otp_totp_before", "db_table": "otp_totp_totpdevice"})
    return type("TOTPDeviceBefore", (models.Model,), {"__module__": __name__, "Meta": meta, **fields})


@pytest.mark.django_db(transaction=True)
def test_authenticator_apps_of_before_keep_working_with_their_secret_encrypted(make_user):
    """Devices made with django-otp's TOTP plugin (secret in plain hex) move to AuthenticatorApp:
    the same app still logs in, and the database holds only ciphertext."""
    from datetime import UTC, datetime

    from django.db import connection
    from django_otp.oath import totp

    from tests.conftest import migrating

    user = make_user(role=Role.COORDINATOR)
    secret = "3132333435363738393031323334353637383930"
    old = _old_totp_table()
    try:
        with migrating("accounts", "0008_authenticator_app_encrypted", "0009_authenticator_apps_from_totp_devices"):
            with connection.schema_editor() as editor:
                editor.create_model(old)
            old.objects.create(
                user_id=user.pk, name="authenticator-app", key=secret, created_at=datetime(2026, 3, 1, 9, tzinfo=UTC)
            )

        device = AuthenticatorApp.objects.get(user=user)
        assert device.secret == secret and device.confirmed
        assert device.created_at == datetime(2026, 3, 1, 9, tzinfo=UTC)
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret FROM accounts_authenticatorapp")
            stored = cursor.fetchone()[0]
        assert stored.startswith("wb1:") and secret not in stored
        assert "otp_totp_totpdevice" not in connection.introspection.table_names()  # the plain secrets are gone

        code = f"{totp(bytes.fromhex(secret), step=30, t0=0, digits=6):06d}"
        response = Client().post(
            reverse("accounts:login"), {"username": user.username, "password": PASSWORD, "otp_token": code}
        )
        assert response.status_code == 302 and response["Location"] != reverse("accounts:login")
    finally:
        if "otp_totp_totpdevice" in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.delete_model(old)


def test_a_new_authenticator_app_gets_a_secret_of_its_own(make_user):
    from django.db import connection

    first, second = (add_totp(make_user(role=Role.COORDINATOR)) for _ in range(2))
    assert len(first.secret) == 40 and first.secret != second.secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_authenticatorapp")
        assert all(row[0].startswith("wb1:") for row in cursor.fetchall())
    assert AuthenticatorApp.objects.get(pk=first.pk).secret == first.secret


def test_a_wiped_authenticator_app_takes_its_data_key_along(make_user):
    from accounts.services import user_reset_two_factor
    from privacy.models import DataKey

    user = make_user(role=Role.COORDINATOR)
    device = add_totp(user)
    admin = make_user(role=Role.ADMIN, organisation=user.organisation)
    assert DataKey.objects.filter(pk=device.data_key_id).exists()

    user_reset_two_factor(actor=admin, user=user)

    assert not AuthenticatorApp.objects.filter(user=user).exists()
    assert not DataKey.objects.filter(pk=device.data_key_id).exists()


def _code(device, steps_from_now: int = 0) -> str:
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps_from_now * device.step
    return f"{totp.token():06d}"


def test_a_code_is_accepted_once_and_only_near_now(make_user):
    device = add_totp(make_user(role=Role.COORDINATOR))
    assert device.verify_token(_code(device, -2)) is False  # two steps old: outside the tolerance
    device.throttle_reset()
    now = _code(device)
    assert AuthenticatorApp.objects.get(pk=device.pk).verify_token(now) is True
    assert AuthenticatorApp.objects.get(pk=device.pk).verify_token(now) is False  # the same code again
    assert AuthenticatorApp.objects.get(pk=device.pk).verify_token(_code(device, -1)) is False  # an older one
    assert AuthenticatorApp.objects.get(pk=device.pk).verify_token("nocode") is False


def test_wrong_codes_make_the_app_wait_and_a_right_one_resets_that(make_user):
    import time_machine
    from django.utils import timezone

    device = add_totp(make_user(role=Role.COORDINATOR))
    near = {_code(device, steps) for steps in (-1, 0, 1)}
    wrong = next(code for code in ("000000", "111111", "222222", "333333") if code not in near)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert device.verify_token(wrong) is False
        device.refresh_from_db()
        assert device.throttling_failure_count == 1 and not device.verify_is_allowed()[0]
        assert device.verify_token(_code(device)) is False  # right, but within the wait: refused
        device.refresh_from_db()
        assert device.throttling_failure_count == 1
    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        device.refresh_from_db()
        assert device.verify_token(_code(device)) is True
        device.refresh_from_db()
        assert device.throttling_failure_count == 0


def test_the_qr_address_keeps_issuer_and_account_apart(make_user, settings):
    from urllib.parse import parse_qs, urlsplit

    settings.OTP_TOTP_ISSUER = "Gemeente Den Haag: RIEC"
    device = add_totp(make_user(role=Role.COORDINATOR, username="f.amrani"))
    url = urlsplit(device.config_url)
    assert url.scheme == "otpauth" and url.netloc == "totp"
    assert url.path == "/Gemeente%20Den%20Haag%20RIEC%3Af.amrani"
    query = parse_qs(url.query)
    assert query["issuer"] == ["Gemeente Den Haag RIEC"] and "+" not in url.query
    assert query["secret"][0] == base64.b32encode(device.bin_key).decode().rstrip("=")


def test_a_loaded_app_saved_without_its_secret_keeps_it(make_user):
    device = add_totp(make_user(role=Role.COORDINATOR))
    partial = AuthenticatorApp.objects.only("id", "confirmed", "user", "data_key").get(pk=device.pk)
    partial.save()
    assert AuthenticatorApp.objects.get(pk=device.pk).secret == device.secret
