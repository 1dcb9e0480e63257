"""The activation mail's outbox: a mail server that is away, a refused address or a broker that is
down loses no activation mail, the sweep sends it later (later each time), and the administrator's
page says where the mail is."""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection  # noqa: F401  (read by the skipif below)
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import ActivationMail, ActivationMailStatus, User
from accounts.roles import Role
from accounts.services import activation_mail_send
from accounts.tasks import send_pending_activation_mails
from tests.conftest import activation_path_in, verified_client

NEW_USER = {
    "username": "nieuwe.collega",
    "first_name": "Nina",
    "last_name": "Nieuw",
    "email": "nina@example.org",
    "role": Role.EMPLOYEE,
}


class UnreachableMailServer(locmem.EmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")


class RefusingMailServer(locmem.EmailBackend):
    def send_messages(self, messages):
        recipient = messages[0].recipients()[0]
        raise smtplib.SMTPRecipientsRefused({recipient: (550, b"no such user")})


UNREACHABLE = f"{__name__}.UnreachableMailServer"
REFUSING = f"{__name__}.RefusingMailServer"


@pytest.fixture
def admin(make_user):
    return make_user(role=Role.ADMIN, email="beheer@example.org")


def _create(client, django_capture_on_commit_callbacks) -> tuple[User, str]:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("beheer:user_create"), NEW_USER, follow=True)
    return User.objects.get(username=NEW_USER["username"]), response.content.decode()


def _detail(client, user) -> str:
    return client.get(reverse("beheer:user_detail", args=[user.pk])).content.decode()


