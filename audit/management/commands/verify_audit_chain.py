import time

from django.core.management.base import BaseCommand, CommandError

from audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Controleert de hashketen van de audittrail; eindigt met een foutcode bij de eerste onderbreking."

    def add_arguments(self, parser):
        parser.add_argument("--chain", help="Alleen deze keten, bv. org:3")

    def handle(self, *args, chain=None, **options):
        started = time.perf_counter()
        report = audit_chain_verify(chain=chain)
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise CommandError(f"Audittrail niet intact na {report.checked} events: {report.problem}")
        self.stdout.write(f"Audittrail intact: {report.checked} events in {report.chains} ketens ({elapsed:.1f} s).")
