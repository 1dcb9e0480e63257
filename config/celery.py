import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("weerbaar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _verify_keys(**kwargs) -> None:
    """A worker with a wrong master key must not start (it would fail on every record)."""
    from privacy.crypto import verify_master_keys

    verify_master_keys()
