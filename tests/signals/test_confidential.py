"""Confidential reporting without an account: the public form, the receipt code, the follow-up
with the code, guessing codes, rate limits, and the reporter's identity kept apart."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AccessLog, AuditEvent
from privacy.models import DataKey
from signals import confidential_services, confidential_views
from signals.models import (
    Channel,
    MessageDirection,
    ReceiptCode,
    ReporterContact,
    ReporterIdentityRequest,
    Signal,
    SignalMessage,
    SignalStatus,
    Subject,
)
from tests.conftest import verified_client
from tests.factories import make_signal

pytestmark = pytest.mark.django_db

DESCRIPTION = "Bij de nagelstudio aan de Dorpsstraat komen 's nachts steeds andere busjes aan."
CODE_PATTERN = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){5})</code>")
WRONG_CODE = "Met deze code kunnen wij geen melding openen."
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def _fast_and_clean(settings):
    """No padding delay in tests (one test checks it explicitly), and fresh counters."""
    settings.WEERBAAR_RECEIPT_CHECK_MILLISECONDS = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def organisation(organisation):
    organisation.confidential_reporting_enabled = True
    organisation.save(update_fields=["confidential_reporting_enabled"])
    return organisation


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation, email="coordinator@example.org")


def _form_url(organisation) -> str:
    return reverse("signals:confidential_submit", kwargs={"organisation_id": organisation.pk})


def _post_data(client, organisation, **overrides) -> dict:
    page = client.get(_form_url(organisation), {"acuut": "nee"})
    assert page.status_code == 200
    data = {
        "submission_key": str(page.context["form"].initial["submission_key"]),
        "acute_danger": "False",
        "description": DESCRIPTION,
        "phenomenon": "",
        "address": "",
        "location": "",
        "observed_on": "",
        "noticed_how": "privately",
        "betrokkene-TOTAL_FORMS": "3",
        "betrokkene-INITIAL_FORMS": "0",
        "betrokkene-MIN_NUM_FORMS": "0",
        "betrokkene-MAX_NUM_FORMS": "10",
        "betrokkene-0-kind": "vehicle",
        "betrokkene-0-kenteken": "AB-123-C",
        "reporter_name": "",
        "reporter_email": "",
        "reporter_phone": "",
    }
    data.update(overrides)
    return data


def _submit(client, organisation, **overrides):
    return client.post(_form_url(organisation), _post_data(client, organisation, **overrides))


def _code_from(response) -> str:
    match = CODE_PATTERN.search(response.content.decode())
    assert match, "no receipt code on the page"
    return match.group(1)


def _report(organisation, client=None, **overrides) -> tuple[Client, Signal, str]:
    """An anonymous reporter submits and reads the code on the confirmation page."""
    client = client or Client()
    response = _submit(client, organisation, **overrides)
    assert response.status_code == 302, response.content.decode()[:2000]
    code = _code_from(client.get(response["Location"]))
    return client, Signal.objects.latest("pk"), code


def _enter_code(client, code: str, **extra):
    return client.post(reverse("signals:confidential_follow_up"), {"code": code}, **extra)


def _other_code(code: str, position: int) -> str:
    compact = code.replace("-", "")
    swapped = "2" if compact[position] != "2" else "3"
    changed = compact[:position] + swapped + compact[position + 1 :]
    return confidential_services.receipt_code_format(changed)


# --- The public form --------------------------------------------------------------------------------


def test_anonymous_reporting_works_only_where_it_is_switched_on(organisation, other_organisation):
    anonymous = Client()
    assert anonymous.get(_form_url(other_organisation)).status_code == 404
    assert anonymous.post(_form_url(other_organisation), {"description": DESCRIPTION}).status_code == 404
    assert anonymous.get(reverse("signals:confidential_submit", kwargs={"organisation_id": 999999})).status_code == 404

    start = anonymous.get(_form_url(organisation))
    assert start.status_code == 200
    assert "Is er nu acuut gevaar voor iemand?" in start.content.decode()
    assert "Bel nu 112" in anonymous.get(_form_url(organisation), {"acuut": "ja"}).content.decode()
    assert "Bel nu 112" not in anonymous.get(_form_url(organisation), {"acuut": "nee"}).content.decode()

    response = _submit(anonymous, organisation)

    assert response.status_code == 302
    assert response["Location"] == reverse("signals:confidential_submitted")
    signal = Signal.objects.get()
    assert signal.organisation == organisation and signal.channel == Channel.CONFIDENTIAL_FORM
    assert signal.reporter is None and signal.registered_by is None
    assert signal.description == DESCRIPTION
    assert Subject.objects.get(signal=signal).kenteken == "AB123C"
    events = {e.action: e for e in AuditEvent.objects.filter(record_id=str(signal.pk))}
    assert set(events) == {"signal.submitted", "signal.receipt_issued"}
    assert all(e.actor_id is None for e in events.values())
    assert events["signal.receipt_issued"].data["contact_details"] is False
    assert not ReporterContact.objects.exists()


def test_coordinator_pages_need_a_login(organisation):
    signal = make_signal(None, organisation_id=organisation.pk)
    for name in ("signals:confidential_messages", "signals:confidential_reporter"):
        response = Client().get(reverse(name, kwargs={"pk": signal.pk}))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_logged_in_user_on_the_public_form_is_not_linked_to_the_report(organisation, make_user):
    employee = make_user(role=Role.EMPLOYEE, organisation=organisation)
    client = verified_client(employee)

    page = client.get(_form_url(organisation), {"acuut": "nee"}).content.decode()
    _, signal, _ = _report(organisation, client=client)

    assert "niet aan uw account gekoppeld" in page
    assert signal.reporter_id is None
    assert set(signal.history.values_list("history_user_id", flat=True)) == {None}
    assert not AuditEvent.objects.filter(actor_id=employee.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"description": ""}, "Beschrijf wat u is opgevallen."),
        ({"reporter_email": "jan@@voorbeeld"}, "Vul een geldig e-mailadres in."),
        ({"reporter_phone": "12345"}, "Vul een telefoonnummer in"),
        ({"address": "12345"}, "Vul postcode en huisnummer in als 1234 AB 12."),
        ({"betrokkene-0-kenteken": "ABCDEF"}, "Een kenteken bestaat uit"),
    ],
)
def test_bad_input_keeps_what_was_typed_and_stores_nothing(organisation, overrides, message):
    client = Client()
    data = {"reporter_name": "Jan Melder", **overrides}

    response = _submit(client, organisation, **data)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Jan Melder" in html
    assert DESCRIPTION.replace("'", "&#x27;") in html or overrides.get("description") == ""
    for model in (Signal, Subject, ReceiptCode, ReporterContact, AuditEvent):
        assert not model.objects.exists(), model
    assert _code_from_page_or_none(client.get(reverse("signals:confidential_submitted"))) is None


def _code_from_page_or_none(response):
    match = CODE_PATTERN.search(response.content.decode())
    return match.group(1) if match else None


# --- The receipt code -------------------------------------------------------------------------------


def test_code_is_shown_once_is_in_no_url_and_only_its_hash_is_stored(organisation):
    client = Client()
    response = _submit(client, organisation)
    confirmation = client.get(response["Location"])
    code = _code_from(confirmation)
    compact = code.replace("-", "")

    assert confirmation["Cache-Control"].count("no-store") == 1
    assert re.fullmatch(r"[0-9ABCDEFGHJKMNPQRSTVWXYZ]{24}", compact)  # no I, L, O, U
    again = client.get(reverse("signals:confidential_submitted"))
    assert _code_from_page_or_none(again) is None
    assert "maar één keer" in again.content.decode()
    for url in (response["Location"], confirmation.request["PATH_INFO"], confirmation.request.get("QUERY_STRING", "")):
        assert compact not in url.replace("-", "").upper()
    with connection.cursor() as cursor:
        cursor.execute("SELECT lookup_id, code_hash FROM signals_receiptcode")
        rows = cursor.fetchall()
    assert len(rows) == 1
    lookup_id, code_hash = rows[0]
    assert lookup_id == compact[:8]  # the public part; the 80-bit secret part is not stored
    assert code_hash.startswith("argon2$argon2id$")
    assert compact not in code_hash and compact[8:] not in code_hash
    follow = _enter_code(client, code)
    assert follow["Location"] == reverse("signals:confidential_follow_up_signal")
    assert compact not in follow["Location"]


@pytest.mark.django_db(transaction=True)
def test_the_raw_database_holds_no_code_contact_details_or_answer(organisation):
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from tests.privacy.test_encryption import _raw_database_bytes

    client = Client()
    # A canary no other test writes in plaintext: deleted rows of earlier tests stay in the file's
    # free pages, and tests/privacy has a user coordinator.kanarie@example.org.
    response = _submit(
        client, organisation, reporter_name="Kanarie Melder", reporter_email="melder-kanarie-contact@example.org"
    )
    # Before the code is shown it waits in the session (the session table, on this set-up), sealed:
    # neither the raw bytes nor the decoded session hold it.
    raw_before = _raw_database_bytes()
    decoded = [SessionStore().decode(s.session_data) for s in Session.objects.all()]
    assert decoded and all(confidential_views.RECEIPT_SESSION_KEY in d for d in decoded)
    code = _code_from(client.get(response["Location"]))
    _enter_code(client, code)
    client.post(reverse("signals:confidential_follow_up_signal"), {"text": "Kanarieantwoord over de busjes"})
    raw_after = _raw_database_bytes()

    assert organisation.name.encode() in raw_after  # the scan sees plaintext that is not encrypted
    assert SignalMessage.objects.count() == 1 and ReporterContact.objects.count() == 1
    compact = code.replace("-", "")
    assert all(compact not in str(d) and code not in str(d) for d in decoded)
    for raw in (raw_before, raw_after):
        for secret in (
            code,
            compact,
            compact[8:],
            "Kanarie Melder",
            "melder-kanarie-contact@example.org",
            "nagelstudio",
        ):
            assert secret.encode() not in raw, secret
    assert b"Kanarieantwoord" not in raw_after


def test_a_double_submit_gives_one_signal_and_the_code_shown_works(organisation):
    client = Client()
    data = _post_data(client, organisation, reporter_name="Jan Melder")
    first = client.post(_form_url(organisation), data)
    second = client.post(_form_url(organisation), data)
    page = client.get(second["Location"])
    code = _code_from(page)
    assert "Dit formulier was al eerder verstuurd." in page.content.decode()

    assert first.status_code == second.status_code == 302
    assert Signal.objects.count() == 1 and ReporterContact.objects.count() == 1
    assert ReceiptCode.objects.count() == 2
    assert _enter_code(client, code)["Location"] == reverse("signals:confidential_follow_up_signal")
    # A few at most: then the page says the report was already received, without a new code.
    client.post(_form_url(organisation), data)
    client.post(_form_url(organisation), data)
    later = client.get(reverse("signals:confidential_submitted")).content.decode()
    assert ReceiptCode.objects.count() == confidential_services.MAX_CODES_PER_SIGNAL
    assert "al eerder ontvangen" in later and CODE_PATTERN.search(later) is None


def test_the_same_form_sent_from_another_browser_gets_no_code_and_adds_nothing(organisation, coordinator):
    """The form's submission key is in its page: someone who finds that page (left open on a
    shared computer) and sends it again gets neither a code for the real reporter's signal nor
    their own contact details attached to it."""
    reporter = Client()
    data = _post_data(reporter, organisation)  # no contact details
    assert reporter.post(_form_url(organisation), data).status_code == 302
    signal = Signal.objects.get()
    verified_client(coordinator).post(
        reverse("signals:confidential_messages", kwargs={"pk": signal.pk}), {"text": "Welk kenteken had het busje?"}
    )

    other = Client()
    replay = {**data, "description": "iets anders", "reporter_name": "Piet Ander", "reporter_email": "piet@example.org"}
    response = other.post(_form_url(organisation), replay)
    assert response.status_code == 302
    page = other.get(response["Location"]).content.decode()
    assert CODE_PATTERN.search(page) is None and "al eerder ontvangen" in page
    assert Signal.objects.count() == 1 and ReceiptCode.objects.count() == 1
    assert not ReporterContact.objects.exists()
    assert Signal.objects.get().description == data["description"]
    # The reporter's own browser still gets a new code for a double click.
    again = reporter.post(_form_url(organisation), data)
    assert _code_from(reporter.get(again["Location"]))
    assert ReceiptCode.objects.count() == 2


def test_a_double_click_after_the_session_expired_still_gets_a_working_code(organisation):
    """Writing took longer than the session's idle timeout: both clicks carry no session. The
    browser was given the form all the same, so the second answer has a code that works."""
    client = Client()
    data = _post_data(client, organisation)
    client.cookies.pop(settings.SESSION_COOKIE_NAME, None)  # the session is gone
    first = client.post(_form_url(organisation), data)
    client.cookies.pop(settings.SESSION_COOKIE_NAME, None)  # and the first answer never arrived
    second = client.post(_form_url(organisation), data)
    assert first.status_code == second.status_code == 302
    code = _code_from(client.get(second["Location"]))
    assert ReceiptCode.objects.count() == 2 and Signal.objects.count() == 1
    assert _enter_code(client, code)["Location"] == reverse("signals:confidential_follow_up_signal")


def test_nothing_on_the_server_ties_the_form_to_a_session_or_an_account(organisation, employee):
    """An employee logged in in the same browser opens the public form: the session store holds
    neither the form's key nor anything derived from it."""
    from django.contrib.sessions.models import Session

    client = verified_client(employee)
    data = _post_data(client, organisation)
    assert client.post(_form_url(organisation), data).status_code == 302
    key = data["submission_key"]
    stored = " ".join(str(s.get_decoded()) for s in Session.objects.all())
    assert key not in stored and key.replace("-", "") not in stored
    assert confidential_views._form_digest(key) not in stored