def test_a_mail_server_that_is_away_loses_no_activation_mail(
    admin, eager_tasks, django_capture_on_commit_callbacks, caplog, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in production, where beat runs the sweep
    client = verified_client(admin)
    with override_settings(EMAIL_BACKEND=UNREACHABLE), caplog.at_level(logging.WARNING):
        user, page = _create(client, django_capture_on_commit_callbacks)
        page = _detail(client, user)

    assert mail.outbox == []
    assert "Nog niet verstuurd: de mailserver was niet bereikbaar (1 poging)" in page
    assert "Weerbaar probeert het opnieuw vanaf" in page
    row = ActivationMail.objects.get(user=user)
    assert (row.status, row.attempts, row.last_failure) == (ActivationMailStatus.PENDING, 1, "ConnectionRefusedError")
    assert "activation mail" in caplog.text and "nina@" not in caplog.text

    # The server is back; the sweep waits for the next attempt (5 minutes), then sends.
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_activation_mails() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert send_pending_activation_mails() == 1
        assert send_pending_activation_mails() == 0  # sent once
        page = _detail(client, user)
    assert [m.to for m in mail.outbox] == [["nina@example.org"]]
    assert "Verstuurd op" in page and "de link werkt tot" in page
    row.refresh_from_db()
    assert row.status == ActivationMailStatus.SENT and row.last_failure == ""

    form = Client().get(activation_path_in(mail.outbox[0]), follow=True)
    assert "Kies uw wachtwoord" in form.content.decode()


@override_settings(EMAIL_BACKEND=REFUSING)
def test_a_refused_address_is_tried_later_each_time_and_given_up_after_a_week(
    admin, eager_tasks, django_capture_on_commit_callbacks, caplog, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in production, where beat runs the sweep
    client = verified_client(admin)
    start = timezone.now()
    with caplog.at_level(logging.WARNING):
        user, _ = _create(client, django_capture_on_commit_callbacks)
    row = ActivationMail.objects.get(user=user)

    waits = []
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(4):
            row.refresh_from_db()
            waits.append(row.next_attempt_at - timezone.now())
            clock.move_to(row.next_attempt_at + timedelta(seconds=1))
            assert send_pending_activation_mails() == 0
    assert [round(wait.total_seconds() / 60) for wait in waits] == [5, 10, 20, 40]
    row.refresh_from_db()
    assert row.attempts == 5 and row.last_failure == "SMTPRecipientsRefused"
    assert "nina@" not in caplog.text

    # The wait stops growing at six hours.
    with time_machine.travel(start + timedelta(days=2), tick=False):
        ActivationMail.objects.filter(pk=row.pk).update(attempts=20, next_attempt_at=timezone.now())
        assert send_pending_activation_mails() == 0
        row.refresh_from_db()
        assert row.next_attempt_at - timezone.now() == timedelta(hours=6)
        assert "de mailserver weigerde het e-mailadres (21 pogingen)" in _detail(verified_client(admin), user)

    # After a week the sweep leaves it, and the page says what to do.
    with time_machine.travel(start + timedelta(days=8)):
        assert send_pending_activation_mails() == 0
        row.refresh_from_db()
        assert row.attempts == 21
        page = _detail(verified_client(admin), user)
    assert "Niet verstuurd: de mailserver weigerde het e-mailadres" in page
    assert "Controleer het e-mailadres en verstuur hem opnieuw" in page
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)  # the mails are queued on real commits
def test_with_the_broker_down_the_sweep_sends_the_mail_and_a_resend_replaces_the_waiting_one(admin, broker_down):
    client = verified_client(admin)
    client.post(reverse("beheer:user_create"), NEW_USER)
    user = User.objects.get(username=NEW_USER["username"])
    first = ActivationMail.objects.get(user=user)
    ActivationMail.objects.filter(pk=first.pk).update(attempts=34, last_failure="SMTPRecipientsRefused")
    client.post(reverse("beheer:user_activation_resend", args=[user.pk]))
    assert "Wacht op verzending" in _detail(client, user)
    waiting = ActivationMail.objects.get(user=user, status=ActivationMailStatus.PENDING)
    assert waiting.pk != first.pk and waiting.attempts == 0  # its own count, not the old one's
    assert ActivationMail.objects.get(pk=first.pk).status == ActivationMailStatus.NOT_NEEDED
    assert mail.outbox == []

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_activation_mails() == 1
        assert send_pending_activation_mails() == 0
    assert [m.to for m in mail.outbox] == [["nina@example.org"]]
    assert not ActivationMail.objects.filter(user=user, status=ActivationMailStatus.PENDING).exists()


@pytest.mark.parametrize("change", ["activated", "blocked", "address removed"])
def test_a_mail_that_waits_is_not_sent_once_it_is_no_longer_needed(admin, broker_down, change):
    client = verified_client(admin)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        client.post(reverse("beheer:user_create"), NEW_USER)
    user = User.objects.get(username=NEW_USER["username"])
    row = ActivationMail.objects.get(user=user)
    if change == "activated":
        user.set_password("een-lang-nieuw-wachtwoord")
    elif change == "blocked":
        user.is_active = False
    else:
        user.email = ""
    user.save()

    assert activation_mail_send(row.pk) is False
    assert mail.outbox == []
    row.refresh_from_db()
    assert row.status == ActivationMailStatus.NOT_NEEDED
    assert activation_mail_send(row.pk) is False  # and stays so


def test_the_activation_mail_is_sent_once_when_its_task_runs_twice(admin, django_capture_on_commit_callbacks):
    client = verified_client(admin)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("beheer:user_create"), NEW_USER)
    row = ActivationMail.objects.get(user__username=NEW_USER["username"])
    assert activation_mail_send(row.pk) is True
    assert activation_mail_send(row.pk) is False
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Nina" not in body and admin.organisation.name not in body


def test_the_sweep_is_scheduled():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "accounts.tasks.send_pending_activation_mails" in tasks


def test_the_wait_stops_at_six_hours_however_many_attempts():
    from accounts.services import activation_retry_delay

    assert activation_retry_delay(1) == timedelta(minutes=5)
    assert activation_retry_delay(8) == timedelta(hours=6)
    assert activation_retry_delay(10_000) == timedelta(hours=6)  # no overflow, no stuck row


@override_settings(EMAIL_BACKEND=UNREACHABLE)
def test_the_sweep_leaves_a_mail_alone_until_its_next_attempt(admin, django_capture_on_commit_callbacks):
    client = verified_client(admin)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("beheer:user_create"), NEW_USER)
    row = ActivationMail.objects.get()
    with pytest.raises(ConnectionRefusedError):
        activation_mail_send(row.pk)
    row.refresh_from_db()
    assert row.attempts == 1

    assert activation_mail_send(row.pk, due_only=True) is False  # listed by a sweep a moment ago
    row.refresh_from_db()
    assert row.attempts == 1


