from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Organisation


@receiver(post_save, sender=Organisation, dispatch_uid="signals_default_phenomena")
def give_new_organisations_the_default_phenomena(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from signals.services import phenomena_ensure_defaults

        phenomena_ensure_defaults(organisation_id=instance.pk)