def _form_key(page) -> str:
    return str(page.context["form"].initial["submission_key"])


def test_a_question_or_an_answer_sent_twice_is_one_message(organisation, coordinator):
    """A double click on "Versturen": one question for the reporter, one answer for the coordinator
    (and one notification); another form is another message."""
    reporter, signal, code = _report(organisation)
    staff = verified_client(coordinator)
    questions = reverse("signals:confidential_messages", kwargs={"pk": signal.pk})
    question = {"text": "Welk kenteken had het busje?", "submission_key": _form_key(staff.get(questions))}
    for _ in range(2):
        assert staff.post(questions, question).status_code == 302
    assert (
        staff.post(questions, {"text": "En de kleur?", "submission_key": _form_key(staff.get(questions))}).status_code
        == 302
    )

    _enter_code(reporter, code)
    follow_up = reverse("signals:confidential_follow_up_signal")
    answer = {"text": "Het was XX-999-X.", "submission_key": _form_key(reporter.get(follow_up))}
    for _ in range(2):
        reporter.post(follow_up, answer)

    directions = list(SignalMessage.objects.filter(signal=signal).order_by("pk").values_list("direction", flat=True))
    assert directions == ["to_reporter", "to_reporter", "from_reporter"]
    assert AuditEvent.objects.filter(action="signal.question_sent").count() == 2
    assert AuditEvent.objects.filter(action="signal.reporter_message_added").count() == 1
    assert reporter.get(follow_up).content.decode().count("Welk kenteken had het busje?") == 1


