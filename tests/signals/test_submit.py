"""An employee reports a signal: the form, its validation, what is stored, and what the reporter sees."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from audit.models import AccessLog, AuditEvent
from privacy.blind_index import blind_index, person_blind_index
from signals.models import Attachment, Channel, CoordinatorNotification, Signal, Subject
from tests.conftest import verified_client
from tests.factories import PDF_BYTES, make_signal

pytestmark = pytest.mark.django_db


def _form_page(client, acute="nee"):
    return client.get(reverse("signals:submit"), {"acuut": acute})


def _post_data(page, **overrides):
    form = page.context["form"]
    data = {
        "submission_key": str(form.initial["submission_key"]),
        "acute_danger": "False",
        "description": "De winkel op de hoek heeft nooit klanten maar verlengt elk jaar de vergunning.",
        "phenomenon": "",
        "address": "1234 ab 12",
        "location": "",
        "observed_on": "2026-10-01",
        "noticed_how": "in_job",
        "betrokkene-TOTAL_FORMS": "3",
        "betrokkene-INITIAL_FORMS": "0",
        "betrokkene-MIN_NUM_FORMS": "0",
        "betrokkene-MAX_NUM_FORMS": "10",
        "betrokkene-0-kind": "person",
        "betrokkene-0-name": "Jan de Vries",
        "betrokkene-0-date_of_birth": "1980-05-17",
        "betrokkene-1-kind": "company",
        "betrokkene-1-name": "Snackbar De Hoek BV",
        "betrokkene-1-kvk": "1234 5678",
        "betrokkene-2-kind": "",
    }
    data.update(overrides)
    return data


def test_first_question_is_acute_danger_and_yes_shows_112(employee):
    client = verified_client(employee)
    start = client.get(reverse("signals:submit")).content.decode()
    assert "Is er nu acuut gevaar voor iemand?" in start
    assert "Bel nu 112" not in start

    assert "Bel nu 112" in _form_page(client, "ja").content.decode()
    assert "Bel nu 112" not in _form_page(client, "nee").content.decode()


def test_employee_submits_with_subjects_and_attachment_and_sees_it_under_mine(
    employee, coordinator, django_capture_on_commit_callbacks, eager_tasks
):
    client = verified_client(employee)
    page = _form_page(client)
    data = _post_data(page)
    data["attachments"] = [SimpleUploadedFile("foto.pdf", PDF_BYTES, content_type="application/pdf")]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signals:submit"), data)

    signal = Signal.objects.get()
    assert response["Location"] == reverse("signals:submitted", kwargs={"pk": signal.pk})
    confirmation = client.get(response["Location"]).content.decode()
    assert signal.reference in confirmation and "Wat gebeurt er nu?" in confirmation
    assert signal.reporter == employee and signal.channel == Channel.WEB_FORM
    assert signal.address == "1234 AB 12"
    assert signal.address_index == blind_index("address", "1234AB12")
    subjects = {s.kind: s for s in Subject.objects.filter(signal=signal)}
    assert subjects["person"].blind_index == person_blind_index(
        "jan de vries", __import__("datetime").date(1980, 5, 17)
    )
    assert subjects["company"].kvk == "12345678"
    assert subjects["company"].blind_index == blind_index("kvk", "12345678")
    attachment = Attachment.objects.get(signal=signal)
    assert attachment.filename == "foto.pdf" and attachment.size == len(PDF_BYTES)
    event = AuditEvent.objects.get(action="signal.submitted")
    assert event.data == {"channel": "web_form", "subjects": 2, "attachments": 1, "acute_danger": False}
    # Mijn meldingen: the own signal, its coarse status, nothing internal.
    mine = client.get(reverse("signals:mine")).content.decode()
    assert signal.reference in mine and "ontvangen" in mine
    assert "Jan de Vries" not in mine and "winkel op de hoek" not in mine
    # The coordinator was notified with a link only.
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].to == ["coordinator@example.org"]
    assert f"/signalen/{signal.pk}/" in body
    for secret in ("Jan de Vries", "winkel", "1234", "Snackbar", employee.username, employee.last_name):
        assert secret not in body and secret not in mail.outbox[0].subject
    assert CoordinatorNotification.objects.get(signal=signal).sent_at is not None


@pytest.mark.django_db
def test_a_description_as_long_as_the_page_allows_is_accepted_with_its_line_breaks(employee):
    """The textarea's maxlength counts a line break as one character; the browser sends CR LF."""
    client = verified_client(employee)
    lines = ["Regel met wat er opviel."] * 400
    typed = "\n".join(lines)[:9999] + "."
    assert len(typed) == 10000
    sent = typed.replace("\n", "\r\n")
    response = client.post(reverse("signals:submit"), _post_data(_form_page(client), description=sent))
    assert response.status_code == 302
    assert Signal.objects.get().description == typed
    too_long = (typed + "x").replace("\n", "\r\n")
    page = client.post(reverse("signals:submit"), _post_data(_form_page(client), description=too_long))
    assert page.status_code == 200 and Signal.objects.count() == 1
    assert "10000" in page.content.decode()


@pytest.mark.django_db
def test_subjects_go_in_with_one_insert_and_keep_their_history(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), **{"betrokkene-2-kind": "vehicle", "betrokkene-2-kenteken": "12-ABC-3"})
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("signals:submit"), data)
    assert response.status_code == 302
    statements = [q["sql"] for q in queries.captured_queries]
    # All subjects in one INSERT, their history rows in one more (the same statement on PostgreSQL).
    assert sum('INSERT INTO "signals_subject"' in sql for sql in statements) == 1
    assert sum('INSERT INTO "signals_historicalsubject"' in sql for sql in statements) == 1

    signal = Signal.objects.get()
    subjects = list(Subject.objects.filter(signal=signal).order_by("pk"))
    assert [s.kind for s in subjects] == ["person", "company", "vehicle"]
    history = list(Subject.history.filter(signal_id=signal.pk).order_by("id"))
    assert [(h.id, h.history_type, h.history_user_id) for h in history] == [(s.pk, "+", employee.pk) for s in subjects]
    columns = ("name", "kvk", "kenteken", "blind_index", "data_key_id")
    assert list(Subject.history.filter(signal_id=signal.pk).order_by("id").values(*columns)) == list(
        Subject.objects.filter(signal=signal).order_by("pk").values(*columns)
    )


@pytest.mark.parametrize("typed", ["2026-03-14", "14-03-2026", "14/03/2026", "14-03-26"])
@pytest.mark.django_db
def test_a_date_is_read_from_the_date_picker_or_typed_the_dutch_way(employee, typed):
    client = verified_client(employee)
    response = client.post(reverse("signals:submit"), _post_data(_form_page(client), observed_on=typed))
    assert response.status_code == 302
    assert Signal.objects.get().observed_on == __import__("datetime").date(2026, 3, 14)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"description": ""}, "description", "Beschrijf wat u is opgevallen."),
        ({"address": "12345"}, "address", "Vul postcode en huisnummer in als 1234 AB 12."),
        ({"observed_on": "2099-01-01"}, "observed_on", "Deze datum ligt in de toekomst."),
        ({"observed_on": "gisteren"}, "observed_on", "Vul een datum in"),
        ({"betrokkene-1-kvk": "123"}, None, "Een KvK-nummer bestaat uit 8 cijfers."),
        ({"betrokkene-0-name": ""}, None, "Vul de naam van de persoon in."),
        ({"betrokkene-2-kenteken": "AB-123-C"}, None, "Kies wat voor betrokkene dit is."),
        ({"betrokkene-2-kind": "vehicle", "betrokkene-2-kenteken": "ABCDEF"}, None, "Een kenteken bestaat uit"),
        ({"phenomenon": "999999"}, "phenomenon", "Dit fenomeen staat niet (meer) in de lijst."),
    ],
)
def test_bad_input_gets_a_dutch_message_keeps_what_was_typed_and_stores_nothing(employee, overrides, field, message):
    client = verified_client(employee)
    data = _post_data(_form_page(client), **overrides)

    response = client.post(reverse("signals:submit"), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    if field:
        assert f'aria-describedby="id_{field}' in html or f"id_{field}_error" in html
    assert "De winkel op de hoek" in html or overrides.get("description") == ""
    assert not Signal.objects.exists() and not Subject.objects.exists() and not AuditEvent.objects.exists()


def test_double_submit_gives_one_signal(employee, coordinator, django_capture_on_commit_callbacks):
    client = verified_client(employee)
    data = _post_data(_form_page(client))
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("signals:submit"), data)
        second = client.post(reverse("signals:submit"), data)
    assert first["Location"] == second["Location"]
    assert Signal.objects.count() == 1
    assert Subject.objects.count() == 2
    assert CoordinatorNotification.objects.count() == 1


