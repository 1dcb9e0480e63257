from django.core.management.base import BaseCommand

from privacy.keyring import keyring
from privacy.services import rotate_keys


class Command(BaseCommand):
    help = "Versleutelt alle datasleutels opnieuw met de nieuwste hoofdsleutel (zonder downtime)."

    def handle(self, *args, **options):
        ring = keyring()
        current = ring.current_id
        older = [key_id for key_id, _ in ring.master_keys if key_id != current]
        count = rotate_keys()
        if not older:
            self.stdout.write(
                f"Er is één hoofdsleutel ingesteld ('{current}'); alle datasleutels gebruiken die. Roteren: zet een "
                "nieuwe sleutel vóór de huidige in WEERBAAR_MASTER_KEYS, herstart de web-, worker- en beatprocessen "
                "en draai dit commando dan."
            )
        elif count == 0:
            self.stdout.write(
                f"Alle datasleutels gebruiken al hoofdsleutel '{current}'. Zijn alle processen herstart sinds "
                f"WEERBAAR_MASTER_KEYS veranderde, dan kan {', '.join(repr(k) for k in older)} eruit."
            )
        else:
            self.stdout.write(
                f"{count} datasleutels opnieuw versleuteld met hoofdsleutel '{current}'. Processen die vóór het "
                "wijzigen van WEERBAAR_MASTER_KEYS zijn gestart, versleutelen nieuwe gegevens nog met de oude "
                "hoofdsleutel: herstart de web-, worker- en beatprocessen en draai dit commando daarna nog een keer; "
                "meldt het dan dat alle datasleutels de nieuwe sleutel gebruiken, dan kan de oude eruit."
            )
