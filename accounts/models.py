from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from accounts.roles import ROLES_BY_ORGANISATION_KIND, OrganisationKind, Role
from accounts.scoping import OrganisationScopedQuerySet
from privacy.fields import EncryptedModel, EncryptedTextField


class Region(models.Model):
    """A RIEC region (RIEC Noord-Holland, RIEC Amsterdam-Amstelland, ...)."""

    name = models.CharField("naam", max_length=200, unique=True)

    class Meta:
        verbose_name = "RIEC-regio"
        verbose_name_plural = "RIEC-regio's"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    name = models.CharField("naam", max_length=200, unique=True)
    kind = models.CharField("soort", max_length=20, choices=OrganisationKind.choices)
    partner_type = models.CharField(
        "soort partner",
        max_length=100,
        blank=True,
        help_text="Bij een partnerorganisatie: politie, OM, Belastingdienst, ...",
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organisations", verbose_name="regio")
    confidential_reporting_enabled = models.BooleanField(
        "vertrouwelijk melden zonder account",
        default=False,
        help_text="Een openbaar meldformulier waarmee iemand zonder account een signaal meldt en een ontvangstcode krijgt.",
    )

    class Meta:
        verbose_name = "organisatie"
        verbose_name_plural = "organisaties"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.pk is None:
            return
        # Another kind of organisation has other roles: its accounts would keep rights (a
        # gemeente's coordinator reading signals at a partner) that no role of the new kind has.
        allowed = ROLES_BY_ORGANISATION_KIND.get(self.kind, frozenset())
        misfits = self.users.exclude(role="").exclude(role__in=allowed).count()
        if misfits:
            raise ValidationError(
                {
                    "kind": f"Dit soort organisatie kent de rol van {misfits} account(s) van deze organisatie niet. "
                    "Geef die accounts eerst een rol die hier bestaat."
                }
            )


class WeerbaarUserManager(UserManager.from_queryset(OrganisationScopedQuerySet)):
    pass


class User(AbstractUser):
    """An account: one role in one organisation.

    Platform superusers (who run the deployment and its Django admin) have no organisation and
    therefore see no organisation data in the product.
    """

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name="organisatie",
    )
    role = models.CharField("rol", max_length=30, choices=Role.choices, blank=True)
    # Part of the session hash: changing it ends every session of the user (2FA reset, blocking,
    # role change), like a password change does.
    security_stamp = models.UUIDField(default=uuid.uuid4, editable=False)

    objects = WeerbaarUserManager()

    class Meta:
        verbose_name = "gebruiker"
        verbose_name_plural = "gebruikers"
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(organisation__isnull=True, role="")
                | models.Q(organisation__isnull=False) & ~models.Q(role=""),
                name="user_role_with_organisation",
            ),
            # A platform superuser runs the deployment and sees no organisation's data.
            models.CheckConstraint(
                condition=models.Q(is_superuser=False) | models.Q(organisation__isnull=True),
                name="superuser_without_organisation",
            ),
        ]

    def clean(self):
        super().clean()
        if self.is_superuser and self.organisation_id is not None:
            raise ValidationError(
                "Een platformbeheerder hoort bij geen organisatie en heeft geen rol: "
                "hij ziet geen gegevens van organisaties. Gebruik daarvoor een eigen account."
            )
        kind_roles = ROLES_BY_ORGANISATION_KIND.get(self.organisation.kind, ()) if self.organisation_id else ()
        if self.organisation_id is not None and self.role and self.role not in kind_roles:
            raise ValidationError({"role": "Deze rol bestaat niet bij dit soort organisatie."})

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def get_session_auth_hash(self) -> str:
        return salted_hmac("weerbaar.session", f"{self.password}|{self.security_stamp}", algorithm="sha256").hexdigest()

    def get_session_auth_fallback_hash(self):
        yield from ()  # no fallback secrets: a rotated stamp ends sessions


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        from django.utils import timezone

        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 digest is stored; the token is shown once."""

    PREFIX_LENGTH = 8

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("omschrijving", max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A token someone forgot in a script stops working by itself (WEERBAAR_API_TOKEN_DAYS).
    expires_at = models.DateTimeField("verloopt")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API-token"
        verbose_name_plural = "API-tokens"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_for(raw_token: str) -> str:
        return hashlib.sha256(raw_token.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return secrets.token_urlsafe(32)


class ActivationMailStatus(models.TextChoices):
    PENDING = "wacht", "wacht op verzending"
    SENT = "verstuurd", "verstuurd"
    NOT_NEEDED = "vervallen", "niet meer nodig"


class ActivationMail(models.Model):
    """The outbox of activation mails: one row for each mail asked for (the account was created,
    or an administrator sent it again). The task sends it; a failure is written on the row and
    the periodic sweep tries again, so a mail server that is away for an afternoon loses nothing
    and the administrator's page says where the mail is. No address is kept here: the mail goes to
    the account's address at the moment it is sent."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="activation_mails")
    status = models.CharField(max_length=10, choices=ActivationMailStatus.choices, default=ActivationMailStatus.PENDING)
    requested_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The kind of the last failure (config.mail.failure_kind): never an address.
    last_failure = models.CharField(max_length=60, blank=True)
    # The sweep leaves a row alone until then: a refused address is not tried every five minutes.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # accounts.services.activation_link_state when the mail went: tells whether its link still works.
    link_state = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = "activeringsmail"
        verbose_name_plural = "activeringsmails"
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="activation_mail_pending")]

    def __str__(self) -> str:
        return f"activeringsmail {self.pk} ({self.get_status_display()})"


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, EncryptedModel, Device):
    """A user's authenticator app: a TOTP device (RFC 6238) for django-otp, as its own TOTPDevice,
    but with the shared secret encrypted at rest under a data key of its own (privacy.fields).
    A copy of the database or of a backup then holds no secret that, with a guessed or cracked
    password, would pass the second factor."""

    secret = EncryptedTextField("geheim")  # hex, made on first save
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: a code is accepted once.
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator-app"
        verbose_name_plural = "authenticator-apps"

    def save(self, *args, **kwargs):
        # A new app gets its secret here ("" by default). Only a new one: a loaded app whose
        # secret was left out (.only(), .defer()) keeps the stored one.
        if self._state.adding and not self.__dict__.get("secret"):
            self.secret = random_hex(20)
        super().save(*args, **kwargs)

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.secret.encode())

    @property
    def config_url(self) -> str:
        """The otpauth:// address the app reads from the QR code."""
        # A colon separates issuer and account in the label, so none in either; spaces as %20
        # (RFC 3986), which every app reads, not as "+".
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = quote(f"{issuer}:{self.user.get_username().replace(':', '')}")
        query = urlencode(
            {
                "secret": b32encode(self.bin_key).decode().rstrip("="),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
                "issuer": issuer,
            },
            quote_via=quote,
        )
        return f"otpauth://totp/{label}?{query}"

    def get_throttle_factor(self) -> int:
        return settings.OTP_TOTP_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        """Accepts a code of this step or `tolerance` steps either side, once, and learns the
        app's clock drift; every refusal counts towards the growing wait (ThrottlingMixin)."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            code = int(token)
        except (TypeError, ValueError):
            code = None
        if code is not None:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            if totp.verify(code, self.tolerance, self.last_t + 1):
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
                return True
        self.throttle_increment(commit=True)
        return False
