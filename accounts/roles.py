"""Roles and what each may do: the one place where permissions are decided.

A view, an API endpoint or a service asks `user_can(user, Action.X)`; nothing else looks at roles.
"""

from __future__ import annotations

import enum

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    EMPLOYEE = "employee", "Medewerker"
    OFFICE_HOLDER = "office_holder", "Politiek ambtsdrager"
    COORDINATOR = "coordinator", "Coördinator bestuurlijke aanpak"
    MANAGER = "manager", "Manager / agressiecoördinator"
    PARTNER = "partner", "Tafeldeelnemer (partnerorganisatie)"
    NORM_OWNER = "norm_owner", "Normeigenaar / bestuurlijke driehoek"
    REVIEWER = "reviewer", "RIEC / provinciale beoordelaar"
    PRIVACY_OFFICER = "privacy_officer", "Functionaris gegevensbescherming / auditor"
    ADMIN = "admin", "Beheerder"


class OrganisationKind(models.TextChoices):
    MUNICIPALITY = "gemeente", "Gemeente"
    PROVINCE = "provincie", "Provincie"
    RIEC = "riec", "RIEC"
    PARTNER = "partner", "Partnerorganisatie"


class Action(enum.StrEnum):
    """Things a user can do; modules add theirs here so the whole matrix stays in one table."""

    VIEW_HOME = "view_home"
    MANAGE_OWN_ACCOUNT = "manage_own_account"
    USE_API = "use_api"
    MANAGE_USERS = "manage_users"
    VIEW_ORGANISATION = "view_organisation"
    SUBMIT_SIGNAL = "submit_signal"
    HANDLE_SIGNALS = "handle_signals"
    REGISTER_INCIDENT = "register_incident"
    HANDLE_INCIDENTS = "handle_incidents"
    VIEW_AGGRESSION_STATISTICS = "view_aggression_statistics"
    VIEW_TABLE_AGENDA = "view_table_agenda"
    MAINTAIN_NORM_OVERVIEW = "maintain_norm_overview"
    VIEW_NORM_OVERVIEW = "view_norm_overview"
    VIEW_REGIONAL_NORM_PROGRESS = "view_regional_norm_progress"
    VIEW_AUDIT_TRAIL = "view_audit_trail"
    MANAGE_RETENTION_POLICY = "manage_retention_policy"
    POSTPONE_RETENTION = "postpone_retention"
    MANAGE_CONFIDENTIAL_REPORTING = "manage_confidential_reporting"


_EVERYONE = {Action.VIEW_HOME, Action.MANAGE_OWN_ACCOUNT, Action.USE_API}
_REPORTER = {Action.SUBMIT_SIGNAL, Action.REGISTER_INCIDENT}

PERMISSIONS: dict[str, frozenset[Action]] = {
    Role.EMPLOYEE: frozenset(_EVERYONE | _REPORTER),
    Role.OFFICE_HOLDER: frozenset(_EVERYONE | _REPORTER),
    Role.COORDINATOR: frozenset(_EVERYONE | _REPORTER | {Action.HANDLE_SIGNALS, Action.VIEW_NORM_OVERVIEW}),
    Role.MANAGER: frozenset(
        _EVERYONE | _REPORTER | {Action.HANDLE_INCIDENTS, Action.VIEW_AGGRESSION_STATISTICS, Action.VIEW_NORM_OVERVIEW}
    ),
    # A partner at the RIEC table sees the agendas they are invited to, and nothing else.
    Role.PARTNER: frozenset(_EVERYONE | {Action.VIEW_TABLE_AGENDA}),
    Role.NORM_OWNER: frozenset(_EVERYONE | {Action.MAINTAIN_NORM_OVERVIEW, Action.VIEW_NORM_OVERVIEW}),
    Role.REVIEWER: frozenset(_EVERYONE | {Action.VIEW_REGIONAL_NORM_PROGRESS}),
    Role.PRIVACY_OFFICER: frozenset(_EVERYONE | {Action.VIEW_AUDIT_TRAIL, Action.POSTPONE_RETENTION}),
    Role.ADMIN: frozenset(
        _EVERYONE
        | {
            Action.MANAGE_USERS,
            Action.VIEW_ORGANISATION,
            Action.MANAGE_RETENTION_POLICY,
            Action.MANAGE_CONFIDENTIAL_REPORTING,
        }
    ),
}

# Which roles may exist in which kind of organisation.
ROLES_BY_ORGANISATION_KIND: dict[str, frozenset[str]] = {
    OrganisationKind.MUNICIPALITY: frozenset(
        {
            Role.EMPLOYEE,
            Role.OFFICE_HOLDER,
            Role.COORDINATOR,
            Role.MANAGER,
            Role.NORM_OWNER,
            Role.PRIVACY_OFFICER,
            Role.ADMIN,
        }
    ),
    OrganisationKind.PROVINCE: frozenset(
        {
            Role.EMPLOYEE,
            Role.OFFICE_HOLDER,
            Role.COORDINATOR,
            Role.MANAGER,
            Role.NORM_OWNER,
            Role.REVIEWER,
            Role.PRIVACY_OFFICER,
            Role.ADMIN,
        }
    ),
    OrganisationKind.RIEC: frozenset({Role.REVIEWER, Role.ADMIN}),
    OrganisationKind.PARTNER: frozenset({Role.PARTNER, Role.ADMIN}),
}


#: The roles that see no signals, cases, incidents, audit data or accounts, only aggregated norm
#: figures: the only ones WEERBAAR_2FA_EXEMPT_ROLES may exempt (a system check refuses others).
EXEMPTIBLE_FROM_TWO_FACTOR = frozenset({Role.REVIEWER, Role.NORM_OWNER})


def role_requires_two_factor(role: str) -> bool:
    """Every role that can see signals, cases, incidents, audit data or accounts needs 2FA.

    Roles that only read aggregated norm figures may be exempted (WEERBAAR_2FA_EXEMPT_ROLES).
    """
    return not (role in EXEMPTIBLE_FROM_TWO_FACTOR and role in set(settings.WEERBAAR_2FA_EXEMPT_ROLES))


def user_can(user, action: Action) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.organisation_id is None:
        return False
    return action in PERMISSIONS.get(user.role, frozenset())