def test_the_form_sent_again_with_changes_says_they_were_not_saved(employee):
    """Back, a line added, sent again: the first signal counts, and the page says so."""
    client = verified_client(employee)
    data = _post_data(_form_page(client))
    first = client.post(reverse("signals:submit"), data)
    assert "al eerder verstuurd" not in client.get(first["Location"]).content.decode()
    changed = {**data, "description": data["description"] + " En er stond een busje voor de deur."}
    second = client.post(reverse("signals:submit"), changed)
    assert second["Location"] == first["Location"]
    page = client.get(second["Location"]).content.decode()
    signal = Signal.objects.get()
    assert f"Dit formulier was al eerder verstuurd en is ontvangen als {signal.reference}." in page
    assert "Wilt u nog iets toevoegen? Dat kan bij Mijn meldingen, onder deze melding." in page
    assert "is niet opgeslagen" in page and "busje" not in signal.description


def test_a_database_error_during_submit_saves_nothing_and_says_so(employee):
    """A real failure of the database half-way (a trigger refusing the subject rows)."""
    client = verified_client(employee)
    data = _post_data(_form_page(client))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON signals_subject FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON signals_subject BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )

    response = client.post(reverse("signals:submit"), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Uw melding is niet opgeslagen" in html
    assert "De winkel op de hoek" in html
    assert not Signal.objects.exists() and not AuditEvent.objects.exists()
    assert not CoordinatorNotification.objects.exists()


def test_reporter_sees_only_own_signals(employee, make_user, organisation):
    colleague = make_user(role=Role.EMPLOYEE, organisation=organisation)
    mine = make_signal(employee)
    theirs = make_signal(colleague)

    page = verified_client(employee).get(reverse("signals:mine")).content.decode()

    assert mine.reference in page and theirs.reference not in page
    assert verified_client(employee).get(reverse("signals:submitted", kwargs={"pk": theirs.pk})).status_code == 404


def test_my_signals_costs_a_constant_number_of_queries(employee, django_assert_num_queries):
    client = verified_client(employee)
    make_signal(employee)
    client.get(reverse("signals:mine"))
    counts = []
    for _ in range(2):
        for _ in range(5):
            make_signal(employee)
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("signals:mine"))
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_inbox_costs_a_constant_number_of_queries_and_is_logged(coordinator, employee):
    from django.test.utils import CaptureQueriesContext

    client = verified_client(coordinator)
    counts = []
    for n in (2, 12):
        while Signal.objects.count() < n:
            make_signal(employee, files=[("a.pdf", PDF_BYTES)])
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(reverse("signals:inbox"))
        counts.append(len(ctx.captured_queries))
        assert len(page.context["signals"]) == n
    assert counts[0] == counts[1]
    assert AccessLog.objects.filter(user_id=coordinator.pk, page="signals:inbox").count() == 2


def test_inbox_shows_each_signals_own_subject_and_attachment_counts(coordinator, employee):
    from signals.services import SubjectData

    both = make_signal(
        employee,
        subjects=[SubjectData(kind="vehicle", kenteken="AB123C"), SubjectData(kind="company", kvk="12345678")],
        files=[("a.pdf", PDF_BYTES)],
    )
    bare = make_signal(employee)

    rows = {s.pk: s for s in verified_client(coordinator).get(reverse("signals:inbox")).context["signals"]}

    assert (rows[both.pk].subject_count, rows[both.pk].attachment_count) == (2, 1)
    assert (rows[bare.pk].subject_count, rows[bare.pk].attachment_count) == (0, 0)


def test_my_signals_shows_fifty_a_page_newest_first(employee, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now()
    made = []
    for n in range(51):
        time_machine.move_to(start + timedelta(minutes=n), tick=False)
        made.append(make_signal(employee))
    client = verified_client(employee)

    first = client.get(reverse("signals:mine"))
    second = client.get(reverse("signals:mine"), {"pagina": 2})

    assert [s.pk for s in first.context["signals"]] == [s.pk for s in reversed(made[1:])]
    assert [s.pk for s in second.context["signals"]] == [made[0].pk]
    assert "pagina 1 van 2" in first.content.decode() and "?pagina=2" in first.content.decode()
    assert "?pagina=1" in second.content.decode()


def test_the_inbox_pages_keep_the_filter(coordinator, employee):
    from signals.views import INBOX_PAGE_SIZE

    for _ in range(INBOX_PAGE_SIZE + 1):
        make_signal(employee)
    client = verified_client(coordinator)

    first = client.get(reverse("signals:inbox"), {"status": "open"}).content.decode()
    second = client.get(reverse("signals:inbox"), {"status": "open", "pagina": 2})

    assert 'href="?status=open&amp;pagina=2"' in first
    assert len(second.context["signals"]) == 1 and 'href="?status=open&amp;pagina=1"' in second.content.decode()


def test_coordinator_reads_the_signal_and_the_read_is_logged(coordinator, employee):
    signal = make_signal(employee, description="Geheime beschrijving", files=[("stuk.pdf", PDF_BYTES)])
    client = verified_client(coordinator)

    page = client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()
    attachment = signal.attachments.get()
    download = client.get(reverse("signals:attachment", kwargs={"pk": signal.pk, "attachment_pk": attachment.pk}))

    assert "Geheime beschrijving" in page
    assert download.content == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"
    assert "stuk.pdf" in download["Content-Disposition"]
    logged = set(AccessLog.objects.filter(user_id=coordinator.pk).values_list("page", "record_id"))
    assert ("signals:detail", str(signal.pk)) in logged
    assert ("signals:attachment", str(attachment.pk)) in logged


def test_signals_about_the_same_subject_are_found_together(coordinator, employee):
    from signals.services import SubjectData

    first = make_signal(employee, subjects=[SubjectData(kind="company", name="A", kvk="12345678")])
    second = make_signal(employee, subjects=[SubjectData(kind="company", name="Ander", kvk="1234 5678")])
    unrelated = make_signal(employee, subjects=[SubjectData(kind="vehicle", kenteken="AB123C")])

    page = verified_client(coordinator).get(reverse("signals:detail", kwargs={"pk": second.pk}))

    related = list(page.context["related"])
    assert related == [first]
    assert unrelated not in related


def test_signals_about_a_namesake_are_shown_apart_as_perhaps_the_same(
    coordinator, employee, make_user, other_organisation
):
    from datetime import date

    from signals.services import SubjectData

    this = make_signal(
        employee, subjects=[SubjectData(kind="person", name="Piet Jansen", date_of_birth=date(1980, 5, 17))]
    )
    same = make_signal(
        employee, subjects=[SubjectData(kind="person", name="Piet Jansen", date_of_birth=date(1980, 5, 17))]
    )
    no_birth_date = make_signal(employee, subjects=[SubjectData(kind="person", name="piet  jansen")])
    other_birth_date = make_signal(
        employee, subjects=[SubjectData(kind="person", name="Piet Jansen", date_of_birth=date(1991, 1, 1))]
    )
    make_signal(employee, subjects=[SubjectData(kind="person", name="Piet Jansen-de Wit")])
    make_signal(
        make_user(role=Role.EMPLOYEE, organisation=other_organisation),
        subjects=[SubjectData(kind="person", name="Piet Jansen")],
    )

    page = verified_client(coordinator).get(reverse("signals:detail", kwargs={"pk": this.pk}))

    assert list(page.context["related"]) == [same]
    assert list(page.context["namesakes"]) == [other_birth_date, no_birth_date]  # newest first, not `same` twice
    assert "Signalen met een betrokkene met dezelfde naam" in page.content.decode()
    alone = verified_client(coordinator).get(
        reverse(
            "signals:detail",
            kwargs={"pk": make_signal(employee, subjects=[SubjectData(kind="vehicle", kenteken="AB123C")]).pk},
        )
    )
    assert list(alone.context["namesakes"]) == []
    assert "dezelfde naam" not in alone.content.decode()


def test_a_signal_about_the_same_subject_is_never_listed_as_a_namesake_however_many_there_are(coordinator, employee):
    from datetime import date

    from signals.services import SubjectData

    person = SubjectData(kind="person", name="Piet Jansen", date_of_birth=date(1980, 5, 17))
    same = [make_signal(employee, subjects=[person]) for _ in range(22)]  # more than the page lists
    namesake = make_signal(employee, subjects=[SubjectData(kind="person", name="Piet Jansen")])

    page = verified_client(coordinator).get(reverse("signals:detail", kwargs={"pk": same[0].pk}))

    assert len(page.context["related"]) == 20
    assert list(page.context["namesakes"]) == [namesake]


def test_only_a_channel_of_registration_on_behalf_takes_a_callers_details(employee):
    import uuid

    from django.core.exceptions import PermissionDenied

    from signals.confidential_services import ContactData, on_behalf_signal_submit
    from signals.services import SignalData

    with pytest.raises(PermissionDenied):
        on_behalf_signal_submit(
            actor=employee,
            organisation_id=employee.organisation_id,
            channel=Channel.WEB_FORM,
            submission_key=uuid.uuid4(),
            data=SignalData(description="Iets"),
            contact=ContactData(name="Kees"),
        )
    assert not Signal.objects.exists()


def test_an_address_is_the_same_subject_in_the_address_field_and_as_a_subject_both_ways(coordinator, employee):
    from signals.services import SubjectData

    as_subject = make_signal(employee, subjects=[SubjectData(kind="address", address="1234 AB 12")])
    in_the_field = make_signal(employee, address="1234ab12")
    elsewhere = make_signal(employee, address="1234 AB 13")
    client = verified_client(coordinator)

    def related(signal):
        return list(client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).context["related"])

    assert related(as_subject) == [in_the_field]
    assert related(in_the_field) == [as_subject]
    assert related(elsewhere) == []


