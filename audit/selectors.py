from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.roles import Action, user_can
from audit.chain import FIELDS, ChainReport, verify_rows
from audit.models import AccessLog, AuditChainHead, AuditEvent


def audit_event_list(
    *,
    actor,
    person_id: int | None = None,
    record_type: str = "",
    record_id: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    if not user_can(actor, Action.VIEW_AUDIT_TRAIL):
        raise PermissionDenied
    events = AuditEvent.objects.for_user(actor)
    if person_id:
        events = events.filter(actor_id=person_id)
    if record_type:
        events = events.filter(record_type=record_type)
    if record_id:
        events = events.filter(record_id=record_id)
    if action:
        events = events.filter(action=action)
    if since:
        events = events.filter(at__gte=since)
    if until:
        events = events.filter(at__lt=until)
    return events.order_by("-at", "-seq")


def access_log_list(
    *, actor, person_id: int | None = None, record_type: str = "", record_id: str = "", since=None, until=None
) -> QuerySet[AccessLog]:
    if not user_can(actor, Action.VIEW_AUDIT_TRAIL):
        raise PermissionDenied
    entries = AccessLog.objects.for_user(actor)
    if person_id:
        entries = entries.filter(user_id=person_id)
    if record_type:
        entries = entries.filter(record_type=record_type)
    if record_id:
        entries = entries.filter(record_id=record_id)
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lt=until)
    return entries.order_by("-at")


def audit_chain_verify(*, chain: str | None = None) -> ChainReport:
    """Walks every chain (or one) in order; memory stays flat however many events there are."""
    events = AuditEvent.objects.order_by("chain", "seq")
    heads = AuditChainHead.objects.all()
    if chain:
        events = events.filter(chain=chain)
        heads = heads.filter(chain=chain)
    head_map = {h.chain: (h.last_seq, h.last_hash) for h in heads}
    return verify_rows(events.values_list(*FIELDS).iterator(chunk_size=5000), head_map)
