from __future__ import annotations

import uuid

from django.db import models

from accounts.scoping import OrganisationScopedQuerySet
from privacy.fields import EncryptedTextField
from privacy.keyring import MASTER_KEY_ID_MAX


class DataKey(models.Model):
    """One aggregate's own key (a signal, a case, an incident), stored wrapped by a master key.

    Every encrypted value of the aggregate, its children and its history rows is encrypted with
    it; deleting this row makes all of them unreadable at once (crypto-shredding)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    master_key_id = models.CharField(max_length=MASTER_KEY_ID_MAX)
    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "datasleutel"
        verbose_name_plural = "datasleutels"

    def __str__(self) -> str:
        return f"datasleutel {self.pk}"

    def __getstate__(self):
        # A freshly created key keeps its raw bytes in memory (privacy.crypto.data_key_create);
        # they are never pickled or copied along.
        state = super().__getstate__()
        state.pop("_weerbaar_raw_key", None)
        return state


class MasterKeyCheck(models.Model):
    """A known value encrypted under each master key, so a wrong key is noticed at start-up."""

    key_id = models.CharField(max_length=50, unique=True)
    check_value = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key_id


class RetentionPolicyQuerySet(OrganisationScopedQuerySet):
    pass


class RetentionPolicy(models.Model):
    """How long one type of record is kept in one organisation, as its archivist mapped it."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField("soort gegevens", max_length=60)
    term_months = models.PositiveIntegerField("bewaartermijn (maanden)")
    starts_at = models.CharField("termijn loopt vanaf", max_length=200)
    selectielijst_category = models.CharField("categorie selectielijst", max_length=300, blank=True)
    reminder_days = models.PositiveIntegerField("herinnering (dagen vooraf)", default=30)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RetentionPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = "bewaartermijn"
        verbose_name_plural = "bewaartermijnen"
        ordering = ["record_type"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "record_type"], name="retention_policy_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.record_type}: {self.term_months} maanden"


def retention_expiry_index() -> models.Index:
    """The index purging and reminding look records up by: a RetainedRecord model lists it in its
    Meta.indexes. Partial: a record whose clock has not started has no expiry date and is never
    looked up by it, so creating and changing open records writes no entry here."""
    return models.Index(
        fields=["retention_expires_at"],
        name="%(app_label)s_%(class)s_expiry",
        condition=models.Q(retention_expires_at__isnull=False),
    )


class RetainedRecord(models.Model):
    """Mixin for an aggregate whose retention clock runs. The expiry date is computed once, when
    the clock starts, so "expired" is a comparison."""

    retention_started_at = models.DateTimeField("bewaartermijn gestart", null=True, blank=True)
    retention_expires_at = models.DateTimeField("vernietigen na", null=True, blank=True)  # retention_expiry_index
    retention_reminded_at = models.DateTimeField(null=True, blank=True)
    # The policy as it was when the clock started, for the tombstone: a policy changed later does
    # not change what was applied.
    retention_term_months = models.PositiveIntegerField("bewaartermijn (maanden)", null=True, blank=True)
    retention_category = models.CharField("categorie selectielijst", max_length=300, blank=True, default="")

    #: The key of this record type in privacy.retention.RECORD_TYPES.
    RETENTION_RECORD_TYPE = ""

    class Meta:
        abstract = True


class RetentionPostponement(models.Model):
    """A reasoned postponement of destruction; the reason is encrypted with the record's key and
    goes with the record when it is destroyed."""

    data_key = models.ForeignKey(DataKey, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    record_type = models.CharField(max_length=60)
    record_id = models.CharField(max_length=64)
    previous_expiry = models.DateTimeField()
    new_expiry = models.DateTimeField()
    reason = EncryptedTextField("reden")
    postponed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    postponed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"uitstel {self.record_type} {self.record_id}"


class TombstoneQuerySet(OrganisationScopedQuerySet):
    pass


class Tombstone(models.Model):
    """What remains after destruction: that a record existed, and nothing of its content."""

    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="+")
    record_type = models.CharField(max_length=60)
    record_id = models.CharField(max_length=64)
    record_created_at = models.DateTimeField(null=True)
    retention_started_at = models.DateTimeField(null=True)
    retention_expired_at = models.DateTimeField(null=True)
    term_months = models.PositiveIntegerField(null=True)
    selectielijst_category = models.CharField(max_length=300, blank=True)
    purged_at = models.DateTimeField(auto_now_add=True)
    purged_by = models.CharField(max_length=100, help_text="De taak, het commando of het account dat vernietigde.")

    objects = TombstoneQuerySet.as_manager()

    class Meta:
        verbose_name = "vernietigingsrecord"
        verbose_name_plural = "vernietigingsrecords"
        constraints = [models.UniqueConstraint(fields=["record_type", "record_id"], name="one_tombstone_per_record")]

    def __str__(self) -> str:
        return f"{self.record_type} {self.record_id}"