# --- Following up with the code ---------------------------------------------------------------------


def test_the_right_code_shows_the_status_and_the_coordinators_question(organisation, coordinator):
    reporter, signal, code = _report(organisation)
    coordinator_client = verified_client(coordinator)
    asked = coordinator_client.post(
        reverse("signals:confidential_messages", kwargs={"pk": signal.pk}), {"text": "Welke kleur hadden de busjes?"}
    )
    assert asked.status_code == 302
    assert AuditEvent.objects.filter(action="signal.question_sent", actor_id=coordinator.pk).exists()
    messages_page = reverse("signals:confidential_messages", kwargs={"pk": signal.pk})
    assert "Nog niet gelezen door de melder" in coordinator_client.get(messages_page).content.decode()

    # Typed loosely: lower case, spaces instead of dashes.
    entered = _enter_code(reporter, code.lower().replace("-", " "))
    page = reporter.get(entered["Location"])

    html = page.content.decode()
    assert page.status_code == 200
    assert "ontvangen" in html and "Welke kleur hadden de busjes?" in html and "nieuw</span>" in html
    assert DESCRIPTION not in html and signal.reference not in html  # nothing internal
    assert "Gelezen door de melder op" in coordinator_client.get(messages_page).content.decode()
    Signal.objects.filter(pk=signal.pk).update(status=SignalStatus.IN_TRIAGE)
    again = reporter.get(entered["Location"]).content.decode()
    assert "in behandeling" in again and "nieuw</span>" not in again


