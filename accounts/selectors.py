"""Reads for accounts, always scoped to the asking user's organisation."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Organisation, User
from accounts.roles import Action, user_can
from accounts.scoping import get_for_user_or_404


def user_list(*, actor: User) -> QuerySet[User]:
    if not user_can(actor, Action.MANAGE_USERS):
        raise PermissionDenied
    confirmed_totp = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
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
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
