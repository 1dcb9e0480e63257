"""The reporter's contact details have a data key of their own. When they go (with their signal,
when retention destroys it), their key goes too, so nothing of them can be decrypted anywhere.

Connected by importing this module in SignalsConfig.ready()."""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from privacy.models import DataKey
from signals.models import ReporterContact


@receiver(post_delete, sender=ReporterContact, dispatch_uid="weerbaar_reporter_contact_key_destroy")
def reporter_contact_key_destroy(sender, instance: ReporterContact, **kwargs) -> None:
    DataKey.objects.filter(pk=instance.data_key_id).delete()
