"""The second factor at login: a code from the authenticator app or a backup code.

Backup codes are kept as keyed digests, as passwords are kept hashed: whoever reads the database
or a backup of it finds nothing that logs in. django-otp's static tokens hold the digest; the
code itself is shown once, when it is made."""

from __future__ import annotations

from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from privacy.blind_index import blind_index_of

#: The width of django-otp's token column: 64 bits of the HMAC, which nobody without the key
#: (outside the database, like the blind-index key it is) can compute for a guess.
DIGEST_LENGTH = 16


def backup_code_digest(code: str) -> str:
    """The stored form of a backup code; case and spaces as typed do not matter."""
    return blind_index_of("backup-code", "".join(code.split()).lower())[:DIGEST_LENGTH]


def backup_codes_store(device: StaticDevice, codes: list[str]) -> None:
    StaticToken.objects.bulk_create([StaticToken(device=device, token=backup_code_digest(code)) for code in codes])


def _device_classes():
    """The kinds of second factor, the app first: most logins use it, and a check stops at the first."""
    from accounts.models import AuthenticatorApp

    return (AuthenticatorApp, StaticDevice)


def has_second_factor(user) -> bool:
    """Whether the user has set up a second factor (as django_otp.user_has_device)."""
    return any(model.objects.devices_for_user(user, confirmed=True).exists() for model in _device_classes())


def second_factor_match(user, token: str) -> Device | None:
    """The user's device that accepts `token` (used up, if a backup code), else None. As
    django_otp.match_token, with the backup codes compared by digest; each device is locked
    while it checks, so one code is accepted once."""
    with transaction.atomic():
        for model in _device_classes():
            for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
                given = backup_code_digest(token) if isinstance(device, StaticDevice) else token
                if device.verify_token(given):
                    return device
    return None
