"""Encrypted fields, envelope keys, history and files, seen from the raw database."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core import checks
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import Role
from privacy.crypto import verify_master_keys
from privacy.fields import REDACTED
from privacy.files import encrypted_file_read
from privacy.keyring import MissingMasterKey, WrongMasterKey, new_key_text
from privacy.models import DataKey
from tests.example.models import Dossier, DossierNote
from tests.example.services import dossier_add_note, dossier_create, dossier_update_title

CANARY_TITLE = "KANARIE-titel-7f3a9c"
CANARY_DETAIL = "KANARIE-detail-91b2e4"
CANARY_NOTE = "KANARIE-notitie-c0ffee"
CANARY_FILE = b"KANARIE-bestand-5eed5eed"
CANARY_EDIT = "KANARIE-wijziging-abcdef"
CANARIES = [CANARY_TITLE, CANARY_DETAIL, CANARY_NOTE, CANARY_FILE.decode(), CANARY_EDIT]


@pytest.fixture
def coordinator(make_user, organisation):
    return make_user(role=Role.COORDINATOR, organisation=organisation, username="coordinator.kanarie")


def _write_canaries(actor) -> Dossier:
    dossier = dossier_create(
        actor=actor,
        title=CANARY_TITLE,
        details={"omschrijving": CANARY_DETAIL, "bedrag": 1200},
        kvk="1234 5678",
        attachment=CANARY_FILE,
    )
    dossier_add_note(actor=actor, dossier=dossier, text=CANARY_NOTE)
    dossier_update_title(actor=actor, dossier=Dossier.objects.get(pk=dossier.pk), title=CANARY_EDIT)
    return dossier


def _raw_database_bytes() -> bytes:
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        connection.close()  # flush everything to the file
        data = b""
        for suffix in ("", "-wal", "-journal"):
            path = Path(str(settings_dict["NAME"]) + suffix)
            if path.exists():
                data += path.read_bytes()
        return data
    if connection.vendor == "postgresql":
        if not shutil.which("pg_dump"):
            pytest.skip("pg_dump niet gevonden")
        env = {**os.environ, "PGPASSWORD": settings_dict.get("PASSWORD") or ""}
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                settings_dict.get("HOST") or "127.0.0.1",
                "-p",
                str(settings_dict.get("PORT") or 5432),
                "-U",
                settings_dict.get("USER") or "postgres",
                settings_dict["NAME"],
            ],
            capture_output=True,
            env=env,
            check=True,
            timeout=120,
        )
        return dump.stdout
    pytest.skip(f"geen ruwe dump voor {connection.vendor}")


@pytest.mark.django_db(transaction=True)
def test_canaries_appear_nowhere_in_the_raw_database(coordinator):
    _write_canaries(coordinator)

    raw = _raw_database_bytes()

    # The scan works: plaintext that is not encrypted on purpose is found.
    assert b"coordinator.kanarie" in raw
    assert Dossier.history.count() >= 2 and DossierNote.history.count() == 1
    for canary in CANARIES:
        assert canary.encode() not in raw, canary
    # Nor in the stored file.
    for path in Path(default_storage.location).rglob("*"):
        if path.is_file():
            assert CANARY_FILE not in path.read_bytes()


@pytest.mark.django_db
def test_authorised_code_reads_plaintext_everywhere(coordinator):
    dossier = _write_canaries(coordinator)

    fresh = Dossier.objects.get(pk=dossier.pk)
    assert fresh.title == CANARY_EDIT
    assert fresh.details == {"omschrijving": CANARY_DETAIL, "bedrag": 1200}
    assert fresh.notes.get().text == CANARY_NOTE
    assert encrypted_file_read(instance=fresh, name=fresh.attachment) == CANARY_FILE
    assert [h.title for h in fresh.history.order_by("history_id")] == [CANARY_TITLE, CANARY_EDIT]


@pytest.mark.django_db
def test_history_rows_hold_the_same_ciphertext_and_key(coordinator):
    dossier = dossier_create(actor=coordinator, title="eerste versie", details={})

    row = Dossier.objects.filter(pk=dossier.pk).values("title", "data_key_id").get()
    history = Dossier.history.filter(id=dossier.pk).values("title", "data_key_id").get()

    assert row["title"].startswith("wb1:")
    assert history == row


@pytest.mark.django_db
def test_every_aggregate_has_its_own_key_and_children_share_it(coordinator):
    first = dossier_create(actor=coordinator, title="een", details={})
    second = dossier_create(actor=coordinator, title="twee", details={})
    note = dossier_add_note(actor=coordinator, dossier=first, text="notitie")

    assert first.data_key_id != second.data_key_id
    assert note.data_key_id == first.data_key_id
    stored = DataKey.objects.get(pk=first.data_key_id)
    assert len(bytes(stored.wrapped_key)) == 12 + 32 + 16  # nonce + key + tag: wrapped, not raw


@pytest.mark.django_db
def test_filtering_on_an_encrypted_field_is_refused(coordinator):
    dossier_create(actor=coordinator, title="zoek mij", details={})
    for lookup in ("title", "title__iexact", "title__contains", "title__startswith", "details__in"):
        with pytest.raises(FieldError):
            list(Dossier.objects.filter(**{lookup: "zoek mij"}))
    assert Dossier.objects.filter(title__isnull=False).count() == 1
    with pytest.raises(TypeError, match="blinde index"):
        Dossier.objects.update(title="overschreven")


@pytest.mark.django_db
def test_a_json_value_changed_in_place_is_encrypted_again_on_save(coordinator):
    """The stored ciphertext is kept only while the value encrypts to the same bytes: a JSON
    value the caller changes in place (loaded, or just created), or 1 that became True, is new."""
    created = dossier_create(actor=coordinator, title="t", details={"stappen": [1], "vlag": 1})
    created.details["stappen"].append(2)
    created.save()
    loaded = Dossier.objects.get(pk=created.pk)
    assert loaded.details == {"stappen": [1, 2], "vlag": 1}
    loaded.details["status"] = "nieuw"
    loaded.save()
    again = Dossier.objects.get(pk=created.pk)
    assert again.details == {"stappen": [1, 2], "vlag": 1, "status": "nieuw"}
    again.details = {**again.details, "vlag": True}
    again.save()
    assert Dossier.objects.get(pk=created.pk).details["vlag"] is True
    # Each save wrote its own history row with the value as saved.
    saved = [h.details for h in Dossier.history.filter(id=created.pk).order_by("history_id")]
    assert [d.get("stappen") for d in saved] == [[1], [1, 2], [1, 2], [1, 2]]
    assert [d.get("vlag") for d in saved][-1] is True and saved[2].get("status") == "nieuw"
    # Unchanged, the stored ciphertext is kept (no new encryption, no new nonce).
    stored = Dossier.objects.filter(pk=created.pk).values_list("details", flat=True).get()
    unchanged = Dossier.objects.get(pk=created.pk)
    assert unchanged.details["vlag"] is True
    unchanged.save()
    assert Dossier.objects.filter(pk=created.pk).values_list("details", flat=True).get() == stored


@pytest.mark.django_db
def test_a_copy_under_a_new_key_is_encrypted_again(coordinator):
    original = dossier_create(actor=coordinator, title="kopie mij", details={"a": 1})
    copy = Dossier.objects.get(pk=original.pk)
    copy.pk = None
    copy.data_key = None
    copy.save()

    fresh = Dossier.objects.get(pk=copy.pk)
    assert fresh.data_key_id != original.data_key_id
    assert fresh.title == "kopie mij" and fresh.details == {"a": 1}


@pytest.mark.django_db
def test_pickling_leaves_the_raw_key_behind(coordinator):
    import pickle

    dossier = Dossier.objects.get(pk=dossier_create(actor=coordinator, title="x", details={}).pk)
    assert dossier.title == "x"
    assert "_weerbaar_data_key" in dossier.__dict__
    restored = pickle.loads(pickle.dumps(dossier))  # noqa: S301 - our own object
    assert "_weerbaar_data_key" not in restored.__dict__
    assert restored.title == "x"


@pytest.mark.django_db
def test_a_history_row_pickles_without_the_raw_key(coordinator):
    import pickle

    from privacy.crypto import data_key_bytes

    dossier = dossier_create(actor=coordinator, title="geschiedenis", details={})
    history = Dossier.history.select_related("data_key").get(id=dossier.pk)
    assert history.title == "geschiedenis"
    assert "_weerbaar_data_key" in history.__dict__  # read: the key in use is on the instance
    raw = data_key_bytes(history.data_key)
    pickled = pickle.dumps(history)
    assert raw not in pickled
    restored = pickle.loads(pickled)  # noqa: S301 - our own object
    assert "_weerbaar_data_key" not in restored.__dict__ and restored.title == "geschiedenis"


@pytest.mark.django_db
def test_a_fresh_aggregate_pickles_without_its_raw_key(coordinator):
    """A new aggregate holds its just-made data key, raw bytes included, so it encrypts without
    unwrapping it again; pickling drops those bytes and a reload unwraps the stored key."""
    import pickle

    dossier = dossier_create(actor=coordinator, title="vers", details={})
    assert "_weerbaar_raw_key" in dossier.data_key.__dict__
    restored = pickle.loads(pickle.dumps(dossier))  # noqa: S301 - our own object
    assert "_weerbaar_raw_key" not in restored.data_key.__dict__
    assert "_weerbaar_data_key" not in restored.__dict__
    assert restored.title == "vers"
    assert Dossier.objects.get(pk=dossier.pk).title == "vers"


@pytest.mark.django_db
def test_history_rows_carry_the_row_as_saved_the_user_and_the_type(coordinator):
    dossier = dossier_create(actor=coordinator, title="eerst", details={"n": 1}, kvk="1234 5678")
    dossier_update_title(actor=coordinator, dossier=dossier, title="daarna")

    rows = list(Dossier.history.filter(id=dossier.pk).order_by("history_id"))
    assert [(h.history_type, h.title, h.details, h.history_user_id) for h in rows] == [
        ("+", "eerst", {"n": 1}, coordinator.pk),
        ("~", "daarna", {"n": 1}, coordinator.pk),
    ]
    assert {h.kvk_index for h in rows} == {dossier.kvk_index} and dossier.kvk_index
    assert {h.organisation_id for h in rows} == {dossier.organisation_id}
    assert rows[0].history_date <= rows[1].history_date


@pytest.mark.django_db
def test_saving_a_partly_loaded_record_copies_its_ciphertext_to_history(coordinator):
    dossier = dossier_create(actor=coordinator, title="half geladen", details={"a": 1})
    partial = Dossier.objects.only("id", "data_key", "organisation", "kvk_index").get(pk=dossier.pk)
    partial.kvk_index = "anders"
    partial._history_user = coordinator
    partial.save()

    stored = Dossier.objects.filter(pk=dossier.pk).values("title", "details").get()
    latest = Dossier.history.filter(id=dossier.pk).order_by("-history_id").values("title", "details").first()
    assert latest == stored and stored["title"].startswith("wb1:")
    assert Dossier.history.filter(id=dossier.pk).order_by("-history_id").first().title == "half geladen"


@pytest.mark.django_db
def test_bulk_created_rows_get_the_history_rows_their_saves_would_have_written(coordinator):
    from audit.history import history_create_bulk

    dossier = dossier_create(actor=coordinator, title="dossier", details={})
    notes = [DossierNote(dossier=dossier, data_key_id=dossier.data_key_id, text=f"notitie {n}") for n in range(3)]
    for note in notes:
        note._history_user = coordinator
    DossierNote.objects.bulk_create(notes)
    assert not DossierNote.history.exists()  # bulk_create writes no history by itself

    with CaptureQueriesContext(connection) as queries:
        history_create_bulk(notes)

    assert len(queries) == 1
    rows = list(DossierNote.history.order_by("id"))
    assert [(h.id, h.text, h.history_type, h.history_user_id) for h in rows] == [
        (note.pk, f"notitie {n}", "+", coordinator.pk) for n, note in enumerate(notes)
    ]
    stored = list(DossierNote.objects.order_by("pk").values("text", "data_key_id"))
    assert list(DossierNote.history.order_by("id").values("text", "data_key_id")) == stored


@pytest.mark.django_db
def test_bulk_history_refuses_what_it_cannot_copy(coordinator):
    from audit.history import history_create_bulk
    from audit.models import AccessLog

    dossier = dossier_create(actor=coordinator, title="dossier", details={})
    with pytest.raises(ValueError, match="saved rows of one model"):
        history_create_bulk([dossier, DossierNote(dossier=dossier, data_key_id=dossier.data_key_id, text="x")])
    with pytest.raises(ValueError, match="keeps no history"):
        history_create_bulk([AccessLog.objects.create(user_id=coordinator.pk, record_type="x", page="p")])
    history_create_bulk([])  # nothing to copy: nothing written
    assert DossierNote.history.count() == 0


@pytest.mark.django_db
def test_insert_rows_statement_writes_all_rows_at_once_and_wants_the_same_fields(coordinator):
    from audit.models import AccessLog
    from privacy.sql import insert_rows_statement

    now = timezone.now()

    def row(n: int) -> dict:
        return {
            "at": now,
            "user_id": coordinator.pk,
            "user_role": "",
            "record_type": "test",
            "record_id": str(n),
            "page": "p",
        }

    sql, params = insert_rows_statement(AccessLog, [row(n) for n in range(1, 6)], returning="pk")
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [r[0] for r in cursor.fetchall()]
    assert len(queries) == 1 and len(ids) == 5
    stored = dict(AccessLog.objects.filter(record_type="test").values_list("pk", "record_id"))
    assert [stored[pk] for pk in ids] == list("12345")
    with pytest.raises(ValueError, match="must give the fields"):
        insert_rows_statement(AccessLog, [row(6), {**row(7), "organisation_id": None}])
    assert AccessLog.objects.filter(record_type="test").count() == 5


@pytest.mark.django_db
def test_history_receivers_still_see_and_change_the_row(coordinator):
    """With a receiver on simple-history's signals the row is built and saved the ORM way, so the
    receiver can change it; the ciphertext is still the source row's."""
    from simple_history.signals import post_create_historical_record, pre_create_historical_record

    seen = []

    def before(sender, history_instance, **kwargs):
        history_instance.history_change_reason = "via ontvanger"

    def after(sender, history_instance, **kwargs):
        seen.append(history_instance.pk)

    pre_create_historical_record.connect(before, sender=Dossier.history.model)
    post_create_historical_record.connect(after, sender=Dossier.history.model)
    try:
        dossier = dossier_create(actor=coordinator, title="met ontvanger", details={})
    finally:
        pre_create_historical_record.disconnect(before, sender=Dossier.history.model)
        post_create_historical_record.disconnect(after, sender=Dossier.history.model)

    history = Dossier.history.get(id=dossier.pk)
    assert seen == [history.pk]
    assert history.history_change_reason == "via ontvanger" and history.title == "met ontvanger"
    row = Dossier.objects.filter(pk=dossier.pk).values("title").get()
    assert Dossier.history.filter(id=dossier.pk).values("title").get() == row


