from django.core.management.base import BaseCommand

from privacy.keyring import keyring
from privacy.services import rotate_keys


class Command(BaseCommand):
    help = "Versleutelt alle datasleutels opnieuw met de nieuwste hoofdsleutel (zonder downtime)."

    def handle(self, *args, **options):
        count = rotate_keys()
        self.stdout.write(
            f"{count} datasleutels opnieuw versleuteld met hoofdsleutel '{keyring().current_id}'. "
            "Oudere hoofdsleutels zijn nu niet meer nodig."
        )
