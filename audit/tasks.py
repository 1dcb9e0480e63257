from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q

from accounts.models import User
from accounts.roles import Role
from audit.selectors import audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3300)
def verify_audit_chain_nightly() -> bool:
    """Nightly: verifies every chain; on a break, alerts platform administrators and the
    privacy officers (ids only, no content)."""
    report = audit_chain_verify()
    if report.ok:
        logger.info("audit chain verified: %d events in %d chains", report.checked, report.chains)
        return True
    logger.error("audit chain broken: %s", report.problem)
    recipients = list(
        User.objects.filter(Q(is_superuser=True) | Q(role=Role.PRIVACY_OFFICER), is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(
            subject="Weerbaar: audittrail niet intact",
            message=(
                "De nachtelijke controle van de audittrail vond een onderbreking:\n"
                f"{report.problem}\n\nControleer met: python manage.py verify_audit_chain\n"
                f"{settings.WEERBAAR_BASE_URL}"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    return False
