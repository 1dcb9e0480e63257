"""Confidential reporting without an account, in a real browser.

An anonymous reporter submits on the organisation's public form and reads the receipt code once;
a coordinator asks a question; the reporter comes back with the code, sees the coarse status and
the question and answers it. A wrong code gets the neutral message and no access, and the code
never travels in a URL. Every page is scanned with axe; console errors and CSP violations fail.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from playwright.sync_api import Page, expect

from accounts.roles import Role
from signals.confidential_services import ContactData, confidential_signal_submit, receipt_code_check
from signals.models import Channel, MessageDirection, ReceiptCode, ReporterContact, Signal, SignalMessage
from signals.services import SignalData
from tests.browser.conftest import TIMEOUT_MS
from tests.factories import OrganisationFactory, UserFactory, add_totp, totp_now

pytestmark = pytest.mark.browser

DESCRIPTION = "Bij de nagelstudio aan de Dorpsstraat komen 's nachts steeds andere busjes aan."
QUESTION = "Welke kleur hadden de busjes, en zag u een logo?"
ANSWER = "Ze waren wit, zonder logo. Meestal rond twee uur 's nachts."
# Six groups of four in Crockford's base32: no I, L, O or U.
CODE_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){5}$")
WRONG_CODE_MESSAGE = (
    "Met deze code kunnen wij geen melding openen. Controleer de code en probeer het opnieuw. "
    "Na een paar onjuiste pogingen moet u een tijd wachten."
)
FOLLOW_UP_PATH = "/melden/volgen/"
FOLLOW_UP_SIGNAL_PATH = "/melden/volgen/melding/"
SUBMITTED_PATH = "/melden/ontvangen/"


def label(text: str) -> re.Pattern[str]:
    """Django puts a colon after a label unless it ends in punctuation; that colon is layout."""
    return re.compile("^" + re.escape(text) + ":?$")


DANGER_QUESTION = "Is er nu acuut gevaar voor iemand?"
DESCRIPTION_LABEL = label("Wat is u opgevallen?")
NAME_LABEL = label("Uw naam")
EMAIL_LABEL = label("Uw e-mailadres")
CODE_LABEL = label("Uw ontvangstcode")
ANSWER_LABEL = label("Uw antwoord of aanvulling")
QUESTION_LABEL = label("Uw vraag aan de melder")


@pytest.fixture(autouse=True)
def _fast_and_clean(settings):
    """No padding delay on code checks (the live server runs in this process, so the setting
    applies to it), and fresh rate-limit counters: they live in the process's cache."""
    settings.WEERBAAR_RECEIPT_CHECK_MILLISECONDS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def organisation(transactional_db):
    return OrganisationFactory(name="Gemeente Alfa", confidential_reporting_enabled=True)


@pytest.fixture
def coordinator(organisation):
    user = UserFactory(
        role=Role.COORDINATOR,
        organisation=organisation,
        first_name="Fatima",
        last_name="el Amrani",
        email="coordinator@example.org",
    )
    return user, add_totp(user)