def test_without_beat_the_page_does_not_promise_a_retry(
    admin, eager_tasks, django_capture_on_commit_callbacks, settings
):
    """The embedded set-up runs tasks in-process and has no beat: nothing would try again."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client = verified_client(admin)
    with override_settings(EMAIL_BACKEND=UNREACHABLE):
        user, _ = _create(client, django_capture_on_commit_callbacks)
    page = _detail(client, user)
    assert "Niet verstuurd: de mailserver was niet bereikbaar (1 poging)" in page
    assert "probeert het opnieuw" not in page and "verstuur hem opnieuw" in page


@pytest.mark.parametrize("change", ["address", "blocked and unblocked"])
def test_the_page_says_when_a_sent_link_no_longer_works(admin, eager_tasks, django_capture_on_commit_callbacks, change):
    client = verified_client(admin)
    user, _ = _create(client, django_capture_on_commit_callbacks)
    link = activation_path_in(mail.outbox[0])
    assert "de link werkt tot" in _detail(client, user)

    if change == "address":
        User.objects.filter(pk=user.pk).update(email="ander@example.org")
    else:
        client.post(reverse("beheer:user_set_active", args=[user.pk]), {"active": "0"})
        client.post(reverse("beheer:user_set_active", args=[user.pk]), {"active": "1"})

    page = _detail(client, user)
    assert "die link werkt niet meer" in page and "de link werkt tot" not in page
    assert "Deze link werkt niet meer" in Client().get(link, follow=True).content.decode()


def test_the_link_validity_on_the_page_is_the_tokens(admin, eager_tasks, django_capture_on_commit_callbacks, settings):
    settings.PASSWORD_RESET_TIMEOUT = 2 * 24 * 3600
    client = verified_client(admin)
    user, _ = _create(client, django_capture_on_commit_callbacks)
    link = activation_path_in(mail.outbox[0])
    sent = ActivationMail.objects.get(user=user).sent_at

    # Two hours either side: Django's token counts in local clock time, so across a change to or
    # from summer time its end moves by an hour.
    with time_machine.travel(sent + timedelta(days=2) - timedelta(hours=2)):
        assert "de link werkt tot" in _detail(verified_client(admin), user)
        assert "Kies uw wachtwoord" in Client().get(link, follow=True).content.decode()
    with time_machine.travel(sent + timedelta(days=2, hours=2)):
        assert "de link is verlopen op" in _detail(verified_client(admin), user)
        assert "Deze link werkt niet meer" in Client().get(link, follow=True).content.decode()


def test_a_task_message_queued_before_the_outbox_is_still_sent(admin, django_capture_on_commit_callbacks):
    """Messages of the old task name the account; after a deploy they must not be lost."""
    from accounts.tasks import send_activation_mail

    client = verified_client(admin)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("beheer:user_create"), NEW_USER)
    user = User.objects.get(username=NEW_USER["username"])
    ActivationMail.objects.all().delete()  # as for an account created by the old version

    assert "Niet bekend" in _detail(client, user)
    assert send_activation_mail.apply(args=[user.pk]).get() is True
    assert [m.to for m in mail.outbox] == [["nina@example.org"]]
    assert ActivationMail.objects.get(user=user).status == ActivationMailStatus.SENT
    assert send_activation_mail.apply(args=[user.pk]).get() is False  # nothing waits any more


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite lets one writer in at a time")
@pytest.mark.django_db(transaction=True)
def test_the_task_and_the_sweep_at_the_same_moment_send_one_mail(admin):
    import threading

    from django.db import connections

    user = User.objects.create(
        username="tegelijk", email="tegelijk@example.org", role=Role.EMPLOYEE, organisation=admin.organisation
    )
    user.set_unusable_password()
    user.save()
    row = ActivationMail.objects.create(user=user)
    barrier = threading.Barrier(4)
    results = []

    def send():
        try:
            barrier.wait()
            results.append(activation_mail_send(row.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert [m.to for m in mail.outbox] == [["tegelijk@example.org"]]


def test_the_user_list_shows_who_has_not_activated_yet(admin, colleague_not_activated):
    page = verified_client(admin).get(reverse("beheer:user_list")).content.decode()
    row = re.search(r"<tr>\s*<td><a[^>]*>Nina Nieuw</a>.*?</tr>", page, re.S).group(0)
    assert "nog niet geactiveerd" in row
    assert "nog niet geactiveerd" not in re.search(
        r"<tr>\s*<td><a[^>]*>" + admin.display_name + r"</a>.*?</tr>", page, re.S
    ).group(0)


@pytest.fixture
def colleague_not_activated(admin):
    user = User(
        organisation=admin.organisation, role=Role.EMPLOYEE, **{k: v for k, v in NEW_USER.items() if k != "role"}
    )
    user.set_unusable_password()
    user.save()
    return user
