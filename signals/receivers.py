from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Organisation
from privacy.files import data_key_files_delete
from privacy.models import DataKey
from signals.models import HeldFile


@receiver(post_save, sender=Organisation, dispatch_uid="signals_default_phenomena")
def give_new_organisations_the_default_phenomena(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from signals.services import phenomena_ensure_defaults

        phenomena_ensure_defaults(organisation_id=instance.pk)


@receiver(post_delete, sender=HeldFile, dispatch_uid="signals_held_file_key_destroy")
def held_file_key_destroy(sender, instance: HeldFile, **kwargs) -> None:
    """A held file has a key of its own: whatever removes the row (sent, unticked, expired, its
    account or organisation removed) destroys the key, and after the commit the encrypted file.
    A file that cannot be removed then is unreadable without its key, and the orphan sweep
    (privacy.files) removes it later."""
    key_id = instance.data_key_id
    DataKey.objects.filter(pk=key_id).delete()
    transaction.on_commit(lambda: data_key_files_delete(key_id), robust=True)
