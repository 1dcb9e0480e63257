import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditChainHead
from audit.selectors import audit_chain_anchor, audit_chain_check_anchor, audit_chain_verify


class Command(BaseCommand):
    help = "Controleert de hashketen van de audittrail; eindigt met een foutcode bij de eerste onderbreking."

    def add_arguments(self, parser):
        parser.add_argument("--chain", help="Alleen deze keten, bv. org:3")
        parser.add_argument(
            "--anchor",
            type=Path,
            help="Een eerder bewaard anker (JSON van --write-anchor): meldt ook events die van het eind zijn gehaald.",
        )
        parser.add_argument(
            "--write-anchor", type=Path, help="Schrijf na een geslaagde controle het anker naar dit bestand."
        )

    def handle(self, *args, chain=None, anchor=None, write_anchor=None, **options):
        started = time.perf_counter()
        report = audit_chain_verify(chain=chain)
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise CommandError(f"Audittrail niet intact na {report.checked} events: {report.problem}")
        if chain and report.chains == 0 and not AuditChainHead.objects.filter(chain=chain).exists():
            # A typo, or a chain removed with its head: nothing checked is no success.
            raise CommandError(f"Keten {chain} bestaat niet: er zijn geen events en geen kop van die keten.")
        if anchor is not None:
            try:
                earlier = json.loads(anchor.read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"Het anker {anchor} is niet te lezen: {type(error).__name__}.") from None
            problems = audit_chain_check_anchor(earlier)
            if problems:
                raise CommandError("Audittrail klopt niet met het anker: " + "; ".join(problems))
        if write_anchor is not None:
            write_anchor.write_text(json.dumps(audit_chain_anchor(), indent=2))
        self.stdout.write(f"Audittrail intact: {report.checked} events in {report.chains} ketens ({elapsed:.1f} s).")
