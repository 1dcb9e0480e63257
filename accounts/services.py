"""Writes for accounts: each function owns its transaction and checks the actor's permission."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, User
from accounts.roles import ROLES_BY_ORGANISATION_KIND, Action, Role, user_can
from accounts.second_factor import backup_codes_store
from audit.services import audit_event_record

BACKUP_CODE_COUNT = 10
BACKUP_DEVICE_NAME = "reservecodes"
TOTP_DEVICE_NAME = "authenticator-app"

logger = logging.getLogger(__name__)


def _require(actor: User, action: Action) -> None:
    if not user_can(actor, action):
        raise PermissionDenied


def _require_same_organisation(actor: User, user: User) -> None:
    if actor.organisation_id is None or actor.organisation_id != user.organisation_id:
        raise PermissionDenied


def user_create(
    *,
    actor: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
) -> User:
    """An administrator creates an account in their own organisation. The new user chooses a
    password through a one-time activation link; until then the account has no usable password."""
    _require(actor, Action.MANAGE_USERS)
    organisation = actor.organisation
    if role not in ROLES_BY_ORGANISATION_KIND.get(organisation.kind, frozenset()):
        raise ValidationError({"role": f"De rol '{Role(role).label}' past niet bij een organisatie van deze soort."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "Deze gebruikersnaam is al in gebruik."})
    with transaction.atomic(durable=True):
        user = User(
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            role=role,
            organisation=organisation,
        )
        user.set_unusable_password()
        user.full_clean()
        user.save()
        audit_event_record(
            actor=actor, action="user.created", organisation_id=organisation.pk, record=user, data={"role": role}
        )
        queued = []
        if email:
            transaction.on_commit(lambda: queued.append(queue_activation_mail(user.pk)))
    user.activation_queued = all(queued)  # for the page that says a mail is on its way
    return user


def queue_activation_mail(user_id: int) -> bool:
    """Called on commit. With the broker down the account stands; the administrator is told and
    can send the mail again from the account's page (user_activation_resend)."""
    from accounts.tasks import send_activation_mail

    try:
        send_activation_mail.delay(user_id)
    except Exception:
        logger.warning("activation mail for user %s not queued (broker unreachable)", user_id)
        return False
    return True


def user_activation_resend(*, actor: User, user: User) -> bool:
    """Sends a new activation link to an account that has not chosen a password yet (the mail
    went astray, or the link expired). Returns whether it could be queued."""
    _require(actor, Action.MANAGE_USERS)
    _require_same_organisation(actor, user)
    if user.has_usable_password():
        raise ValidationError("Dit account is al geactiveerd: de gebruiker heeft een wachtwoord gekozen.")
    if not user.email:
        raise ValidationError("Dit account heeft geen e-mailadres; vul dat eerst in.")
    if not user.is_active:
        raise ValidationError("Dit account is geblokkeerd; activeer het eerst weer.")
    queued = []
    with transaction.atomic(durable=True):
        audit_event_record(
            actor=actor, action="user.activation_resent", organisation_id=user.organisation_id, record=user
        )
        transaction.on_commit(lambda: queued.append(queue_activation_mail(user.pk)))
    return all(queued)


def user_activate(*, user: User, password_form) -> None:
    """The new user chose a password through the activation link (a valid SetPasswordForm)."""
    with transaction.atomic(durable=True):
        password_form.save()
        audit_event_record(
            actor=user, action="user.activated_password_set", organisation_id=user.organisation_id, record=user
        )


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """Django's password-reset token, which a new password, a login or another e-mail address
    already makes unusable; here also blocking the account (is_active) and anything that ends
    its sessions (the security stamp), so a link sent to the wrong address dies with the block."""

    key_salt = "weerbaar.accounts.activation"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}|{user.is_active}|{user.security_stamp}"


activation_token_generator = ActivationTokenGenerator()


def activation_path(user: User) -> str:
    """The one-time path where a new user sets a password."""
    from django.urls import reverse

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accounts:activate", kwargs={"uidb64": uid, "token": activation_token_generator.make_token(user)})


def user_reset_two_factor(*, actor: User, user: User) -> None:
    """Removes every second factor of a user who lost their phone; they enrol again at next login."""
    _require(actor, Action.MANAGE_USERS)
    _require_same_organisation(actor, user)
    with transaction.atomic(durable=True):
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        _end_sessions_and_tokens(user)
        audit_event_record(
            actor=actor, action="user.two_factor_reset", organisation_id=user.organisation_id, record=user
        )


def user_unlock(*, actor: User, user: User) -> None:
    """Lifts a login lockout before its cool-off time has passed."""
    _require(actor, Action.MANAGE_USERS)
    _require_same_organisation(actor, user)
    with transaction.atomic(durable=True):
        axes_reset(username=user.username)
        audit_event_record(actor=actor, action="user.unlocked", organisation_id=user.organisation_id, record=user)


