"""The meldpunt in a real browser: an employee reports a signal, the coordinator reads it.

Covers the flows of issue 4 that only a browser shows: the acute-danger step, the form with its
subjects and attachment, messages next to the fields, a double click, the keyboard, accessibility
(axe), console errors and the CSP.
"""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import Page, expect

from accounts.roles import Role
from signals import services
from signals.models import Attachment, Signal, Subject
from signals.services import SubjectData
from tests.browser.conftest import TIMEOUT_MS, tab_to
from tests.factories import PDF_BYTES, UserFactory, add_totp, make_signal, totp_now

pytestmark = pytest.mark.browser

DESCRIPTION = "De winkel op de hoek heeft nooit klanten, maar verlengt elk jaar de vergunning."
REFERENCE = re.compile(r"^S\d{4}-\d{5}$")
# A Windows program (MZ header) given a .pdf name: the type is decided by content, not by name.
EXE_BYTES = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run in DOS mode."
)


def label(text: str) -> re.Pattern[str]:
    """Django puts a colon after a label unless it ends in punctuation; that colon is layout."""
    return re.compile("^" + re.escape(text) + ":?$")


DANGER_QUESTION = "Is er nu acuut gevaar voor iemand?"
DESCRIPTION_LABEL = label("Wat is u opgevallen?")
ADDRESS_LABEL = label("Adres (postcode en huisnummer)")
ATTACHMENTS_LABEL = label("Bijlagen (optioneel)")


@pytest.fixture
def employee(transactional_db):
    user = UserFactory(role=Role.EMPLOYEE, first_name="Jan", last_name="de Vries")
    return user, add_totp(user)


@pytest.fixture
def coordinator(employee):
    user = UserFactory(
        role=Role.COORDINATOR, organisation=employee[0].organisation, first_name="Fatima", last_name="el Amrani"
    )
    return user, add_totp(user)


@pytest.fixture
def logged_in_employee(page, employee, log_in):
    user, device = employee
    log_in(page, user.username, totp_now(device))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, Jan de Vries")
    return user


def main_nav(page: Page):
    return page.get_by_role("navigation", name="Hoofdmenu")


def answer_danger_question(page: Page, answer: str) -> None:
    """Step 1 of the form, with the mouse."""
    main_nav(page).get_by_role("link", name="Signaal melden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signaal melden")
    page.get_by_role("group", name=DANGER_QUESTION).get_by_role("radio", name=answer, exact=True).check()
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_label(DESCRIPTION_LABEL)).to_be_visible()


def main_address(page: Page):
    # The signal's own address comes before the subjects' address fields, which share its label.
    return page.get_by_label(ADDRESS_LABEL).first


def subject(page: Page, number: int):
    return page.get_by_role("group", name=f"Betrokkene {number}")


def submit_button(page: Page):
    return page.get_by_role("button", name="Melding versturen")


def shown_reference(page: Page) -> str:
    expect(page.get_by_role("heading", level=1)).to_have_text("Dank u wel. Uw melding is ontvangen.")
    reference = page.get_by_role("main").locator("p", has_text="Kenmerk:").locator("strong").inner_text().strip()
    assert REFERENCE.match(reference), reference
    return reference


