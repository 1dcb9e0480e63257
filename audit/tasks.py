from __future__ import annotations

import json
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from accounts.models import User
from accounts.roles import Role
from audit.selectors import audit_chain_anchor, audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3300)
def verify_audit_chain_nightly() -> bool:
    """Nightly: verifies every chain. On a break, the platform administrators are told, and the
    privacy officers of the organisation whose chain broke, each in their own mail (ids only)."""
    report = audit_chain_verify()
    if report.ok:
        # The heads go to the log, which lives outside the database: an anchor against taking
        # events off the end of a chain (verify_audit_chain --anchor). Ids and hashes only.
        logger.info(
            "audit chain verified: %d events in %d chains; anchor %s",
            report.checked,
            report.chains,
            json.dumps(audit_chain_anchor(), separators=(",", ":")),
        )
        return True
    logger.error("audit chain broken: %s", report.problem)
    message = (
        "De nachtelijke controle van de audittrail vond een onderbreking:\n"
        f"{report.problem}\n\nControleer met: python manage.py verify_audit_chain\n{settings.WEERBAAR_BASE_URL}"
    )
    active = User.objects.filter(is_active=True).exclude(email="")
    audiences = [list(active.filter(is_superuser=True).values_list("email", flat=True))]
    chain = report.problem.chain
    if chain.startswith("org:"):
        organisation_id = int(chain.removeprefix("org:"))
        audiences.append(
            list(
                active.filter(organisation_id=organisation_id, role=Role.PRIVACY_OFFICER).values_list(
                    "email", flat=True
                )
            )
        )
    for recipients in audiences:
        if recipients:
            # Each recipient alone: nobody learns another's address.
            for recipient in recipients:
                send_mail("Weerbaar: audittrail niet intact", message, None, [recipient])
    return False
