"""Chosen files held when the signal form comes back with an error (signals.held_files)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from privacy.files import encrypted_file_read
from privacy.models import DataKey
from signals.held_files import HELD_FILE_HOURS, leftover_held_files_destroy
from signals.models import Attachment, HeldFile, Signal
from tests.conftest import verified_client
from tests.privacy.test_encryption import _raw_database_bytes
from tests.signals.test_confidential import _form_url
from tests.signals.test_confidential import _post_data as confidential_data
from tests.signals.test_submit import _form_page, _post_data

pytestmark = pytest.mark.django_db

SCAN = b"%PDF-1.4\n% de scan van de brief\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PHOTO = b"%PDF-1.4\n% een foto van de gevel\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SCAN_SIZE = f"{len(SCAN)}\xa0bytes"  # as the page writes it
HELD_BOX = re.compile(r'name="bewaard" value="([^"]+)" checked> ([^<]+)</label>')


def _pdf(name: str, content: bytes = SCAN) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _boxes(response) -> dict[str, str]:
    """The held files the page shows, ticked: {file name and size: id}."""
    return {label: pk for pk, label in HELD_BOX.findall(response.content.decode())}


def _again(data: dict, response, *, ticked=None, **changes) -> dict:
    """The same form sent again from the page `response` showed: its held files ticked (or only
    `ticked`), as a browser sends them."""
    boxes = _boxes(response)
    again = {**data, **changes, "bewaard_getoond": "1"}
    again.pop("attachments", None)
    again["bewaard"] = [pk for label, pk in boxes.items() if ticked is None or label.split(" (")[0] in ticked]
    return again


def test_a_file_on_a_form_with_an_error_is_held_and_goes_into_the_signal_when_it_is_sent(
    employee, django_capture_on_commit_callbacks
):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf")]

    first = client.post(reverse("signals:submit"), data)

    assert first.status_code == 200 and not Signal.objects.exists()
    page = first.content.decode()
    assert "De bijlage die u koos, is bewaard: scan.pdf. U hoeft het niet opnieuw te kiezen;" in page
    assert list(_boxes(first)) == [f"scan.pdf ({SCAN_SIZE})"]
    held = HeldFile.objects.get()
    assert held.holder == employee and held.filename == "scan.pdf"
    assert encrypted_file_read(instance=held, name=held.storage_name) == SCAN

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(reverse("signals:submit"), _again(data, first, description="De winkel heeft nooit klanten."))

    assert sent.status_code == 302
    attachment = Attachment.objects.get(signal=Signal.objects.get())
    assert attachment.filename == "scan.pdf"
    assert encrypted_file_read(instance=attachment, name=attachment.storage_name) == SCAN
    assert not HeldFile.objects.exists()
    assert not DataKey.objects.filter(pk=held.data_key_id).exists()
    assert not default_storage.exists(held.storage_name)


def test_the_good_files_beside_a_refused_one_are_held_and_a_new_one_is_added_to_them(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client))
    data["attachments"] = [_pdf("scan.pdf"), SimpleUploadedFile("leeg.txt", b"", content_type="text/plain")]

    first = client.post(reverse("signals:submit"), data)

    assert first.context["form"].errors["attachments"] == ["leeg.txt: het bestand is leeg."]
    assert first.context["files_held"].startswith(
        "Dit bestand was wel in orde en is bewaard: scan.pdf. U hoeft het niet opnieuw te kiezen;"
    )
    again = _again(data, first)
    again["attachments"] = [_pdf("foto.pdf", PHOTO)]

    assert client.post(reverse("signals:submit"), again).status_code == 302

    signal = Signal.objects.get()
    assert sorted(a.filename for a in signal.attachments.all()) == ["foto.pdf", "scan.pdf"]
    assert not HeldFile.objects.exists()


def test_an_unticked_held_file_is_not_sent_and_is_destroyed(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf"), _pdf("foto.pdf", PHOTO)]
    first = client.post(reverse("signals:submit"), data)
    assert len(_boxes(first)) == 2

    # Unticked on a form that comes back again: gone at once, the other still held.
    second = client.post(reverse("signals:submit"), _again(data, first, ticked={"foto.pdf"}))
    assert [label.split(" (")[0] for label in _boxes(second)] == ["foto.pdf"]
    assert [h.filename for h in HeldFile.objects.all()] == ["foto.pdf"]

    sent = client.post(reverse("signals:submit"), _again(data, second, ticked=set(), description="Wel ingevuld."))

    assert sent.status_code == 302
    assert not Attachment.objects.exists() and not HeldFile.objects.exists()


def test_held_files_count_towards_the_limits(employee, settings):
    settings.WEERBAAR_ATTACHMENTS_MAX_FILES = 2
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf"), _pdf("foto.pdf", PHOTO)]
    first = client.post(reverse("signals:submit"), data)
    again = _again(data, first, description="Wel ingevuld.")
    again["attachments"] = [_pdf("derde.pdf")]

    refused = client.post(reverse("signals:submit"), again)

    assert refused.status_code == 200 and not Signal.objects.exists()
    assert (
        "U koos 1 bestanden, en 2 waren al bewaard; u kunt er hooguit 2 toevoegen."
        in refused.context["form"].errors["attachments"]
    )
    assert HeldFile.objects.count() == 2  # the new one was not held, the others still are


def test_held_files_are_the_senders_own(employee, make_user):
    """Another account sending the same form, held files ticked (copied from the page), gets none
    of them and learns nothing about them."""
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf")]
    first = client.post(reverse("signals:submit"), data)
    colleague = make_user(role=Role.EMPLOYEE, organisation=employee.organisation)

    other = verified_client(colleague).post(reverse("signals:submit"), _again(data, first, description="Van mij."))

    assert other.status_code == 200 and not Signal.objects.exists()
    assert _boxes(other) == {} and "scan.pdf" not in other.content.decode()
    assert other.context["form"].errors["attachments"] == [
        "Een bijlage die bewaard was, is er niet meer: bewaarde bijlagen worden na 24 uur weggegooid. Kies die opnieuw."
    ]
    assert HeldFile.objects.get().holder == employee  # untouched, still the reporter's
    assert client.post(reverse("signals:submit"), _again(data, first, description="Van de melder.")).status_code == 302
    assert [a.filename for a in Attachment.objects.all()] == ["scan.pdf"]


def test_a_form_sent_the_first_time_looks_no_held_files_up(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client))

    with CaptureQueriesContext(connection) as queries:
        assert client.post(reverse("signals:submit"), data).status_code == 302

    assert not [q for q in queries.captured_queries if "heldfile" in q["sql"].lower()]


def test_another_subject_keeps_the_ticked_held_files(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf"), _pdf("foto.pdf", PHOTO)]
    first = client.post(reverse("signals:submit"), data)

    more = client.post(
        reverse("signals:submit"), {**_again(data, first, ticked={"scan.pdf"}), "betrokkene_toevoegen": "1"}
    )

    assert list(_boxes(more)) == [f"scan.pdf ({SCAN_SIZE})"]
    assert [h.filename for h in HeldFile.objects.all()] == ["scan.pdf"]  # the unticked one is gone
    assert client.post(reverse("signals:submit"), _again(data, more, description="Nu wel.")).status_code == 302
    assert [a.filename for a in Attachment.objects.all()] == ["scan.pdf"]


def test_files_chosen_before_adding_a_subject_are_checked_and_the_good_ones_held(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")  # not sent: no message for the empty field
    data["attachments"] = [_pdf("scan.pdf"), SimpleUploadedFile("leeg.txt", b"", content_type="text/plain")]

    more = client.post(reverse("signals:submit"), {**data, "betrokkene_toevoegen": "ja"})

    assert more.status_code == 200 and not Signal.objects.exists()
    assert more.context["subjects"].total_form_count() == 4
    page = more.content.decode()
    assert list(_boxes(more)) == [f"scan.pdf ({SCAN_SIZE})"]
    assert "Dit bestand was wel in orde en is bewaard: scan.pdf." in page
    assert "Niet alle bijlagen die u koos, zijn bewaard:</p><ul><li>leeg.txt: het bestand is leeg.</li>" in page
    assert "Er is iets niet goed ingevuld" not in page and "Kies ze opnieuw" not in page
    assert [h.filename for h in HeldFile.objects.all()] == ["scan.pdf"]

    sent = client.post(reverse("signals:submit"), _again(data, more, description="De winkel heeft nooit klanten."))

    assert sent.status_code == 302
    assert [a.filename for a in Signal.objects.get().attachments.all()] == ["scan.pdf"]
    assert not HeldFile.objects.exists()


def test_adding_a_subject_keeps_files_within_the_limits_with_those_held(employee, settings):
    settings.WEERBAAR_ATTACHMENTS_MAX_FILES = 2
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf"), _pdf("foto.pdf", PHOTO)]
    first = client.post(reverse("signals:submit"), data)
    again = {**_again(data, first), "betrokkene_toevoegen": "ja", "attachments": [_pdf("derde.pdf")]}

    more = client.post(reverse("signals:submit"), again)

    assert (
        more.context["files_refused"][0] == "U koos 1 bestanden, en 2 waren al bewaard; u kunt er hooguit 2 toevoegen."
    )
    assert sorted(h.filename for h in HeldFile.objects.all()) == ["foto.pdf", "scan.pdf"]
    assert len(_boxes(more)) == 2


def test_a_coordinator_registering_on_behalf_keeps_the_files_too(coordinator):
    client = verified_client(coordinator)
    page = client.get(reverse("signals:register"))
    data = {
        **_post_data(page, description=""),
        "channel": "phone",
        "noticed_how": "in_job",
        "caller_name": "",
        "caller_email": "",
        "caller_phone": "",
        "attachments": [_pdf("brief.pdf")],
    }

    first = client.post(reverse("signals:register"), data)

    assert first.status_code == 200 and list(_boxes(first)) == [f"brief.pdf ({SCAN_SIZE})"]
    assert client.post(reverse("signals:register"), _again(data, first, description="Belde op.")).status_code == 302
    assert [a.filename for a in Signal.objects.get().attachments.all()] == ["brief.pdf"]


def test_files_held_for_a_form_sent_without_them_are_destroyed_by_the_next_sweep(employee, make_user):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf")]
    client.post(reverse("signals:submit"), data)
    other = verified_client(make_user(role=Role.EMPLOYEE, organisation=employee.organisation))
    other_data = _post_data(_form_page(other), description="")
    other_data["attachments"] = [_pdf("foto.pdf", PHOTO)]
    other.post(reverse("signals:submit"), other_data)  # another form, still being filled in
    # Back to the first page, which showed no held files, and sent from there with the file chosen again.
    sent = client.post(reverse("signals:submit"), {**data, "attachments": [_pdf("scan.pdf")], "description": "Nu wel."})
    assert sent.status_code == 302 and HeldFile.objects.count() == 2  # the send looked none up

    assert leftover_held_files_destroy() == 1

    assert [held.filename for held in HeldFile.objects.all()] == ["foto.pdf"]
    assert [a.filename for a in Signal.objects.get().attachments.all()] == ["scan.pdf"]


@pytest.mark.django_db(transaction=True)
def test_held_files_left_behind_are_destroyed_after_a_day_with_their_keys(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("kanarie-bestand-7a7a.pdf")]
    client.post(reverse("signals:submit"), data)
    held = HeldFile.objects.get()
    assert b"kanarie-bestand-7a7a" not in _raw_database_bytes().lower()  # the name is encrypted
    for path in Path(default_storage.location).rglob("*"):
        if path.is_file():
            assert b"de scan van de brief" not in path.read_bytes()

    assert leftover_held_files_destroy() == 0
    with time_machine.travel(timezone.now() + timedelta(hours=HELD_FILE_HOURS, minutes=1)):
        assert leftover_held_files_destroy() == 1

    assert not HeldFile.objects.exists()
    assert not DataKey.objects.filter(pk=held.data_key_id).exists()
    assert not default_storage.exists(held.storage_name)


@pytest.fixture
def confidential_organisation(organisation):
    """The public form switched on, with fresh counters of sends per hour (kept in the cache)."""
    from django.core.cache import cache

    organisation.confidential_reporting_enabled = True
    organisation.save(update_fields=["confidential_reporting_enabled"])
    cache.clear()
    yield organisation
    cache.clear()


def test_a_confidential_reporter_finds_the_held_files_only_in_the_browser_given_the_form(
    confidential_organisation,
):

    browser = Client()
    data = confidential_data(browser, confidential_organisation, description="")
    data["attachments"] = [_pdf("scan.pdf")]
    first = browser.post(_form_url(confidential_organisation), data)
    assert list(_boxes(first)) == [f"scan.pdf ({SCAN_SIZE})"]
    held = HeldFile.objects.get()
    assert held.holder is None

    # Another browser with the form's key (never in an address, but say it was copied).
    other = Client().post(_form_url(confidential_organisation), _again(data, first))
    assert _boxes(other) == {} and HeldFile.objects.count() == 1

    sent = browser.post(_form_url(confidential_organisation), _again(data, first, description="Nu wel."))

    assert sent.status_code == 302
    assert [a.filename for a in Signal.objects.get().attachments.all()] == ["scan.pdf"]
    assert not HeldFile.objects.exists()


def _refuse_inserts(table: str) -> None:
    """A real failure of the database: a trigger that refuses every new row of `table`."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END; "
                "$$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )


