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
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import ActivationMail, ActivationMailStatus, ApiToken, AuthenticatorApp, Organisation, User
from accounts.roles import ROLES_BY_ORGANISATION_KIND, Action, Role, user_can
from accounts.second_factor import backup_codes_store
from audit.services import audit_event_record
from config.mail import failure_kind, send_mail

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
        queued = _activation_mail_request(user) if email else [True]
    user.activation_queued = all(queued)  # for the page that says a mail is on its way
    return user


def _activation_mail_request(user: User) -> list[bool]:
    """In the caller's transaction: an outbox row for the mail, queued on commit; a request still
    waiting for the account is replaced by it (one mail, with a fresh link, and its own count of
    attempts). The returned list holds, after the commit, whether the task could be queued."""
    ActivationMail.objects.filter(user=user, status=ActivationMailStatus.PENDING).update(
        status=ActivationMailStatus.NOT_NEEDED
    )
    row = ActivationMail.objects.create(user=user)
    queued: list[bool] = []
    transaction.on_commit(lambda: queued.append(queue_activation_mail(row.pk)))
    return queued


def queue_activation_mail(mail_id: int) -> bool:
    """Called on commit. With the broker down the outbox row waits for the sweep; the
    administrator is told, sees the mail's state on the account's page and can send it again."""
    from accounts.tasks import send_outbox_activation_mail

    try:
        send_outbox_activation_mail.delay(mail_id)
    except Exception:
        logger.warning("activation mail %s not queued (broker unreachable); the sweep will send it", mail_id)
        return False
    return True


# After a failure the sweep waits 5 minutes, then twice as long each time, at most 6 hours; it
# gives up on a mail asked for more than ACTIVATION_MAIL_DAYS ago (the page then says so).
ACTIVATION_RETRY_FIRST = timedelta(minutes=5)
ACTIVATION_RETRY_MAX = timedelta(hours=6)
ACTIVATION_MAIL_DAYS = 7


def activation_retry_delay(attempts: int) -> timedelta:
    doublings = min(max(attempts - 1, 0), 16)  # past the maximum long before; no overflow
    return min(ACTIVATION_RETRY_FIRST * 2**doublings, ACTIVATION_RETRY_MAX)


def activation_mail_send(mail_id: int, *, due_only: bool = False) -> bool:
    """Sends an activation mail that waits (the task; the sweep with `due_only`, which leaves a
    row alone until its next attempt). The row is locked while sending, so the task and the sweep
    at the same moment send one mail. A failure is written on the row (the kind only) and raised
    again. Returns whether a mail went.

    At least once, not exactly once: the mail goes out inside the row's transaction, so if the
    commit fails after the mail server took it, or the worker dies in between, it is sent again.
    For an activation link a second mail is better than none."""
    failure = None
    with transaction.atomic():
        row = ActivationMail.objects.select_for_update().filter(pk=mail_id).first()
        if row is None or row.status != ActivationMailStatus.PENDING:
            return False  # sent, replaced or no longer needed meanwhile
        now = timezone.now()
        if due_only and row.next_attempt_at > now:
            return False
        user = User.objects.get(pk=row.user_id)
        if not user.is_active or not user.email or user.has_usable_password():
            row.status = ActivationMailStatus.NOT_NEEDED
            row.save(update_fields=["status"])
            return False  # activated, blocked, or the address was taken away: no link to send
        try:
            _activation_mail_deliver(user)
        except Exception as error:
            failure = error
            row.attempts += 1
            row.last_failure = failure_kind(error)[:60]
            row.next_attempt_at = now + activation_retry_delay(row.attempts)
            row.save(update_fields=["attempts", "last_failure", "next_attempt_at"])
        else:
            row.status = ActivationMailStatus.SENT
            row.sent_at = now
            row.last_failure = ""
            row.link_state = activation_link_state(user)
            row.save(update_fields=["status", "sent_at", "last_failure", "link_state"])
    if failure is not None:
        raise failure
    return True


