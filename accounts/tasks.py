from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import ActivationMail, ActivationMailStatus
from config.mail import failure_kind, send_each_pending

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def send_outbox_activation_mail(mail_id: int) -> bool:
    """Sends one activation mail of the outbox. No retry of its own: after a failure the sweep
    tries again, later each time (accounts.services.activation_retry_delay)."""
    from accounts.services import activation_mail_send

    return _logged(mail_id, lambda: activation_mail_send(mail_id))


@shared_task(acks_late=True)
def send_activation_mail(user_id: int) -> bool:
    """The task of before the outbox, whose messages name the account: kept so that messages
    still queued at a deploy are sent (remove it a release later)."""
    from accounts.services import activation_mail_for_account

    return _logged(f"for user {user_id}", lambda: activation_mail_for_account(user_id))


def _logged(what, send) -> bool:
    try:
        return send()
    except Exception as error:
        # The kind only: a mail error can quote the address. The row says the same to the page.
        logger.warning("activation mail %s not sent (%s); the sweep tries again", what, failure_kind(error))
        return False


@shared_task(acks_late=True)
def send_pending_activation_mails() -> int:
    """Every five minutes: the activation mails whose task was never queued (broker down) or
    failed, once their next attempt is due."""
    from accounts.services import ACTIVATION_MAIL_DAYS, activation_mail_send

    now = timezone.now()
    due = (
        ActivationMail.objects.filter(
            status=ActivationMailStatus.PENDING,
            next_attempt_at__lte=now,
            requested_at__lte=now - timedelta(minutes=1),  # not the ones a task is sending now
            requested_at__gte=now - timedelta(days=ACTIVATION_MAIL_DAYS),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return send_each_pending(list(due), lambda pk: activation_mail_send(pk, due_only=True), what="activation mail")


@shared_task
def clear_expired_sessions() -> int:
    """Removes expired sessions from the database (hourly in the beat schedule)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted
