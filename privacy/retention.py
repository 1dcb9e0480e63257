"""Record types under retention, their default terms, and which model holds each.

No category of the Selectielijst gemeenten 2020 names these records exactly; each organisation's
archivist maps them, so every default below can be changed per organisation (RetentionPolicy).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class RecordType:
    key: str
    label: str
    term_months: int
    starts_at: str
    category: str


DEFAULT_RECORD_TYPES = [
    RecordType(
        "signal_without_case",
        "Signaal dat niet tot een casus leidde",
        6,
        "afsluiting van het signaal",
        "AVG opslagbeperking: zo kort als nodig",
    ),
    RecordType(
        "case", "Casus bestuurlijke aanpak", 60, "afsluiting van de casus", "Bibob-onderzoek / handhaving: 5 jaar"
    ),
    RecordType("bibob", "Bibob-onderzoek", 60, "afronding van het onderzoek", "Bibob-onderzoek: 5 jaar"),
    RecordType(
        "integrity_investigation",
        "Integriteitsonderzoek",
        120,
        "afronding van het onderzoek",
        "Integriteitsonderzoek: 10 jaar",
    ),
    RecordType(
        "aggression_incident",
        "Incident agressie en geweld",
        60,
        "afsluiting van de opvolging",
        "Aangifte-gerelateerd: 5 jaar",
    ),
    RecordType(
        "internal_meeting",
        "Intern signaaloverleg",
        12,
        "datum van het overleg",
        "Intern overleg zonder beleidsbeslissingen: 1 jaar",
    ),
    RecordType(
        "riec_table",
        "RIEC-ondermijningstafel",
        12,
        "datum van het overleg",
        "Overleg georganiseerd door derden: 1 jaar",
    ),
    RecordType(
        "official_meeting_third_parties",
        "Officieel overleg met derden",
        60,
        "datum van het overleg",
        "Officieel overleg met derden: 5 jaar",
    ),
]
RECORD_TYPES: dict[str, RecordType] = {rt.key: rt for rt in DEFAULT_RECORD_TYPES}

# record type -> the model that holds it; modules register theirs in AppConfig.ready().
_MODELS: dict[str, type[models.Model]] = {}


def register_record_type(record_type: RecordType) -> None:
    RECORD_TYPES.setdefault(record_type.key, record_type)


def register_model(model: type[models.Model]) -> None:
    """Names `model` as the holder of its record type. One model per type: the retention pages
    and purge_expired find a record by its type and id."""
    key = model.RETENTION_RECORD_TYPE
    if key not in RECORD_TYPES:
        raise ValueError(f"unknown retention record type {key!r}")
    holder = _MODELS.get(key)
    if holder is not None and holder is not model:
        raise ValueError(f"retention record type {key!r} is held by {holder.__name__} already, not {model.__name__}")
    _MODELS[key] = model


def retained_models() -> dict[str, type[models.Model]]:
    return dict(_MODELS)
