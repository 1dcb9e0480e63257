"""Organisation isolation: every object URL and API endpoint of organisation B is a 404 for A.

The test walks the URL configuration, so a new object URL without an entry here fails it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ApiToken
from accounts.roles import Action, Role, user_can
from audit.models import AccessLog, AuditEvent
from privacy.models import RetentionPolicy, RetentionPostponement
from privacy.services import retention_policy_for
from signals.models import ReporterIdentityRequest, Signal, SignalMessage, SignalStatus
from tests.conftest import verified_client
from tests.example.models import Dossier
from tests.example.services import dossier_close, dossier_create
from tests.factories import PDF_BYTES, make_signal

# Every URL with an object id: how to make an object of the *other* organisation for it, and
# the method to call it with.
OBJECT_URLS = {
    "beheer:user_detail": ("GET", "user", Action.MANAGE_USERS),
    "beheer:user_edit": ("POST", "user", Action.MANAGE_USERS),
    "beheer:user_reset_two_factor": ("POST", "user", Action.MANAGE_USERS),
    "beheer:user_unlock": ("POST", "user", Action.MANAGE_USERS),
    "beheer:user_activation_resend": ("POST", "user", Action.MANAGE_USERS),
    "beheer:user_set_active": ("POST", "user", Action.MANAGE_USERS),
    "accounts:api_token_revoke": ("POST", "token", Action.USE_API),
    "api:user-detail": ("GET", "user", Action.MANAGE_USERS),
    "example:dossier_detail": ("GET", "dossier", Action.HANDLE_SIGNALS),
    "privacy:policy_edit": ("POST", "retention_policy", Action.MANAGE_RETENTION_POLICY),
    "audit:retention_postpone": ("POST", "dossier_retention", Action.POSTPONE_RETENTION),
    "signals:detail": ("GET", "signal", Action.HANDLE_SIGNALS),
    "signals:start_triage": ("POST", "signal", Action.HANDLE_SIGNALS),
    "signals:close": ("POST", "signal", Action.HANDLE_SIGNALS),
    "signals:reopen": ("POST", "signal", Action.HANDLE_SIGNALS),
    "signals:assign": ("POST", "signal_assign", Action.HANDLE_SIGNALS),
    "signals:submitted": ("GET", "signal", Action.SUBMIT_SIGNAL),
    "signals:mine_detail": ("POST", "own_signal", Action.SUBMIT_SIGNAL),
    "signals:attachment": ("GET", "signal_attachment", Action.HANDLE_SIGNALS),
    "signals:phenomenon_toggle": ("POST", "phenomenon", Action.HANDLE_SIGNALS),
    "signals:confidential_messages": ("POST", "signal_question", Action.HANDLE_SIGNALS),
    "signals:confidential_reporter": ("POST", "signal_identity", Action.HANDLE_SIGNALS),
}
# What each kind's POST sends: a valid change, so only the scoping can stop it.
POST_DATA = {
    "user": {"active": "0"},
    "token": {},
    "retention_policy": {"term_months": "1", "starts_at": "x", "selectielijst_category": "", "reminder_days": "1"},
    # Within the 10 years a postponement may reach.
    "dossier_retention": {
        "until": (datetime.now(UTC).date() + timedelta(days=730)).isoformat(),
        "reason": "Er loopt een bezwaarprocedure.",
    },
    "phenomenon": {"actief": "0"},
    "signal": {"reden": "duplicate"},
    "signal_question": {"text": "Welke kleur had het busje?"},
    "own_signal": {"text": "Het busje was wit."},
    # Nobody: the stranger's signal has its own coordinator as handler.
    "signal_assign": {"behandelaar": ""},
    "signal_identity": {"reason": "Wij willen de melder bellen over het kenteken."},
}
# URLs with parameters that are not object ids.
# The public form of confidential reporting takes an organisation id: it is open to everyone, by design.
NOT_OBJECT_URLS = {"accounts:activate", "api:schema", "signals:confidential_submit"}


def _confidential_signal_with_contact(organisation):
    """A signal reported without an account, whose reporter left contact details."""
    import uuid

    from signals.confidential_services import ContactData, confidential_signal_submit
    from signals.services import SignalData

    organisation.confidential_reporting_enabled = True
    organisation.save(update_fields=["confidential_reporting_enabled"])
    signal, _ = confidential_signal_submit(
        organisation_id=organisation.pk,
        submission_key=uuid.uuid4(),
        data=SignalData(description="Winkel zonder klanten"),
        contact=ContactData(name="Jan Melder"),
        same_browser=True,
    )
    return signal


def _named_patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            yield from _named_patterns(pattern, prefix + str(pattern.pattern), f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", prefix + str(pattern.pattern)


def _project_urls_with_parameters():
    found = {}
    for name, route in _named_patterns(get_resolver()):
        if route.startswith("admin/"):
            continue  # the Django admin is for platform superusers, who belong to no organisation
        if "<" in route or "(?P<" in route:
            found[name] = route
    return found


def test_every_object_url_is_covered():
    with_parameters = set(_project_urls_with_parameters())
    assert with_parameters - NOT_OBJECT_URLS - set(OBJECT_URLS) == set(), "add new object URLs to OBJECT_URLS"


@pytest.mark.parametrize("url_name", sorted(OBJECT_URLS))
@pytest.mark.parametrize("role", [Role.ADMIN, Role.EMPLOYEE, Role.COORDINATOR, Role.PRIVACY_OFFICER])
def test_object_of_other_organisation_is_404(make_user, organisation, other_organisation, url_name, role):
    from django.urls import reverse

    method, kind, action = OBJECT_URLS[url_name]
    actor = make_user(role=role, organisation=organisation)
    stranger = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    kwargs = {}
    if kind == "user":
        target_pk = stranger.pk
    elif kind == "token":
        from accounts.services import api_token_create

        api_token_create(user=stranger, name="x", verified=True)
        target_pk = ApiToken.objects.get(user=stranger).pk
    elif kind == "retention_policy":
        policy = retention_policy_for(organisation_id=other_organisation.pk, record_type="bibob")
        target_pk = policy.pk
    elif kind == "dossier_retention":
        dossier = dossier_close(actor=stranger, dossier=dossier_create(actor=stranger, title="geheim", details={}))
        target_pk, kwargs = dossier.pk, {"record_type": Dossier.RETENTION_RECORD_TYPE}
    elif kind in {"signal", "signal_attachment", "own_signal"}:
        signal = make_signal(stranger, files=[("stuk.pdf", PDF_BYTES)])
        target_pk = signal.pk
        if kind == "signal_attachment":
            kwargs = {"attachment_pk": signal.attachments.get().pk}
    elif kind == "signal_assign":
        target_pk = make_signal(stranger).pk
        Signal.objects.filter(pk=target_pk).update(handler=stranger)
    elif kind in {"signal_question", "signal_identity"}:
        target_pk = _confidential_signal_with_contact(other_organisation).pk
    elif kind == "phenomenon":
        from signals.selectors import phenomenon_choices

        target_pk = phenomenon_choices(organisation_id=other_organisation.pk).first().pk
    else:
        target_pk = dossier_create(actor=stranger, title="geheim", details={}).pk
    client = verified_client(actor)

    url = reverse(url_name, kwargs={**kwargs, "pk": target_pk})
    response = client.post(url, POST_DATA[kind]) if method == "POST" else client.get(url)

    if user_can(actor, action):
        assert response.status_code == 404
    else:
        # A role without the page gets 403 before any lookup: it learns nothing about the object.
        assert response.status_code == 403
    stranger.refresh_from_db()
    assert stranger.is_active
    assert not ApiToken.objects.filter(user=stranger, revoked_at__isnull=False).exists()
    assert not RetentionPolicy.objects.filter(term_months=1).exists()
    assert not RetentionPostponement.objects.exists()
    assert not AuditEvent.objects.filter(
        action__in=[
            "retention.policy_changed",
            "retention.postponed",
            "phenomenon.deactivated",
            "signal.question_sent",
            "signal.reporter_message_added",
            "signal.reporter_identity_disclosed",
            "signal.triage_started",
            "signal.closed",
            "signal.reopened",
            "signal.assigned",
        ]
    ).exists()
    assert not SignalMessage.objects.exists() and not ReporterIdentityRequest.objects.exists()
    assert not Signal.objects.exclude(status=SignalStatus.RECEIVED).exists()
    if kind == "signal_assign":
        assert Signal.objects.get(pk=target_pk).handler_id == stranger.pk
    assert not AccessLog.objects.filter(user_id=actor.pk, record_id__gt="").exists()


def test_api_user_list_shows_only_own_organisation(make_user, organisation, other_organisation):
    admin = make_user(role=Role.ADMIN, organisation=organisation)
    colleague = make_user(role=Role.EMPLOYEE, organisation=organisation)
    stranger = make_user(role=Role.EMPLOYEE, organisation=other_organisation)

    data = verified_client(admin).get("/api/v1/users/").json()

    ids = {row["id"] for row in data["results"]}
    assert ids == {admin.pk, colleague.pk}
    assert stranger.pk not in ids


def test_user_list_page_shows_only_own_organisation(make_user, organisation, other_organisation):
    admin = make_user(role=Role.ADMIN, organisation=organisation)
    stranger = make_user(role=Role.EMPLOYEE, organisation=other_organisation, username="vreemde.gebruiker")

    page = verified_client(admin).get("/beheer/gebruikers/").content.decode()

    assert admin.username in page
    assert stranger.username not in page


def test_retention_overview_shows_only_own_organisation(make_user, organisation, other_organisation):
    officer = make_user(role=Role.PRIVACY_OFFICER, organisation=organisation)
    stranger = make_user(role=Role.COORDINATOR, organisation=other_organisation)
    foreign = dossier_close(actor=stranger, dossier=dossier_create(actor=stranger, title="geheim", details={}))
    Dossier.objects.filter(pk=foreign.pk).update(retention_expires_at=foreign.retention_started_at)  # overdue

    response = verified_client(officer).get("/audit/bewaartermijnen/")

    assert response.context["due"] == []
    assert {policy.organisation_id for policy, _ in response.context["policies"]} == {organisation.pk}


def test_scoping_refuses_unscoped_querysets():
    from django.contrib.sessions.models import Session

    from accounts.scoping import get_for_user_or_404

    with pytest.raises(TypeError):
        get_for_user_or_404(Session.objects.all(), None, pk=1)
