from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Organisation, User
from accounts.roles import OrganisationKind, Role


def _seed_json() -> list[dict[str, str]]:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed_creates_organisations_and_one_account_per_role():
    rows = _seed_json()

    assert {tuple(sorted(row)) for row in rows} == {
        ("organisation", "otp", "password", "role", "totp_secret", "username")
    }
    assert set(Role.values) <= {row["role"] for row in rows}
    kinds = set(Organisation.objects.values_list("kind", flat=True))
    assert kinds == set(OrganisationKind.values)
    assert Organisation.objects.filter(kind=OrganisationKind.MUNICIPALITY).count() == 2
    assert Organisation.objects.filter(kind=OrganisationKind.PARTNER, partner_type="politie").exists()


@pytest.mark.django_db
def test_seed_is_idempotent_and_issues_fresh_codes():
    first = _seed_json()
    users, organisations = User.objects.count(), Organisation.objects.count()
    second = _seed_json()

    assert (User.objects.count(), Organisation.objects.count()) == (users, organisations)
    by_name = {row["username"]: row for row in first}
    for row in second:
        assert row["otp"] != by_name[row["username"]]["otp"]
        assert row["totp_secret"] == by_name[row["username"]]["totp_secret"]


@pytest.mark.django_db
def test_printed_credentials_log_in():
    rows = _seed_json()
    coordinator = next(row for row in rows if row["role"] == "coordinator")
    client = Client()

    response = client.post(
        "/account/inloggen/",
        {"username": coordinator["username"], "password": coordinator["password"], "otp_token": coordinator["otp"]},
    )

    assert response.status_code == 302
    assert "Coördinator" in client.get("/").content.decode()


@pytest.mark.django_db
def test_printed_totp_secret_works():
    import base64

    from django_otp.oath import totp

    rows = _seed_json()
    row = next(r for r in rows if r["role"] == "manager")
    key = base64.b32decode(row["totp_secret"] + "=" * (-len(row["totp_secret"]) % 8))
    response = Client().post(
        "/account/inloggen/",
        {"username": row["username"], "password": row["password"], "otp_token": f"{totp(key):06d}"},
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_seed_refuses_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())


@pytest.mark.django_db
def test_the_demo_has_signals_to_try_once_however_often_it_is_seeded():
    from signals.models import ReporterContact, Signal, SignalMessage, SignalStatus
    from tests.conftest import verified_client

    _seed_json()
    _seed_json()

    zaanstad = Organisation.objects.get(name="Gemeente Zaanstad")
    signals = Signal.objects.filter(organisation=zaanstad)
    assert signals.count() == 4
    assert sorted(signals.values_list("status", flat=True)) == sorted(
        [SignalStatus.IN_TRIAGE, SignalStatus.RECEIVED, SignalStatus.RECEIVED, SignalStatus.CLOSED]
    )
    assert SignalMessage.objects.count() == 2 and ReporterContact.objects.count() == 1
    # The answered question was read by the employee; the answer waits for the coordinator.
    assert sorted((m.direction, m.read_at is None) for m in SignalMessage.objects.all()) == [
        ("from_reporter", True),
        ("to_reporter", False),
    ]
    coordinator = User.objects.get(username="zaanstad.coordinator")
    assert signals.get(status=SignalStatus.IN_TRIAGE).handler == coordinator
    assert len(verified_client(coordinator).get("/signalen/").context["signals"]) == 3  # open ones
    assert len(verified_client(coordinator).get("/signalen/", {"status": ""}).context["signals"]) == 4
    mine = verified_client(User.objects.get(username="zaanstad.medewerker")).get("/meldingen/")
    assert len(mine.context["signals"]) == 2


@pytest.mark.django_db(transaction=True)
def test_json_stays_json_while_the_demo_signals_mail_to_the_console(settings, capsys):
    """As `manage.py seed_demo --json` runs: each service commits, and its mail task runs then."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    from config.celery import app

    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        call_command("seed_demo", "--json")
    finally:
        app.conf.task_always_eager = previous
    captured = capsys.readouterr()

    assert {row["username"] for row in json.loads(captured.out)} >= {"zaanstad.coordinator"}
    assert "Weerbaar: nieuw signaal ontvangen" in captured.err  # the mails went somewhere else


@pytest.mark.django_db
def test_a_production_demo_gets_accounts_but_no_signals(settings):
    from signals.models import Signal

    settings.PRODUCTION = True
    call_command("seed_demo", "--allow-production", stdout=StringIO())

    assert User.objects.filter(username="zaanstad.coordinator").exists()
    assert not Signal.objects.exists()
