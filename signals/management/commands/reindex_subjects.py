from django.core.management.base import BaseCommand

from signals.services import subjects_reindex


class Command(BaseCommand):
    help = (
        "Berekent de blinde index van elke betrokkene opnieuw, na een wijziging in het normaliseren "
        "(bijvoorbeeld namen in elk schrift, buitenlandse kentekens). Veilig om opnieuw te draaien."
    )

    def handle(self, *args, **options):
        counts = subjects_reindex()
        self.stdout.write(
            f"{counts['changed']} betrokkene(n) opnieuw geïndexeerd, {counts['unchanged']} ongewijzigd, "
            f"{counts['refused']} niet te indexeren met de huidige regels (index behouden)."
        )