def test_coordinator_registers_a_phone_signal_on_behalf(coordinator):
    client = verified_client(coordinator)
    page = client.get(reverse("signals:register"))
    data = _post_data(page, channel="phone")

    response = client.post(reverse("signals:register"), data)

    signal = Signal.objects.get()
    assert response["Location"] == reverse("signals:detail", kwargs={"pk": signal.pk})
    assert signal.channel == Channel.PHONE
    assert signal.registered_by == coordinator and signal.reporter is None


def test_the_callers_contact_details_are_stored_apart_and_shown_only_on_a_reasoned_request(coordinator):
    from signals.models import ReporterContact, ReporterIdentityRequest

    client = verified_client(coordinator)
    page = client.get(reverse("signals:register"))
    assert "Naam en contactgegevens van de melder (niet verplicht)" in page.content.decode()
    data = _post_data(
        page, channel="phone", reporter_name="Kees  Beller", reporter_phone="06-12345678", reporter_email=""
    )

    client.post(reverse("signals:register"), data)
    client.post(reverse("signals:register"), data)  # sent twice: one signal, one set of details

    signal = Signal.objects.get()
    contact = ReporterContact.objects.get()
    assert contact.signal == signal and contact.data_key_id != signal.data_key_id  # a key of its own
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone FROM signals_reportercontact")
        assert not any("Beller" in str(v) or "12345678" in str(v) for v in cursor.fetchone())
    assert AuditEvent.objects.filter(action="signal.reporter_contact_recorded", actor_id=coordinator.pk).count() == 1

    detail = client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()
    assert "Kees" not in detail and reverse("signals:confidential_reporter", kwargs={"pk": signal.pk}) in detail
    disclosed = client.post(
        reverse("signals:confidential_reporter", kwargs={"pk": signal.pk}),
        {"reason": "Ik wil de beller terugbellen over het kenteken."},
    ).content.decode()
    assert "Kees Beller" in disclosed and "+31612345678" in disclosed
    assert ReporterIdentityRequest.objects.filter(signal=signal, requested_by=coordinator).count() == 1


def test_meld_misdaad_anoniem_takes_no_contact_details(coordinator):
    from signals.models import ReporterContact

    client = verified_client(coordinator)
    page = client.get(reverse("signals:register"))

    response = client.post(reverse("signals:register"), _post_data(page, channel="mma", reporter_name="Kees"))

    assert response.status_code == 200
    assert "Een melding via Meld Misdaad Anoniem is anoniem" in response.content.decode()
    assert 'value="Kees"' in response.content.decode()  # what was typed is kept
    assert not Signal.objects.exists() and not ReporterContact.objects.exists()


def test_a_phone_call_about_acute_danger_is_registered_as_such(coordinator):
    """The caller says someone is in danger now: the coordinator ticks it, and the inbox filter
    and the signal's page show it (the employee's form asks it in a first step instead)."""
    client = verified_client(coordinator)
    page = client.get(reverse("signals:register"))
    html = page.content.decode()
    assert 'type="checkbox" name="acute_danger"' in html and "Er is nu acuut gevaar voor iemand" in html
    assert "Wat heeft de melder gezien of gehoord?" in html and "In het werk of de functie van de melder" in html

    client.post(reverse("signals:register"), _post_data(page, channel="phone", acute_danger="on"))

    signal = Signal.objects.get()
    assert signal.acute_danger
    detail = client.get(reverse("signals:detail", kwargs={"pk": signal.pk})).content.decode()
    assert "acuut gevaar" in detail and "17-05-1980" in detail  # the date of birth as people write it
    acute = client.get(reverse("signals:inbox"), {"acuut": "on"}).content.decode()
    assert signal.reference in acute


@pytest.mark.parametrize("url_name", ["signals:submit", "signals:confidential_submit"])
def test_verder_without_an_answer_says_what_to_choose(employee, organisation, url_name):
    organisation.confidential_reporting_enabled = True
    organisation.save(update_fields=["confidential_reporting_enabled"])
    client = verified_client(employee) if url_name == "signals:submit" else Client()
    kwargs = {"organisation_id": organisation.pk} if url_name == "signals:confidential_submit" else {}
    url = reverse(url_name, kwargs=kwargs)
    start = client.get(url).content.decode()
    assert 'name="stap"' in start

    response = client.get(url, {"stap": "1"})

    html = response.content.decode()
    assert "Kies of er nu acuut gevaar is." in html and 'name="description"' not in html


def test_an_empty_filtered_inbox_says_the_filters_found_nothing(coordinator, employee):
    make_signal(employee)
    client = verified_client(coordinator)
    html = client.get(reverse("signals:inbox"), {"status": "closed"}).content.decode()
    assert "Geen signalen gevonden met deze filters" in html and "Er zijn nog geen signalen." not in html
    invalid = client.get(reverse("signals:inbox"), {"status": "weg"}).content.decode()
    assert "Er zijn nog geen signalen." not in invalid