def test_the_reporter_sees_afgerond_once_the_coordinator_closed_the_signal(organisation, coordinator):
    from signals.models import ClosureReason
    from signals.services import signal_close

    reporter, signal, code = _report(organisation)
    page = _enter_code(reporter, code)["Location"]
    assert "ontvangen" in reporter.get(page).content.decode()

    signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.NO_TASK, note="Intern: geen taak.")

    html = reporter.get(page).content.decode()
    assert "afgerond" in html
    assert "Intern: geen taak." not in html and "Geen taak of bevoegdheid" not in html  # nothing internal


def test_a_message_after_closing_is_flagged_for_the_coordinator(organisation, coordinator, employee):
    """The reporter can still write on an afgerond signal; the coordinator must see it without
    opening every closed signal, and the reporter is told what happens with it."""
    from signals.models import ClosureReason
    from signals.services import signal_close

    reporter, signal, code = _report(organisation)
    quiet = make_signal(employee)
    for closed in (signal, quiet):
        signal_close(actor=coordinator, signal_id=closed.pk, reason=ClosureReason.NO_TASK)
    client = verified_client(coordinator)

    def inbox_rows():
        inbox = client.get(reverse("signals:inbox"), {"status": ""}).content.decode()  # closed ones too
        return {
            ref: re.search(rf"{ref}</a>.*?</tr>", inbox, re.S).group(0) for ref in (signal.reference, quiet.reference)
        }

    assert not any("bericht van de melder" in row for row in inbox_rows().values())

    _enter_code(reporter, code)
    sent = reporter.post(
        reverse("signals:confidential_follow_up_signal"), {"text": "Er staat weer een busje."}, follow=True
    )
    assert "Uw melding was afgerond; de coördinator leest uw bericht" in sent.content.decode()

    rows = inbox_rows()
    assert "nieuw bericht van de melder" in rows[signal.reference]
    assert "bericht van de melder" not in rows[quiet.reference]
    detail = client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()
    assert "De melder schreef na het afsluiten een nieuw bericht" in detail
    # Read, it is no longer new; it stays flagged as written after closing until the signal is reopened.
    client.get(reverse("signals:confidential_messages", kwargs={"pk": signal.pk}))
    rows = inbox_rows()
    assert "nieuw bericht" not in rows[signal.reference]
    assert "bericht van de melder na afsluiten" in rows[signal.reference]


def test_the_answer_is_stored_encrypted_and_reaches_the_coordinator(
    organisation, coordinator, django_capture_on_commit_callbacks, eager_tasks
):
    reporter, signal, code = _report(organisation)
    _enter_code(reporter, code)

    with django_capture_on_commit_callbacks(execute=True):
        response = reporter.post(
            reverse("signals:confidential_follow_up_signal"), {"text": "Ze waren wit, zonder logo."}
        )

    assert response.status_code == 302
    message = SignalMessage.objects.get()
    assert message.direction == MessageDirection.FROM_REPORTER and message.sent_by is None
    assert message.data_key_id == signal.data_key_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM signals_signalmessage WHERE id = %s", [message.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("wb1:") and "wit" not in raw
    assert SignalMessage.objects.get().text == "Ze waren wit, zonder logo."
    event = AuditEvent.objects.get(action="signal.reporter_message_added")
    assert event.actor_id is None and event.data == {"message_id": message.pk}
    # The coordinators get a link, no content.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["coordinator@example.org"]
    assert f"/signalen/{signal.pk}/berichten/" in mail.outbox[0].body
    assert "wit" not in mail.outbox[0].body
    page = verified_client(coordinator).get(reverse("signals:confidential_messages", kwargs={"pk": signal.pk}))
    assert "Ze waren wit, zonder logo." in page.content.decode()
    assert AccessLog.objects.filter(user_id=coordinator.pk, page="signals:confidential_messages").exists()
    # The reporter sees the answer too, and still has access without typing the code again.
    assert "Ze waren wit" in reporter.get(reverse("signals:confidential_follow_up_signal")).content.decode()


def test_access_lapses_after_idle_minutes_and_on_signing_off(organisation, settings):
    settings.WEERBAAR_RECEIPT_SESSION_MINUTES = 15
    page = reverse("signals:confidential_follow_up_signal")
    reporter, _, code = _report(organisation)
    _enter_code(reporter, code)

    assert reporter.get(page).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=14)):
        assert reporter.get(page).status_code == 200  # renewed while in use
    with time_machine.travel(timezone.now() + timedelta(minutes=14 + 16)):
        assert reporter.get(page)["Location"] == reverse("signals:confidential_follow_up")

    _enter_code(reporter, code)
    reporter.post(reverse("signals:confidential_follow_up_end"))
    assert reporter.get(page)["Location"] == reverse("signals:confidential_follow_up")
    assert Client().get(page)["Location"] == reverse("signals:confidential_follow_up")


