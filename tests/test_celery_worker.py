"""Tasks through a real Celery worker on a real broker (the PostgreSQL + Redis run in CI).

The worker is a separate process started here, pointed at the test database, so what it does
is visible only through the database and the mail folder, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.tasks import clear_expired_sessions
from tests.conftest import verified_client

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="geen CELERY_BROKER_URL: taken draaien in-process; CI draait deze tests met een echte worker",
    ),
]


def _database_url(db: dict) -> str:
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("de worker-test deelt de testdatabase via PostgreSQL")
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.db import connection

    mail_dir = tmp_path_factory.mktemp("mail")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(connection.settings_dict),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
    }
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool=solo", "--without-heartbeat", "--without-gossip", "--without-mingle",
            "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--loglevel=WARNING",
        ],
        cwd=settings.BASE_DIR,
        env=env,
    )  # fmt: skip
    yield mail_dir
    process.terminate()
    process.wait(timeout=30)


def _wait_for(condition, timeout: float = 60.0) -> bool:
    """Polls for the worker's effect; the deadline only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_worker_clears_expired_sessions(worker):
    Session.objects.create(session_key="verlopen", session_data="", expire_date=timezone.now() - timedelta(hours=1))
    Session.objects.create(session_key="geldig", session_data="", expire_date=timezone.now() + timedelta(hours=1))

    clear_expired_sessions.delay()

    assert _wait_for(lambda: not Session.objects.filter(session_key="verlopen").exists())
    assert Session.objects.filter(session_key="geldig").exists()


@pytest.mark.django_db(transaction=True)
def test_account_creation_queues_the_activation_mail_on_commit(worker, make_user):
    admin = make_user(role=Role.ADMIN)
    response = verified_client(admin).post(
        reverse("beheer:user_create"),
        {
            "username": "via.worker",
            "first_name": "W",
            "last_name": "Orker",
            "email": "w@example.org",
            "role": Role.EMPLOYEE,
        },
    )
    assert response.status_code == 302

    assert _wait_for(lambda: any(Path(worker).iterdir()))
    message = next(Path(worker).iterdir()).read_text()
    assert "w@example.org" in message
    assert "/account/activeren/" in message
    from accounts.models import ActivationMail, ActivationMailStatus

    sent = ActivationMail.objects.filter(user__username="via.worker", status=ActivationMailStatus.SENT)
    assert _wait_for(sent.exists)  # the worker marked the outbox row


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_a_wrong_master_key_does_not_start():
    """Celery logs an exception in a start-up handler and starts anyway: the worker must stop."""
    from django.db import connection

    from privacy.crypto import ensure_master_key_check
    from privacy.keyring import checked_key_ids, keyring, new_key_text

    key_id = keyring().current_id
    checked_key_ids.discard(key_id)
    ensure_master_key_check(key_id)  # committed: the worker reads it
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(connection.settings_dict),
        "WEERBAAR_MASTER_KEYS": f"{key_id}:{new_key_text()}",
    }
    finished = subprocess.run(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool=solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip

    assert finished.returncode != 0
    assert f"Hoofdsleutel '{key_id}'" in finished.stderr and "past niet bij de database" in finished.stderr
