"""What a database dump or a backup of the meldpunt shows: no plaintext of a signal."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from accounts.roles import Role
from signals.models import ClosureReason
from signals.services import SubjectData, signal_close
from tests.factories import make_signal
from tests.privacy.test_encryption import _raw_database_bytes

CANARIES = {
    "description": "KANARIE-melding-4e1d",
    "location": "KANARIE-plaats-77aa",
    "person": "Kanarie Persoonsnaam Qzx",
    "remarks": "KANARIE-toelichting-b0b0",
    "company": "Kanarie Handelsonderneming Qzx",
    "filename": "kanarie-bestand-5151.pdf",
    "file": "KANARIE-bestandsinhoud-9e9e",
    "closure_note": "KANARIE-afsluitnotitie-3c3c",
}


@pytest.mark.django_db(transaction=True)
def test_no_plaintext_of_a_signal_in_the_raw_database_or_files(make_user, organisation):
    employee = make_user(role=Role.EMPLOYEE, organisation=organisation, username="melder.kanarie")
    pdf = b"%PDF-1.4\n" + CANARIES["file"].encode() + b"\n%%EOF\n"
    signal = make_signal(
        employee,
        description=CANARIES["description"],
        location=CANARIES["location"],
        address="9999 ZZ 99",
        subjects=[
            SubjectData(kind="person", name=CANARIES["person"], remarks=CANARIES["remarks"]),
            SubjectData(kind="company", name=CANARIES["company"]),
            SubjectData(kind="vehicle", kenteken="ZZ999Z"),
        ],
        files=[(CANARIES["filename"], pdf)],
    )

    coordinator = make_user(role=Role.COORDINATOR, organisation=organisation)
    signal_close(actor=coordinator, signal_id=signal.pk, reason=ClosureReason.OTHER, note=CANARIES["closure_note"])

    raw = _raw_database_bytes()

    assert b"melder.kanarie" in raw  # the scan sees what is not encrypted on purpose
    lowered = raw.lower()
    for canary in CANARIES.values():
        assert canary.lower().encode() not in lowered, canary
    for identifier in ("9999 ZZ 99", "9999ZZ", "ZZ999Z"):
        assert identifier.encode() not in raw, identifier
    for path in Path(default_storage.location).rglob("*"):
        if path.is_file():
            assert CANARIES["file"].encode() not in path.read_bytes()
