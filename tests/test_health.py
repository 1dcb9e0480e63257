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


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "broker": "error"}