# --- Wrong codes ------------------------------------------------------------------------------------


def test_an_unknown_code_and_a_wrong_secret_look_the_same(organisation, settings, monkeypatch):
    _, _, code = _report(organisation)
    unknown_lookup = _other_code(code, 0)
    wrong_secret = _other_code(code, 23)
    verified = []
    original_verify = confidential_services._HASHER.verify
    monkeypatch.setattr(
        confidential_services._HASHER,
        "verify",
        lambda password, encoded: verified.append(encoded) or original_verify(password, encoded),
    )
    slept = []
    monkeypatch.setattr("signals.confidential_views.time.sleep", slept.append)
    # A clock that stands still: every path must then ask for the whole padding, whatever the
    # hash costs on this machine (no wall-clock time in the assertion).
    monkeypatch.setattr("signals.confidential_views.time.monotonic", lambda: 100.0)
    settings.WEERBAAR_RECEIPT_CHECK_MILLISECONDS = 1000

    responses = [_enter_code(Client(), attempt) for attempt in (unknown_lookup, wrong_secret, "ABCD-1234")]

    assert [r.status_code for r in responses] == [200, 200, 200]
    bodies = {CSRF.sub(b"", r.content) for r in responses}
    assert len(bodies) == 1  # byte for byte the same page
    assert WRONG_CODE in responses[0].content.decode()
    assert unknown_lookup not in responses[0].content.decode()  # the typed code is not echoed
    # Every attempt costs one Argon2 verification (a dummy hash when the lookup id is unknown) ...
    assert len(verified) == 3 and all(encoded.startswith("argon2$") for encoded in verified)
    # ... and is padded to the same response time.
    assert slept == [1.0, 1.0, 1.0]
    assert not AuditEvent.objects.filter(action__startswith="signal.receipt_checked").exists()


def test_repeated_guessing_is_locked_out_per_client(organisation, settings):
    settings.WEERBAAR_RECEIPT_FAILURE_LIMIT = 3
    settings.WEERBAAR_RECEIPT_LOCKOUT_MINUTES = 15
    _, _, code = _report(organisation)
    guesser = Client(REMOTE_ADDR="203.0.113.7")

    for position in (0, 1, 2):
        assert WRONG_CODE in _enter_code(guesser, _other_code(code, position)).content.decode()
    locked = _enter_code(guesser, code)  # even the right code

    assert locked.status_code == 429
    assert "te vaak een onjuiste code" in locked.content.decode()
    assert "Location" not in locked
    # Another client is not affected; the guesser may try again after the cool-off.
    assert _enter_code(Client(REMOTE_ADDR="198.51.100.9"), code).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert _enter_code(guesser, code).status_code == 302


def test_repeated_guessing_of_one_code_is_locked_out_from_every_client(organisation, settings):
    settings.WEERBAAR_RECEIPT_FAILURE_LIMIT = 3
    _, _, code = _report(organisation)
    _, _, other_code = _report(organisation)

    for n in range(3):  # three clients, each one wrong guess at the same lookup id
        _enter_code(Client(REMOTE_ADDR=f"203.0.113.{n + 1}"), _other_code(code, 20))
    refused = _enter_code(Client(REMOTE_ADDR="198.51.100.9"), code)

    assert refused.status_code == 200 and WRONG_CODE in refused.content.decode()  # the same neutral message
    assert _enter_code(Client(REMOTE_ADDR="198.51.100.10"), other_code).status_code == 302


def test_no_ip_address_is_stored_in_the_cache_or_the_database(organisation):
    client = Client(REMOTE_ADDR="203.0.113.77")
    _, _, code = _report(organisation, client=client)
    _enter_code(client, _other_code(code, 0))

    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        sessions = " ".join(row[0] for row in cursor.fetchall())
    assert sessions and "203.0.113.77" not in sessions
    assert not AuditEvent.objects.filter(data__icontains="203.0.113.77").exists()
    if not hasattr(cache, "_cache"):
        pytest.skip("the cache keys are inspected on LocMemCache, the test set-up")
    cached = " ".join(str(key) for key in cache._cache)
    assert cache._cache and "203.0.113.77" not in cached


# --- Rate limits ------------------------------------------------------------------------------------


def test_submissions_are_rate_limited_per_client(organisation, settings):
    settings.WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR = 2
    client = Client(REMOTE_ADDR="203.0.113.5")
    _report(organisation, client=client)
    _report(organisation, client=client)

    refused = _submit(client, organisation, reporter_name="Jan Melder")

    assert refused.status_code == 429
    html = refused.content.decode()
    assert "veel berichten verstuurd" in html and "Jan Melder" in html
    assert Signal.objects.count() == 2
    assert _submit(Client(REMOTE_ADDR="198.51.100.5"), organisation).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert _submit(client, organisation).status_code == 302
    assert Signal.objects.count() == 4


def test_reporter_messages_are_rate_limited(organisation, settings):
    settings.WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR = 1
    reporter, _, code = _report(organisation, client=Client(REMOTE_ADDR="203.0.113.6"))
    cache.clear()  # count only the messages
    _enter_code(reporter, code)
    page = reverse("signals:confidential_follow_up_signal")

    assert reporter.post(page, {"text": "Eerste aanvulling"}).status_code == 302
    refused = reporter.post(page, {"text": "Tweede aanvulling"})

    assert refused.status_code == 429 and "Tweede aanvulling" in refused.content.decode()
    assert SignalMessage.objects.count() == 1


