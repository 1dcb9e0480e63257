"""An example aggregate, only in tests: a root with encrypted text, JSON and a file, a child that
shares its key, a blind index, history and retention, written through services like a module."""

from django.db import models

from accounts.scoping import OrganisationScopedQuerySet
from audit.history import WeerbaarHistoricalRecords
from privacy.fields import EncryptedJSONField, EncryptedModel, EncryptedTextField
from privacy.models import RetainedRecord, retention_expiry_index


class Dossier(EncryptedModel, RetainedRecord):
    RETENTION_RECORD_TYPE = "example_dossier"

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    title = EncryptedTextField()
    details = EncryptedJSONField(default=dict)
    kvk_index = models.CharField(max_length=64, blank=True, db_index=True)
    attachment = models.CharField(max_length=200, blank=True)
    history = WeerbaarHistoricalRecords()

    objects = OrganisationScopedQuerySet.as_manager()

    class Meta:
        indexes = [retention_expiry_index()]

    def __str__(self) -> str:
        return f"dossier {self.pk}"


class DossierNote(EncryptedModel):
    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="notes")
    text = EncryptedTextField()
    history = WeerbaarHistoricalRecords()

    def __str__(self) -> str:
        return f"notitie {self.pk}"
