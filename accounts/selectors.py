"""Reads for accounts, always scoped to the asking user's organisation."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import dateformat, timezone

from accounts.models import ActivationMailStatus, ApiToken, AuthenticatorApp, Organisation, User
from accounts.roles import Action, user_can
from accounts.scoping import get_for_user_or_404


def user_list(*, actor: User) -> QuerySet[User]:
    if not user_can(actor, Action.MANAGE_USERS):
        raise PermissionDenied
    confirmed_totp = AuthenticatorApp.objects.filter(user=OuterRef("pk"), confirmed=True)
    return (
        User.objects.for_user(actor)
        .select_related("organisation")
        .annotate(has_two_factor=Exists(confirmed_totp))
        .order_by("last_name", "first_name", "username")
    )


def user_get(*, actor: User, pk: int) -> User:
    if not user_can(actor, Action.MANAGE_USERS):
        raise PermissionDenied
    return get_for_user_or_404(user_list(actor=actor), actor, pk=pk)


def _when(moment) -> str:
    return dateformat.format(timezone.localtime(moment), "j F Y \\o\\m H:i")


def activation_mail_summary(user: User) -> str | None:
    """What the administrator's page says about the activation mail of an account that has not
    chosen a password yet (None once it has): sent when and whether its link still works, waiting,
    or why it did not go and what happens next."""
    from accounts.services import ACTIVATION_MAIL_DAYS, activation_link_state
    from config.mail import failure_text

    if user.has_usable_password():
        return None
    if not user.email:
        return "Niet verstuurd: het account heeft geen e-mailadres."
    latest = user.activation_mails.first()
    if latest is None:
        return "Niet bekend: er is geen activeringsmail vastgelegd. Verstuur hem als de gebruiker geen werkende link heeft."
    if latest.status == ActivationMailStatus.SENT:
        sent = f"Verstuurd op {_when(latest.sent_at)}"
        if latest.link_state != activation_link_state(user):
            return f"{sent}; die link werkt niet meer, want het account is sindsdien gewijzigd. Verstuur hem opnieuw."
        valid_until = latest.sent_at + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
        if valid_until <= timezone.now():
            return f"{sent}; de link is verlopen op {_when(valid_until)}. Verstuur hem opnieuw."
        return f"{sent}; de link werkt tot {_when(valid_until)}."
    if latest.status == ActivationMailStatus.NOT_NEEDED:
        return "Niet verstuurd: het account was geblokkeerd of had geen e-mailadres meer. Verstuur hem opnieuw."
    if not latest.attempts:
        return f"Wacht op verzending (gevraagd op {_when(latest.requested_at)})."
    reason = failure_text(latest.last_failure)
    tries = "1 poging" if latest.attempts == 1 else f"{latest.attempts} pogingen"
    gives_up_at = latest.requested_at + timedelta(days=ACTIVATION_MAIL_DAYS)
    # Without a beat process (the embedded set-up runs tasks in-process) nothing tries again.
    retried = not settings.CELERY_TASK_ALWAYS_EAGER and latest.next_attempt_at < gives_up_at
    if not retried or gives_up_at < timezone.now():
        return f"Niet verstuurd: {reason} ({tries}). Controleer het e-mailadres en verstuur hem opnieuw."
    return (
        f"Nog niet verstuurd: {reason} ({tries}). Weerbaar probeert het opnieuw vanaf "
        f"{_when(latest.next_attempt_at)}; u kunt hem ook nu opnieuw versturen."
    )


def organisation_get(*, actor: User) -> Organisation:
    if not user_can(actor, Action.VIEW_ORGANISATION):
        raise PermissionDenied
    return Organisation.objects.select_related("region").get(pk=actor.organisation_id)


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.active().filter(user=user)


def api_token_get(*, user: User, pk: int) -> ApiToken:
    """A token is personal: someone else's token is a 404, like an object of another organisation."""
    return get_object_or_404(api_token_list(user=user), pk=pk)


def user_has_confirmed_totp(user: User) -> bool:
    return AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()
