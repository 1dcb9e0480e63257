from __future__ import annotations

import os

import pytest


@pytest.mark.django_db
def test_health_reports_database_and_broker(client):
    response = client.get("/health/")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert data["database"] == "ok"
    expected = "ok" if os.environ.get("CELERY_BROKER_URL") else "in-process"
    assert data["broker"] == expected
    assert data["cache"] == "ok"


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "broker": "error", "cache": "ok"}


@pytest.mark.django_db
def test_health_is_503_when_the_cache_is_unreachable(client, settings):
    """The public pages' rate limits live in the cache: without it they answer 500."""
    # (Django's test signals give the cache handler the new setting, and the old one back after.)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["cache"] == "error"