def activation_link_state(user: User) -> str:
    """A digest of what the activation link's token depends on (the address, the password, the
    last login, blocking, the security stamp): once it differs from the one stored when the mail
    went, that mail's link no longer works."""
    state = activation_token_generator._make_hash_value(user, 0)  # Django's documented hook
    return salted_hmac("weerbaar.accounts.activation_link_state", state, algorithm="sha256").hexdigest()[:32]


def activation_mail_for_account(user_id: int) -> bool:
    """A task message queued before the outbox named the account, not a mail: it gets a row of
    its own and is sent like any other (for a deploy with messages still in the queue)."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None or not user.is_active or not user.email or user.has_usable_password():
            return False
        row = ActivationMail.objects.filter(user=user, status=ActivationMailStatus.PENDING).first()
        if row is None:
            if ActivationMail.objects.filter(user=user).exists():
                return False  # the outbox has dealt with this account: sent, or replaced by a newer request
            row = ActivationMail.objects.create(user=user)
    return activation_mail_send(row.pk)


def _activation_mail_deliver(user: User) -> None:
    """The mail itself. The body holds the link only: no name, no organisation."""
    base = settings.WEERBAAR_BASE_URL.rstrip("/")
    send_mail(
        subject="Uw account voor Weerbaar",
        message=(
            "Er is een account voor u aangemaakt in Weerbaar.\n\n"
            f"Kies uw wachtwoord via deze link (eenmalig te gebruiken):\n{base}{activation_path(user)}\n\n"
            "Daarna stelt u een authenticator-app in voor tweestapsverificatie."
        ),
        from_email=None,
        recipient_list=[user.email],
    )


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
    with transaction.atomic(durable=True):
        audit_event_record(
            actor=actor, action="user.activation_resent", organisation_id=user.organisation_id, record=user
        )
        queued = _activation_mail_request(user)
    return all(queued)


USER_EDITABLE = ("first_name", "last_name", "email", "role")

CHANGED_MEANWHILE = (
    "Dit account is gewijzigd nadat u de pagina opende, misschien door een andere beheerder. Er is niets "
    "opgeslagen. Dit zijn de gegevens van nu:"
)


def user_stand(user: User) -> str:
    """A digest of what the edit page shows of the account, to tell a stale form."""
    shown = "\x1f".join(str(getattr(user, field)) for field in USER_EDITABLE)
    return salted_hmac("weerbaar.accounts.user_stand", shown, algorithm="sha256").hexdigest()[:32]


def _lock_actor_and_account(actor: User, user: User) -> tuple[User, User]:
    """In the caller's transaction: both rows locked, in one order, and read again. Two
    administrators acting on each other at the same moment are taken one after the other, and
    the second is checked against what the first did (they may no longer be an administrator)."""
    rows = {
        row.pk: row
        for row in User.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .filter(pk__in=sorted({actor.pk, user.pk}))
        .order_by("pk")
    }
    fresh_actor, current = rows.get(actor.pk), rows.get(user.pk)
    if fresh_actor is None or current is None or not fresh_actor.is_active:
        raise PermissionDenied
    _require(fresh_actor, Action.MANAGE_USERS)
    _require_same_organisation(fresh_actor, current)
    return fresh_actor, current


def user_update(*, actor: User, user: User, changes: dict, seen: str) -> list[str]:
    """An administrator corrects a colleague's name, address or role; returns the changed fields.
    `seen` is user_stand of what the form showed: a form older than a colleague's change is
    refused. A new role ends the account's sessions and API tokens; an account that has not
    chosen a password yet then gets a new activation link, as it does for a new address (the old
    link dies with either). When an activated account's address changes, the old address is told
    (without the new one). The audit event names the fields, and for a role the roles, never a
    name or an address."""
    _require(actor, Action.MANAGE_USERS)
    _require_same_organisation(actor, user)
    unknown = set(changes) - set(USER_EDITABLE)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    with transaction.atomic(durable=True):
        fresh_actor, current = _lock_actor_and_account(actor, user)
        if seen != user_stand(current):
            raise ValidationError(CHANGED_MEANWHILE, code="changed_meanwhile")
        changed = [field for field, value in changes.items() if getattr(current, field) != value]
        if not changed:
            return []
        data = {"fields": sorted(changed)}
        if "role" in changed:
            if current.pk == fresh_actor.pk:
                raise ValidationError({"role": "U kunt uw eigen rol niet wijzigen; vraag dat een andere beheerder."})
            if changes["role"] not in ROLES_BY_ORGANISATION_KIND.get(current.organisation.kind, frozenset()):
                raise ValidationError({"role": "Deze rol past niet bij een organisatie van deze soort."})
            data.update(role_before=current.role, role_after=changes["role"])
        old_email, activated = current.email, current.has_usable_password()
        for field in changed:
            setattr(current, field, changes[field])
        current.full_clean(exclude=["password", "username"])
        current.save(update_fields=changed)
        audit_event_record(
            actor=fresh_actor, action="user.changed", organisation_id=current.organisation_id, record=current, data=data
        )
        if "role" in changed:
            _end_sessions_and_tokens(current)
        link_died = "role" in changed or "email" in changed
        if link_died and current.email and current.is_active and not activated:
            _activation_mail_request(current)
        if "email" in changed and activated and old_email:
            transaction.on_commit(lambda: _tell_the_old_address(old_email))
    for field in changed:
        setattr(user, field, getattr(current, field))
    return changed


def _tell_the_old_address(address: str) -> None:
    """After the commit, straight from the request (no task: the address would wait in the
    broker): a notice without the new address and without a link. A failure is logged by kind;
    the change stands."""
    try:
        send_mail(
            subject="Weerbaar: uw e-mailadres is gewijzigd",
            message=(
                "Een beheerder van uw organisatie heeft het e-mailadres van uw account in Weerbaar gewijzigd. "
                "Berichten van Weerbaar gaan voortaan naar het nieuwe adres.\n\n"
                "Klopt dat niet? Neem dan contact op met de beheerder of de functionaris gegevensbescherming "
                "van uw organisatie."
            ),
            from_email=None,
            recipient_list=[address],
        )
    except Exception as error:
        logger.warning("notice of a changed e-mail address not sent (%s)", failure_kind(error))


def organisation_confidential_reporting_set(*, actor: User, enabled: bool) -> bool:
    """Switches the public form for confidential reporting without an account on or off for the
    actor's organisation; returns whether it changed (the same click twice is one change).
    Reporters who have a receipt code can follow their report either way."""
    _require(actor, Action.MANAGE_CONFIDENTIAL_REPORTING)
    with transaction.atomic(durable=True):
        organisation = Organisation.objects.select_for_update().get(pk=actor.organisation_id)
        if organisation.confidential_reporting_enabled == enabled:
            return False
        organisation.confidential_reporting_enabled = enabled
        organisation.save(update_fields=["confidential_reporting_enabled"])
        audit_event_record(
            actor=actor,
            action="organisation.confidential_reporting_switched",
            organisation_id=organisation.pk,
            record=organisation,
            data={"enabled": enabled},
        )
    return True


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
        AuthenticatorApp.objects.filter(user=user).delete()
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
        actor, _ = _lock_actor_and_account(actor, user)  # not blocked or demoted a moment ago
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


def totp_device_start(*, user: User) -> AuthenticatorApp:
    """Starts (or resumes) enrolment of an authenticator app: an unconfirmed device with a new key."""
    with transaction.atomic(durable=True):
        device = AuthenticatorApp.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = AuthenticatorApp.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_device_confirm(*, user: User, token: str) -> list[str] | None:
    """Confirms the pending authenticator app with a code from it.

    Returns fresh backup codes on success, None when the code is wrong (nothing changes then).
    """
    with transaction.atomic(durable=True):
        device = AuthenticatorApp.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token(token):
            return None
        AuthenticatorApp.objects.filter(user=user, confirmed=True).delete()
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
