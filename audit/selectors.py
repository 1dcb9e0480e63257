from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.roles import Action, user_can
from audit.chain import FIELDS, ChainReport, verify_rows
from audit.models import AccessLog, AuditChainHead, AuditEvent


def _filtered(queryset: QuerySet, *, person_field: str, **filters) -> QuerySet:
    """The filters both lists share; empty values mean "any"."""
    lookups = {
        person_field: filters.get("person_id"),
        "record_type": filters.get("record_type"),
        "record_id": filters.get("record_id"),
        "action": filters.get("action"),
        "at__gte": filters.get("since"),
        "at__lt": filters.get("until"),
    }
    return queryset.filter(**{lookup: value for lookup, value in lookups.items() if value})


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
    events = _filtered(
        AuditEvent.objects.for_user(actor),
        person_field="actor_id",
        person_id=person_id,
        record_type=record_type,
        record_id=record_id,
        action=action,
        since=since,
        until=until,
    )
    return events.order_by("-at", "-seq")


def access_log_list(
    *, actor, person_id: int | None = None, record_type: str = "", record_id: str = "", since=None, until=None
) -> QuerySet[AccessLog]:
    if not user_can(actor, Action.VIEW_AUDIT_TRAIL):
        raise PermissionDenied
    entries = _filtered(
        AccessLog.objects.for_user(actor),
        person_field="user_id",
        person_id=person_id,
        record_type=record_type,
        record_id=record_id,
        since=since,
        until=until,
    )
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


def audit_chain_anchor() -> dict[str, list]:
    """The newest link of every chain, {chain: [seq, hash]}: kept outside the database (the nightly
    log line, a file), it proves later that no events were taken off the end of a chain."""
    return {head.chain: [head.last_seq, head.last_hash] for head in AuditChainHead.objects.order_by("chain")}


def audit_chain_check_anchor(anchor: dict[str, list]) -> list[str]:
    """What no longer matches an earlier anchor: a chain that is shorter now, or whose event at the
    anchored number has another hash. Empty when everything still matches."""
    problems = []
    for chain, (seq, digest) in sorted(anchor.items()):
        event = AuditEvent.objects.filter(chain=chain, seq=seq).values_list("hash", flat=True).first()
        if event is None:
            problems.append(f"keten {chain}: event {seq} uit het anker bestaat niet meer")
        elif event != digest:
            problems.append(f"keten {chain}: event {seq} heeft een andere hash dan in het anker")
    return problems