def test_employee_reports_a_signal_with_subjects_and_attachment_and_finds_it_under_mine(
    page, base_url, logged_in_employee, axe_check, problems
):
    main_nav(page).get_by_role("link", name="Signaal melden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signaal melden")
    expect(page.get_by_text("Bel nu 112")).to_have_count(0)
    axe_check(page)
    problems.record_csp_violations(page)
    page.get_by_role("group", name=DANGER_QUESTION).get_by_role("radio", name="Nee", exact=True).check()
    with page.expect_response(re.compile(r"/meldingen/nieuw/\?acuut=nee&stap=1$")) as form_page:
        page.get_by_role("button", name="Verder").click()
    # Without the policy header "no CSP violations" would prove nothing.
    assert "script-src 'self'" in form_page.value.headers["content-security-policy"]

    expect(page.get_by_label(DESCRIPTION_LABEL)).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    axe_check(page)
    problems.record_csp_violations(page)
    page.get_by_label(DESCRIPTION_LABEL).fill(DESCRIPTION)
    main_address(page).fill("1234 ab 12")
    person = subject(page, 1)
    person.get_by_label(label("Soort")).select_option(label="Persoon")
    person.get_by_label(label("Naam (persoon of bedrijf)")).fill("Piet Jansen")
    person.get_by_label(label("Geboortedatum (als bekend)")).fill("1980-05-17")
    company = subject(page, 2)
    company.get_by_label(label("Soort")).select_option(label="Bedrijf")
    company.get_by_label(label("Naam (persoon of bedrijf)")).fill("Snackbar De Hoek BV")
    company.get_by_label(label("KvK-nummer")).fill("1234 5678")
    page.get_by_label(ATTACHMENTS_LABEL).set_input_files(
        files=[{"name": "verslag.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    submit_button(page).click()

    reference = shown_reference(page)
    expect(page.get_by_role("heading", name="Wat gebeurt er nu?")).to_be_visible()
    axe_check(page)
    problems.record_csp_violations(page)
    signal = Signal.objects.get()
    assert signal.reference == reference
    assert signal.description == DESCRIPTION and signal.address == "1234 AB 12" and not signal.acute_danger
    assert sorted(Subject.objects.filter(signal=signal).values_list("kind", flat=True)) == ["company", "person"]
    attachment = Attachment.objects.get(signal=signal)
    assert (attachment.filename, attachment.size) == ("verslag.pdf", len(PDF_BYTES))

    main_nav(page).get_by_role("link", name="Mijn meldingen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mijn meldingen")
    rows = page.get_by_role("table").get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("cell")).to_have_text([reference, re.compile(r"\d{4}$"), "—", "ontvangen", "—"])
    axe_check(page)
    page.wait_for_load_state("networkidle")
    problems.record_csp_violations(page)

    assert problems.all() == []


def test_a_fourth_subject_is_added_with_the_button_and_everything_typed_stays(page, logged_in_employee, axe_check):
    answer_danger_question(page, "Nee")
    page.get_by_label(DESCRIPTION_LABEL).fill(DESCRIPTION)
    for number, plate in ((1, "AB-123-C"), (2, "12-ABC-3"), (3, "XY-99-ZZ")):
        vehicle = subject(page, number)
        vehicle.get_by_label(label("Soort")).select_option(label="Voertuig")
        vehicle.get_by_label(label("Kenteken")).fill(plate)
    expect(subject(page, 4)).to_have_count(0)

    page.get_by_role("button", name="Nog een betrokkene toevoegen").click()

    fourth = subject(page, 4)
    expect(fourth).to_be_visible()
    expect(fourth.get_by_label(label("Soort"))).to_be_focused()  # the reporter goes on where the new block is
    expect(page.get_by_label(DESCRIPTION_LABEL)).to_have_value(DESCRIPTION)
    expect(subject(page, 3).get_by_label(label("Kenteken"))).to_have_value("XY-99-ZZ")
    expect(page.get_by_role("alert")).to_have_count(0)
    axe_check(page)
    assert Signal.objects.count() == 0
    fourth.get_by_label(label("Soort")).select_option(label="Bedrijf")
    fourth.get_by_label(label("KvK-nummer")).fill("1234 5678")
    submit_button(page).click()

    shown_reference(page)
    kinds = sorted(Subject.objects.filter(signal=Signal.objects.get()).values_list("kind", flat=True))
    assert kinds == ["company", "vehicle", "vehicle", "vehicle"]


def test_enter_in_a_field_sends_the_form_rather_than_adding_a_subject(page, logged_in_employee, axe_check):
    answer_danger_question(page, "Nee")
    axe_check(page)  # the hidden default button included
    page.get_by_label(DESCRIPTION_LABEL).fill(DESCRIPTION)
    main_address(page).fill("1234 AB 12")

    main_address(page).press("Enter")

    shown_reference(page)
    assert Signal.objects.get().address == "1234 AB 12"


def test_typing_in_the_form_keeps_the_session_alive_every_few_minutes(page, logged_in_employee):
    page.clock.install()
    answer_danger_question(page, "Nee")
    page.wait_for_load_state("load")  # the deferred script has run and taken its starting time
    calls = []
    page.on("request", lambda request: calls.append(request) if request.url.endswith("/account/actief/") else None)
    description = page.get_by_label(DESCRIPTION_LABEL)

    description.press_sequentially("Eerst")
    page.clock.fast_forward("02:00")
    description.press_sequentially(" een")
    assert calls == []  # not on every keystroke
    page.clock.fast_forward("04:00")
    with page.expect_response(lambda response: response.url.endswith("/account/actief/")) as renewed:
        description.press_sequentially(" zin")
    assert renewed.value.status == 204 and renewed.value.request.method == "POST"
    description.press_sequentially(" meer")
    assert len(calls) == 1


def test_acute_danger_shows_call_112_first_and_the_signal_can_still_be_sent(page, logged_in_employee, axe_check):
    answer_danger_question(page, "Ja")

    alert = page.get_by_role("alert")
    expect(alert).to_have_count(1)
    expect(alert.get_by_role("heading", name="Bel nu 112")).to_be_visible()
    # Prominent: on screen without scrolling, above the form.
    expect(alert).to_be_in_viewport()
    alert_box, form_box = alert.bounding_box(), page.get_by_label(DESCRIPTION_LABEL).bounding_box()
    assert alert_box["y"] + alert_box["height"] <= form_box["y"]
    axe_check(page)

    page.get_by_label(DESCRIPTION_LABEL).fill(DESCRIPTION)
    submit_button(page).click()

    shown_reference(page)
    expect(page.get_by_role("alert")).to_contain_text("Bel 112")
    assert Signal.objects.get().acute_danger is True


def test_missing_description_and_disguised_exe_get_their_message_keep_input_and_store_nothing(
    page, logged_in_employee, axe_check
):
    answer_danger_question(page, "Nee")
    main_address(page).fill("1234 AB 12")
    submit_button(page).click()

    summary = page.get_by_role("alert")
    expect(summary).to_have_count(1)
    expect(summary.get_by_role("heading")).to_have_text("Er is iets niet goed ingevuld")
    expect(summary.get_by_role("link")).to_have_text(["Wat is u opgevallen?: Beschrijf wat u is opgevallen."])
    description = page.get_by_label(DESCRIPTION_LABEL)
    expect(description).to_have_attribute("aria-invalid", "true")
    expect(description).to_have_accessible_description(re.compile("Beschrijf wat u is opgevallen."))
    expect(main_address(page)).to_have_value("1234 AB 12")
    axe_check(page)
    # The summary's link takes the user to the field.
    summary.get_by_role("link").click()
    expect(description).to_be_focused()
    assert Signal.objects.count() == 0

    description.fill(DESCRIPTION)
    page.get_by_label(ATTACHMENTS_LABEL).set_input_files(
        files=[{"name": "factuur.pdf", "mimeType": "application/pdf", "buffer": EXE_BYTES}]
    )
    submit_button(page).click()

    expect(page.get_by_role("alert")).to_contain_text("factuur.pdf: de inhoud is geen PDF")
    attachments = page.get_by_label(ATTACHMENTS_LABEL)
    expect(attachments).to_have_attribute("aria-invalid", "true")
    expect(attachments).to_have_accessible_description(re.compile("factuur.pdf: de inhoud is geen PDF"))
    expect(description).to_have_value(DESCRIPTION)
    expect(main_address(page)).to_have_value("1234 AB 12")
    assert Signal.objects.count() == 0
    assert Attachment.objects.count() == 0


def test_a_chosen_file_is_held_when_the_form_comes_back_and_is_sent_with_it(page, logged_in_employee, axe_check):
    answer_danger_question(page, "Nee")
    page.get_by_label(ATTACHMENTS_LABEL).set_input_files(
        files=[
            {"name": "foto-gevel.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
            {"name": "factuur.pdf", "mimeType": "application/pdf", "buffer": EXE_BYTES},
        ]
    )
    submit_button(page).click()

    expect(page.get_by_role("alert")).to_contain_text("factuur.pdf: de inhoud is geen PDF")
    held = page.get_by_role("group", name="Bijlagen die al bewaard zijn")
    expect(held.get_by_role("checkbox", name=re.compile(r"^foto-gevel\.pdf \("))).to_be_checked()
    expect(held.get_by_role("checkbox")).to_have_count(1)
    axe_check(page)
    assert Signal.objects.count() == 0

    page.get_by_label(DESCRIPTION_LABEL).fill(DESCRIPTION)
    submit_button(page).click()

    shown_reference(page)
    signal = Signal.objects.get()
    assert [a.filename for a in Attachment.objects.filter(signal=signal)] == ["foto-gevel.pdf"]


def test_files_chosen_before_adding_a_subject_are_held_and_sent_with_the_signal(page, logged_in_employee, axe_check):
    answer_danger_question(page, "Nee")
    page.get_by_label(DESCRIPTION_LABEL).fill(DESCRIPTION)
    page.get_by_label(ATTACHMENTS_LABEL).set_input_files(
        files=[
            {"name": "foto-gevel.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
            {"name": "factuur.pdf", "mimeType": "application/pdf", "buffer": EXE_BYTES},
        ]
    )
    page.get_by_role("button", name="Nog een betrokkene toevoegen").click()

    expect(page.get_by_role("status").filter(has_text="Niet alle bijlagen")).to_contain_text(
        "factuur.pdf: de inhoud is geen PDF"
    )
    held = page.get_by_role("group", name="Bijlagen die al bewaard zijn")
    expect(held.get_by_role("checkbox", name=re.compile(r"^foto-gevel\.pdf \("))).to_be_checked()
    expect(held.get_by_role("checkbox")).to_have_count(1)
    expect(page.get_by_label(DESCRIPTION_LABEL)).to_have_value(DESCRIPTION)
    axe_check(page)
    assert Signal.objects.count() == 0

    submit_button(page).click()

    shown_reference(page)
    signal = Signal.objects.get()
    assert [a.filename for a in Attachment.objects.filter(signal=signal)] == ["foto-gevel.pdf"]


class SlowSubmissions:
    """Makes the server as slow as on a bad day: a submission that arrives alone waits (at most a
    few seconds) until the next one arrives, so that a second click lands while the first request
    is still being handled. The test waits for the server's progress through events, never by
    sleeping, and never races a request the browser has abandoned."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.started: list = []
        self.finished: list = []

    def submit(self, real_submit, **kwargs):
        with self._condition:
            self.started.append(kwargs["submission_key"])
            self._condition.notify_all()
            self._condition.wait_for(lambda: len(self.started) >= 2, timeout=TIMEOUT_MS / 1000)
        try:
            return real_submit(**kwargs)
        finally:
            with self._condition:
                self.finished.append(kwargs["submission_key"])
                self._condition.notify_all()

    def wait_until(self, what: str, count: int) -> list:
        events = getattr(self, what)
        with self._condition:
            done = self._condition.wait_for(lambda: len(events) >= count, timeout=TIMEOUT_MS / 1000)
        assert done, f"De server heeft {len(events)} van de {count} inzendingen {what}"
        return list(events)


@pytest.fixture
def slow_submissions(monkeypatch) -> SlowSubmissions:
    slow = SlowSubmissions()
    real_submit = services.signal_submit
    monkeypatch.setattr(services, "signal_submit", lambda **kwargs: slow.submit(real_submit, **kwargs))
    return slow


def test_double_click_on_submit_stores_one_signal(page, logged_in_employee, slow_submissions):
    answer_danger_question(page, "Nee")
    page.get_by_label(DESCRIPTION_LABEL).fill(DESCRIPTION)
    submit_button(page).scroll_into_view_if_needed()
    button = submit_button(page).bounding_box()
    x, y = button["x"] + button["width"] / 2, button["y"] + button["height"] / 2

    # Two clicks with the mouse, the second while the server is still busy with the first. (A
    # dblclick() on a fast page would prove nothing: Chromium replaces a form submission that has
    # not started yet with the next one, so only one request would leave the browser.)
    page.mouse.click(x, y)
    slow_submissions.wait_until("started", 1)
    page.mouse.click(x, y)

    reference = shown_reference(page)
    keys = slow_submissions.wait_until("finished", 2)
    # Both clicks reached the server with the same form; the second got the first's signal.
    assert len(keys) == 2 and keys[0] == keys[1]
    assert list(Signal.objects.values_list("reference", flat=True)) == [reference]


def test_coordinator_finds_the_signal_reads_it_and_closes_it(page, employee, coordinator, log_in, axe_check):
    signal = make_signal(
        employee[0],
        description=DESCRIPTION,
        subjects=[
            SubjectData(kind="person", name="Piet Jansen"),
            SubjectData(kind="company", name="Snackbar De Hoek BV", kvk="12345678"),
        ],
    )
    user, device = coordinator
    log_in(page, user.username, totp_now(device))

    main_nav(page).get_by_role("link", name="Signalen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signalen")
    axe_check(page)
    page.get_by_role("link", name=signal.reference).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Signaal {signal.reference}")
    expect(page.get_by_role("main")).to_contain_text(DESCRIPTION)
    subjects = page.get_by_role("table", name="2 betrokkenen")
    expect(subjects.get_by_role("row", name=re.compile("^Persoon Piet Jansen"))).to_have_count(1)
    expect(subjects.get_by_role("row", name=re.compile("^Bedrijf Snackbar De Hoek BV — 12345678"))).to_have_count(1)
    axe_check(page)

    # The coordinator takes it into handling, then closes it without a case; "Anders" needs a note.
    page.get_by_role("button", name="In behandeling nemen").click()
    expect(page.get_by_role("status")).to_contain_text("U heeft het signaal in behandeling genomen.")
    expect(page.get_by_role("definition").filter(has_text="In behandeling")).to_have_count(1)
    page.get_by_label("Reden van afsluiten").select_option(label="Anders")
    page.get_by_role("button", name="Signaal afsluiten").click()
    expect(page.get_by_role("alert")).to_contain_text("Licht toe waarom u het signaal afsluit")
    axe_check(page)
    page.get_by_label("Toelichting").fill("Zelfde adres als een lopende casus.")
    page.get_by_role("button", name="Signaal afsluiten").click()
    expect(page.get_by_role("status")).to_contain_text("Het signaal is afgesloten.")
    expect(page.get_by_role("main")).to_contain_text("Zelfde adres als een lopende casus.")
    expect(page.get_by_role("main")).to_contain_text("Bewaard tot")
    expect(page.get_by_role("button", name="Signaal afsluiten")).to_have_count(0)
    axe_check(page)
    assert Signal.objects.get(pk=signal.pk).status == "closed"


def test_keyboard_only_reporting(page, logged_in_employee):
    main_nav(page).get_by_role("link", name="Signaal melden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signaal melden")

    no = page.get_by_role("radio", name="Nee", exact=True)
    tab_to(page, no)
    page.keyboard.press("Space")
    expect(no).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Verder"))
    page.keyboard.press("Enter")

    description = page.get_by_label(DESCRIPTION_LABEL)
    tab_to(page, description, max_presses=40)
    page.keyboard.type(DESCRIPTION)
    tab_to(page, submit_button(page), max_presses=60)
    page.keyboard.press("Enter")

    shown_reference(page)
    assert Signal.objects.get().description == DESCRIPTION


def test_employee_reads_the_coordinators_question_and_answers_it(page, employee, coordinator, log_in, axe_check):
    from signals.confidential_services import reporter_question_send

    signal = make_signal(
        employee[0],
        description=DESCRIPTION,
        subjects=[SubjectData(kind="company", name="Winkel De Hoek", kvk="12345678")],
    )
    reporter_question_send(actor=coordinator[0], signal=signal, text="Sinds wanneer is de winkel dicht?")
    user, device = employee
    log_in(page, user.username, totp_now(device))

    main_nav(page).get_by_role("link", name="Mijn meldingen").click()
    row = page.get_by_role("row", name=re.compile(signal.reference))
    expect(row).to_contain_text("nieuwe vraag")
    axe_check(page)
    row.get_by_role("link", name=signal.reference).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Uw melding {signal.reference}")
    expect(page.get_by_role("main")).to_contain_text("Sinds wanneer is de winkel dicht?")
    expect(page.get_by_role("main")).to_contain_text(DESCRIPTION)
    expect(page.get_by_role("table", name="Over wie of wat")).to_contain_text("Winkel De Hoek")
    axe_check(page)
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("alert")).to_contain_text("Schrijf uw bericht.")
    axe_check(page)
    page.get_by_label(label("Uw antwoord of aanvulling")).fill("Sinds de zomer.")
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("status")).to_contain_text("Uw bericht is verstuurd naar de coördinator.")
    expect(page.get_by_role("main")).to_contain_text("Sinds de zomer.")

    main_nav(page).get_by_role("link", name="Mijn meldingen").click()
    expect(page.get_by_role("row", name=re.compile(signal.reference))).not_to_contain_text("nieuwe vraag")


def test_coordinator_sees_the_new_message_in_the_inbox_and_asks_a_question(
    page, employee, coordinator, log_in, axe_check
):
    from signals.confidential_services import reporter_message_add

    signal = make_signal(employee[0], description=DESCRIPTION)
    reporter_message_add(actor=employee[0], signal=signal, text="Er staat nu ook een bestelbus.")
    user, device = coordinator
    log_in(page, user.username, totp_now(device))

    main_nav(page).get_by_role("link", name="Signalen").click()
    row = page.get_by_role("row", name=re.compile(signal.reference))
    axe_check(page)
    row.get_by_role("link", name="nieuw bericht van de melder").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Berichten met de melder")
    expect(page.get_by_role("main")).to_contain_text("Er staat nu ook een bestelbus.")
    expect(page.get_by_role("main")).to_contain_text("gemeld door Jan de Vries")
    axe_check(page)
    page.get_by_label(label("Uw vraag aan de melder")).fill("Welk kenteken had de bus?")
    page.get_by_role("button", name="Vraag versturen").click()
    expect(page.get_by_role("status")).to_contain_text("Uw vraag is verstuurd.")
    expect(page.get_by_role("main")).to_contain_text("Nog niet gelezen door de melder.")
    axe_check(page)


def test_coordinator_registers_a_phone_call_with_the_callers_details(page, coordinator, log_in, axe_check):
    from signals.models import ReporterContact

    user, device = coordinator
    log_in(page, user.username, totp_now(device))
    main_nav(page).get_by_role("link", name="Signalen").click()
    page.get_by_role("link", name="Signaal registreren").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signaal registreren")
    axe_check(page)

    page.get_by_role("radio", name="Meld Misdaad Anoniem").check()
    page.get_by_label(label("Wat heeft de melder gezien of gehoord?")).fill(DESCRIPTION)
    page.get_by_label(label("Naam van de melder")).fill("Kees Beller")
    page.get_by_role("button", name="Signaal registreren").last.click()
    expect(page.get_by_role("alert").first).to_contain_text("Meld Misdaad Anoniem is anoniem")
    axe_check(page)
    assert not Signal.objects.exists()

    page.get_by_role("radio", name="Telefoon").check()
    page.get_by_label(label("Telefoonnummer van de melder")).fill("06-12345678")
    page.get_by_role("button", name="Signaal registreren").last.click()
    expect(page.get_by_role("status")).to_contain_text("is geregistreerd")
    expect(page.get_by_role("link", name="Gegevens van de melder")).to_be_visible()
    expect(page.get_by_role("main")).not_to_contain_text("Kees Beller")
    assert ReporterContact.objects.get().signal == Signal.objects.get()


def test_the_api_documentation_renders_without_console_errors_or_csp_violations(
    page, base_url, logged_in_employee, problems
):
    response = page.goto(base_url + "/api/v1/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Weerbaar")
    expect(page.get_by_text("/api/v1/signals/", exact=True).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    problems.record_csp_violations(page)

    assert problems.all() == []


def test_typing_the_reason_for_closing_keeps_the_coordinators_session_alive(
    page, base_url, employee, coordinator, log_in
):
    """The signal's page has several forms; only the one marked (the close form, with a note to
    type) renews the session, and it does while the coordinator types."""
    signal = make_signal(employee[0], description=DESCRIPTION)
    user, device = coordinator
    log_in(page, user.username, totp_now(device))
    page.clock.install()
    page.goto(base_url + f"/signalen/{signal.pk}/")
    page.wait_for_load_state("load")
    calls = []
    page.on("request", lambda request: calls.append(request) if request.url.endswith("/account/actief/") else None)
    note = page.get_by_label("Toelichting")

    note.press_sequentially("Bleek")
    assert calls == []
    page.clock.fast_forward("06:00")
    with page.expect_response(lambda response: response.url.endswith("/account/actief/")) as renewed:
        note.press_sequentially(" een verhuizing")
    assert renewed.value.status == 204
    assert len(calls) == 1


def test_on_a_phone_the_lists_and_the_signals_page_do_not_scroll_sideways(
    page, base_url, employee, coordinator, log_in
):
    """A wide table scrolls within its own box; the page itself stays as wide as the screen."""
    make_signal(
        employee[0],
        description=DESCRIPTION,
        subjects=[SubjectData(kind="person", name="Piet Jansen", address="1541 KL 22", kenteken="GB123K")],
    )
    signal = Signal.objects.get()
    page.set_viewport_size({"width": 390, "height": 800})

    def page_width() -> int:
        return page.evaluate("document.documentElement.scrollWidth")

    user, device = coordinator
    log_in(page, user.username, totp_now(device))
    for path in ("/signalen/", f"/signalen/{signal.pk}/"):
        page.goto(base_url + path)
        assert page_width() <= 390, path
    page.get_by_role("button", name="Uitloggen").click()
    user, device = employee
    log_in(page, user.username, totp_now(device))
    for path in ("/meldingen/", f"/meldingen/{signal.pk}/"):
        page.goto(base_url + path)
        assert page_width() <= 390, path
