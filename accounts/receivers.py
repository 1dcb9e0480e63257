"""An authenticator app has a data key of its own: when the app goes (a new one set up, the
second factor wiped, the account removed), its key goes too, so its secret cannot be decrypted
from a backup taken later. Connected by importing this module in AccountsConfig.ready()."""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts.models import AuthenticatorApp
from privacy.models import DataKey


@receiver(post_delete, sender=AuthenticatorApp, dispatch_uid="weerbaar_authenticator_app_key_destroy")
def authenticator_app_key_destroy(sender, instance: AuthenticatorApp, **kwargs) -> None:
    DataKey.objects.filter(pk=instance.data_key_id).delete()