@pytest.fixture
def visited_urls(page: Page) -> list[str]:
    """Every URL the reporter's browser requested or navigated to (sub-resources included)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.on("framenavigated", lambda frame: urls.append(frame.url))
    return urls


def assert_code_in_no_url(code: str, urls: list[str]) -> None:
    compact = code.replace("-", "").upper()
    assert urls, "no URL recorded: the recorder is not listening"
    for url in urls:
        flat = re.sub(r"[^0-9A-Z]", "", unquote(unquote(url)).upper())
        assert compact not in flat, f"de ontvangstcode staat in de URL {url}"
        # A part of the code is as bad: the lookup id or the secret part alone.
        assert compact[:8] not in flat and compact[8:] not in flat, f"een deel van de code staat in {url}"


def form_url(base_url: str, organisation) -> str:
    return f"{base_url}/melden/{organisation.pk}/"


def scan(page: Page, axe_check, problems) -> None:
    axe_check(page)
    problems.record_csp_violations(page)


def report_through_the_service(organisation) -> tuple[Signal, str]:
    """A signal reported without an account, with the code the reporter was shown."""
    signal, code = confidential_signal_submit(
        organisation_id=organisation.pk,
        submission_key=uuid.uuid4(),
        data=SignalData(description=DESCRIPTION),
        contact=ContactData(),
        same_browser=True,
    )
    assert code
    return signal, code


def enter_code(page: Page, base_url: str, code: str) -> None:
    page.goto(base_url + FOLLOW_UP_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw melding volgen")
    page.get_by_label(CODE_LABEL).fill(code)
    page.get_by_role("button", name="Melding bekijken").click()


def status_value(page: Page):
    return page.locator("dl.facts dt", has_text=re.compile(r"^Status$")).locator("xpath=following-sibling::dd[1]")


# --- 1. Submitting without an account ---------------------------------------------------------------


def test_anonymous_reporter_submits_and_sees_the_receipt_code_once(
    page, base_url, organisation, coordinator, visited_urls, axe_check, problems, eager_tasks
):
    page.goto(form_url(base_url, organisation))
    expect(page.get_by_role("heading", level=1)).to_have_text("Vertrouwelijk melden bij Gemeente Alfa")
    expect(page.get_by_role("navigation", name="Hoofdmenu")).to_have_count(0)  # nobody is logged in
    scan(page, axe_check, problems)

    page.get_by_role("group", name=DANGER_QUESTION).get_by_role("radio", name="Ja", exact=True).check()
    with page.expect_response(re.compile(rf"/melden/{organisation.pk}/\?acuut=ja&stap=1$")) as form_page:
        page.get_by_role("button", name="Verder").click()
    # Without the policy header "no CSP violations" would prove nothing.
    assert "script-src 'self'" in form_page.value.headers["content-security-policy"]

    # Acute danger: "Bel nu 112" first, above the form; the report can still be made.
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("heading", name="Bel nu 112")).to_be_visible()
    expect(alert).to_be_in_viewport()
    description = page.get_by_label(DESCRIPTION_LABEL)
    assert alert.bounding_box()["y"] < description.bounding_box()["y"]
    expect(page.get_by_text("niet aan uw account gekoppeld")).to_have_count(0)
    scan(page, axe_check, problems)

    description.fill(DESCRIPTION)
    contact = page.get_by_role("group", name="Uw naam en contactgegevens (niet verplicht)")
    contact.get_by_label(NAME_LABEL).fill("Kees Melder")
    contact.get_by_label(EMAIL_LABEL).fill("Kees@Example.org")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Melding versturen").click()
    assert posted.value.status == 302  # post / redirect / get: a reload does not send the form again

    expect(page.get_by_role("heading", level=1)).to_have_text("Dank u wel. Uw melding is ontvangen.")
    assert page.url == base_url + SUBMITTED_PATH
    expect(page.get_by_role("alert")).to_contain_text("Bel 112")
    expect(page.get_by_role("heading", name="Uw ontvangstcode")).to_be_visible()
    expect(page.get_by_role("heading", name="Wat gebeurt er nu?")).to_be_visible()
    code_element = page.get_by_role("main").locator("code")
    expect(code_element).to_have_count(1)
    code = code_element.inner_text().strip()
    assert CODE_PATTERN.match(code), code
    scan(page, axe_check, problems)

    # The code shown is the one that works, stored only as a hash, for this signal.
    signal = Signal.objects.get()
    assert signal.organisation_id == organisation.pk and signal.channel == Channel.CONFIDENTIAL_FORM
    assert signal.reporter_id is None and signal.acute_danger is True and signal.description == DESCRIPTION
    receipt = ReceiptCode.objects.get()
    assert receipt.signal_id == signal.pk and receipt_code_check(code=code) == receipt
    assert code.replace("-", "")[8:] not in receipt.code_hash
    contact_row = ReporterContact.objects.get(signal=signal)
    assert (contact_row.name, contact_row.email) == ("Kees Melder", "kees@example.org")
    # The coordinator is told there is a signal: a link, no content.
    assert [message.to for message in mail.outbox] == [["coordinator@example.org"]]
    assert DESCRIPTION not in mail.outbox[0].body and "Kees" not in mail.outbox[0].body

    # Shown once: a reload no longer shows it, nor does it submit again.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ontvangstcode")
    expect(page.get_by_role("main")).to_contain_text("maar één keer")
    expect(page.get_by_role("main").locator("code")).to_have_count(0)
    assert code not in page.content() and code.replace("-", "") not in page.content()
    scan(page, axe_check, problems)
    assert Signal.objects.count() == 1 and ReceiptCode.objects.count() == 1

    assert_code_in_no_url(code, visited_urls)
    assert problems.all() == []


# --- 2. Coming back with the code -------------------------------------------------------------------


def test_reporter_comes_back_with_the_code_and_answers_the_coordinators_question(
    page, browser, base_url, organisation, coordinator, log_in, visited_urls, axe_check, problems, eager_tasks
):
    signal, code = report_through_the_service(organisation)

    # The coordinator asks, in a browser of their own.
    coordinator_context = browser.new_context(locale="nl-NL", timezone_id="Europe/Amsterdam")
    coordinator_context.set_default_timeout(TIMEOUT_MS)
    try:
        coordinator_page = coordinator_context.new_page()
        user, device = coordinator
        log_in(coordinator_page, user.username, totp_now(device))
        expect(coordinator_page.get_by_role("heading", level=1)).to_have_text("Welkom, Fatima el Amrani")
        coordinator_page.goto(f"{base_url}/signalen/{signal.pk}/berichten/")
        expect(coordinator_page.get_by_role("heading", level=1)).to_have_text("Berichten met de melder")
        axe_check(coordinator_page)
        coordinator_page.get_by_label(QUESTION_LABEL).fill(QUESTION)
        coordinator_page.get_by_role("button", name="Vraag klaarzetten").click()
        expect(coordinator_page.get_by_role("status")).to_contain_text("Uw vraag staat klaar.")
        expect(coordinator_page.get_by_role("main")).to_contain_text(QUESTION)
    finally:
        coordinator_context.close()
    question = SignalMessage.objects.get()
    assert question.direction == MessageDirection.TO_REPORTER and question.sent_by_id == user.pk

    # The reporter, without an account, types the code loosely: lower case, spaces for dashes.
    page.goto(base_url + FOLLOW_UP_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw melding volgen")
    scan(page, axe_check, problems)
    page.get_by_label(CODE_LABEL).fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Melding bekijken").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Uw melding")
    assert page.url == base_url + FOLLOW_UP_SIGNAL_PATH
    expect(status_value(page)).to_have_text("ontvangen")
    asked = page.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name=re.compile(r"^Vraag van de coördinator, "))
    )
    expect(asked).to_have_count(1)
    expect(asked).to_contain_text(QUESTION)
    main = page.get_by_role("main")
    # Nothing internal: not the description, not the reference, not who asked.
    expect(main).not_to_contain_text(DESCRIPTION)
    expect(main).not_to_contain_text(signal.reference)
    expect(main).not_to_contain_text("Fatima")
    scan(page, axe_check, problems)

    mail.outbox.clear()  # the mail about the new signal
    page.get_by_label(ANSWER_LABEL).fill(ANSWER)
    page.get_by_role("button", name="Versturen", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("Uw bericht is verstuurd naar de coördinator.")
    answered = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=re.compile(r"^Uw bericht, ")))
    expect(answered).to_contain_text(ANSWER)
    expect(page.get_by_label(ANSWER_LABEL)).to_have_value("")
    scan(page, axe_check, problems)

    answer = SignalMessage.objects.get(direction=MessageDirection.FROM_REPORTER)
    assert answer.signal_id == signal.pk and answer.sent_by_id is None and answer.text == ANSWER
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM signals_signalmessage WHERE id = %s", [answer.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("wb1:") and "wit" not in raw and "logo" not in raw
    # The coordinators get a link to the messages, without the answer.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["coordinator@example.org"]
    assert f"/signalen/{signal.pk}/berichten/" in mail.outbox[0].body and "wit" not in mail.outbox[0].body

    # Signing off ends the access: the signal's page asks for the code again.
    page.get_by_role("button", name="Afmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw melding volgen")
    page.goto(base_url + FOLLOW_UP_SIGNAL_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw melding volgen")
    expect(page.get_by_role("main")).not_to_contain_text(QUESTION)
    problems.record_csp_violations(page)

    assert_code_in_no_url(code, visited_urls)
    assert problems.all() == []


# --- 3. A wrong code --------------------------------------------------------------------------------


def other_code(code: str, position: int) -> str:
    """The code with one character changed: the same lookup id when position >= 8."""
    compact = code.replace("-", "")
    changed = compact[:position] + ("2" if compact[position] != "2" else "3") + compact[position + 1 :]
    return "-".join(changed[i : i + 4] for i in range(0, len(changed), 4))


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param(lambda code: other_code(code, 20), id="right-lookup-wrong-secret"),
        pytest.param(lambda code: other_code(code, 0), id="unknown-lookup"),
        pytest.param(lambda code: "ABCD-1234", id="not-a-code"),
    ],
)
def test_a_wrong_code_gets_the_neutral_message_and_no_access(
    page, base_url, organisation, wrong, visited_urls, axe_check, problems
):
    signal, code = report_through_the_service(organisation)
    typed = wrong(code)

    enter_code(page, base_url, typed)

    expect(page.get_by_role("heading", level=1)).to_have_text("Uw melding volgen")
    assert page.url == base_url + FOLLOW_UP_PATH
    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert.get_by_role("heading")).to_have_text("De code klopt niet")
    expect(alert.locator("p")).to_have_text(WRONG_CODE_MESSAGE)
    # The typed code is not echoed back, and nothing of the signal is shown.
    expect(page.get_by_label(CODE_LABEL)).to_have_value("")
    assert typed not in page.content()
    expect(page.get_by_text("Status", exact=True)).to_have_count(0)
    scan(page, axe_check, problems)

    # No access was granted: the signal's page sends the reporter back to enter a code.
    page.goto(base_url + FOLLOW_UP_SIGNAL_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw melding volgen")
    assert page.url == base_url + FOLLOW_UP_PATH
    expect(page.get_by_role("status")).to_have_text("Vul uw ontvangstcode opnieuw in om uw melding te bekijken.")
    problems.record_csp_violations(page)
    assert not SignalMessage.objects.filter(signal=signal).exists()

    assert_code_in_no_url(code, visited_urls)
    assert problems.all() == []


def test_every_wrong_code_gets_the_same_page(page, base_url, organisation):
    """Nothing on the page tells an unknown code from a known lookup id with a wrong secret."""
    _, code = report_through_the_service(organisation)
    pages = []
    for typed in (other_code(code, 20), other_code(code, 0)):
        enter_code(page, base_url, typed)
        expect(page.get_by_role("alert")).to_be_visible()
        pages.append(page.get_by_role("main").inner_html())
    assert _without_csrf(pages[0]) == _without_csrf(pages[1])


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