def _allow_inserts(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER refuse_{table}" + (f" ON {table}" if connection.vendor == "postgresql" else ""))


def test_a_save_that_fails_keeps_the_file_for_the_next_send(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client))
    data["attachments"] = [_pdf("scan.pdf")]
    _refuse_inserts("signals_subject")

    failed = client.post(reverse("signals:submit"), data)

    assert "Uw melding is niet opgeslagen" in failed.content.decode()
    assert not Signal.objects.exists() and list(_boxes(failed)) == [f"scan.pdf ({SCAN_SIZE})"]
    _allow_inserts("signals_subject")
    assert client.post(reverse("signals:submit"), _again(data, failed)).status_code == 302
    assert [a.filename for a in Signal.objects.get().attachments.all()] == ["scan.pdf"]


def test_when_files_cannot_be_held_the_page_says_to_choose_them_again_and_unticked_stays_unticked(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf"), _pdf("foto.pdf", PHOTO)]
    first = client.post(reverse("signals:submit"), data)
    _refuse_inserts("signals_heldfile")
    again = _again(data, first, ticked={"scan.pdf"})
    again["attachments"] = [_pdf("derde.pdf")]

    second = client.post(reverse("signals:submit"), again)

    assert [label.split(" (")[0] for label in _boxes(second)] == ["scan.pdf"]  # not foto.pdf again
    page = second.content.decode()
    assert "U had bijlagen gekozen. Kies ze opnieuw" in page and "derde.pdf" not in page
    assert second.context["files_held"] == ""
    assert [h.filename for h in HeldFile.objects.all()] == ["scan.pdf"]


def test_a_ticked_file_that_expired_while_the_page_was_open_is_not_left_out_silently(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf")]
    first = client.post(reverse("signals:submit"), data)

    # The hourly task, a day on (the reporter's session kept alive while the page was open).
    assert leftover_held_files_destroy(now=timezone.now() + timedelta(hours=HELD_FILE_HOURS, minutes=5)) == 1
    late = client.post(reverse("signals:submit"), _again(data, first, description="Na een dag."))

    assert late.status_code == 200 and not Signal.objects.exists()
    assert late.context["form"].errors["attachments"] == [
        "Een bijlage die bewaard was, is er niet meer: bewaarde bijlagen worden na 24 uur weggegooid. Kies die opnieuw."
    ]


def test_a_held_file_whose_stored_file_is_gone_is_named_and_no_longer_offered(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf")]
    first = client.post(reverse("signals:submit"), data)
    default_storage.delete(HeldFile.objects.get().storage_name)

    second = client.post(reverse("signals:submit"), _again(data, first, description="Nu wel."))

    assert second.status_code == 200 and not Signal.objects.exists()
    assert second.context["form"].errors["attachments"] == [
        "scan.pdf: dit bestand is niet meer bewaard. Kies het opnieuw."
    ]
    assert _boxes(second) == {} and not HeldFile.objects.exists()


def test_adding_a_subject_names_a_held_file_that_is_gone_and_one_that_expired(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf"), _pdf("foto.pdf", PHOTO)]
    first = client.post(reverse("signals:submit"), data)
    scan, photo = HeldFile.objects.order_by("pk")  # names are encrypted: held in the order chosen
    assert (scan.filename, photo.filename) == ("scan.pdf", "foto.pdf")
    default_storage.delete(scan.storage_name)
    HeldFile.objects.filter(pk=photo.pk).update(created_at=timezone.now() - timedelta(hours=HELD_FILE_HOURS))

    more = client.post(reverse("signals:submit"), {**_again(data, first), "betrokkene_toevoegen": "ja"})

    assert more.context["files_refused"] == [
        "scan.pdf: dit bestand is niet meer bewaard. Kies het opnieuw.",
        "Een bijlage die bewaard was, is er niet meer: bewaarde bijlagen worden na 24 uur weggegooid. Kies die opnieuw.",
    ]
    assert _boxes(more) == {}
    assert list(HeldFile.objects.values_list("pk", flat=True)) == [photo.pk]  # the hourly task destroys it


def test_the_second_click_of_a_double_click_finds_the_files_taken_and_is_the_same_signal(employee):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf")]
    first = client.post(reverse("signals:submit"), data)
    again = _again(data, first, description="Nu wel.")
    assert client.post(reverse("signals:submit"), again).status_code == 302

    second = client.post(reverse("signals:submit"), again)  # the held file went into the first

    assert second.status_code == 302
    assert "al eerder verstuurd" in client.get(second["Location"]).content.decode()
    assert Signal.objects.count() == 1 and [a.filename for a in Attachment.objects.all()] == ["scan.pdf"]


@pytest.mark.django_db(transaction=True)
def test_whatever_removes_a_held_file_destroys_its_key_and_its_stored_file(employee, make_user):
    client = verified_client(employee)
    data = _post_data(_form_page(client), description="")
    data["attachments"] = [_pdf("scan.pdf"), _pdf("foto.pdf", PHOTO)]
    first = client.post(reverse("signals:submit"), data)
    scan, photo = HeldFile.objects.order_by("pk")

    client.post(reverse("signals:submit"), _again(data, first, ticked={"foto.pdf"}))  # unticked
    assert not DataKey.objects.filter(pk=scan.data_key_id).exists()
    assert not default_storage.exists(scan.storage_name)

    employee.delete()  # the account removed: its held file with it
    assert not HeldFile.objects.exists()
    assert not DataKey.objects.filter(pk=photo.data_key_id).exists()
    assert not default_storage.exists(photo.storage_name)


def test_a_confidential_browser_without_the_form_gets_nothing_held_and_is_told(confidential_organisation):

    data = confidential_data(Client(), confidential_organisation, description="")
    data["attachments"] = [_pdf("scan.pdf")]

    page = Client().post(_form_url(confidential_organisation), data)  # a browser never given the form

    assert page.status_code == 200 and not HeldFile.objects.exists()
    assert "U had bijlagen gekozen. Kies ze opnieuw" in page.content.decode()


def _adding_a_subject_on_the_public_form(organisation) -> tuple[str, Client, dict]:
    """The public form's address, a browser given the form, and what it sends to add a block."""
    browser = Client()
    data = {**confidential_data(browser, organisation, description=""), "betrokkene_toevoegen": "ja"}
    return _form_url(organisation), browser, data


def test_on_the_confidential_form_adding_a_subject_holds_files_for_the_browser_given_it_and_counts(
    confidential_organisation, settings
):
    from signals.confidential_views import FORM_COOKIE

    settings.WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR = 2
    url, browser, data = _adding_a_subject_on_the_public_form(confidential_organisation)

    other = Client().post(url, {**data, "attachments": [_pdf("scan.pdf")]})  # never given the form
    assert _boxes(other) == {} and not HeldFile.objects.exists()
    assert "U had bijlagen gekozen. Kies ze opnieuw" in other.content.decode()

    more = browser.post(url, {**data, "attachments": [_pdf("scan.pdf")]})
    assert list(_boxes(more)) == [f"scan.pdf ({SCAN_SIZE})"] and FORM_COOKIE in more.cookies
    assert HeldFile.objects.get().holder is None

    # Holding files took one of the hour's sends; the block alone takes none.
    assert browser.post(url, _again(data, more)).status_code == 200
    sent = browser.post(
        url, {k: v for k, v in _again(data, more, description="Nu wel.").items() if k != "betrokkene_toevoegen"}
    )
    assert sent.status_code == 302
    assert [a.filename for a in Signal.objects.get().attachments.all()] == ["scan.pdf"]
    refused = browser.post(url, {**confidential_data(browser, confidential_organisation), "attachments": []})
    assert refused.status_code == 429


def test_on_the_confidential_form_files_not_held_for_too_many_sends_are_said_to_be_so(
    confidential_organisation, settings
):

    settings.WEERBAAR_CONFIDENTIAL_SUBMISSIONS_PER_HOUR = 1
    url, browser, data = _adding_a_subject_on_the_public_form(confidential_organisation)
    first = browser.post(url, {**data, "attachments": [_pdf("scan.pdf")]})  # the hour's one send

    more = browser.post(url, {**_again(data, first), "attachments": [_pdf("foto.pdf", PHOTO)]})

    assert list(_boxes(more)) == [f"scan.pdf ({SCAN_SIZE})"]  # the held one stays
    assert [h.filename for h in HeldFile.objects.all()] == ["scan.pdf"]
    page = more.content.decode()
    assert "U heeft in korte tijd veel berichten verstuurd: de bijlagen die u nu koos, zijn niet bewaard." in page
    assert "een browser onthoudt gekozen bestanden niet" not in page  # not the reason here


def test_the_confidential_form_shown_again_keeps_the_browser_given_it(confidential_organisation):
    from signals.confidential_views import FORM_COOKIE

    browser = Client()
    data = confidential_data(browser, confidential_organisation, description="")
    data["attachments"] = [_pdf("scan.pdf")]

    page = browser.post(_form_url(confidential_organisation), data)

    assert FORM_COOKIE in page.cookies  # given again, for as long again as when it was first given
    assert list(_boxes(page)) == [f"scan.pdf ({SCAN_SIZE})"]