def test_on_behalf_needs_a_channel(coordinator):
    client = verified_client(coordinator)
    data = _post_data(client.get(reverse("signals:register")))
    response = client.post(reverse("signals:register"), data)
    assert "Kies hoe het signaal binnenkwam." in response.content.decode()
    assert not Signal.objects.exists()


def test_references_count_per_organisation(employee, make_user, other_organisation):
    other = make_user(role=Role.EMPLOYEE, organisation=other_organisation)
    a1, a2, b1 = make_signal(employee), make_signal(employee), make_signal(other)
    assert re.fullmatch(r"S\d{4}-00001", a1.reference)
    assert a2.reference.endswith("00002") and b1.reference.endswith("00001")


def test_references_start_again_each_year(employee, time_machine):
    time_machine.move_to("2031-12-31 12:00 +01:00", tick=False)
    last_of_year = make_signal(employee)
    time_machine.move_to("2032-01-01 09:00 +01:00", tick=False)
    first_of_next = make_signal(employee)
    assert (last_of_year.reference, first_of_next.reference) == ("S2031-00001", "S2032-00001")


def test_counters_continue_from_references_given_before_they_existed(employee, organisation):
    """The migration that introduced the counters seeds them from the highest reference per year."""
    import importlib

    from django.apps import apps

    from signals.models import ReferenceCounter

    seed = importlib.import_module("signals.migrations.0005_reference_counter").counters_from_existing_references
    first = make_signal(employee)
    year = int(first.reference[1:5])
    Signal.objects.filter(pk=first.pk).update(reference=f"S{year}-00041")
    older = make_signal(employee)
    Signal.objects.filter(pk=older.pk).update(reference=f"S{year - 1}-00007")
    ReferenceCounter.objects.all().delete()

    seed(apps, None)

    assert set(ReferenceCounter.objects.values_list("organisation_id", "year", "last_number")) == {
        (organisation.pk, year, 41),
        (organisation.pk, year - 1, 7),
    }
    assert make_signal(employee).reference == f"S{year}-00042"


def test_a_counter_behind_the_references_in_use_catches_up(employee):
    """Signals restored from a backup or imported by hand, or app servers still on the old
    numbering during a deploy, can leave the counter behind: the next report is still stored."""
    from signals.models import ReferenceCounter

    first, second = make_signal(employee), make_signal(employee)
    ReferenceCounter.objects.update(last_number=0)

    third = make_signal(employee)

    prefix = first.reference[:6]
    assert (first.reference, second.reference, third.reference) == (
        f"{prefix}00001",
        f"{prefix}00002",
        f"{prefix}00003",
    )
    assert ReferenceCounter.objects.get().last_number == 3


def test_coordinator_maintains_the_phenomenon_list(coordinator, employee):
    client = verified_client(coordinator)
    client.post(reverse("signals:phenomena"), {"name": "Ondermijning in de haven"})
    duplicate = client.post(reverse("signals:phenomena"), {"name": "drugs"})
    assert "Dit fenomeen staat al in de lijst." in duplicate.content.decode()

    choices = [str(c[1]) for c in _form_page(verified_client(employee)).context["form"].fields["phenomenon"].choices]
    assert "Ondermijning in de haven" in choices and "Drugs" in choices

    from signals.models import Phenomenon

    drugs = Phenomenon.objects.get(organisation=coordinator.organisation, name="Drugs")
    page = client.get(reverse("signals:phenomena")).content.decode()
    assert f'action="{reverse("signals:phenomenon_toggle", kwargs={"pk": drugs.pk})}"' in page
    # "Niet meer gebruiken" twice (a double click, or a colleague a moment before): out of use, once.
    for _ in range(2):
        client.post(reverse("signals:phenomenon_toggle", kwargs={"pk": drugs.pk}), {"actief": "0"})
    choices = [str(c[1]) for c in _form_page(verified_client(employee)).context["form"].fields["phenomenon"].choices]
    assert "Drugs" not in choices
    from audit.models import AuditEvent

    toggles = AuditEvent.objects.filter(record_type="signals.phenomenon", record_id=str(drugs.pk))
    assert list(toggles.values_list("action", flat=True)) == ["phenomenon.deactivated"]
    client.post(reverse("signals:phenomenon_toggle", kwargs={"pk": drugs.pk}), {"actief": "1"})
    assert Phenomenon.objects.get(pk=drugs.pk).is_active


def test_a_company_name_without_letters_gets_a_message_not_a_crash(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), **{"betrokkene-1-name": "!!!", "betrokkene-1-kvk": ""})
    response = client.post(reverse("signals:submit"), data)
    assert response.status_code == 200
    assert "Vul een naam in." in response.content.decode()
    assert not Signal.objects.exists()


def test_a_phenomenon_name_that_is_too_long_or_holds_control_characters_gets_a_message(coordinator):
    from signals.models import Phenomenon

    before = Phenomenon.objects.count()
    client = verified_client(coordinator)
    response = client.post(reverse("signals:phenomena"), {"name": "x" * 101})
    assert "hooguit 100 tekens" in response.content.decode()
    for name in ("Drugs\x00", "Witwassen\tvia vastgoed"):
        response = client.post(reverse("signals:phenomena"), {"name": name})
        assert response.status_code == 200 and "geen tab of regeleinde" in response.content.decode()
    assert Phenomenon.objects.count() == before
    # A soft hyphen pasted with a word is no control character.
    assert client.post(reverse("signals:phenomena"), {"name": "Onder\u00admijning"}).status_code == 302


def test_the_total_size_is_refused_before_any_file_is_read(employee, settings):
    settings.WEERBAAR_ATTACHMENTS_TOTAL_MB = 1
    client = verified_client(employee)
    data = _post_data(_form_page(client))
    big = b"%PDF-1.4\n" + b"0" * (700 * 1024) + b"\n%%EOF\n"
    data["attachments"] = [SimpleUploadedFile(f"{i}.pdf", big, content_type="application/pdf") for i in range(2)]
    response = client.post(reverse("signals:submit"), data)
    assert "samen groter dan 1 MB" in response.content.decode()
    assert not Signal.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer in at a time")
@pytest.mark.django_db(transaction=True)
def test_two_coordinators_adding_the_same_phenomenon_at_once_get_one_and_a_message(make_user, organisation):
    """Whatever the case of the letters: one is added, the other is told it is in the list."""
    import threading

    from django.db import connections

    from signals.models import Phenomenon
    from signals.services import phenomenon_add

    coordinators = [make_user(role=Role.COORDINATOR, organisation=organisation) for _ in range(4)]
    names = ["Fraude met toeslagen", "fraude met toeslagen", "FRAUDE MET TOESLAGEN", "Fraude met toeslagen"]
    barrier = threading.Barrier(len(coordinators))
    outcomes = []

    def add(user, name):
        try:
            barrier.wait(timeout=30)
            phenomenon_add(actor=user, name=name)
            outcomes.append("added")
        except ValidationError as error:
            outcomes.append(error.message_dict["name"][0])
        except Exception as error:  # collected and asserted below
            outcomes.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=pair) for pair in zip(coordinators, names, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["Dit fenomeen staat al in de lijst."] * 3 + ["added"]
    assert Phenomenon.objects.filter(organisation=organisation, name__iexact="fraude met toeslagen").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer in at a time")
@pytest.mark.django_db(transaction=True)
def test_reports_numbered_at_the_same_moment_are_all_stored(make_user, organisation):
    """Eight people report at once, five times each: every report is stored with its own number."""
    import threading

    from django.db import connections

    reporters = [make_user(role=Role.EMPLOYEE, organisation=organisation) for _ in range(8)]
    barrier = threading.Barrier(len(reporters))
    failures = []

    def report(user):
        try:
            barrier.wait(timeout=30)
            for _ in range(5):
                make_signal(user)
        except Exception as error:  # collected and asserted below
            failures.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report, args=(user,)) for user in reporters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    references = list(Signal.objects.values_list("reference", flat=True))
    assert len(references) == 40 and len(set(references)) == 40


