from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from privacy import services
from privacy.files import orphan_file_folders_delete

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def purge_expired_records() -> int:
    """Daily: destroys records whose retention term ended. Safe to run twice."""
    done = services.purge_expired(removed_by="taak purge_expired_records")
    orphan_file_folders_delete()
    return len(done)


@shared_task(acks_late=True)
def send_retention_reminders() -> int:
    """Daily: tells each organisation's privacy officers that records near destruction (a count and
    a link; nothing about the records themselves)."""
    due: dict[int, list] = {}
    for _, record in services.records_due_for_reminder():
        due.setdefault(record.organisation_id, []).append(record)
    link = settings.WEERBAAR_BASE_URL.rstrip("/") + reverse("audit:retention")
    for organisation_id, records in due.items():
        recipients = list(
            User.objects.filter(organisation_id=organisation_id, role=Role.PRIVACY_OFFICER, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        if not recipients:
            # Not marked as reminded: tomorrow's run tries again, so a privacy officer added later
            # still hears of it before the records go.
            logger.warning(
                "retention reminder for %s records of organisation %s not sent: no privacy officer "
                "with an e-mail address",
                len(records),
                organisation_id,
            )
            due[organisation_id] = []
            continue
        try:
            send_mail(
                subject="Weerbaar: bewaartermijnen lopen af",
                message=f"Er lopen binnenkort {len(records)} bewaartermijnen af. Bekijk ze in Weerbaar:\n{link}\n",
                from_email=None,
                recipient_list=recipients,
            )
        except (OSError, smtplib.SMTPException) as error:
            # Not marked: tomorrow's run tries again; the other organisations still get theirs.
            logger.error("retention reminder for organisation %s not sent: %s", organisation_id, type(error).__name__)
            due[organisation_id] = []
            continue
        with transaction.atomic():
            for record in records:
                type(record)._base_manager.filter(pk=record.pk).update(retention_reminded_at=timezone.now())
    return sum(len(r) for r in due.values())
