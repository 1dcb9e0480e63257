from __future__ import annotations

import json
import logging
import os
import smtplib
import tempfile
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from accounts.models import User
from accounts.roles import Role
from audit.selectors import audit_chain_anchor, audit_chain_check_anchor, audit_chain_verify

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3300)
def verify_audit_chain_nightly() -> bool:
    """Nightly: verifies every chain, and compares it with the anchor the previous night left in
    WEERBAAR_AUDIT_ANCHOR_FILE (outside the database): events taken off the end of a chain, with
    its head moved back, leave a chain that verifies on its own. On a break, the platform
    administrators are told, and the privacy officers of the organisation whose chain broke, each
    in their own mail (ids only); the anchor is kept as it was."""
    report = audit_chain_verify()
    if not report.ok:
        logger.error("audit chain broken: %s", report.problem)
        _alert([str(report.problem)], [report.problem.chain])
        return False
    anchor_file = Path(settings.WEERBAAR_AUDIT_ANCHOR_FILE)
    try:
        previous = _read_anchor(anchor_file)
    except ValueError as unreadable:
        # Changed or damaged outside the product: no comparison is possible, which is no success.
        logger.error("audit anchor unreadable: %s", unreadable)
        _alert([str(unreadable)], [])
        return False
    if previous is not None:
        problems = audit_chain_check_anchor(previous)
        if problems:
            logger.error("audit chain does not match last night's anchor: %s", "; ".join(problems))
            _alert(problems, [chain for chain, _ in sorted(previous.items()) if _named(chain, problems)])
            return False
    anchor = audit_chain_anchor()
    _write_anchor(anchor_file, anchor)
    # The heads go to the log as well, which lives outside the database too (ids and hashes only).
    logger.info(
        "audit chain verified: %d events in %d chains; anchor %s",
        report.checked,
        report.chains,
        json.dumps(anchor, separators=(",", ":")),
    )
    return True


def _named(chain: str, problems: list[str]) -> bool:
    return any(problem.startswith(f"keten {chain}:") for problem in problems)


def _read_anchor(path: Path) -> dict | None:
    """Last night's anchor, None before the first night; ValueError (in Dutch) when the file is
    there but cannot be read as one."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        logger.warning("no audit anchor at %s yet: tonight's check starts one", path)
        return None
    except OSError as error:
        raise ValueError(f"Het anker van de audittrail ({path}) is niet te lezen: {type(error).__name__}.") from None
    try:
        anchor = json.loads(text)
    except ValueError:
        anchor = None
    if not isinstance(anchor, dict) or not all(
        isinstance(chain, str)
        and isinstance(link, list)
        and len(link) == 2
        and isinstance(link[0], int)
        and isinstance(link[1], str)
        for chain, link in anchor.items()
    ):
        raise ValueError(f"Het anker van de audittrail ({path}) is beschadigd of gewijzigd: het is geen anker meer.")
    return anchor


def _write_anchor(path: Path, anchor: dict) -> None:
    """Replaces the anchor file in one step (a new file renamed over it): a crash half-way leaves
    last night's anchor, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(anchor, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _alert(problems: list[str], chains: list[str]) -> None:
    message = (
        "De nachtelijke controle van de audittrail vond een onderbreking:\n"
        + "\n".join(problems)
        + f"\n\nControleer met: python manage.py verify_audit_chain\n{settings.WEERBAAR_BASE_URL}"
    )
    active = User.objects.filter(is_active=True).exclude(email="")
    recipients = set(active.filter(is_superuser=True).values_list("email", flat=True))
    organisations = [int(chain.removeprefix("org:")) for chain in chains if chain.startswith("org:")]
    if organisations:
        officers = active.filter(organisation_id__in=organisations, role=Role.PRIVACY_OFFICER)
        recipients |= set(officers.values_list("email", flat=True))
    # Each recipient alone: nobody learns another's address; one refused address does not keep
    # the alert from the others.
    for recipient in sorted(recipients):
        try:
            send_mail("Weerbaar: audittrail niet intact", message, None, [recipient])
        except (OSError, smtplib.SMTPException) as error:
            logger.error("audit alert not delivered to one recipient: %s", type(error).__name__)
