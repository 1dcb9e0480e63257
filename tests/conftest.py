from __future__ import annotations

import contextlib

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.roles import Role
from tests.factories import OrganisationFactory, UserFactory, add_totp


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Encrypted files of each test go to their own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def master_keys(settings):
    """Sets the master key ring for a test: master_keys("k2:...", "k1:...")."""
    from privacy.keyring import reset_keyring_cache

    def _set(*keys: str):
        settings.WEERBAAR_MASTER_KEYS = ",".join(keys)
        reset_keyring_cache()

    yield _set
    reset_keyring_cache()


@pytest.fixture
def organisation(db):
    return OrganisationFactory(name="Gemeente Alfa")


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Gemeente Beta")


@pytest.fixture
def make_user(db):
    def _make(role: str = Role.EMPLOYEE, organisation=None, **kwargs):
        if organisation is not None:
            kwargs["organisation"] = organisation
        return UserFactory(role=role, **kwargs)

    return _make


@contextlib.contextmanager
def migrating(app: str, before: str, target: str):
    """Takes `app` back to its migration `before` and yields the models as they were then (to
    store rows the old way), then applies the migrations up to `target`. Afterwards every
    migration is applied again, for the rest of the run. For transactional tests."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    try:
        executor.migrate([(app, before)])
        yield executor.loader.project_state((app, before)).apps
        executor.loader.build_graph()
        executor.migrate([(app, target)])
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def activation_path_in(message) -> str:
    """The path of the link in an activation mail (the mail holds the product's address)."""
    import re

    from django.conf import settings

    link = re.search(r"https?://\S+", message.body).group(0)
    return link.removeprefix(settings.WEERBAAR_BASE_URL.rstrip("/"))


def verified_client(user) -> Client:
    """A client logged in as `user` with a session verified by a second factor."""
    device = user.authenticatorapp_set.filter(confirmed=True).first() or add_totp(user)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def login_as(db):
    return verified_client


@pytest.fixture
def eager_tasks():
    """Runs Celery tasks in-process for a test that checks a task's effect in the same process,
    also in the CI run where a real broker is configured (tests/test_celery_worker.py covers
    the worker path)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


TRUNCATE_TRIGGERS = {
    "audit_auditevent": "audit_auditevent_no_truncate",
    "audit_accesslog": "audit_accesslog_no_truncate",
    "audit_auditchainhead": "audit_auditchainhead_no_truncate",
}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Django empties tables with TRUNCATE between transactional tests; in the test database only,
    the audit tables' TRUNCATE triggers are switched off (tests/audit/test_chain.py switches them
    on to prove they work)."""
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for table, trigger in TRUNCATE_TRIGGERS.items():
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")


@pytest.fixture
def broker_down(monkeypatch):
    """A broker nobody listens on, without publish retries, so queuing fails at once."""
    from config.celery import app

    dead = "redis://127.0.0.1:9/0"
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration, so on a
    # run with a real broker (CI) the setting alone would not take.
    monkeypatch.setenv("CELERY_BROKER_URL", dead)

    keys = (
        "task_always_eager",
        "broker_url",
        "task_publish_retry",
        "broker_connection_retry",
        "broker_connection_timeout",
        "broker_transport_options",
    )
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(
        task_always_eager=False,
        broker_url=dead,
        task_publish_retry=False,
        broker_connection_retry=False,
        broker_connection_timeout=1,
        broker_transport_options={"max_retries": 0},
    )
    app._pool = None
    app.amqp._producer_pool = None
    assert app.connection_for_write().as_uri().endswith(":9/0"), "the dead broker did not take"
    yield
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None