def test_coordinator_finds_signals_about_an_identifier_without_it_in_the_url(coordinator, employee):
    from signals.services import SubjectData

    about_company = make_signal(employee, subjects=[SubjectData(kind="company", name="X", kvk="12345678")])
    about_address = make_signal(employee, address="1234 AB 12")
    make_signal(employee, subjects=[SubjectData(kind="vehicle", kenteken="AB123C")])
    client = verified_client(coordinator)

    by_kvk = client.post(reverse("signals:inbox"), {"zoek": "1234 5678"})
    by_address = client.post(reverse("signals:inbox"), {"zoek": "1234ab12"})
    nonsense = client.post(reverse("signals:inbox"), {"zoek": "?!"})

    assert [s.pk for s in by_kvk.context["signals"]] == [about_company.pk]
    assert [s.pk for s in by_address.context["signals"]] == [about_address.pk]
    assert "Dit herkennen we niet" in nonsense.content.decode()
    assert len(nonsense.context["signals"]) == 0
    # Nothing in the meldpunt is indexed by e-mail or phone (only a confidential reporter's
    # contact details have them, and reporters are not searched for): said, not an empty list.
    for typed in ("melder@example.org", "+31 6 1234 5678"):
        answer = client.post(reverse("signals:inbox"), {"zoek": typed})
        assert "Dit herkennen we niet als kenmerk, naam, KvK-nummer, adres of kenteken." in answer.content.decode()


def test_coordinator_finds_signals_about_a_person_or_company_by_name(
    coordinator, employee, make_user, other_organisation
):
    from datetime import date

    from signals.services import SubjectData

    born = date(1980, 5, 17)
    with_birth_date = make_signal(
        employee, subjects=[SubjectData(kind="person", name="José de Vries", date_of_birth=born)]
    )
    name_only = make_signal(employee, subjects=[SubjectData(kind="person", name="Jose de  Vries")])
    namesake = make_signal(
        employee, subjects=[SubjectData(kind="person", name="José de Vries", date_of_birth=date(1990, 1, 1))]
    )
    company = make_signal(
        employee, subjects=[SubjectData(kind="company", name="Snackbar De Hoek B.V.", kvk="12345678")]
    )
    make_signal(employee, subjects=[SubjectData(kind="person", name="José de Vries-Bakker")])
    elsewhere = make_user(role=Role.EMPLOYEE, organisation=other_organisation)
    make_signal(elsewhere, subjects=[SubjectData(kind="person", name="José de Vries")])
    client = verified_client(coordinator)

    def found(typed):
        response = client.post(reverse("signals:inbox"), {"zoek": typed})
        assert response.status_code == 200
        return {s.pk for s in response.context["signals"]}

    # Case, accents and spacing do not count; the whole name must match; never another organisation's.
    assert found("JOSE DE VRIES") == {with_birth_date.pk, name_only.pk, namesake.pk}
    # With a date of birth: that person only.
    assert found("José de Vries 17-05-1980") == {with_birth_date.pk}
    assert found("snackbar de hoek bv") == found("Snackbar De Hoek") == {company.pk}
    assert found("de Vries") == set()


def test_a_name_with_initials_and_a_date_of_birth_finds_that_person_however_the_initials_are_written(
    coordinator, employee
):
    from datetime import date

    from signals.services import SubjectData

    born = date(1980, 5, 17)
    pj = make_signal(employee, subjects=[SubjectData(kind="person", name="PJ Jansen", date_of_birth=born)])
    make_signal(employee, subjects=[SubjectData(kind="person", name="P. Jansen", date_of_birth=born)])
    make_signal(employee, subjects=[SubjectData(kind="person", name="PJ Jansen", date_of_birth=date(1981, 5, 17))])
    client = verified_client(coordinator)

    for typed in ("P.J. Jansen 17-05-1980", "p. j. jansen 17-05-1980", "PJ Jansen 17-05-1980"):
        response = client.post(reverse("signals:inbox"), {"zoek": typed})
        assert [s.pk for s in response.context["signals"]] == [pj.pk], typed


def test_a_person_with_a_legal_form_in_the_name_is_not_another_person(coordinator, employee):
    from signals.services import SubjectData

    cv = make_signal(employee, subjects=[SubjectData(kind="person", name="Jansen C.V.")])
    make_signal(employee, subjects=[SubjectData(kind="person", name="Jansen N.V.")])
    client = verified_client(coordinator)

    assert [s.pk for s in client.post(reverse("signals:inbox"), {"zoek": "jansen cv"}).context["signals"]] == [cv.pk]
    assert len(client.post(reverse("signals:inbox"), {"zoek": "Jansen"}).context["signals"]) == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("PJ Jansen 31-02-1980", "Die geboortedatum bestaat niet."),
        ("1234 AB 12 t/m 16", "Dit herkennen we niet als kenmerk, naam, KvK-nummer, adres of kenteken."),
    ],
)
def test_a_mistyped_date_or_address_is_said_not_searched_as_a_name(coordinator, typed, message):
    response = verified_client(coordinator).post(reverse("signals:inbox"), {"zoek": typed})

    assert message in response.content.decode()
    assert len(response.context["signals"]) == 0


def test_coordinator_filters_and_pages_the_inbox(coordinator, employee, settings):
    from signals import views

    first = make_signal(employee, acute_danger=True)
    for _ in range(3):
        make_signal(employee)
    client = verified_client(coordinator)

    acute = client.get(reverse("signals:inbox"), {"acuut": "on"})
    assert [s.pk for s in acute.context["signals"]] == [first.pk]

    original, views.INBOX_PAGE_SIZE = views.INBOX_PAGE_SIZE, 2
    try:
        page_two = client.get(reverse("signals:inbox"), {"pagina": "2"})
    finally:
        views.INBOX_PAGE_SIZE = original
    assert page_two.context["page"].number == 2 and len(page_two.context["signals"]) == 2
    assert "Vorige pagina" in page_two.content.decode()


def test_another_subject_block_is_added_without_losing_what_was_typed(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), **{"betrokkene-2-kind": "vehicle", "betrokkene-2-kenteken": "12-ABC-3"})
    data["betrokkene_toevoegen"] = "ja"

    page = client.post(reverse("signals:submit"), data)

    assert page.status_code == 200 and not Signal.objects.exists()
    subjects, form = page.context["subjects"], page.context["form"]
    assert subjects.total_form_count() == 4
    assert subjects.forms[3].initial == {} and "autofocus" in str(subjects.forms[3]["kind"])
    assert [f.initial.get("kind") for f in subjects.forms[:3]] == ["person", "company", "vehicle"]
    html = page.content.decode()
    assert "Snackbar De Hoek BV" in html and "12-ABC-3" in html and "Jan de Vries" in html
    assert "verlengt elk jaar de vergunning" in html and "Er is iets niet goed ingevuld" not in html
    assert form.initial["submission_key"] == data["submission_key"]  # still one signal if sent twice

    # The page posts four blocks now; the fourth is stored with the others.
    again = {**data, "betrokkene-TOTAL_FORMS": "4", "betrokkene-INITIAL_FORMS": "3", "betrokkene-3-kind": "address"}
    again |= {"betrokkene-3-address": "1011 AB 1"}
    del again["betrokkene_toevoegen"]
    assert client.post(reverse("signals:submit"), again).status_code == 302
    assert sorted(Subject.objects.values_list("kind", flat=True)) == ["address", "company", "person", "vehicle"]


def test_at_ten_subject_blocks_there_is_no_button_for_more(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), **{"betrokkene-TOTAL_FORMS": "10", "betrokkene_toevoegen": "ja"})
    page = client.post(reverse("signals:submit"), data)
    assert page.context["subjects"].total_form_count() == 10
    html = page.content.decode()
    assert "Nog een betrokkene toevoegen" not in html and "Noem de overige in de beschrijving" in html
    assert "Nog een betrokkene toevoegen" in _form_page(client).content.decode()


