from __future__ import annotations

from django.db import transaction

from audit.services import audit_event_record
from privacy.blind_index import blind_index
from privacy.files import encrypted_file_save
from privacy.records import record_create
from privacy.services import retention_start
from tests.example.models import Dossier, DossierNote


def dossier_create(*, actor, title: str, details: dict, kvk: str = "", attachment: bytes = b"") -> Dossier:
    with transaction.atomic(durable=True):
        dossier = Dossier(organisation_id=actor.organisation_id, title=title, details=details)
        dossier.kvk_index = blind_index("kvk", kvk) if kvk else ""
        record_create(dossier, actor=actor, action="dossier.created")
        if attachment:
            dossier.attachment = encrypted_file_save(instance=dossier, content=attachment)
            dossier.save_without_historical_record(update_fields=["attachment"])
    return dossier


def dossier_add_note(*, actor, dossier: Dossier, text: str) -> DossierNote:
    with transaction.atomic(durable=True):
        note = DossierNote(dossier=dossier, data_key_id=dossier.data_key_id, text=text)
        note._history_user = actor
        note.save()
        audit_event_record(
            actor=actor,
            action="dossier.note_added",
            organisation_id=dossier.organisation_id,
            record=dossier,
            data={"note_id": note.pk},
        )
    return note


def dossier_update_title(*, actor, dossier: Dossier, title: str) -> Dossier:
    with transaction.atomic(durable=True):
        dossier.title = title
        dossier._history_user = actor
        dossier.save()
        audit_event_record(
            actor=actor, action="dossier.updated", organisation_id=dossier.organisation_id, record=dossier
        )
    return dossier


def dossier_close(*, actor, dossier: Dossier) -> Dossier:
    with transaction.atomic(durable=True):
        retention_start(record=dossier)
        dossier._history_user = actor
        dossier.save()
        audit_event_record(
            actor=actor, action="dossier.closed", organisation_id=dossier.organisation_id, record=dossier
        )
    return dossier
