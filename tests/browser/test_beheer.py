"""The administrator's account page in Chromium: blocking asks first."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import User
from accounts.roles import Role
from tests.factories import UserFactory, add_totp, totp_now

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_and_colleague(transactional_db):
    admin = UserFactory(role=Role.ADMIN, first_name="Bea", last_name="Beheer")
    device = add_totp(admin)
    colleague = UserFactory(
        role=Role.EMPLOYEE, organisation=admin.organisation, first_name="Piet", last_name="Pietersen"
    )
    return admin, device, colleague


def test_blocking_an_account_asks_first_and_a_no_changes_nothing(
    page, base_url, log_in, admin_and_colleague, axe_check
):
    admin, device, colleague = admin_and_colleague
    log_in(page, admin.username, totp_now(device))
    page.goto(f"{base_url}/beheer/gebruikers/{colleague.pk}/")
    axe_check(page)
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="Account blokkeren").click()
    expect(page.get_by_role("button", name="Account blokkeren")).to_be_visible()
    assert questions and "Piet Pietersen blokkeren" in questions[0]
    assert User.objects.get(pk=colleague.pk).is_active

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_role("button", name="Account blokkeren").click()
    expect(page.get_by_text("Het account is geblokkeerd.")).to_be_visible()
    assert not User.objects.get(pk=colleague.pk).is_active
    # Activating again is no risk: no question.
    page.get_by_role("button", name="Account weer activeren").click()
    expect(page.get_by_text("Het account is weer actief.")).to_be_visible()
    assert len(questions) == 2