def test_more_files_than_allowed_get_a_message_next_to_the_field_and_keep_the_form(employee, settings):
    client = verified_client(employee)
    data = _post_data(_form_page(client))
    data["attachments"] = [
        SimpleUploadedFile(f"scan{i}.pdf", PDF_BYTES, content_type="application/pdf")
        for i in range(settings.WEERBAAR_ATTACHMENTS_MAX_FILES + 1)
    ]

    page = client.post(reverse("signals:submit"), data)

    assert page.status_code == 200 and not Signal.objects.exists() and not Attachment.objects.exists()
    assert page.context["form"].errors["attachments"][0] == "U koos 11 bestanden; u kunt er hooguit 10 toevoegen."
    html = page.content.decode()
    assert "verlengt elk jaar de vergunning" in html and "hooguit 10 bestanden" in html


def test_a_form_shown_again_says_the_files_are_held_and_sums_up_subject_errors(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), **{"betrokkene-1-kvk": "1234"})
    data["attachments"] = [SimpleUploadedFile("scan.pdf", PDF_BYTES, content_type="application/pdf")]

    page = client.post(reverse("signals:submit"), data)

    html = page.content.decode()
    assert page.status_code == 200 and not Signal.objects.exists()
    assert "De bijlage die u koos, is bewaard: scan.pdf. U hoeft het niet opnieuw te kiezen;" in html
    summary = html[html.index('id="foutmeldingen"') : html.index("</div>", html.index('id="foutmeldingen"'))]
    assert (
        'href="#id_betrokkene-1-kvk"' in summary
        and "Betrokkene 2 \u2013 KvK-nummer: Een KvK-nummer bestaat uit 8 cijfers." in summary
    )


def test_the_next_page_of_a_search_is_that_search_again_and_keeps_the_identifier_out_of_the_url(
    coordinator, employee, monkeypatch
):
    from signals import views
    from signals.services import SubjectData

    matches = [
        make_signal(employee, subjects=[SubjectData(kind="company", name="X", kvk="12345678")]) for _ in range(3)
    ]
    for _ in range(2):
        make_signal(employee)
    monkeypatch.setattr(views, "INBOX_PAGE_SIZE", 2)
    client = verified_client(coordinator)

    first = client.post(reverse("signals:inbox"), {"zoek": "1234 5678"})
    html = first.content.decode()
    assert [s.pk for s in first.context["signals"]] == [matches[2].pk, matches[1].pk]
    assert "3 signalen gevonden" in html and "12345678" not in html.replace("1234 5678", "")
    assert '<input type="hidden" name="pagina" value="2">' in html and "pagina=2" not in html

    second = client.post(reverse("signals:inbox"), {"zoek": "1234 5678", "pagina": "2"})
    assert [s.pk for s in second.context["signals"]] == [matches[0].pk]
    assert "3 signalen gevonden" in second.content.decode() and "pagina 2 van 2" in second.content.decode()

    unfiltered = client.get(reverse("signals:inbox"), {"status": "", "fenomeen": ""})
    assert "5 signalen, nieuwste eerst" in unfiltered.content.decode()  # empty filters do not say "gevonden"


def test_the_nightly_task_makes_subjects_stored_before_the_name_search_findable(employee, coordinator):
    from audit.models import AuditEvent
    from signals.services import SubjectData
    from signals.tasks import reindex_stale_subjects

    signal = make_signal(
        employee,
        subjects=[
            SubjectData(kind="person", name="Piet Jansen"),
            SubjectData(kind="company", name="Snackbar De Hoek", kvk="12345678"),
            SubjectData(kind="vehicle", kenteken="AB123C"),
        ],
    )
    # As stored before this release: no name index (NULL), on the rows and their history copies.
    Subject.objects.update(name_index=None)
    Subject.history.update(name_index=None)
    client = verified_client(coordinator)
    assert len(client.post(reverse("signals:inbox"), {"zoek": "piet jansen"}).context["signals"]) == 0

    assert reindex_stale_subjects() == 3  # the vehicle gets an empty one: it has no name
    assert reindex_stale_subjects() == 0  # nothing left to do

    assert [s.pk for s in client.post(reverse("signals:inbox"), {"zoek": "piet jansen"}).context["signals"]] == [
        signal.pk
    ]
    assert not Subject.history.filter(name_index__isnull=True).exists()
    assert not Subject.history.filter(name_index="", kind__in=["person", "company"]).exists()
    assert Subject.objects.get(kind="vehicle").name_index == ""
    event = AuditEvent.objects.get(action="subjects.reindexed")
    assert event.data == {"changed": 3}


def test_a_name_todays_rules_refuse_is_tried_once_not_every_night(employee, caplog):
    from privacy.crypto import with_data_keys
    from signals.services import SubjectData, subjects_reindex
    from signals.tasks import reindex_stale_subjects

    make_signal(employee, subjects=[SubjectData(kind="person", name="Piet")])
    subject = with_data_keys(Subject.objects.all()).get()
    subject.name = "!!!"  # as no rule of today reads as a name
    subject.save()
    Subject.objects.update(name_index=None)

    assert reindex_stale_subjects() == 0
    assert "1 subject(s) could not be indexed" in caplog.text
    assert Subject.objects.get().name_index == ""
    assert subjects_reindex(stale_only=True) == {"changed": 0, "unchanged": 0, "refused": 0}


def test_reindexing_brings_subjects_stored_with_the_old_normalisation_up_to_date(employee, coordinator):
    from io import StringIO

    from django.core.management import call_command

    from audit.models import AuditEvent
    from privacy.blind_index import blind_index_of
    from signals.services import SubjectData

    signal = make_signal(
        employee,
        subjects=[SubjectData(kind="person", name="Søren Jørgensen"), SubjectData(kind="company", kvk="12345678")],
    )
    soren, company = Subject.objects.filter(signal=signal).order_by("pk")
    # As the normalisation before this release stored it: ø dropped, "s ren j rgensen".
    old_index = blind_index_of("person", "s ren j rgensen|")
    Subject.objects.filter(pk=soren.pk).update(blind_index=old_index)
    Subject.history.filter(id=soren.pk).update(blind_index=old_index)
    company_index = company.blind_index

    out = StringIO()
    call_command("reindex_subjects", stdout=out)

    assert "1 betrokkene(n) opnieuw geïndexeerd, 1 ongewijzigd, 0 niet te indexeren" in out.getvalue()
    new_index = person_blind_index("Soren Jorgensen", None)
    assert Subject.objects.get(pk=soren.pk).blind_index == new_index
    assert set(Subject.history.filter(id=soren.pk).values_list("blind_index", flat=True)) == {new_index}
    assert Subject.objects.get(pk=company.pk).blind_index == company_index
    assert Subject.history.filter(id=soren.pk).count() == 1  # no new version for a derived value
    event = AuditEvent.objects.get(action="subjects.reindexed")
    assert (event.organisation_id, event.data) == (employee.organisation_id, {"changed": 1})
    # A new signal about the same person is found with the old one.
    later = make_signal(employee, subjects=[SubjectData(kind="person", name="soren jorgensen")])
    assert Subject.objects.get(signal=later).blind_index == new_index

    call_command("reindex_subjects", stdout=(again := StringIO()))
    assert "0 betrokkene(n) opnieuw geïndexeerd, 3 ongewijzigd" in again.getvalue()


