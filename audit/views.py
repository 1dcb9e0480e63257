"""The privacy officer's audit viewer: audit events, their CSV export and the access log.

Every page (and every export) is itself noted in the access log: who looked at the audit trail is
part of the audit trail.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from itertools import islice

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.decorators import require_action
from accounts.models import User
from accounts.roles import Action, Role
from audit import selectors
from audit.forms import AMSTERDAM, AccessLogFilterForm, AuditEventFilterForm
from audit.labels import action_label
from audit.models import AccessLog, AuditEvent
from audit.services import access_log_record

PAGE_SIZE = 50
EXPORT_BATCH_SIZE = 2000
SYSTEM_ACTOR = "Systeem (automatische taak)"
ROLE_LABELS = {**dict(Role.choices), "platform": "Platformbeheer"}
# A spreadsheet treats a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --- reads the viewer needs (kept here: small, and only this viewer uses them) ---------------------


def _organisation_people(actor) -> list[User]:
    """The organisation's accounts for the person filter, active or not (old events have them too)."""
    people = User.objects.for_user(actor).only("pk", "first_name", "last_name", "username")
    return list(people.order_by("last_name", "first_name", "username"))


def _distinct_values(queryset, field: str) -> list[str]:
    return list(queryset.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct())


def _people_names(ids: Iterable[int | None]) -> dict[int, str]:
    """actor id -> display name for one page or batch, in one query. The events are the
    organisation's own, so whoever acted on them may be named to its privacy officer."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    people = User.objects.filter(pk__in=wanted).only("pk", "first_name", "last_name", "username")
    return {person.pk: person.display_name for person in people}


def _person_label(person_id: int | None, names: dict[int, str]) -> str:
    if person_id is None:
        return SYSTEM_ACTOR
    return names.get(person_id, f"Onbekend account {person_id}")


def _role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role) if role else "—"


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- pages ---------------------------------------------------------------------------------------


def _event_filter_form(request) -> AuditEventFilterForm:
    own_events = AuditEvent.objects.for_user(request.user)
    return AuditEventFilterForm(
        request.GET,
        people=_organisation_people(request.user),
        actions=_distinct_values(own_events, "action"),
        record_types=_distinct_values(own_events, "record_type"),
    )


@require_action(Action.VIEW_AUDIT_TRAIL)
def audit_event_list(request):
    access_log_record(user=request.user, record_type="audit_trail", record_id="", page="audit_event_list")
    form = _event_filter_form(request)
    page = rows = None
    if form.is_valid():
        page = _page(request, selectors.audit_event_list(actor=request.user, **form.selector_filters()))
        events = list(page.object_list)
        names = _people_names(event.actor_id for event in events)
        rows = [
            {
                "event": event,
                "person": _person_label(event.actor_id, names),
                "role": _role_label(event.actor_role),
                "action": action_label(event.action),
            }
            for event in events
        ]
    return render(request, "audit/event_list.html", {"form": form, "page": page, "rows": rows})


@require_action(Action.VIEW_AUDIT_TRAIL)
def audit_event_export(request):
    form = _event_filter_form(request)
    if not form.is_valid():
        # The list page shows what is wrong with the filters.
        return redirect(reverse("audit:event_list") + "?" + request.GET.urlencode())
    access_log_record(user=request.user, record_type="audit_trail", record_id="", page="audit_event_export")
    events = selectors.audit_event_list(actor=request.user, **form.selector_filters())
    today = timezone.localdate(timezone=AMSTERDAM).isoformat()
    response = StreamingHttpResponse(_csv_lines(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audittrail-{today}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@require_action(Action.VIEW_AUDIT_TRAIL)
def access_log_list(request):
    access_log_record(user=request.user, record_type="audit_trail", record_id="", page="access_log_list")
    form = AccessLogFilterForm(
        request.GET,
        people=_organisation_people(request.user),
        record_types=_distinct_values(AccessLog.objects.for_user(request.user), "record_type"),
    )
    page = rows = None
    if form.is_valid():
        page = _page(request, selectors.access_log_list(actor=request.user, **form.selector_filters()))
        entries = list(page.object_list)
        names = _people_names(entry.user_id for entry in entries)
        rows = [
            {"entry": entry, "person": _person_label(entry.user_id, names), "role": _role_label(entry.user_role)}
            for entry in entries
        ]
    return render(request, "audit/access_log.html", {"form": form, "page": page, "rows": rows})


# --- CSV export ----------------------------------------------------------------------------------

CSV_HEADER = [
    "Tijdstip",
    "Persoon",
    "Persoon-id",
    "Rol",
    "Actie",
    "Soort gegevens",
    "Record-id",
    "Keten",
    "Volgnummer",
    "Gegevens",
    "Omschrijving",
]


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_lines(events) -> Iterator[str]:
    """The export line by line: events are read in batches and each batch's people are named in
    one query, so memory stays flat however many events there are."""
    writer = csv.writer(_Echo(), delimiter=";")
    # The byte order mark makes Excel read the file as UTF-8; ';' is Dutch Excel's list separator.
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    iterator = events.iterator(chunk_size=EXPORT_BATCH_SIZE)
    while batch := list(islice(iterator, EXPORT_BATCH_SIZE)):
        names = _people_names(event.actor_id for event in batch)
        for event in batch:
            row = [
                timezone.localtime(event.at, AMSTERDAM).isoformat(timespec="seconds"),
                _person_label(event.actor_id, names),
                "" if event.actor_id is None else event.actor_id,
                _role_label(event.actor_role),
                event.action,
                event.record_type,
                event.record_id,
                event.chain,
                event.seq,
                json.dumps(event.data, sort_keys=True, ensure_ascii=False) if event.data else "",
                action_label(event.action),
            ]
            yield writer.writerow([csv_safe(cell) for cell in row])