@pytest.mark.django_db
def test_a_page_of_records_decrypts_with_a_constant_number_of_queries(coordinator, django_assert_num_queries):
    for i in range(20):
        dossier_create(actor=coordinator, title=f"titel {i}", details={"i": i})
    with django_assert_num_queries(1):
        titles = [d.title for d in Dossier.objects.select_related("data_key").order_by("pk")]
    assert titles == [f"titel {i}" for i in range(20)]


@pytest.mark.django_db
def test_with_data_keys_decrypts_a_page_in_one_query(coordinator, django_assert_num_queries):
    from privacy.crypto import with_data_keys

    for i in range(20):
        dossier_create(actor=coordinator, title=f"titel {i}", details={"i": i})
    with django_assert_num_queries(1):
        rows = [(d.title, d.details) for d in with_data_keys(Dossier.objects.order_by("pk"))]
    assert rows == [(f"titel {i}", {"i": i}) for i in range(20)]


@pytest.mark.django_db
def test_a_row_loaded_with_its_key_that_moves_to_another_key_uses_the_new_one(coordinator):
    """The wrapped key loaded with the row belongs to the key the row had then: once the instance
    takes another key, reading and saving go by that one."""
    from privacy.crypto import data_key_create, with_data_keys

    first = dossier_create(actor=coordinator, title="eerste", details={"n": 1})
    second = dossier_create(actor=coordinator, title="tweede", details={"n": 2})
    loaded = with_data_keys(Dossier.objects.filter(pk=first.pk)).get()
    loaded.data_key = data_key_create()
    loaded.title = "verhuisd"
    loaded.save()
    assert loaded.title == "verhuisd"

    again = Dossier.objects.get(pk=first.pk)
    assert again.data_key_id == loaded.data_key_id != second.data_key_id
    assert again.title == "verhuisd" and again.details == {"n": 1}