# --- The reporter's identity ------------------------------------------------------------------------


def test_reporter_identity_only_after_a_reasoned_and_audited_request(organisation, coordinator):
    _, signal, _ = _report(
        organisation, reporter_name="Jan Melder", reporter_email="Jan@Example.org", reporter_phone="06-12345678"
    )
    contact = ReporterContact.objects.get(signal=signal)
    assert contact.data_key_id != signal.data_key_id  # a key of its own
    client = verified_client(coordinator)
    url = reverse("signals:confidential_reporter", kwargs={"pk": signal.pk})

    detail = client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()
    before = client.get(url).content.decode()
    too_short = client.post(url, {"reason": "Even bellen"}).content.decode()

    for html in (detail, before, too_short):
        assert "Jan Melder" not in html and "jan@example.org" not in html and "+31612345678" not in html
    assert "Gegevens opvragen" in before
    assert "minstens 20 tekens" in too_short
    assert not ReporterIdentityRequest.objects.exists()
    assert not AuditEvent.objects.filter(action="signal.reporter_identity_disclosed").exists()

    reason = "Wij willen de melder vragen naar het kenteken van het tweede busje."
    shown = client.post(url, {"reason": reason}).content.decode()

    assert "Jan Melder" in shown and "jan@example.org" in shown and "+31612345678" in shown
    request = ReporterIdentityRequest.objects.get()
    assert request.requested_by == coordinator and request.reason == reason
    assert request.data_key_id == signal.data_key_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM signals_reporteridentityrequest")
        assert "kenteken" not in cursor.fetchone()[0]
        cursor.execute("SELECT name, email, phone FROM signals_reportercontact")
        assert all(value.startswith("wb1:") for value in cursor.fetchone())
    event = AuditEvent.objects.get(action="signal.reporter_identity_disclosed")
    assert event.actor_id == coordinator.pk and event.record_id == str(signal.pk)
    assert event.data == {"request_id": request.pk, "contact_id": contact.pk}
    assert AccessLog.objects.filter(
        user_id=coordinator.pk, record_type="signals.reportercontact", record_id=str(contact.pk)
    ).exists()
    # Seeing them again takes a new request: the next visit shows who asked and why, not the details.
    again = client.get(url).content.decode()
    assert "Jan Melder" not in again and reason in again


def test_a_request_for_the_reporters_details_sent_twice_is_one_request(organisation, coordinator, make_user):
    """A double click on "Gegevens opvragen": one recorded request and one audit event; both
    answers show the details, and each showing is in the access log."""
    _, signal, _ = _report(organisation, reporter_name="Jan Melder")
    contact = ReporterContact.objects.get(signal=signal)
    client = verified_client(coordinator)
    url = reverse("signals:confidential_reporter", kwargs={"pk": signal.pk})
    key = _field(client.get(url).content.decode(), "submission_key")
    reason = "Wij willen de melder vragen naar het kenteken van het tweede busje."

    shown = [client.post(url, {"reason": reason, "submission_key": key}).content.decode() for _ in range(2)]

    assert all("Jan Melder" in html for html in shown)
    assert ReporterIdentityRequest.objects.count() == 1
    assert AuditEvent.objects.filter(action="signal.reporter_identity_disclosed").count() == 1
    assert AccessLog.objects.filter(record_type="signals.reportercontact", record_id=str(contact.pk)).count() == 2
    # The same form sent again with another reason (the first answer was lost, the reason edited):
    # that reason is recorded too, as a request of its own.
    other_reason = "Wij willen de melder vragen of het busje er vaker staat."
    client.post(url, {"reason": other_reason, "submission_key": key})
    assert sorted(r.reason for r in ReporterIdentityRequest.objects.all()) == sorted([reason, other_reason])
    # A new request (a new form) is a new record.
    fresh = _field(client.get(url).content.decode(), "submission_key")
    assert fresh != key
    client.post(url, {"reason": reason, "submission_key": fresh})
    assert ReporterIdentityRequest.objects.count() == 3

    # Another coordinator replaying the key sees nothing and records nothing.
    colleague = verified_client(make_user(role=Role.COORDINATOR, organisation=organisation))
    replay = colleague.post(url, {"reason": reason, "submission_key": key})
    assert replay.status_code == 403 and "Jan Melder" not in replay.content.decode()
    assert ReporterIdentityRequest.objects.count() == 3


def test_other_organisations_coordinator_gets_404_and_changes_nothing(organisation, make_user, other_organisation):
    _, signal, _ = _report(organisation, reporter_name="Jan Melder")
    stranger = verified_client(make_user(role=Role.COORDINATOR, organisation=other_organisation))
    messages_url = reverse("signals:confidential_messages", kwargs={"pk": signal.pk})
    reporter_url = reverse("signals:confidential_reporter", kwargs={"pk": signal.pk})

    assert stranger.get(messages_url).status_code == 404
    assert stranger.get(reporter_url).status_code == 404
    assert stranger.post(messages_url, {"text": "Een vraag van buiten"}).status_code == 404
    assert stranger.post(reporter_url, {"reason": "Ik wil weten wie dit gemeld heeft, graag."}).status_code == 404
    assert not SignalMessage.objects.exists() and not ReporterIdentityRequest.objects.exists()


