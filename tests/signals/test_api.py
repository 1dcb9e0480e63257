"""The meldpunt over the API: the intake with the web form's rules, idempotency, who may do what,
what each caller sees, and what the database holds."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from accounts.roles import Role
from audit.models import AccessLog, AuditEvent
from privacy.blind_index import blind_index, person_blind_index
from signals.api import DATE_FORMAT_HELP
from signals.models import Channel, CoordinatorNotification, Phenomenon, Signal, Subject
from signals.selectors import phenomenon_choices
from tests.conftest import verified_client
from tests.factories import PDF_BYTES, make_signal

pytestmark = pytest.mark.django_db

URL = "/api/v1/signals/"
CANARY = "Kapsalon Zonder Klanten aan de Dorpsstraat"
# What a list costs, whatever its length: the token with its user and organisation, the token's
# last use, the OTP device, the count and the page; a coordinator's list also writes its
# access-log entry (in a savepoint: three statements).
REPORTER_LIST_QUERIES = 5
COORDINATOR_LIST_QUERIES = 8


def token_client(user) -> Client:
    raw = verified_client(user).post("/account/tokens/", {"name": "koppeling"}).context["token"]
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def post(client: Client, body: dict, **extra):
    return client.post(URL, body, content_type="application/json", **extra)


NO_SUCH_CHARACTER = "De tekst bevat een teken dat niet bestaat (U+{}); controleer of hij als UTF-8 is verstuurd."


def body(**overrides) -> dict:
    data = {
        "submission_key": str(uuid.uuid4()),
        "description": f"{CANARY} verlengt elk jaar de vergunning.",
        "acute_danger": False,
        "address": "1234 ab 12",
        "location": "",
        "observed_on": "2026-01-10",
        "noticed_how": "in_job",
        "subjects": [
            {"kind": "person", "name": "Jan de Vries", "date_of_birth": "1980-05-17"},
            {"kind": "company", "name": "Snackbar De Hoek BV", "kvk": "1234 5678"},
        ],
    }
    data.update(overrides)
    return data


def _nothing_stored() -> bool:
    return not (
        Signal.objects.exists()
        or Subject.objects.exists()
        or CoordinatorNotification.objects.exists()
        or AuditEvent.objects.filter(action="signal.submitted").exists()
    )


# --- Submitting -------------------------------------------------------------------------------------


def test_employee_submits_over_a_token_through_the_one_service(employee, django_capture_on_commit_callbacks):
    phenomenon = phenomenon_choices(organisation_id=employee.organisation_id).get(name="Horeca")
    client = token_client(employee)

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body(phenomenon=phenomenon.pk, acute_danger=True))

    assert response.status_code == 201, response.json()
    signal = Signal.objects.get()
    assert response.json() == {
        "reference": signal.reference,
        "created_at": response.json()["created_at"],
        "phenomenon": "Horeca",
        "status": "ontvangen",
        "new_question": False,
    }
    assert signal.reporter == employee and signal.channel == Channel.WEB_FORM
    assert signal.organisation_id == employee.organisation_id
    assert signal.description == f"{CANARY} verlengt elk jaar de vergunning."
    assert signal.acute_danger is True and signal.phenomenon == phenomenon
    assert signal.address == "1234 AB 12" and signal.address_index == blind_index("address", "1234AB12")
    assert signal.observed_on == date(2026, 1, 10) and signal.noticed_how == "in_job"
    subjects = {s.kind: s for s in Subject.objects.filter(signal=signal)}
    assert subjects["person"].blind_index == person_blind_index("jan de vries", date(1980, 5, 17))
    assert subjects["company"].kvk == "12345678"
    assert subjects["company"].blind_index == blind_index("kvk", "12345678")
    event = AuditEvent.objects.get(action="signal.submitted")
    assert event.actor_id == employee.pk
    assert event.data == {"channel": "web_form", "subjects": 2, "attachments": 0, "acute_danger": True}
    assert CoordinatorNotification.objects.filter(signal=signal).count() == 1
    assert len(callbacks) == 1  # the coordinators' notification, queued on commit


def test_employee_submits_over_a_verified_session_with_csrf(employee):
    client = verified_client(employee)
    client.handler.enforce_csrf_checks = True
    client.get("/meldingen/nieuw/", {"acuut": "nee"})  # a page with a form hands out the CSRF cookie

    assert post(client, body()).status_code == 403
    assert _nothing_stored()

    response = post(client, body(), HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 201
    assert Signal.objects.get().reporter == employee


def test_a_session_without_second_factor_is_refused(employee):
    client = Client()
    client.force_login(employee)
    assert post(client, body()).status_code == 403
    assert client.get(URL).status_code == 403
    assert _nothing_stored()


def test_anonymous_caller_is_refused(db):
    response = post(Client(), body())
    assert response.status_code == 401
    assert _nothing_stored()


def test_the_intake_is_json_only(employee):
    response = verified_client(employee).post(URL, {**body(), "attachments": PDF_BYTES})
    assert response.status_code == 415
    assert _nothing_stored()


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"description": ""}, {"description": ["Beschrijf wat u is opgevallen."]}),
        ({"description": "   "}, {"description": ["Beschrijf wat u is opgevallen."]}),
        ({"description": None}, {"description": ["Beschrijf wat u is opgevallen."]}),
        ({"address": "12345"}, {"address": ["Vul postcode en huisnummer in als 1234 AB 12."]}),
        ({"observed_on": "2099-01-01"}, {"observed_on": ["Deze datum ligt in de toekomst."]}),
        ({"observed_on": "gisteren"}, {"observed_on": [DATE_FORMAT_HELP]}),
        (
            {"phenomenon": 999999},
            {"phenomenon": ["Dit fenomeen staat niet (meer) in de lijst. Kies een ander, of 'Weet ik niet'."]},
        ),
        (
            {"subjects": [{"kind": "company", "kvk": "123"}]},
            {"subjects": {"0": {"kvk": ["Een KvK-nummer bestaat uit 8 cijfers."]}}},
        ),
        (
            {"subjects": [{"kind": "company"}]},
            {"subjects": {"0": {"name": ["Vul de naam of het KvK-nummer van het bedrijf in."]}}},
        ),
        ({"subjects": [{"kind": "person"}]}, {"subjects": {"0": {"name": ["Vul de naam van de persoon in."]}}}),
        ({"subjects": [{"kind": "person", "name": "!!"}]}, {"subjects": {"0": {"name": ["Vul een naam in."]}}}),
        (
            {"subjects": [{"kind": "person", "name": "Jan", "date_of_birth": "2099-01-01"}]},
            {"subjects": {"0": {"date_of_birth": ["Een geboortedatum ligt niet in de toekomst."]}}},
        ),
        ({"subjects": [{"kenteken": "AB-123-C"}]}, {"subjects": {"0": {"kind": ["Kies wat voor betrokkene dit is."]}}}),
        (
            {"subjects": [{"kind": "vehicle", "kenteken": "ABCDEF"}]},
            {"subjects": {"0": {"kenteken": ["Een kenteken bestaat uit letters en cijfers, zoals AB-123-C."]}}},
        ),
        ({"subjects": [{"kind": "address"}]}, {"subjects": {"0": {"address": ["Vul postcode en huisnummer in."]}}}),
        # Messages DRF's Dutch catalogue lacks.
        ({"description": {"a": 1}}, {"description": ["Vul hier tekst in (geen true/false, lijst of object)."]}),
        ({"acute_danger": "misschien"}, {"acute_danger": ["Geef true of false."]}),
        # Half a UTF-16 pair in a choice field: refused under the field, not a 500.
        ({"noticed_how": "\udfff"}, {"noticed_how": [NO_SUCH_CHARACTER.format("DFFF")]}),
        (
            {"subjects": [{"kind": "\ud800", "name": "Jan"}]},
            {"subjects": {"0": {"kind": [NO_SUCH_CHARACTER.format("D800")]}}},
        ),
        ({"description": "nul\x00teken"}, {"description": ["Null-tekens zijn niet toegestaan."]}),
        (
            {"location": "achter \udfff"},
            {
                "location": [
                    "De tekst bevat een teken dat niet bestaat (U+DFFF); controleer of hij als UTF-8 is verstuurd."
                ]
            },
        ),
        (
            {"submission_key": "geen-uuid"},
            {"submission_key": ["De submission_key is een UUID, zoals 1b6f0a0e-3c1d-4a8e-9a57-0d5a3c7b2f11."]},
        ),
        (
            {"subjects": [{"kind": "vehicle", "kenteken": f"AB-12{n}-C"} for n in range(11)]},
            {"subjects": {"non_field_errors": ["Geef hooguit 10 betrokkenen op."]}},
        ),
    ],
)
def test_bad_input_gets_the_web_forms_dutch_message_per_field_and_stores_nothing(employee, overrides, errors):
    response = post(token_client(employee), body(**overrides))

    assert response.status_code == 400
    assert response.json() == errors
    assert _nothing_stored()


def test_every_bad_field_is_reported_in_one_answer(employee):
    response = post(
        token_client(employee),
        body(
            description="",
            address="12345",
            observed_on="gisteren",
            noticed_how="ergens",
            subjects=[{"kind": "person", "name": "Jan"}, {"kind": "vehicle", "kenteken": "ABCDEF"}],
        ),
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"description", "address", "observed_on", "noticed_how", "subjects"}
    assert set(errors["subjects"]) == {"1"}  # by position, only the subjects with an error
    assert set(errors["subjects"]["1"]) == {"kenteken"}
    assert _nothing_stored()


@pytest.mark.parametrize("key", [None, "", "geen-uuid"])
def test_a_submission_key_is_required(employee, key):
    data = body(submission_key=key)
    if key is None:
        del data["submission_key"]
    response = post(token_client(employee), data)
    assert response.status_code == 400
    assert set(response.json()) == {"submission_key"}
    assert _nothing_stored()


def test_a_phenomenon_of_another_organisation_or_out_of_use_is_refused(employee, other_organisation):
    foreign = phenomenon_choices(organisation_id=other_organisation.pk).first()
    retired = phenomenon_choices(organisation_id=employee.organisation_id).get(name="Vastgoed")
    Phenomenon.objects.filter(pk=retired.pk).update(is_active=False)
    client = token_client(employee)

    for phenomenon in (foreign, retired):
        response = post(client, body(phenomenon=phenomenon.pk))
        assert response.status_code == 400
        assert set(response.json()) == {"phenomenon"}
    assert _nothing_stored()


def test_no_more_than_ten_subjects(employee):
    subjects = [{"kind": "vehicle", "kenteken": f"AB-12{n}-C"} for n in range(10)]
    client = token_client(employee)

    assert post(client, body(subjects=[*subjects, {"kind": "vehicle", "kenteken": "XY-999-Z"}])).status_code == 400
    assert _nothing_stored()
    assert post(client, body(subjects=subjects)).status_code == 201
    assert Subject.objects.count() == 10


def test_the_same_submission_key_returns_the_same_signal(employee):
    client = token_client(employee)
    data = body()

    first = post(client, data)
    again = post(client, data)
    changed = post(client, {**data, "description": "Iets heel anders."})

    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 200)
    assert first.json() == again.json() == changed.json()
    assert Signal.objects.count() == 1 and Subject.objects.count() == 2
    assert CoordinatorNotification.objects.count() == 1
    assert AuditEvent.objects.filter(action="signal.submitted").count() == 1
    assert Signal.objects.get().description.startswith(CANARY)


def test_someone_elses_submission_key_is_refused_without_revealing_the_signal(
    employee, make_user, organisation, other_organisation
):
    data = body()
    first = post(token_client(employee), data)
    colleague = make_user(role=Role.EMPLOYEE, organisation=organisation)
    stranger = make_user(role=Role.EMPLOYEE, organisation=other_organisation)

    for user in (colleague, stranger):
        response = post(token_client(user), data)
        assert response.status_code == 403
        assert first.json()["reference"] not in response.content.decode()
    assert Signal.objects.count() == 1


def test_a_database_error_saves_nothing_and_says_so(employee):
    """A real failure of the database half-way (a trigger refusing the subject rows)."""
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

    response = post(token_client(employee), body())

    assert response.status_code == 503
    assert "niet opgeslagen" in response.json()["detail"]
    assert _nothing_stored()


@pytest.mark.parametrize("role", [Role.PARTNER, Role.NORM_OWNER, Role.REVIEWER, Role.PRIVACY_OFFICER, Role.ADMIN])
def test_roles_without_submit_signal_are_refused(make_user, role):
    user = make_user(role=role)
    for client in (verified_client(user), token_client(user)):
        assert post(client, body()).status_code == 403
        assert client.get(URL).status_code == 403
    assert _nothing_stored()


@pytest.mark.parametrize("role", [Role.OFFICE_HOLDER, Role.MANAGER, Role.COORDINATOR])
def test_other_reporting_roles_may_submit(make_user, organisation, role):
    user = make_user(role=role, organisation=organisation)
    assert post(token_client(user), body()).status_code == 201
    assert Signal.objects.get().reporter == user


# --- Listing ------------------------------------------------------------------------------------


def test_a_reporter_sees_only_their_own_signals_and_nothing_internal(employee, make_user, organisation):
    colleague = make_user(role=Role.EMPLOYEE, organisation=organisation)
    mine = make_signal(employee, description=CANARY, subjects=[])
    theirs = make_signal(colleague)

    response = token_client(employee).get(URL)

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    assert data["results"] == [
        {
            "reference": mine.reference,
            "created_at": data["results"][0]["created_at"],
            "phenomenon": None,
            "status": "ontvangen",
            "new_question": False,
        }
    ]
    assert theirs.reference not in response.content.decode()
    assert CANARY not in response.content.decode()
    assert not AccessLog.objects.exists()


def test_a_coordinator_sees_the_organisations_signals_without_their_content(
    coordinator, employee, make_user, other_organisation
):
    from signals.services import SubjectData

    mine = make_signal(
        employee,
        description=CANARY,
        subjects=[SubjectData(kind="vehicle", kenteken="AB123C")],
        files=[("stuk.pdf", PDF_BYTES)],
        acute_danger=True,
    )
    stranger = make_user(role=Role.EMPLOYEE, organisation=other_organisation)
    make_signal(stranger)  # of the other organisation: not in the list

    response = verified_client(coordinator).get(URL)

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row == {
        "id": mine.pk,
        "reference": mine.reference,
        "created_at": row["created_at"],
        "phenomenon": None,
        "status": "ontvangen",
        "channel": "web_form",
        "internal_status": "received",
        "acute_danger": True,
        "subject_count": 1,
        "attachment_count": 1,
        "handler": None,
        "new_message": False,
    }
    content = response.content.decode()
    assert CANARY not in content and "AB123C" not in content and "stuk.pdf" not in content
    log = AccessLog.objects.get()
    assert (log.user_id, log.page, log.record_id) == (coordinator.pk, "api:signal-list", "")


def test_the_lists_say_where_a_question_or_a_message_waits_and_who_handles_it(employee, coordinator):
    from signals.confidential_services import reporter_message_add, reporter_question_send
    from signals.services import signal_start_triage

    signal = make_signal(employee)
    reporter_question_send(actor=coordinator, signal=signal, text="Wanneer was dit?")
    reporter_message_add(actor=employee, signal=signal, text="Gisteren.")
    signal_start_triage(actor=coordinator, signal_id=signal.pk)

    [own] = token_client(employee).get(URL).json()["results"]
    [row] = token_client(coordinator).get(URL).json()["results"]

    assert own["new_question"] is True and "handler" not in own and "new_message" not in own
    assert row["new_message"] is True and row["handler"] == coordinator.display_name
    assert "new_question" not in row


def test_another_organisation_never_sees_a_signal(employee, make_user, other_organisation):
    signal = make_signal(employee)
    for role in (Role.COORDINATOR, Role.EMPLOYEE):
        outsider = make_user(role=role, organisation=other_organisation)
        data = token_client(outsider).get(URL).json()
        assert data["count"] == 0 and data["results"] == []
        assert signal.reference not in str(data)


def test_the_list_is_paginated(employee, monkeypatch):
    from rest_framework.pagination import PageNumberPagination

    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    for _ in range(3):
        make_signal(employee)
    client = token_client(employee)

    first = client.get(URL).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 3 and len(first["results"]) == 2 and len(second["results"]) == 1
    newest_first = [row["reference"] for row in first["results"] + second["results"]]
    assert newest_first == sorted(newest_first, reverse=True)


@pytest.mark.parametrize("count", [2, 12])
def test_the_reporters_list_costs_a_constant_number_of_queries(employee, django_assert_num_queries, count):
    for _ in range(count):
        make_signal(employee, files=[("a.pdf", PDF_BYTES)])
    client = token_client(employee)

    with django_assert_num_queries(REPORTER_LIST_QUERIES):
        response = client.get(URL)
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [2, 12])
def test_the_coordinators_list_costs_a_constant_number_of_queries(
    coordinator, employee, django_assert_num_queries, count
):
    for _ in range(count):
        make_signal(employee, files=[("a.pdf", PDF_BYTES)])
    client = token_client(coordinator)

    with django_assert_num_queries(COORDINATOR_LIST_QUERIES):
        response = client.get(URL)
    assert len(response.json()["results"]) == count


# --- What the database holds ----------------------------------------------------------------------


def test_the_database_holds_no_plaintext_of_an_api_signal(employee):
    response = post(token_client(employee), body(location="Achter het station"))
    assert response.status_code == 201

    with connection.cursor() as cursor:
        cursor.execute("SELECT description, address, location FROM signals_signal")
        [(description, address, location)] = cursor.fetchall()
        cursor.execute("SELECT description FROM signals_historicalsignal")
        history = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT name, date_of_birth, kvk FROM signals_subject ORDER BY id")
        subjects = cursor.fetchall()
    assert description.startswith("wb1:") and CANARY not in description
    assert address.startswith("wb1:") and location.startswith("wb1:")
    assert history and all(value.startswith("wb1:") for value in history)
    for row in subjects:
        assert all(value is None or value.startswith("wb1:") for value in row)
    assert "Jan de Vries" not in str(subjects) and "12345678" not in str(subjects)


def test_the_schema_documents_both_operations(employee):
    schema = verified_client(employee).get("/api/v1/schema/").content.decode()
    assert "/api/v1/signals/:" in schema
    assert "operationId: signals_list" in schema and "operationId: signals_create" in schema
    assert "submission_key" in schema and "Bijlagen kunnen niet via de API" in schema


def test_a_body_that_is_no_json_gets_a_dutch_message(employee):
    response = token_client(employee).post(URL, data=b"{kapot", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "De inhoud is geen geldige JSON; controleer aanhalingstekens, komma's en haakjes."
    }
    assert _nothing_stored()
