from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from accounts.roles import Role
from tests.conftest import verified_client


def _csp(response) -> dict[str, str]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


@pytest.mark.parametrize("url", ["/account/inloggen/", "/health/", "/bestaat-niet/"])
def test_anonymous_responses_carry_security_headers(client, url):
    response = client.get(url)
    csp = _csp(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_pages_of_logged_in_users_are_not_cached(make_user):
    response = verified_client(make_user(role=Role.COORDINATOR)).get("/")
    assert "no-store" in response["Cache-Control"]


def test_templates_have_no_inline_script_or_style():
    """The CSP forbids inline code; this catches it before a browser does."""
    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\sstyle=", text) or "<style" in text:
            offenders.append(str(path))
        if re.search(r"\son[a-z]+=", text):
            offenders.append(f"{path} (event handler attribute)")
    assert offenders == []


def test_no_external_resources_in_templates():
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), path


def test_404_page_is_dutch(client):
    response = client.get("/bestaat-niet/")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.content.decode()


def test_csrf_is_enforced_with_a_dutch_message(make_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/inloggen/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "Formulier verlopen" in response.content.decode()


@pytest.mark.django_db
def test_only_the_api_documentation_may_show_data_images(make_user):
    client = verified_client(make_user(role=Role.EMPLOYEE))

    docs = client.get("/api/v1/docs/")["Content-Security-Policy"]
    home = client.get("/")["Content-Security-Policy"]

    assert re.search(r"img-src 'self' data:(;|$)", docs)
    assert "data:" not in home and "img-src 'self'" in home
    assert "unsafe-inline" not in docs and "style-src 'self'" in docs
