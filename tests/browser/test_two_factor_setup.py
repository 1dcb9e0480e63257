"""A new employee sets up the authenticator app in a real browser, reading the key off the page."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SETUP_PATH = "/account/tweestapsverificatie/"
# What the page shows: base32 in groups of four, e.g. "ABCD EFGH IJKL ...".
SECRET_PATTERN = re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})*$")


def code_from_secret(secret: str) -> str:
    """Does what the authenticator app does with the typed-over key: 6 digits, 30-second steps."""
    raw = secret.replace(" ", "")
    key = base64.b32decode(raw + "=" * (-len(raw) % 8))
    return f"{totp(key, step=30, digits=6):06d}"


def test_new_employee_sets_up_authenticator_app_and_gets_backup_codes(
    page, base_url, transactional_db, log_in, axe_check, problems
):
    employee = UserFactory(role=Role.EMPLOYEE, first_name="Jan", last_name="de Vries")

    log_in(page, employee.username)  # no device yet: password only

    expect(page).to_have_url(re.compile("^" + re.escape(base_url + SETUP_PATH)))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tweestapsverificatie instellen")
    expect(page.locator("figure.qr svg")).to_be_visible()
    expect(page.get_by_role("img", name="QR-code voor uw authenticator-app")).to_be_visible()
    secret = page.locator("code.secret").inner_text().strip()
    assert SECRET_PATTERN.match(secret), f"Geen base32-sleutel in groepen van vier: {secret!r}"
    axe_check(page)
    problems.record_csp_violations(page)

    page.get_by_label(re.compile(r"^Code uit de app:?$")).fill(code_from_secret(secret))
    page.get_by_role("button", name="Bevestigen").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Uw reservecodes")
    expect(page.get_by_role("main")).to_contain_text("Uw authenticator-app is ingesteld.")
    codes = page.locator("main ul.codes > li")
    expect(codes).to_have_count(10)
    shown = [text.strip() for text in codes.all_inner_texts()]
    assert all(shown) and len(set(shown)) == 10, shown
    problems.record_csp_violations(page)

    page.get_by_role("link", name="Verder").click()

    expect(page).to_have_url(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, Jan de Vries")
    problems.record_csp_violations(page)
    # The inline QR code must live with the strict CSP. (Console errors in general are checked in
    # test_login.py, where the page icon's order-dependent one is handled.)
    assert problems.csp_violations == []
    assert problems.page_errors == []
