"""Writing audit data. Called by every service inside its own transaction."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import chain_for, event_hash
from audit.models import AccessLog, AuditChainHead, AuditEvent
from privacy.keyring import keyring


def _record_ref(record) -> tuple[str, str]:
    if record is None:
        return "", ""
    return record._meta.label_lower, str(record.pk)


def audit_event_record(
    *,
    actor,
    action: str,
    organisation_id: int | None,
    record=None,
    record_type: str = "",
    record_id: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Appends an event to the organisation's chain, in the caller's transaction.

    `data` holds ids, codes and counts only; never names, free text or other personal data."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_event_record must run inside the service's transaction")
    if record is not None:
        record_type, record_id = _record_ref(record)
    data = data or {}
    chain = chain_for(organisation_id)
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=chain)
    seq = head.last_seq + 1
    at = timezone.now()
    actor_id = getattr(actor, "pk", None)
    actor_role = getattr(actor, "role", "") or ("platform" if getattr(actor, "is_superuser", False) else "")
    digest = event_hash(
        key=keyring().audit_key,
        chain=chain,
        seq=seq,
        at=at,
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        record_type=record_type,
        record_id=record_id,
        data=data,
        prev_hash=head.last_hash,
    )
    event = AuditEvent.objects.create(
        chain=chain,
        seq=seq,
        at=at,
        organisation_id=organisation_id,
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        record_type=record_type,
        record_id=record_id,
        data=data,
        prev_hash=head.last_hash,
        hash=digest,
    )
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=seq, last_hash=digest)
    return event


def access_log_record(*, user, record_type: str, record_id: str = "", page: str) -> None:
    """Notes that `user` opened a sensitive record (or list) on `page` (a view name, not a URL)."""
    with transaction.atomic():
        AccessLog.objects.create(
            organisation_id=user.organisation_id,
            user_id=user.pk,
            user_role=user.role or ("platform" if user.is_superuser else ""),
            record_type=record_type,
            record_id=str(record_id),
            page=page,
        )
