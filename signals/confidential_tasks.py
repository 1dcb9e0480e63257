"""Mailing about messages, a link and never content: the coordinators when a reporter sends a
message, the employee who reported when a coordinator asks a question (a reporter without an
account has no address and is never mailed). The message row is its own outbox (notified_at); a
sweep sends what was never queued.

Registered with the worker through CELERY_IMPORTS (config/settings.py, Meldpunt block)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.mail import queue_or_leave_for_sweep, send_each_pending, send_mail
from signals.models import Channel, MessageDirection, SignalMessage
from signals.selectors import coordinator_emails, messages_handler

logger = logging.getLogger(__name__)


def queue_reporter_message_notification(message_id: int) -> None:
    queue_or_leave_for_sweep(send_reporter_message_notification, message_id, what="notification of message")


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_reporter_message_notification(message_id: int) -> bool:
    with transaction.atomic():
        message = (
            SignalMessage.objects.select_for_update(of=("self",))
            .select_related("signal__handler", "sent_by")
            .filter(pk=message_id, direction=MessageDirection.FROM_REPORTER)
            .first()
        )
        if message is None or message.notified_at is not None:
            return False  # already sent (the task ran twice) or the signal is gone
        signal = message.signal
        writer = message.sent_by.email if message.sent_by else None  # a coordinator who reported it
        handler = messages_handler(signal)
        if handler is not None and handler.email != writer:
            coordinators = [handler.email]  # the signal's handler reads it; the others need not be told
        else:
            coordinators = coordinator_emails(organisation_id=signal.organisation_id)
        recipients = [email for email in coordinators if email != writer]
        if not recipients and coordinators:
            # The writer is the organisation's only coordinator: nobody else to tell.
            message.notified_at = timezone.now()
            message.save(update_fields=["notified_at"])
            return False
        link = settings.WEERBAAR_BASE_URL.rstrip("/") + reverse(
            "signals:confidential_messages", kwargs={"pk": signal.pk}
        )
        if not recipients:
            return False  # nobody to tell yet: the sweep tries again
        send_mail(
            subject="Weerbaar: nieuw bericht van een melder",
            message=f"Een melder heeft een bericht gestuurd bij een signaal.\n\nLees het in Weerbaar:\n{link}\n",
            from_email=None,
            recipient_list=recipients,
        )
        message.notified_at = timezone.now()
        message.save(update_fields=["notified_at"])
    return True


def queue_reporter_question_notification(message_id: int) -> None:
    queue_or_leave_for_sweep(send_reporter_question_notification, message_id, what="notification of question")


#: A question not mailed within this time (the broker was down, the account blocked) is not mailed
#: any more: the reporter may read it at Mijn meldingen, a mail about it weeks later misleads.
QUESTION_MAIL_WINDOW = timedelta(days=7)


def _questions_to_mail():
    """Questions to an employee who reported, not mailed, not read and not stale."""
    return SignalMessage.objects.filter(
        direction=MessageDirection.TO_REPORTER,
        signal__channel=Channel.WEB_FORM,
        notified_at__isnull=True,
        read_at__isnull=True,
        created_at__gte=timezone.now() - QUESTION_MAIL_WINDOW,
    )


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_reporter_question_notification(message_id: int) -> bool:
    """Mails the employee who reported that a coordinator asked something: a link to the report
    at Mijn meldingen, without the question, the reference or any name. Not when they read it
    already, or can no longer open the report (blocked, another role or organisation)."""
    from signals.confidential_services import QuestionRoute, question_route

    with transaction.atomic():
        message = (
            _questions_to_mail()
            .select_for_update(of=("self",))
            .select_related("signal__reporter")
            .filter(pk=message_id)
            .first()
        )
        if message is None or question_route(message.signal) != QuestionRoute.ACCOUNT:
            return False  # sent or read already, stale, the signal gone, or the reporter out of reach
        signal = message.signal
        link = settings.WEERBAAR_BASE_URL.rstrip("/") + reverse("signals:mine_detail", kwargs={"pk": signal.pk})
        send_mail(
            subject="Weerbaar: een vraag over uw melding",
            message=(
                "De coördinator van het meldpunt heeft een vraag over een melding die u deed.\n\n"
                f"Lees en beantwoord de vraag in Weerbaar:\n{link}\n"
            ),
            from_email=None,
            recipient_list=[signal.reporter.email],
        )
        message.notified_at = timezone.now()
        message.save(update_fields=["notified_at"])
    return True


@shared_task(acks_late=True)
def send_pending_reporter_message_notifications() -> int:
    """Every few minutes: notifications whose task was never queued (broker was down), of
    reporters' messages and of questions to employees who reported."""
    cutoff = timezone.now() - timedelta(minutes=1)
    messages = SignalMessage.objects.filter(
        direction=MessageDirection.FROM_REPORTER, notified_at__isnull=True, created_at__lte=cutoff
    )
    questions = _questions_to_mail().filter(created_at__lte=cutoff)
    return send_each_pending(
        list(messages.order_by("pk").values_list("pk", flat=True)),
        send_reporter_message_notification,
        what="reporter message notification",
    ) + send_each_pending(
        list(questions.order_by("pk").values_list("pk", flat=True)),
        send_reporter_question_notification,
        what="question notification",
    )