def test_reindexing_reads_initials_stored_word_by_word_as_one_word(employee, coordinator):
    """Before initials counted as one word in a person's index, "P.J. Jansen" born 17-05-1980 was
    stored as "p j jansen": after reindex_subjects the search "PJ Jansen 17-05-1980" finds it."""
    from datetime import date
    from io import StringIO

    from django.core.management import call_command

    from privacy.blind_index import blind_index_of
    from signals.services import SubjectData

    signal = make_signal(
        employee, subjects=[SubjectData(kind="person", name="P.J. Jansen", date_of_birth=date(1980, 5, 17))]
    )
    subject = Subject.objects.get(signal=signal)
    old_index = blind_index_of("person", "p j jansen|1980-05-17")
    Subject.objects.filter(pk=subject.pk).update(blind_index=old_index)
    Subject.history.filter(id=subject.pk).update(blind_index=old_index)
    client = verified_client(coordinator)

    def found():
        return [
            s.pk for s in client.post(reverse("signals:inbox"), {"zoek": "PJ Jansen 17-05-1980"}).context["signals"]
        ]

    assert found() == []
    call_command("reindex_subjects", stdout=StringIO())
    assert found() == [signal.pk]
    assert set(Subject.history.filter(id=subject.pk).values_list("blind_index", flat=True)) == {
        Subject.objects.get(pk=subject.pk).blind_index
    }


def test_after_an_upgrade_the_nightly_task_links_old_signals_again_without_anything_by_hand(employee, coordinator):
    """Subjects indexed under the rules before initials counted as one word (version 1), a person
    with a date of birth and a company without a KvK number: until the nightly task has run, a new
    signal about them does not link to the old one (it shows as a namesake); after it, it does,
    and the next night there is nothing left to do."""
    from datetime import date

    from privacy.blind_index import blind_index_of
    from signals.models import SUBJECT_INDEX_VERSION
    from signals.selectors import signals_sharing_names, signals_sharing_subjects
    from signals.services import SubjectData
    from signals.tasks import reindex_stale_subjects

    person = SubjectData(kind="person", name="P.J. Jansen", date_of_birth=date(1980, 5, 17))
    company = SubjectData(kind="company", name="A.B. Bouw")
    old = make_signal(employee, subjects=[person, company])
    as_before = {"person": "p j jansen|1980-05-17", "company": "a b bouw|"}
    for subject in Subject.objects.filter(signal=old):
        index = blind_index_of("person", as_before[subject.kind])
        for rows in (Subject.objects.filter(pk=subject.pk), Subject.history.filter(id=subject.pk)):
            rows.update(blind_index=index, index_version=1)
    new = make_signal(
        employee, subjects=[SubjectData(kind="person", name="PJ Jansen", date_of_birth=date(1980, 5, 17))]
    )
    later = make_signal(employee, subjects=[SubjectData(kind="company", name="AB Bouw")])
    assert Subject.objects.get(signal=new).index_version == SUBJECT_INDEX_VERSION

    def linked(signal):
        return (
            [s.pk for s in signals_sharing_subjects(actor=coordinator, signal=signal)],
            [s.pk for s in signals_sharing_names(actor=coordinator, signal=signal)],
        )

    assert linked(new) == ([], [old.pk]) and linked(later) == ([], [old.pk])

    assert reindex_stale_subjects() == 2

    assert linked(new) == ([old.pk], []) and linked(later) == ([old.pk], [])
    assert set(Subject.history.filter(signal_id=old.pk).values_list("index_version", flat=True)) == {
        SUBJECT_INDEX_VERSION
    }
    assert reindex_stale_subjects() == 0
    assert not Subject.objects.filter(index_version__lt=SUBJECT_INDEX_VERSION).exists()


def test_the_nightly_task_marks_subjects_whose_index_did_not_change_so_it_does_not_read_them_again(employee):
    from signals.models import SUBJECT_INDEX_VERSION
    from signals.services import SubjectData, subjects_reindex

    make_signal(employee, subjects=[SubjectData(kind="vehicle", kenteken="AB123C")])
    Subject.objects.update(index_version=1)
    Subject.history.update(index_version=1)

    assert subjects_reindex(stale_only=True) == {"changed": 0, "unchanged": 1, "refused": 0}
    assert Subject.objects.get().index_version == SUBJECT_INDEX_VERSION
    assert subjects_reindex(stale_only=True) == {"changed": 0, "unchanged": 0, "refused": 0}


def test_a_phenomenon_the_coordinator_stopped_using_while_the_form_was_open_gets_a_dutch_message(employee, coordinator):
    from signals.selectors import phenomenon_choices
    from signals.services import phenomenon_set_active

    client = verified_client(employee)
    page = _form_page(client)
    horeca = phenomenon_choices(organisation_id=employee.organisation_id).get(name="Horeca")
    phenomenon_set_active(actor=coordinator, phenomenon=horeca, active=False)  # meanwhile

    response = client.post(
        reverse("signals:submit"), _post_data(page, phenomenon=str(horeca.pk), **{"betrokkene-1-kvk": "1234"})
    )

    text = response.content.decode()
    assert response.status_code == 200 and Signal.objects.count() == 0
    assert "Dit fenomeen staat niet (meer) in de lijst. Kies een ander, of &#x27;Weet ik niet&#x27;." in text
    assert "Selecteer een geldige keuze" not in text
    # The error summary names a subject's field as its label reads, KvK with its capitals.
    assert "Betrokkene 2 \u2013 KvK-nummer:" in text  # an en dash
    assert "De winkel op de hoek heeft nooit klanten" in text  # what was typed is kept


def test_a_signal_with_many_related_signals_lists_the_newest_and_says_how_many_more(employee, coordinator, monkeypatch):
    from signals import views
    from signals.services import SubjectData

    monkeypatch.setattr(views, "RELATED_SHOWN", 3)
    same = [SubjectData(kind="vehicle", kenteken="AB123C")]
    older = [make_signal(employee, subjects=same) for _ in range(5)]
    namesake = [SubjectData(kind="person", name="Jan de Vries")]
    for born in range(1970, 1975):
        make_signal(
            employee, subjects=[SubjectData(kind="person", name="Jan de Vries", date_of_birth=date(born, 1, 1))]
        )
    signal = make_signal(employee, subjects=same + namesake)

    page = verified_client(coordinator).get(reverse("signals:detail", args=[signal.pk])).content.decode()

    related = re.search(r"<h2>Signalen over dezelfde betrokkenen</h2>(.*?)<h3>", page, re.S).group(1)
    assert re.findall(r"S\d{4}-\d{5}", related) == [s.reference for s in reversed(older[2:])]
    assert "En nog 2 oudere signalen." in related
    namesakes = re.search(
        r"<h3>Signalen met een betrokkene met dezelfde naam</h3>(.*?)</ul>\s*(<p>.*?</p>)", page, re.S
    )
    assert len(re.findall(r"S\d{4}-\d{5}", namesakes.group(1))) == 3
    assert "En nog 2 oudere signalen." in namesakes.group(2)


def test_an_empty_file_is_named_with_what_is_wrong_with_the_other_files_and_nothing_is_stored(employee):
    client = verified_client(employee)
    page = _form_page(client)
    data = _post_data(page)
    data["attachments"] = [
        SimpleUploadedFile("leeg.txt", b"", content_type="text/plain"),
        SimpleUploadedFile("brief.docx", b"PK\x03\x04" + b"\x00" * 40, content_type="application/zip"),
    ]

    response = client.post(reverse("signals:submit"), data)

    errors = response.context["form"].errors["attachments"]
    assert any(e.startswith("leeg.txt: het bestand is leeg") for e in errors)
    assert any(e.startswith("brief.docx:") for e in errors)
    assert not any("wel in orde" in e for e in errors)  # none was
    assert Signal.objects.count() == 0 and Attachment.objects.count() == 0

    data["attachments"] = [
        SimpleUploadedFile("foto.pdf", PDF_BYTES, content_type="application/pdf"),
        SimpleUploadedFile("leeg.txt", b"", content_type="text/plain"),
        SimpleUploadedFile("scan.pdf", PDF_BYTES, content_type="application/pdf"),
    ]
    again = client.post(reverse("signals:submit"), data)
    assert again.context["form"].errors["attachments"] == ["leeg.txt: het bestand is leeg."]
    assert again.context["files_held"].startswith(
        "Deze bestanden waren wel in orde en zijn bewaard: foto.pdf en scan.pdf. U hoeft ze niet opnieuw te kiezen;"
    )
    assert Signal.objects.count() == 0 and Attachment.objects.count() == 0