def test_employees_cannot_use_the_coordinator_pages(organisation, make_user):
    _, signal, _ = _report(organisation, reporter_name="Jan Melder")
    employee = verified_client(make_user(role=Role.EMPLOYEE, organisation=organisation))
    for name in ("signals:confidential_messages", "signals:confidential_reporter"):
        url = reverse(name, kwargs={"pk": signal.pk})
        assert employee.get(url).status_code == 403
        assert employee.post(url, {"reason": "x" * 40, "text": "vraag"}).status_code == 403
    assert not SignalMessage.objects.exists() and not ReporterIdentityRequest.objects.exists()


def test_no_questions_on_a_signal_registered_on_behalf_of_someone(organisation, coordinator):
    """Registered from a phone call or a letter: Weerbaar has no way to reach that reporter."""
    signal = make_signal(coordinator, channel=Channel.PHONE)
    client = verified_client(coordinator)
    url = reverse("signals:confidential_messages", kwargs={"pk": signal.pk})

    page = client.get(url).content.decode()
    response = client.post(url, {"text": "Een vraag"})

    assert "Vraag klaarzetten" not in page and "Vraag versturen" not in page
    assert "namens de melder geregistreerd" in response.content.decode()
    assert not SignalMessage.objects.exists()


def test_destroying_the_signal_destroys_the_contact_details_and_their_key(organisation):
    import signals.confidential_receivers  # noqa: F401  (connected in SignalsConfig.ready)
    from privacy.services import record_purge

    _, signal, _ = _report(organisation, reporter_name="Jan Melder")
    contact_key = ReporterContact.objects.get().data_key_id
    Signal.objects.filter(pk=signal.pk).update(retention_expires_at=timezone.now() - timedelta(days=1))

    assert record_purge(record=signal, removed_by="test") is not None

    assert not Signal.objects.exists() and not ReporterContact.objects.exists() and not ReceiptCode.objects.exists()
    assert not DataKey.objects.filter(pk__in=[contact_key, signal.data_key_id]).exists()


def test_the_messages_page_costs_a_constant_number_of_queries(organisation, coordinator):
    from django.test.utils import CaptureQueriesContext

    from signals.confidential_services import reporter_message_add, reporter_question_send

    signal = make_signal(None, organisation_id=organisation.pk)
    client = verified_client(coordinator)
    url = reverse("signals:confidential_messages", kwargs={"pk": signal.pk})
    counts = []
    for _ in range(2):
        for n in range(3):
            reporter_question_send(actor=coordinator, signal=signal, text=f"Vraag {n}")
            reporter_message_add(signal=signal, text=f"Antwoord {n}")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_a_message_notification_that_was_never_queued_is_sent_by_the_sweep(organisation, coordinator):
    from signals.confidential_services import reporter_message_add
    from signals.confidential_tasks import send_pending_reporter_message_notifications

    signal = make_signal(None, organisation_id=organisation.pk)
    reporter_message_add(signal=signal, text="Nog iets")  # on-commit callbacks do not run here: never queued

    assert send_pending_reporter_message_notifications() == 0  # too fresh: its own task may still come
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert send_pending_reporter_message_notifications() == 1
        assert send_pending_reporter_message_notifications() == 0
    assert len(mail.outbox) == 1 and "Nog iets" not in mail.outbox[0].body
    assert SignalMessage.objects.get().notified_at is not None


def test_code_contact_and_signal_are_stored_together_or_not_at_all(organisation):
    """A real failure after the signal row is written (the database refuses the receipt code):
    nothing of the report remains, and the reporter is told it was not saved."""
    from django.db import connection

    from signals.models import ReceiptCode, ReporterContact

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_code() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse_code BEFORE INSERT ON signals_receiptcode FOR EACH ROW EXECUTE FUNCTION test_refuse_code()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse_code BEFORE INSERT ON signals_receiptcode BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
    response = _submit(Client(), organisation)

    assert response.status_code == 200
    assert "niet opgeslagen" in response.content.decode()
    assert not Signal.objects.exists()
    assert not ReceiptCode.objects.exists() and not ReporterContact.objects.exists()


def test_adding_a_subject_block_on_the_public_form_keeps_the_input_and_is_no_submission(organisation, settings):
    settings.WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR = 1
    client = Client()
    page = _submit(client, organisation, reporter_name="Kanarie Melder", betrokkene_toevoegen="ja")

    assert page.status_code == 200 and not Signal.objects.exists()
    assert page.context["subjects"].total_form_count() == 4
    assert "Kanarie Melder" in page.content.decode()
    # Adding a block did not count as one of the hour's submissions: the real one still goes through.
    assert _submit(client, organisation).status_code == 302


def test_typing_an_answer_keeps_the_access_alive_and_a_lapsed_one_is_reported(organisation, settings):
    settings.WEERBAAR_RECEIPT_SESSION_MINUTES = 15
    page = reverse("signals:confidential_follow_up_signal")
    alive = reverse("signals:confidential_keep_alive")
    reporter, _, code = _report(organisation)
    _enter_code(reporter, code)
    assert f'data-keep-alive="{alive}"' in reporter.get(page).content.decode()

    start = timezone.now()
    for minutes in (10, 20, 30):  # the page's script, while the reporter types
        with time_machine.travel(start + timedelta(minutes=minutes)):
            response = reporter.post(alive)
            assert response.status_code == 204 and response.content == b""
    with time_machine.travel(start + timedelta(minutes=40)):
        assert reporter.get(page).status_code == 200  # 40 minutes after the code, 10 after the last keystroke
    with time_machine.travel(start + timedelta(minutes=40 + 16)):
        assert reporter.post(alive).status_code == 410
        assert reporter.get(page)["Location"] == reverse("signals:confidential_follow_up")
    assert Client().post(alive).status_code == 410
    assert reporter.get(alive).status_code == 405


