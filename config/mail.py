"""Sending mail from tasks without the recipients' addresses in the worker's log."""

from __future__ import annotations

import smtplib

from django.core import mail


class MailNotSent(OSError):
    """The mail server refused or failed; only the kind of failure, never the addresses (an
    SMTPRecipientsRefused names them, and Celery logs an exception's repr on every retry). An
    OSError, so the tasks' autoretry_for=(OSError,) retries it."""

    def __init__(self, kind: str):
        super().__init__(f"de mailserver weigerde of faalde: {kind}")
        self.kind = kind


def failure_kind(error: BaseException) -> str:
    """What went wrong, for a log line: the SMTP error's type, never its addresses."""
    return getattr(error, "kind", type(error).__name__)


def send_mail(**kwargs) -> int:
    try:
        return mail.send_mail(**kwargs)
    except smtplib.SMTPException as error:
        raise MailNotSent(type(error).__name__) from None
