"""Audit data: events written by services (hash-chained per organisation) and the access log.

Both hold ids, action names and roles, never personal data or content, so they outlive the
records they describe. They are append-only: no view, form or admin page changes them, and on
PostgreSQL triggers refuse UPDATE and DELETE (migration 0002).
"""

from __future__ import annotations

from django.db import models

from accounts.scoping import OrganisationScopedQuerySet


class AuditChainHead(models.Model):
    """The newest link of one chain; locked while an event is appended, so events of one chain
    get consecutive numbers even when two services write at once."""

    chain = models.CharField(max_length=40, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"{self.chain} #{self.last_seq}"


class AuditEventQuerySet(OrganisationScopedQuerySet):
    pass


class AuditEvent(models.Model):
    chain = models.CharField(max_length=40)
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    # No index of its own: the (organisation, at) index below serves every lookup by organisation.
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=80)
    record_type = models.CharField(max_length=60, blank=True)
    record_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = "auditgebeurtenis"
        verbose_name_plural = "auditgebeurtenissen"
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq")]
        indexes = [
            models.Index(fields=["organisation", "at"]),
            models.Index(fields=["record_type", "record_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} {self.action}"


class AccessLogQuerySet(OrganisationScopedQuerySet):
    pass


class AccessLog(models.Model):
    """Who opened which sensitive record, when, from which page."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user_id = models.BigIntegerField()
    user_role = models.CharField(max_length=30, blank=True)
    record_type = models.CharField(max_length=60)
    record_id = models.CharField(max_length=64, blank=True)
    page = models.CharField(max_length=100, help_text="De naam van de pagina, niet de URL.")

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        verbose_name = "inzage"
        verbose_name_plural = "inzagelog"
        indexes = [models.Index(fields=["record_type", "record_id"]), models.Index(fields=["organisation", "at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.record_type} {self.record_id}"