def _field(html: str, name: str) -> str:
    """What a browser would send for the form field `name` (a textarea or an input)."""
    import html as html_lib

    area = re.search(rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', html, re.S)
    if area:
        return html_lib.unescape(area.group(1))
    field = re.search(rf'<input type="hidden" name="{name}"(?: value="([^"]*)")?', html)
    return html_lib.unescape(field.group(1) or "")


def _carried(html: str) -> dict:
    """The draft fields of a code form, as the browser sends them."""
    return {name: _field(html, name) for name in ("draft", "draft_key", "draft_for")}


def test_an_answer_sent_after_the_access_lapsed_is_not_lost(organisation, settings):
    """A reporter writes for a long time without the page's script (or with the laptop closed): the
    answer is not sent, and not thrown away either. It comes back with the code form, survives a
    mistyped code, and is back in the answer form after the right one."""
    settings.WEERBAAR_RECEIPT_SESSION_MINUTES = 15
    page = reverse("signals:confidential_follow_up_signal")
    reporter, signal, code = _report(organisation)
    shown = reporter.get(_enter_code(reporter, code)["Location"]).content.decode()
    key = _field(shown, "submission_key")
    answer = "Het busje stond er weer.\r\nDit keer met <b>twee</b> mannen."

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        lapsed = reporter.post(page, {"text": answer, "submission_key": key, "melding": _field(shown, "melding")})
        html = lapsed.content.decode()
        assert lapsed.status_code == 200 and "Uw bericht is nog niet verstuurd" in html
        assert "<b>twee</b>" not in html  # escaped
        assert _field(html, "draft").replace("\r\n", "\n") == answer.replace("\r\n", "\n")
        assert not SignalMessage.objects.exists()

        mistyped = _other_code(code, 23)
        wrong = reporter.post(reverse("signals:confidential_follow_up"), {"code": mistyped, **_carried(html)})
        html = wrong.content.decode()
        assert WRONG_CODE in html and _field(html, "draft").startswith("Het busje stond er weer.")
        assert mistyped not in html and mistyped.replace("-", "") not in html  # the typed code is not echoed

        back = reporter.post(reverse("signals:confidential_follow_up"), {"code": code, **_carried(html)})
        # A redirect, as for every right code: no page answering the POST keeps the code in the history.
        assert back["Location"] == page
        assert answer.split()[0] not in str(dict(reporter.session))  # sealed, not in plain text
        html = reporter.get(page).content.decode()
        assert "Uw tekst staat hieronder weer klaar" in html
        assert _field(html, "text").startswith("Het busje stond er weer.") and _field(html, "submission_key") == key
        assert not SignalMessage.objects.exists()  # the reporter sends it, not the code form
        assert "Uw tekst staat hieronder weer klaar" not in reporter.get(page).content.decode()  # shown once

        for _ in range(2):  # sent, and sent again with a double click: one message
            sent = reporter.post(page, {"text": _field(html, "text"), "submission_key": key})
            assert sent.status_code == 302
    assert list(SignalMessage.objects.values_list("signal_id", flat=True)) == [signal.pk]
    assert SignalMessage.objects.get().text.startswith("Het busje stond er weer.")


def test_a_lapsed_answer_survives_the_lockout_and_is_not_filled_in_for_another_report(organisation, settings):
    settings.WEERBAAR_RECEIPT_SESSION_MINUTES = 15
    settings.WEERBAAR_RECEIPT_FAILURE_LIMIT = 1
    page = reverse("signals:confidential_follow_up_signal")
    reporter, first, code = _report(organisation)
    _, second, other_code = _report(organisation)
    shown = reporter.get(_enter_code(reporter, code)["Location"]).content.decode()

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        lapsed = reporter.post(page, {"text": "Bij de eerste melding.", "melding": _field(shown, "melding")})
        carried = _carried(lapsed.content.decode())
        assert carried["draft_key"] == ""  # the form sent no key: one is made for the answer form

        reporter.post(reverse("signals:confidential_follow_up"), {"code": _other_code(code, 23), **carried})
        locked = reporter.post(reverse("signals:confidential_follow_up"), {"code": _other_code(code, 22), **carried})
        assert locked.status_code == 429 and _field(locked.content.decode(), "draft") == "Bij de eerste melding."

    with time_machine.travel(timezone.now() + timedelta(minutes=40)):
        reporter.post(reverse("signals:confidential_follow_up"), {"code": other_code, **carried})
        html = reporter.get(page).content.decode()
    assert "U schreef deze tekst bij een andere melding" in html and "Bij de eerste melding." in html
    assert _field(html, "text") == ""  # not filled in for the second report
    assert _field(html, "submission_key")  # the answer form has a key of its own
    assert not SignalMessage.objects.filter(signal__in=[first, second]).exists()


def test_an_empty_post_after_the_access_lapsed_goes_to_the_code_form(organisation, settings):
    settings.WEERBAAR_RECEIPT_SESSION_MINUTES = 15
    reporter, _, code = _report(organisation)
    _enter_code(reporter, code)
    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        response = reporter.post(reverse("signals:confidential_follow_up_signal"), {"text": "  "})
    assert response["Location"] == reverse("signals:confidential_follow_up")
