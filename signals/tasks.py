from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from config.mail import queue_or_leave_for_sweep, send_each_pending, send_mail
from signals.attachments import ScannerUnavailable
from signals.models import Attachment, CoordinatorNotification, HandlerNotification, ScanStatus, SignalStatus
from signals.selectors import coordinator_emails

logger = logging.getLogger(__name__)


def queue_notification(notification_id: int) -> None:
    queue_or_leave_for_sweep(send_coordinator_notification, notification_id, what="notification")


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_coordinator_notification(notification_id: int) -> bool:
    """Mails the organisation's coordinators a link to the new signal: no content, no names."""
    with transaction.atomic():
        notification = (
            CoordinatorNotification.objects.select_for_update()
            .select_related("signal")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.sent_at is not None:
            return False  # already sent (the task ran twice) or the signal is gone
        signal = notification.signal
        recipients = coordinator_emails(organisation_id=signal.organisation_id)
        link = settings.WEERBAAR_BASE_URL.rstrip("/") + reverse("signals:detail", kwargs={"pk": signal.pk})
        if not recipients:
            # Nobody to tell yet: the sweep tries again, so a coordinator added later still hears of it.
            logger.warning("notification %s: organisation has no coordinator with an e-mail address", notification_id)
            return False
        send_mail(
            subject="Weerbaar: nieuw signaal ontvangen",
            message=f"Er is een nieuw signaal binnengekomen bij het meldpunt.\n\nBekijk het in Weerbaar:\n{link}\n",
            from_email=None,
            recipient_list=recipients,
        )
        notification.sent_at = timezone.now()
        notification.save(update_fields=["sent_at"])
    return True


@shared_task(acks_late=True)
def send_pending_notifications() -> int:
    """Every few minutes: sends notifications whose task was never queued (broker was down) or
    whose task failed."""
    cutoff = timezone.now() - timedelta(minutes=1)
    pending = (
        CoordinatorNotification.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return send_each_pending(list(pending), send_coordinator_notification, what="notification")


@shared_task(acks_late=True, autoretry_for=(ScannerUnavailable,), retry_backoff=True, max_retries=10)
def scan_attachment(attachment_id: int) -> str:
    from signals.services import attachment_scan

    return attachment_scan(attachment_id=attachment_id)


@shared_task(acks_late=True)
def scan_pending_attachments() -> int:
    """Hourly: rescans files still in quarantine (scanner was down at upload)."""
    pending = list(Attachment.objects.filter(scan_status=ScanStatus.PENDING).values_list("pk", flat=True))
    for pk in pending:
        try:
            scan_attachment(pk)
        except ScannerUnavailable:
            logger.warning("clamd still unreachable; %d files wait in quarantine", len(pending))
            break
    return len(pending)


@shared_task(acks_late=True)
def reindex_stale_subjects() -> int:
    """Nightly: recomputes the indexes of subjects stored under older normalisation rules, or
    before the search by name existed (after an upgrade), so old signals keep being found with new
    ones about the same person, company, address or vehicle, and by name. Returns how many indexes
    changed."""
    from signals.services import subjects_reindex

    counts = subjects_reindex(stale_only=True)
    if counts["refused"]:
        logger.warning("%s subject(s) could not be indexed with today's rules", counts["refused"])
    return counts["changed"]


#: A handler's mail not sent within this time is not sent any more: the signal is on their list.
HANDLER_MAIL_WINDOW = timedelta(days=7)


def queue_handler_notification(notification_id: int) -> None:
    queue_or_leave_for_sweep(send_handler_notification, notification_id, what="handler notification")


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def send_handler_notification(notification_id: int) -> bool:
    """Mails the coordinator a colleague made handler of a signal: a link, no content, no names.
    Not when the signal has another handler by now, was assigned again since (B, C, B again: one
    mail), is afgerond, or they are no active coordinator of it."""
    from signals.services import coordinators_of

    with transaction.atomic():
        notification = (
            HandlerNotification.objects.select_for_update(of=("self",))
            .select_related("signal", "handler")
            .filter(pk=notification_id, sent_at__isnull=True, created_at__gte=timezone.now() - HANDLER_MAIL_WINDOW)
            .first()
        )
        if notification is None:
            return False  # sent already, stale, or the signal is gone
        signal, handler = notification.signal, notification.handler
        superseded = HandlerNotification.objects.filter(signal=signal, pk__gt=notification.pk).exists()
        still = bool(
            not superseded  # assigned again since: that one's mail, if any, is the one to send
            and signal.status != SignalStatus.CLOSED
            and signal.handler_id == handler.pk
            and handler.email
            and coordinators_of(signal.organisation_id).filter(pk=handler.pk).exists()
        )
        if still:
            link = settings.WEERBAAR_BASE_URL.rstrip("/") + reverse("signals:detail", kwargs={"pk": signal.pk})
            send_mail(
                subject="Weerbaar: een signaal is aan u toegewezen",
                message=f"Een collega heeft u behandelaar gemaakt van een signaal.\n\nBekijk het in Weerbaar:\n{link}\n",
                from_email=None,
                recipient_list=[handler.email],
            )
        notification.sent_at = timezone.now()  # sent, or no longer to be sent: done either way
        notification.save(update_fields=["sent_at"])
    return still


@shared_task(acks_late=True)
def send_pending_handler_notifications() -> int:
    """Every few minutes: handler mails whose task was never queued (broker was down)."""
    now = timezone.now()
    pending = (
        HandlerNotification.objects.filter(
            sent_at__isnull=True, created_at__lte=now - timedelta(minutes=1), created_at__gte=now - HANDLER_MAIL_WINDOW
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return send_each_pending(list(pending), send_handler_notification, what="handler notification")


@shared_task(acks_late=True)
def destroy_expired_held_files() -> int:
    """Every hour: the files held for forms that were never sent again, or sent without them
    (signals.held_files)."""
    from signals.held_files import leftover_held_files_destroy

    return leftover_held_files_destroy()