def user_set_active(*, actor: User, user: User, active: bool) -> None:
    _require(actor, Action.MANAGE_USERS)
    _require_same_organisation(actor, user)
    if user.pk == actor.pk and not active:
        raise ValidationError("U kunt uw eigen account niet blokkeren.")
    with transaction.atomic(durable=True):
        User.objects.filter(pk=user.pk).update(is_active=active)
        user.is_active = active
        if not active:
            _end_sessions_and_tokens(user)
        audit_event_record(
            actor=actor,
            action="user.activated" if active else "user.blocked",
            organisation_id=user.organisation_id,
            record=user,
        )


#: Changes that end the account's sessions: what it may see or whether it may log in at all.
ACCESS_FIELDS = ("organisation", "role", "is_active", "is_superuser", "is_staff")


def user_save_by_platform_admin(*, actor: User, user: User, changed: list[str], created: bool) -> None:
    """An account saved by a platform superuser in the Django admin (creating an organisation's
    first beheerder, correcting a role): audited like the beheer pages' changes, and a change of
    access ends the account's sessions. The event names the fields, never their values."""
    if not (actor.is_superuser and actor.is_active):
        raise PermissionDenied
    access_changed = not created and bool(set(changed) & set(ACCESS_FIELDS))
    with transaction.atomic():  # not durable: the admin's change view holds a transaction of its own
        before = User.objects.filter(pk=user.pk).values_list("organisation_id", flat=True).first()
        user.save()
        audit_event_record(
            actor=actor,
            action="user.created_by_platform_admin" if created else "user.changed_by_platform_admin",
            organisation_id=user.organisation_id,
            record=user,
            data={"fields": sorted(changed), "organisation_before": before if before != user.organisation_id else None},
        )
        if access_changed:
            _end_sessions_and_tokens(user)


def user_password_set_by_platform_admin(*, actor: User, user: User) -> None:
    """A platform superuser set (or switched off) an account's password in the Django admin, for
    an account that is locked out or may be compromised: audited, and its API tokens are revoked.
    Its sessions end with the old password (the session hash holds it). Called in the admin's
    transaction, after the new password was saved."""
    if not (actor.is_superuser and actor.is_active):
        raise PermissionDenied
    with transaction.atomic():  # not durable: the admin's password view holds the transaction
        audit_event_record(
            actor=actor,
            action="user.password_set_by_platform_admin",
            organisation_id=user.organisation_id,
            record=user,
            data={"usable": user.has_usable_password()},
        )
        ApiToken.objects.active().filter(user=user).update(revoked_at=timezone.now())


def totp_device_start(*, user: User) -> TOTPDevice:
    """Starts (or resumes) enrolment of an authenticator app: an unconfirmed device with a new key."""
    with transaction.atomic(durable=True):
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_device_confirm(*, user: User, token: str) -> list[str] | None:
    """Confirms the pending authenticator app with a code from it.

    Returns fresh backup codes on success, None when the code is wrong (nothing changes then).
    """
    with transaction.atomic(durable=True):
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token(token):
            return None
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_backup_codes(user)
        # Every other session ends: one opened with the password alone before this app was set up
        # must not stay logged in (the caller carries its own session over).
        _end_sessions(user)
        audit_event_record(
            actor=user, action="user.two_factor_enrolled", organisation_id=user.organisation_id, record=user
        )
    return codes


def backup_codes_regenerate(*, user: User) -> list[str]:
    with transaction.atomic(durable=True):
        codes = _replace_backup_codes(user)
        audit_event_record(
            actor=user, action="user.backup_codes_renewed", organisation_id=user.organisation_id, record=user
        )
    return codes


def _replace_backup_codes(user: User, count: int = BACKUP_CODE_COUNT) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(count)]
    backup_codes_store(device, codes)
    return codes


def api_token_create(*, user: User, name: str, verified: bool) -> str:
    """Creates a personal API token and returns it; only its digest is kept. Only from a session
    verified with a second factor: the token then stands for that verification."""
    _require(user, Action.USE_API)
    if not verified:
        raise PermissionDenied("Een API-token maakt u alleen na inloggen met tweestapsverificatie.")
    raw = ApiToken.generate()
    expires_at = timezone.now() + timedelta(days=settings.WEERBAAR_API_TOKEN_DAYS)
    with transaction.atomic(durable=True):
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=raw[: ApiToken.PREFIX_LENGTH],
            digest=ApiToken.digest_for(raw),
            expires_at=expires_at,
        )
        audit_event_record(actor=user, action="api_token.created", organisation_id=user.organisation_id, record=token)
    return raw


def api_token_revoke(*, user: User, token: ApiToken) -> None:
    if token.user_id != user.pk:
        raise PermissionDenied
    with transaction.atomic(durable=True):
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_event_record(actor=user, action="api_token.revoked", organisation_id=user.organisation_id, record=token)


def _end_sessions(user: User) -> None:
    """Every session of the user ends: the security stamp is part of the session hash."""
    User.objects.filter(pk=user.pk).update(security_stamp=uuid.uuid4())


def _end_sessions_and_tokens(user: User) -> None:
    """After a lost phone, a block or a change of access: every session ends and every API token
    is revoked."""
    _end_sessions(user)
    ApiToken.objects.active().filter(user=user).update(revoked_at=timezone.now())
