"""The coordinators' notification: a link only, sent once, and never lost when the broker is down."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.test import override_settings
from django.utils import timezone

from accounts.roles import Role
from signals.models import CoordinatorNotification
from signals.tasks import queue_notification, send_coordinator_notification, send_pending_notifications
from tests.factories import make_signal

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user, organisation, other_organisation):
    employee = make_user(role=Role.EMPLOYEE, organisation=organisation)
    make_user(role=Role.COORDINATOR, organisation=organisation, email="coord@example.org")
    make_user(role=Role.COORDINATOR, organisation=other_organisation, email="elders@example.org")
    return employee


def test_only_the_organisations_coordinators_get_a_link(people, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signal = make_signal(people, description="Vertrouwelijk: hennepkwekerij")
    assert [m.to for m in mail.outbox] == [["coord@example.org"]]
    assert "hennep" not in mail.outbox[0].body and signal.reference not in mail.outbox[0].body


def test_sending_twice_sends_once(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        signal = make_signal(people)
    notification = CoordinatorNotification.objects.get(signal=signal)
    assert send_coordinator_notification(notification.pk) is True
    assert send_coordinator_notification(notification.pk) is False
    assert len(mail.outbox) == 1


def test_broker_down_keeps_the_signal_and_the_sweep_sends_later(
    people, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signal = make_signal(people)  # queuing fails on commit: logged, not raised

    notification = CoordinatorNotification.objects.get(signal=signal)
    assert notification.sent_at is None and mail.outbox == []

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_notifications() == 1
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.sent_at is not None


def test_queue_notification_never_raises_when_the_broker_is_down(
    people, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        signal = make_signal(people)
    queue_notification(CoordinatorNotification.objects.get(signal=signal).pk)  # must not raise


def test_without_a_coordinator_the_notification_waits_for_one(
    make_user, organisation, django_capture_on_commit_callbacks
):
    employee = make_user(role=Role.EMPLOYEE, organisation=organisation)
    with django_capture_on_commit_callbacks(execute=False):
        signal = make_signal(employee)
    notification = CoordinatorNotification.objects.get(signal=signal)
    assert send_coordinator_notification(notification.pk) is False
    notification.refresh_from_db()
    assert notification.sent_at is None

    make_user(role=Role.COORDINATOR, organisation=organisation, email="nieuw@example.org")
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_notifications() == 1
    assert [m.to for m in mail.outbox] == [["nieuw@example.org"]]


@pytest.mark.parametrize("answers", [False, True], ids=["broker-hangs", "broker-refuses"])
def test_queuing_gives_up_on_a_broker_that_hangs_or_refuses(tmp_path, answers):
    """The product's own broker settings (not the fixture's): a Redis that accepts the connection
    but never answers must not hold the reporter's request; the outbox sweep sends later. Run in a
    fresh process so the settings are read as in production; the subprocess timeout only bounds a
    hang, it measures nothing."""
    import os
    import socket
    import subprocess
    import sys

    from django.conf import settings

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if answers:
        listener.close()  # nothing listens: the connection is refused
    else:
        listener.listen(16)  # connections complete in the backlog, nothing ever replies
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "WEERBAAR_VAR_DIR": str(tmp_path / "var"),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
    }
    code = "import django; django.setup(); from signals.tasks import queue_notification; queue_notification(1)"
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    assert "notification 1 not queued (broker unreachable)" in result.stderr


class RefusingMailServer(locmem.EmailBackend):
    """The mail server refuses one address, as a real one refuses an unknown mailbox."""

    def send_messages(self, messages):
        for message in messages:
            if "weigert@example.org" in message.recipients():
                raise smtplib.SMTPRecipientsRefused({"weigert@example.org": (550, b"no such user")})
        return super().send_messages(messages)


@override_settings(EMAIL_BACKEND=f"{__name__}.RefusingMailServer")
def test_a_notification_the_mail_server_refuses_does_not_hold_up_the_others(
    make_user, organisation, other_organisation, django_capture_on_commit_callbacks, caplog
):
    make_user(role=Role.COORDINATOR, organisation=organisation, email="weigert@example.org")
    make_user(role=Role.COORDINATOR, organisation=other_organisation, email="elders@example.org")
    with django_capture_on_commit_callbacks(execute=False):
        refused = make_signal(make_user(role=Role.EMPLOYEE, organisation=organisation))
        fine = make_signal(make_user(role=Role.EMPLOYEE, organisation=other_organisation))

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert send_pending_notifications() == 1

    assert [m.to for m in mail.outbox] == [["elders@example.org"]]
    assert CoordinatorNotification.objects.get(signal=fine).sent_at is not None
    assert CoordinatorNotification.objects.get(signal=refused).sent_at is None  # the next sweep tries again
    assert "not sent (SMTPRecipientsRefused)" in caplog.text and "weigert@" not in caplog.text


def test_a_refused_mail_is_retried_without_the_addresses_in_the_error(monkeypatch):
    """Celery logs a failed task's exception on every retry; an SMTPRecipientsRefused names the
    recipients. The tasks send through config.mail, which keeps only the kind of failure."""
    import smtplib

    from django.core import mail as django_mail

    from config.mail import MailNotSent, send_mail

    def refuse(**kwargs):
        raise smtplib.SMTPRecipientsRefused({"coordinator@example.org": (550, b"no such user")})

    monkeypatch.setattr(django_mail, "send_mail", refuse)
    with pytest.raises(MailNotSent) as raised:
        send_mail(subject="s", message="m", from_email=None, recipient_list=["coordinator@example.org"])
    assert isinstance(raised.value, OSError)  # the tasks' autoretry_for=(OSError,) retries it
    assert "example.org" not in repr(raised.value) and "SMTPRecipientsRefused" in str(raised.value)
    assert raised.value.__suppress_context__
    from accounts import services as account_services
    from signals import confidential_tasks
    from signals import tasks as signal_tasks

    assert account_services.send_mail is signal_tasks.send_mail is confidential_tasks.send_mail is send_mail
