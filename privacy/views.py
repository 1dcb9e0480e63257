"""Retention pages: the privacy officer's overview (what is due, postponing it, what was destroyed)
and the administrator's policy settings. Writes go through privacy.services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.decorators import require_action
from accounts.roles import Action, user_can
from accounts.scoping import get_for_user_or_404
from audit.services import access_log_record
from privacy.forms import RetentionPolicyForm, RetentionPostponeForm
from privacy.models import RetentionPolicy, Tombstone
from privacy.retention import RECORD_TYPES, retained_models
from privacy.services import retention_policy_for, retention_policy_update, retention_postpone

DUE_WITHIN = timedelta(days=60)  # at least; a policy that reminds earlier widens it for its type
DUE_PAGE_SIZE = 50
TOMBSTONES_SHOWN = 50


@dataclass
class DueRecord:
    record_type: str
    pk: int
    expires_at: datetime
    overdue: bool

    @property
    def label(self) -> str:
        return record_type_label(self.record_type)

    @property
    def form_id(self) -> str:
        return f"uitstel-{self.record_type}-{self.pk}"


def record_type_label(key: str) -> str:
    record_type = RECORD_TYPES.get(key)
    return record_type.label if record_type else key


# --- reads (kept here: only these pages use them) -----------------------------------------------


def _organisation_policies(user) -> list[RetentionPolicy]:
    """One policy per known record type, so every type shows, created from the defaults if new."""
    return [retention_policy_for(organisation_id=user.organisation_id, record_type=key) for key in RECORD_TYPES]


def _records_due(user, *, now: datetime, policies: list[RetentionPolicy]) -> list[DueRecord]:
    """Records of the organisation whose destruction is within DUE_WITHIN, or within their
    policy's reminder days when those are more (what the reminder mail counted is on the page it
    links to), or overdue; soonest first. Reads ids and dates only, so no record is decrypted."""
    reminder_days = {policy.record_type: policy.reminder_days for policy in policies}
    due = []
    for record_type, model in retained_models().items():
        within = max(DUE_WITHIN, timedelta(days=reminder_days.get(record_type, 0)))
        rows = (
            model._base_manager.filter(
                organisation_id=user.organisation_id,
                retention_expires_at__isnull=False,
                retention_expires_at__lte=now + within,
            )
            .order_by("retention_expires_at", "pk")
            .values_list("pk", "retention_expires_at")
        )
        due.extend(DueRecord(record_type, pk, expires_at, expires_at <= now) for pk, expires_at in rows)
    return sorted(due, key=lambda r: (r.expires_at, r.record_type, r.pk))


def _retained_record_get(user, *, record_type: str, pk: int):
    """The record behind a postpone URL, only within the user's organisation; else 404."""
    model = retained_models().get(record_type)
    if model is None:
        raise Http404
    record = model._base_manager.filter(organisation_id=user.organisation_id, pk=pk).first()
    if record is None:
        raise Http404
    return record


def _add_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


# --- the privacy officer -------------------------------------------------------------------------


@require_action(Action.VIEW_AUDIT_TRAIL)
def retention_overview(request):
    user = request.user
    access_log_record(user=user, record_type="retention", record_id="", page="retention_overview")
    now = timezone.now()
    policies = _organisation_policies(user)
    page = Paginator(_records_due(user, now=now, policies=policies), DUE_PAGE_SIZE).get_page(request.GET.get("page"))
    can_postpone = user_can(user, Action.POSTPONE_RETENTION)
    if can_postpone:
        for record in page.object_list:
            record.form = RetentionPostponeForm(auto_id=f"{record.form_id}-%s")
    tombstones = Tombstone.objects.for_user(user).order_by("-purged_at", "-pk")[:TOMBSTONES_SHOWN]
    return render(
        request,
        "privacy/retention_overview.html",
        {
            "policies": [(policy, record_type_label(policy.record_type)) for policy in policies],
            "due": page.object_list,
            "page": page,
            "due_within_days": max([DUE_WITHIN.days, *(policy.reminder_days for policy in policies)]),
            "can_postpone": can_postpone,
            "tombstones": [(tombstone, record_type_label(tombstone.record_type)) for tombstone in tombstones],
            "tombstones_shown": TOMBSTONES_SHOWN,
        },
    )


@require_action(Action.POSTPONE_RETENTION)
def retention_postpone_view(request, record_type: str, pk: int):
    record = _retained_record_get(request.user, record_type=record_type, pk=pk)
    access_log_record(user=request.user, record_type=record_type, record_id=str(record.pk), page="retention_postpone")
    form = RetentionPostponeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            retention_postpone(
                actor=request.user,
                record=record,
                until=form.until_datetime(),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"De vernietiging van {record_type_label(record_type).lower()} {record.pk} is uitgesteld "
                f"tot en met {form.cleaned_data['until']:%d-%m-%Y}.",
            )
            return redirect("audit:retention")
    return render(
        request,
        "privacy/retention_postpone.html",
        {"form": form, "record": record, "record_type": record_type, "label": record_type_label(record_type)},
    )


# --- the administrator ---------------------------------------------------------------------------


@require_action(Action.MANAGE_RETENTION_POLICY)
def policy_list(request):
    policies = _organisation_policies(request.user)
    return render(
        request,
        "privacy/policy_list.html",
        {"policies": [(policy, record_type_label(policy.record_type)) for policy in policies]},
    )


@require_action(Action.MANAGE_RETENTION_POLICY)
def policy_edit(request, pk: int):
    policy = get_for_user_or_404(RetentionPolicy.objects.all(), request.user, pk=pk)
    initial = {
        "term_months": policy.term_months,
        "starts_at": policy.starts_at,
        "selectielijst_category": policy.selectielijst_category,
        "reminder_days": policy.reminder_days,
    }
    form = RetentionPolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            retention_policy_update(actor=request.user, policy=policy, **form.cleaned_data)
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"De bewaartermijn voor {record_type_label(policy.record_type).lower()} is opgeslagen. "
                "Hij geldt voor termijnen die vanaf nu starten.",
            )
            return redirect("privacy:policy_list")
    return render(
        request,
        "privacy/policy_edit.html",
        {"form": form, "policy": policy, "label": record_type_label(policy.record_type)},
    )
