"""Production configuration: refuses to start without its secrets, and passes check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

GOOD_PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "p" * 30 + "-production-secret-for-the-test-only-xyz",
    "DATABASE_URL": "postgres://weerbaar@127.0.0.1:5432/weerbaar",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "weerbaar.example.nl",
    "WEERBAAR_BASE_URL": "https://weerbaar.example.nl",
    "WEERBAAR_MASTER_KEYS": "k1:" + "A" * 43,
    "WEERBAAR_BLIND_INDEX_KEY": "B" * 43,
    "WEERBAAR_PSEUDONYM_KEY": "C" * 43,
    "WEERBAAR_AUDIT_KEY": "D" * 43,
    "WEERBAAR_CACHE_URL": "redis://127.0.0.1:6379/1",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "WEERBAAR_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "DJANGO_ALLOWED_HOSTS",
        "WEERBAAR_BASE_URL",
        "WEERBAAR_MASTER_KEYS",
        "WEERBAAR_BLIND_INDEX_KEY",
        "WEERBAAR_PSEUDONYM_KEY",
        "WEERBAAR_AUDIT_KEY",
        "WEERBAAR_CACHE_URL",
    ],
)
def test_production_refuses_to_start_and_names_the_missing_variable(missing):
    env = {k: v for k, v in GOOD_PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert f"De instelling {missing} ontbreekt" in result.stderr


def test_production_names_every_missing_variable_at_once():
    missing = ("DATABASE_URL", "WEERBAAR_AUDIT_KEY", "WEERBAAR_CACHE_URL")
    env = {k: v for k, v in GOOD_PRODUCTION_ENV.items() if k not in missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "De instellingen DATABASE_URL, WEERBAAR_CACHE_URL en WEERBAAR_AUDIT_KEY ontbreken" in result.stderr


def test_every_variable_production_requires_is_in_the_example_environment_and_the_tests():
    from config.settings import PRODUCTION_REQUIRED

    example = (settings.BASE_DIR / ".env.example").read_text()
    for name in PRODUCTION_REQUIRED:
        assert f"{name}=" in example, f"{name} is not in .env.example"
    assert set(PRODUCTION_REQUIRED) <= set(GOOD_PRODUCTION_ENV)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "sqlite:////tmp/weerbaar.sqlite3", "DATABASE_URL moet in productie naar PostgreSQL wijzen"),
        ("WEERBAAR_BASE_URL", "weerbaar.example.nl", "begint met https://"),
        ("WEERBAAR_BASE_URL", "http://weerbaar.example.nl", "begint met https://"),
        ("WEERBAAR_CACHE_URL", "127.0.0.1:6379/1", "WEERBAAR_CACHE_URL is een Redis-adres"),
    ],
)
def test_production_refuses_addresses_it_cannot_work_with(variable, value, message):
    result = _manage("check", env={**GOOD_PRODUCTION_ENV, variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_a_mail_server_that_does_not_answer_times_out():
    assert settings.EMAIL_TIMEOUT == 10


def test_production_refuses_a_short_secret_key():
    result = _manage("check", env={**GOOD_PRODUCTION_ENV, "DJANGO_SECRET_KEY": "kort"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY moet minstens 50 tekens" in result.stderr


def test_production_refuses_the_example_base_url():
    result = _manage("check", env={**GOOD_PRODUCTION_ENV, "WEERBAAR_BASE_URL": "http://127.0.0.1:8000"})
    assert result.returncode != 0
    assert "WEERBAAR_BASE_URL wijst naar deze machine" in result.stderr


def test_production_refuses_debug():
    result = _manage("check", env={**GOOD_PRODUCTION_ENV, "DJANGO_DEBUG": "true"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=GOOD_PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_passwords_are_hashed_with_argon2_in_the_product():
    import config.settings as product_settings

    assert product_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_embedded_default_is_sqlite_with_in_process_tasks():
    if os.environ.get("DATABASE_URL") or os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("this run uses external services on purpose")
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings.CELERY_TASK_ALWAYS_EAGER is True


@pytest.mark.django_db
def test_embedded_sqlite_writes_ahead_and_syncs_every_commit():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the embedded default only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
    assert (journal_mode, synchronous) == ("wal", 2)  # 2 = FULL