@pytest.mark.django_db
def test_a_row_whose_key_is_gone_reads_as_destroyed(coordinator):
    dossier = dossier_create(actor=coordinator, title="oud", details={"a": 1})
    history_model = Dossier.history.model
    history_model.objects.filter(id=dossier.pk).update(data_key_id="00000000-0000-0000-0000-000000000000")

    old = Dossier.history.filter(id=dossier.pk).get()

    assert old.title == REDACTED
    assert old.details == REDACTED


@pytest.mark.django_db
def test_rotation_then_removing_the_old_key_keeps_everything_readable(coordinator, master_keys):
    old, new = f"k1:{new_key_text()}", f"k2:{new_key_text()}"
    master_keys(old)
    dossier = _write_canaries(coordinator)
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {"k1"}

    master_keys(new, old)
    from django.core.management import call_command

    call_command("rotate_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert set(DataKey.objects.values_list("master_key_id", flat=True)) == {"k2"}

    master_keys(new)  # the old key is removed
    verify_master_keys()
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert fresh.title == CANARY_EDIT
    assert fresh.notes.get().text == CANARY_NOTE
    assert encrypted_file_read(instance=fresh, name=fresh.attachment) == CANARY_FILE
    assert [h.title for h in fresh.history.order_by("history_id")] == [CANARY_TITLE, CANARY_EDIT]


@pytest.mark.django_db
def test_removing_a_key_still_in_use_is_refused_by_name(coordinator, master_keys):
    old, new = f"k1:{new_key_text()}", f"k2:{new_key_text()}"
    master_keys(old)
    dossier_create(actor=coordinator, title="x", details={})

    master_keys(new)

    with pytest.raises(MissingMasterKey, match="'k1'"):
        verify_master_keys()


@pytest.mark.django_db
def test_a_wrong_master_key_stops_start_up(coordinator, master_keys):
    master_keys(f"k1:{new_key_text()}")
    dossier = dossier_create(actor=coordinator, title="x", details={})

    master_keys(f"k1:{new_key_text()}")  # same id, other key

    with pytest.raises(WrongMasterKey, match="'k1'"):
        verify_master_keys()
    from privacy.apps import check_master_keys

    assert [m.id for m in check_master_keys() if m.level == checks.CRITICAL] == ["privacy.E001"]
    with pytest.raises(ImproperlyConfigured):
        _ = Dossier.objects.get(pk=dossier.pk).title  # never garbage


def test_a_key_id_the_data_keys_cannot_hold_is_refused_at_start_up():
    from privacy.keyring import _parse_master_keys, new_key_text

    with pytest.raises(ImproperlyConfigured, match="hooguit 50 tekens"):
        _parse_master_keys(f"{'k' * 51}:{new_key_text()}")
    # Ids in use elsewhere keep working, whatever their characters.
    for key_id in ("k" * 50, "prod.2025", "sleutel 1"):
        assert _parse_master_keys(f"{key_id}:{new_key_text()}")[0][0] == key_id


def test_a_malformed_key_stops_start_up_and_names_the_variable():
    import sys

    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WEERBAAR_", "DATABASE_", "CELERY_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={**env, "WEERBAAR_MASTER_KEYS": "k1:te-kort"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "WEERBAAR_MASTER_KEYS" in result.stderr


def test_keys_are_hidden_from_error_reports(settings):
    from django.views.debug import SafeExceptionReporterFilter

    safe = SafeExceptionReporterFilter().get_safe_settings()
    for name in ("WEERBAAR_MASTER_KEYS", "WEERBAAR_BLIND_INDEX_KEY", "WEERBAAR_PSEUDONYM_KEY", "WEERBAAR_AUDIT_KEY"):
        assert safe[name] == SafeExceptionReporterFilter.cleansed_substitute


@pytest.mark.django_db(transaction=True)
def test_keys_never_enter_the_database(coordinator):
    from privacy.keyring import encode_key, keyring

    dossier_create(actor=coordinator, title="x", details={})
    raw = _raw_database_bytes()
    assert b"coordinator.kanarie" in raw
    ring = keyring()
    for _, key in ring.master_keys:
        assert encode_key(key).encode() not in raw
        assert key not in raw


def test_the_key_ring_shows_key_ids_only(master_keys):
    """A traceback with local variables, or a debug page, shows objects by their repr."""
    from privacy.keyring import decode_key, keyring

    key_text = new_key_text()
    master_keys(f"k2:{key_text}", f"k1:{new_key_text()}")
    ring = keyring()
    shown = repr(ring) + str(ring)
    assert "k2" in shown and "k1" in shown
    for secret in (ring.master(ring.current_id), ring.blind_index_key, ring.pseudonym_key, ring.audit_key):
        assert repr(secret) not in shown and secret.hex() not in shown
    assert key_text not in shown and repr(decode_key("WEERBAAR_MASTER_KEYS", key_text)) not in shown


@pytest.mark.django_db
def test_a_data_key_in_use_shows_its_id_only(coordinator):
    """The key an instance keeps while it reads or writes holds no raw key, and its repr shows the
    key id only."""
    from privacy.crypto import data_key_bytes, instance_data_key

    dossier = dossier_create(actor=coordinator, title="x", details={})
    loaded = Dossier.objects.select_related("data_key").get(pk=dossier.pk)
    key = instance_data_key(loaded)
    raw = data_key_bytes(loaded.data_key)
    shown = repr(key) + str(key) + repr((key,)) + repr({"key": key})
    assert str(dossier.data_key_id) in shown
    assert repr(raw) not in shown and raw.hex() not in shown
    assert not any(isinstance(getattr(key, name), bytes) for name in key.__slots__)


@pytest.mark.django_db
def test_bulk_history_takes_rows_of_one_history_user(coordinator, make_user, organisation):
    from audit.history import history_create_bulk

    other = make_user(role=Role.COORDINATOR, organisation=organisation)
    dossier = dossier_create(actor=coordinator, title="dossier", details={})
    notes = [DossierNote(dossier=dossier, data_key_id=dossier.data_key_id, text=f"n{n}") for n in range(2)]
    notes[0]._history_user, notes[1]._history_user = coordinator, other
    DossierNote.objects.bulk_create(notes)
    with pytest.raises(ValueError, match="one history user"):
        history_create_bulk(notes)
    assert not DossierNote.history.exists()


@pytest.mark.django_db
def test_rotate_keys_says_what_to_do_next(coordinator, master_keys):
    from io import StringIO

    from django.core.management import call_command

    def run() -> str:
        out = StringIO()
        call_command("rotate_keys", stdout=out)
        return out.getvalue()

    old, new = f"k1:{new_key_text()}", f"k2:{new_key_text()}"
    master_keys(old)
    dossier_create(actor=coordinator, title="x", details={})
    assert "Er is één hoofdsleutel ingesteld ('k1')" in run()

    master_keys(new, old)
    assert run().startswith("1 datasleutels opnieuw versleuteld met hoofdsleutel 'k2'")
    assert "Alle datasleutels gebruiken al hoofdsleutel 'k2'" in run() and "'k1' eruit" in run()
