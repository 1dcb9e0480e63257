"""Sending mail from tasks without the recipients' addresses in the worker's log."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable

from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail

logger = logging.getLogger(__name__)


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


def queue_or_leave_for_sweep(task, pk: int, *, what: str) -> None:
    """Queues `task` for the outbox row `pk` (called on commit). When the broker is down the row
    stays unsent, which is logged by id only, and the periodic sweep sends it once it is back."""
    try:
        task.delay(pk)
    except Exception:
        logger.warning("%s %s not queued (broker unreachable); the sweep will send it", what, pk)


def send_each_pending(ids: Iterable[int], send: Callable[[int], bool], *, what: str) -> int:
    """Sends pending notifications one by one, for the sweeps. One that fails (an address the mail
    server refuses, a mail server that is briefly away) is logged by id and left for the next
    sweep; the others, of every organisation, still go. Returns how many were sent."""
    sent = 0
    for pk in ids:
        try:
            sent += bool(send(pk))
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: stop, the next sweep goes on
        except Exception as error:
            # The type only: a mail error can quote the addresses.
            logger.warning("%s %s not sent (%s); the next sweep tries again", what, pk, failure_kind(error))
    return sent


# What the kinds of failure mean, for a page that tells an administrator why a mail did not go.
_FAILURE_TEXTS = {
    "SMTPRecipientsRefused": "de mailserver weigerde het e-mailadres",
    "SMTPSenderRefused": "de mailserver weigerde het afzendadres van Weerbaar",
    "SMTPAuthenticationError": "de mailserver weigerde de aanmelding van Weerbaar",
    "SMTPDataError": "de mailserver weigerde het bericht",
}
_UNREACHABLE = {
    "SMTPConnectError",
    "SMTPServerDisconnected",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "TimeoutError",
    "gaierror",
    "OSError",
}


def failure_text(kind: str) -> str:
    """A failure kind (failure_kind) in plain Dutch."""
    if kind in _UNREACHABLE:
        return "de mailserver was niet bereikbaar"
    return _FAILURE_TEXTS.get(kind, "de mailserver gaf een fout")
