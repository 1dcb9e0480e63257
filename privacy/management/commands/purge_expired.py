from django.core.management.base import BaseCommand

from privacy.files import orphan_file_folders_delete
from privacy.services import purge_expired


class Command(BaseCommand):
    help = "Vernietigt records waarvan de bewaartermijn is verstreken en laat een vernietigingsrecord achter."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Toon wat zou worden vernietigd; wijzig niets.")

    def handle(self, *args, dry_run: bool = False, **options):
        done = purge_expired(dry_run=dry_run, removed_by="commando purge_expired")
        for record_type, record_id in done:
            self.stdout.write(f"{'zou vernietigen' if dry_run else 'vernietigd'}: {record_type} {record_id}")
        if not dry_run:
            orphan_file_folders_delete()
        self.stdout.write(f"{len(done)} record(s) {'te vernietigen' if dry_run else 'vernietigd'}.")
