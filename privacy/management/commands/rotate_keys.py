from django.core.management.base import BaseCommand

from privacy.keyring import keyring
from privacy.services import rotate_keys


class Command(BaseCommand):
    help = "Versleutelt alle datasleutels opnieuw met de nieuwste hoofdsleutel (zonder downtime)."

    def handle(self, *args, **options):
        count = rotate_keys()
        self.stdout.write(
            f"{count} datasleutels opnieuw versleuteld met hoofdsleutel '{keyring().current_id}'. "
            "Processen die vóór het wijzigen van WEERBAAR_MASTER_KEYS zijn gestart, versleutelen nieuwe "
            "gegevens nog met de oude hoofdsleutel: herstart de web-, worker- en beatprocessen, draai dit "
            "commando daarna nog een keer en verwijder pas dan de oude hoofdsleutel."
        )
