"""The coordinators' notification: a link only, sent once, and never lost when the broker is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
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


@pytest.fixture
def broker_down():
    """A broker nobody listens on, without publish retries, so queuing fails at once."""
    from config.celery import app

    keys = (
        "task_always_eager",
        "broker_url",
        "task_publish_retry",
        "broker_connection_retry",
        "broker_connection_timeout",
        "broker_transport_options",
    )
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(
        task_always_eager=False,
        broker_url="redis://127.0.0.1:9/0",
        task_publish_retry=False,
        broker_connection_retry=False,
        broker_connection_timeout=1,
        broker_transport_options={"max_retries": 0},
    )
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None


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
