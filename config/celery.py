import logging
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("weerbaar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


@worker_init.connect
def _verify_keys(**kwargs) -> None:
    """A worker with a wrong or missing master key must not start (it would fail on every record),
    nor one that cannot read its database. Celery logs an exception raised by a signal handler and
    starts anyway, so this ends the process itself."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from privacy.crypto import verify_master_keys

    try:
        verify_master_keys()
    except (ImproperlyConfigured, DatabaseError) as error:
        # The messages name a key id or the database error's type, never a key.
        reason = str(error) if isinstance(error, ImproperlyConfigured) else type(error).__name__
        logger.critical("De worker start niet: %s", reason)
        raise SystemExit(f"De worker start niet: {reason}") from None
