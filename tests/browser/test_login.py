"""Logging in and out in a real browser: accessibility, keyboard use, errors and the CSP."""

from __future__ import annotations

import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from accounts.roles import Role
from tests.browser.conftest import CODE_LABEL, LOGIN_PATH, PASSWORD_LABEL, USERNAME_LABEL, tab_to
from tests.factories import PASSWORD, UserFactory, add_totp, totp_now

pytestmark = pytest.mark.browser

LOGIN_ERROR_START = "De combinatie van gebruikersnaam, wachtwoord en code klopt niet"
COORDINATOR_LABEL = "Coördinator bestuurlijke aanpak"


@pytest.fixture
def coordinator(transactional_db):
    user = UserFactory(role=Role.COORDINATOR, first_name="Fatima", last_name="el Amrani")
    device = add_totp(user)
    return user, device


def expect_login_page(page: Page, base_url: str) -> None:
    """The login form is shown and nobody is logged in."""
    expect(page).to_have_url(re.compile("^" + re.escape(base_url + LOGIN_PATH)))
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.get_by_role("button", name="Uitloggen")).to_have_count(0)


def expect_home_page(page: Page, base_url: str, name: str) -> None:
    expect(page).to_have_url(base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welkom, {name}")


def test_login_page_is_accessible_and_skip_link_is_first_tab_stop(page, base_url, axe_check):
    # The first Tab after the page loads must land on the skip link. A form field that takes the
    # focus by itself (autofocus) breaks this, and makes screen readers skip the heading, the
    # explanation and the error summary above the form.
    page.goto(base_url + LOGIN_PATH)
    axe_check(page)

    skip_link = page.get_by_role("link", name="Direct naar de inhoud")
    expect(skip_link).not_to_be_in_viewport()

    page.keyboard.press("Tab")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()

    page.keyboard.press("Enter")
    expect(page.locator("main#inhoud")).to_be_focused()
    # From the main content, the next Tab stop is the form, not the header.
    page.keyboard.press("Tab")
    expect(page.get_by_label(USERNAME_LABEL)).to_be_focused()


def test_coordinator_logs_in_with_totp_and_out_again(page, base_url, coordinator, log_in, axe_check):
    user, device = coordinator

    log_in(page, user.username, totp_now(device))

    expect_home_page(page, base_url, "Fatima el Amrani")
    expect(page.get_by_role("main")).to_contain_text(f"U bent ingelogd als {COORDINATOR_LABEL}")
    expect(page.get_by_role("banner")).to_contain_text(COORDINATOR_LABEL)
    axe_check(page)

    page.get_by_role("button", name="Uitloggen").click()
    expect_login_page(page, base_url)

    page.goto(base_url + "/")
    expect_login_page(page, base_url)
    expect(page).to_have_url(base_url + LOGIN_PATH + "?next=/")


def test_wrong_code_shows_dutch_error_and_stays_on_login_page(page, base_url, coordinator, log_in):
    user, device = coordinator
    # A code outside the window the server accepts (one step either side of now).
    valid = {
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"
        for drift in (-1, 0, 1)
    }
    wrong_code = next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)

    log_in(page, user.username, wrong_code)

    expect_login_page(page, base_url)
    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert.get_by_role("heading")).to_have_text("Er is iets niet goed ingevuld")
    expect(alert.get_by_role("paragraph")).to_have_text(re.compile("^" + re.escape(LOGIN_ERROR_START)))
    # What was typed is not echoed back in the secret fields.
    expect(page.get_by_label(PASSWORD_LABEL)).to_have_value("")


def test_login_and_logout_with_keyboard_only(page, base_url, coordinator):
    user, device = coordinator
    page.goto(base_url + LOGIN_PATH)

    username = page.get_by_label(USERNAME_LABEL)
    tab_to(page, username)
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    expect(page.get_by_label(PASSWORD_LABEL)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_label(CODE_LABEL)).to_be_focused()
    page.keyboard.type(totp_now(device))
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Inloggen")).to_be_focused()
    page.keyboard.press("Enter")

    expect_home_page(page, base_url, "Fatima el Amrani")

    tab_to(page, page.get_by_role("button", name="Uitloggen"))
    page.keyboard.press("Enter")
    expect_login_page(page, base_url)


def expect_page_icon_loads(page: Page) -> None:
    """Chromium fetches the page icon after the load event and remembers a failure for the rest of
    the browser session, so its console error shows up only in whichever test comes first. Fetch
    the icon the browser would ask for and check it, so the outcome does not depend on test order."""
    icon_url = page.evaluate(
        "document.querySelector('link[rel~=icon]')?.href ?? new URL('/favicon.ico', location.href).href"
    )
    icon = page.request.get(icon_url)
    assert icon.ok, f"Het paginapictogram {icon_url} geeft {icon.status}; Chromium meldt dat als consolefout"


def test_no_console_errors_or_csp_violations_on_login_and_home(page, base_url, coordinator, problems):
    user, device = coordinator

    response = page.goto(base_url + LOGIN_PATH)
    # Without the policy header "no CSP violations" would prove nothing.
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    # Chromium fetches the page icon only after the load event; wait until the network is quiet
    # so that its outcome (and any late resource) is reported too.
    page.wait_for_load_state("networkidle")
    problems.record_csp_violations(page)
    expect_page_icon_loads(page)

    page.get_by_label(USERNAME_LABEL).fill(user.username)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_label(CODE_LABEL).fill(totp_now(device))
    with page.expect_response(base_url + "/") as home:
        page.get_by_role("button", name="Inloggen").click()
    assert "script-src 'self'" in home.value.headers["content-security-policy"]
    expect_home_page(page, base_url, "Fatima el Amrani")
    page.wait_for_load_state("networkidle")
    problems.record_csp_violations(page)
    expect_page_icon_loads(page)

    assert problems.all() == []