def test_a_too_long_note_with_anders_gets_only_its_own_message(coordinator, employee):
    signal = make_signal(employee)
    client = verified_client(coordinator)

    response = client.post(reverse("signals:close", args=[signal.pk]), {"reden": "other", "toelichting": "x" * 2001})

    errors = response.context["close_form"].errors
    assert errors == {"toelichting": ["Gebruik hoogstens 2000 tekens."]}
    assert Signal.objects.get(pk=signal.pk).status == "received"


def test_an_address_or_kenteken_given_with_a_person_or_company_is_found_as_that_address_or_vehicle(
    employee, coordinator
):
    from signals.selectors import signals_sharing_subjects
    from signals.services import SubjectData

    lives_there = make_signal(
        employee, subjects=[SubjectData(kind="person", name="Jan de Vries", address="1500 AA 3", kenteken="AB-12-CD")]
    )
    the_address = make_signal(employee, subjects=[SubjectData(kind="address", address="1500aa 3")])
    in_the_field = make_signal(employee, address="1500 AA 3")
    the_car = make_signal(employee, subjects=[SubjectData(kind="vehicle", kenteken="ab12cd")])
    company_there = make_signal(employee, subjects=[SubjectData(kind="company", kvk="12345678", address="1500 AA 3")])
    elsewhere = make_signal(employee, subjects=[SubjectData(kind="person", name="Piet Bakker", address="1500 AA 4")])
    client = verified_client(coordinator)

    def found(text):
        return {s.pk for s in client.post(reverse("signals:inbox"), {"zoek": text}).context["signals"]}

    def related(signal):
        return {s.pk for s in signals_sharing_subjects(actor=coordinator, signal=signal)}

    at_the_address = {lives_there.pk, the_address.pk, in_the_field.pk, company_there.pk}
    assert found("1500 AA 3") == at_the_address
    assert found("AB-12-CD") == {lives_there.pk, the_car.pk}
    assert related(lives_there) == at_the_address - {lives_there.pk} | {the_car.pk}
    for signal in (the_address, in_the_field, company_there):
        assert related(signal) == at_the_address - {signal.pk}
    assert related(the_car) == {lives_there.pk}
    assert elsewhere.pk not in related(lives_there) | found("1500 AA 3")


def test_subjects_stored_before_the_address_and_kenteken_were_indexed_get_them_at_night(employee, coordinator):
    from signals.services import SubjectData
    from signals.tasks import reindex_stale_subjects

    old = make_signal(employee, subjects=[SubjectData(kind="company", name="Bouw BV", kenteken="12-ABC-3")])
    for rows in (Subject.objects.filter(signal=old), Subject.history.filter(signal_id=old.pk)):
        rows.update(kenteken_index="", index_version=2)
    client = verified_client(coordinator)
    assert not client.post(reverse("signals:inbox"), {"zoek": "12-ABC-3"}).context["signals"]

    assert reindex_stale_subjects() == 1

    assert [s.pk for s in client.post(reverse("signals:inbox"), {"zoek": "12-ABC-3"}).context["signals"]] == [old.pk]
    assert set(Subject.history.filter(signal_id=old.pk).values_list("kenteken_index", flat=True)) == {
        blind_index("kenteken", "12-ABC-3")
    }


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("AB-12-CD", "Geen signalen gevonden. We zochten dit als een kenteken of een naam."),
        ("12345678", "Geen signalen gevonden. We zochten dit als een KvK-nummer of een kenteken."),
        ("Piet Jansen 17-05-1980", "Geen signalen gevonden. We zochten dit als een persoon met geboortedatum."),
        (
            "1506 AB",
            "Geen signalen gevonden. We zochten dit als een kenteken. Zoekt u een adres? Vul dan ook het "
            "huisnummer in, bijvoorbeeld 1506 AB 12.",
        ),
    ],
)
def test_a_search_that_finds_nothing_says_how_it_read_what_was_typed(coordinator, employee, typed, said):
    make_signal(employee)

    response = verified_client(coordinator).post(reverse("signals:inbox"), {"zoek": typed})

    assert said in response.content.decode()
    assert not response.context["signals"]


def test_a_detail_todays_rules_refuse_leaves_that_index_and_brings_the_others_up_to_date(employee):
    from privacy.blind_index import blind_index_of
    from privacy.crypto import with_data_keys
    from signals.models import SUBJECT_INDEX_VERSION
    from signals.services import SubjectData, subjects_reindex

    make_signal(employee, subjects=[SubjectData(kind="person", name="P.J. Jansen", address="1500 AA 3")])
    subject = with_data_keys(Subject.objects.all()).get()
    subject.address = "Dorpsstraat 12"  # as no rule of today reads as an address
    subject.save()
    old_index = blind_index_of("person", "p j jansen|")
    Subject.objects.update(blind_index=old_index, address_index="", index_version=1)

    assert subjects_reindex(stale_only=True) == {"changed": 0, "unchanged": 0, "refused": 1}

    stored = Subject.objects.get()
    assert stored.blind_index == person_blind_index("PJ Jansen", None) != old_index
    assert (stored.address_index, stored.index_version) == ("", SUBJECT_INDEX_VERSION)
    assert subjects_reindex(stale_only=True) == {"changed": 0, "unchanged": 0, "refused": 0}


def test_a_stored_date_of_birth_that_is_no_date_is_counted_as_refused_and_the_batch_goes_on(employee):
    from audit.models import AuditEvent
    from privacy.crypto import with_data_keys
    from signals.services import SubjectData, subjects_reindex

    make_signal(employee, subjects=[SubjectData(kind="person", name="Piet Jansen")])
    make_signal(employee, subjects=[SubjectData(kind="vehicle", kenteken="AB123C")])
    broken = with_data_keys(Subject.objects.filter(kind="person")).get()
    broken.date_of_birth = "17-05-1980"  # not as the form stores it (1980-05-17)
    broken.save()
    Subject.objects.update(index_version=1, kenteken_index="x")  # the vehicle's is wrong: it changes

    assert subjects_reindex(stale_only=True) == {"changed": 1, "unchanged": 0, "refused": 1}
    assert AuditEvent.objects.get(action="subjects.reindexed").data == {"refused": 1, "changed": 1}


def test_a_coordinator_finds_a_signal_by_its_reference_however_typed(
    coordinator, employee, make_user, other_organisation
):
    signal = make_signal(employee)
    elsewhere = make_signal(make_user(role=Role.EMPLOYEE, organisation=other_organisation))
    client = verified_client(coordinator)
    number = int(signal.reference.rsplit("-", 1)[1])

    for typed in (signal.reference, signal.reference.lower(), f"s{signal.reference[1:5]}-{number}"):
        found = client.post(reverse("signals:inbox"), {"zoek": typed})
        assert [s.pk for s in found.context["signals"]] == [signal.pk], typed
    assert elsewhere.reference == signal.reference  # each organisation numbers its own
    missing = client.post(reverse("signals:inbox"), {"zoek": "S2026-99999"})
    assert "Uw organisatie heeft geen signaal met kenmerk S2026-99999." in missing.content.decode()


def test_a_refused_search_shows_no_list_as_if_it_had_searched(coordinator, employee):
    make_signal(employee)

    page = verified_client(coordinator).post(reverse("signals:inbox"), {"zoek": "x@y.nl"}).content.decode()

    assert "Dit herkennen we niet als kenmerk" in page
    assert "Er is niet gezocht of gefilterd: pas aan wat hierboven niet klopt." in page
    assert "gevonden" not in page.replace("Geen signalen gevonden met deze filters", "") and "<table" not in page
