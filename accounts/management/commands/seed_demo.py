"""Demo organisations and one account per role, for `make run` and for trying the product.

Idempotent: running it again updates the same rows. Every run issues a fresh static one-time code
per account (the previous one stops working); the TOTP secret stays the same.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import AuthenticatorApp, Organisation, Region, User
from accounts.roles import OrganisationKind, Role
from accounts.second_factor import backup_codes_store
from accounts.services import TOTP_DEVICE_NAME

DEMO_PASSWORD = "weerbaar-demo-2026"
DEMO_STATIC_DEVICE = "demo-code"
# The demo signals' form keys are derived from this, so every run finds the same ones.
DEMO_NAMESPACE = uuid.UUID("5d2f6f1e-4c1b-4e57-9a53-6f0c2d9b7a10")

REGIONS = ["RIEC Noord-Holland", "RIEC Amsterdam-Amstelland"]

ORGANISATIONS = [
    # (name, kind, partner_type, region)
    ("Gemeente Zaanstad", OrganisationKind.MUNICIPALITY, "", "RIEC Noord-Holland"),
    ("Gemeente Hoorn", OrganisationKind.MUNICIPALITY, "", "RIEC Noord-Holland"),
    ("Provincie Noord-Holland", OrganisationKind.PROVINCE, "", "RIEC Noord-Holland"),
    ("RIEC Noord-Holland", OrganisationKind.RIEC, "", "RIEC Noord-Holland"),
    ("Politie Noord-Holland", OrganisationKind.PARTNER, "politie", "RIEC Noord-Holland"),
]

# Organisations whose public form for confidential reporting without an account is switched on.
CONFIDENTIAL_REPORTING = {"Gemeente Zaanstad", "Gemeente Hoorn"}

ACCOUNTS = [
    # (username, first name, last name, role, organisation)
    ("zaanstad.medewerker", "Mila", "de Vries", Role.EMPLOYEE, "Gemeente Zaanstad"),
    ("zaanstad.raadslid", "Ahmed", "Bakker", Role.OFFICE_HOLDER, "Gemeente Zaanstad"),
    ("zaanstad.coordinator", "Sanne", "Jansen", Role.COORDINATOR, "Gemeente Zaanstad"),
    ("zaanstad.manager", "Peter", "Visser", Role.MANAGER, "Gemeente Zaanstad"),
    ("zaanstad.normeigenaar", "Ingrid", "Smit", Role.NORM_OWNER, "Gemeente Zaanstad"),
    ("zaanstad.fg", "Ruben", "Mulder", Role.PRIVACY_OFFICER, "Gemeente Zaanstad"),
    ("zaanstad.beheerder", "Fatima", "el Amrani", Role.ADMIN, "Gemeente Zaanstad"),
    ("hoorn.coordinator", "Kees", "de Boer", Role.COORDINATOR, "Gemeente Hoorn"),
    ("hoorn.beheerder", "Lotte", "Dekker", Role.ADMIN, "Gemeente Hoorn"),
    ("provincie.beoordelaar", "Joris", "van Dijk", Role.REVIEWER, "Provincie Noord-Holland"),
    ("riec.beoordelaar", "Noor", "Hendriks", Role.REVIEWER, "RIEC Noord-Holland"),
    ("politie.tafel", "Daan", "Bos", Role.PARTNER, "Politie Noord-Holland"),
]


class Command(BaseCommand):
    help = "Maakt demo-organisaties en per rol een account aan (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print de accounts als JSON.")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Ook uitvoeren met DJANGO_ENV=production (alleen voor een demo-omgeving).",
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError("seed_demo maakt accounts met een bekend wachtwoord; niet in productie.")
        with transaction.atomic():
            rows = self._seed()
        if not settings.PRODUCTION:
            # Through the services, each in its own transaction. Their notification mails (the
            # console backend in development) go to stderr, so --json stays valid JSON. Not in a
            # production set-up, even a demo one: real coordinators would be mailed about them.
            with contextlib.redirect_stdout(sys.stderr):
                self._seed_signals()
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            self._print_table(rows)

    def _seed(self) -> list[dict[str, str]]:
        regions = {name: Region.objects.get_or_create(name=name)[0] for name in REGIONS}
        organisations = {}
        for name, kind, partner_type, region in ORGANISATIONS:
            organisations[name], _ = Organisation.objects.update_or_create(
                name=name,
                defaults={
                    "kind": kind,
                    "partner_type": partner_type,
                    "region": regions[region],
                    "confidential_reporting_enabled": name in CONFIDENTIAL_REPORTING,
                },
            )
        self._confidential_forms = [
            (name, reverse("signals:confidential_submit", kwargs={"organisation_id": organisations[name].pk}))
            for name in sorted(CONFIDENTIAL_REPORTING)
        ]
        rows = []
        for username, first_name, last_name, role, organisation in ACCOUNTS:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": f"{username}@example.org",
                    "role": role,
                    "organisation": organisations[organisation],
                    "is_active": True,
                },
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            rows.append(self._second_factor(user, role=role.value, organisation=organisation))
        admin, _ = User.objects.update_or_create(
            username="platform.beheer",
            defaults={"first_name": "Platform", "last_name": "Beheer", "is_staff": True, "is_superuser": True},
        )
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
        rows.append(self._second_factor(admin, role="platform_superuser", organisation=""))
        return rows

    def _seed_signals(self) -> None:
        """A few signals in Zaanstad, so the inbox, Mijn meldingen and the messages are not empty:
        one in handling with a question and its answer, one just received, one registered from a
        phone call with the caller's details, one closed. Fixed form keys: a second run finds
        the same signals and messages and changes nothing."""
        from signals.confidential_services import (
            ContactData,
            messages_mark_read,
            on_behalf_signal_submit,
            reporter_message_add,
            reporter_question_send,
        )
        from signals.models import Channel, ClosureReason, MessageDirection, Phenomenon, SignalStatus
        from signals.services import SignalData, SubjectData, signal_close, signal_start_triage, signal_submit

        users = {user.username: user for user in User.objects.filter(username__startswith="zaanstad.")}
        employee, office_holder = users["zaanstad.medewerker"], users["zaanstad.raadslid"]
        coordinator = users["zaanstad.coordinator"]
        phenomena = {p.name: p for p in Phenomenon.objects.filter(organisation_id=coordinator.organisation_id)}

        def key(name: str) -> uuid.UUID:
            return uuid.uuid5(DEMO_NAMESPACE, name)

        def submit(actor, name: str, data: SignalData):
            return signal_submit(
                actor=actor,
                organisation_id=actor.organisation_id,
                channel=Channel.WEB_FORM,
                submission_key=key(name),
                data=data,
            )

        nail_studio = submit(
            employee,
            "nagelstudio",
            SignalData(
                description=(
                    "Bij de nagelstudio aan de Stationsstraat zie ik bijna nooit klanten, maar er stoppen 's avonds "
                    "vaak busjes met buitenlandse kentekens. De vergunning is net verlengd."
                ),
                phenomenon=phenomena.get("Misbruik van vergunningen of subsidies"),
                address="1506 AB 12",
                noticed_how="in_job",
                subjects=[
                    SubjectData(kind="company", name="Nagelstudio Glamour B.V.", kvk="12345678"),
                    SubjectData(kind="vehicle", kenteken="VTX12B"),
                ],
            ),
        )
        if nail_studio.status == SignalStatus.RECEIVED:
            signal_start_triage(actor=coordinator, signal_id=nail_studio.pk)
        question = reporter_question_send(
            actor=coordinator,
            signal=nail_studio,
            text="Dank voor uw melding. Weet u op welke avonden de busjes er meestal staan?",
            submission_key=key("nagelstudio-vraag"),
        )
        # The employee opened their page, read the question and answered it.
        messages_mark_read(shown=[question], direction=MessageDirection.TO_REPORTER)
        reporter_message_add(
            actor=employee,
            signal=nail_studio,
            text="Meestal op dinsdag en donderdag, tussen 21 en 23 uur.",
            submission_key=key("nagelstudio-antwoord"),
        )
        submit(
            office_holder,
            "raadslid",
            SignalData(
                description=(
                    "Na de raadsvergadering werd ik bij mijn auto aangesproken door twee mannen die wilden weten "
                    "hoe ik over de bestemmingswijziging van het bedrijventerrein ga stemmen."
                ),
                phenomenon=phenomena.get("Intimidatie / beïnvloeding van bestuur"),
                noticed_how="in_job",
            ),
        )
        on_behalf_signal_submit(
            actor=coordinator,
            organisation_id=coordinator.organisation_id,
            channel=Channel.PHONE,
            submission_key=key("telefoon"),
            data=SignalData(
                description="Een buurtbewoner belt: op dit adres staan volgens hem twintig mensen ingeschreven.",
                phenomenon=phenomena.get("Mensenhandel / uitbuiting"),
                subjects=[
                    SubjectData(kind="address", address="1503 CD 4"),
                    SubjectData(kind="person", name="Piet Jansen"),
                ],
            ),
            contact=ContactData(name="Jan Pietersen", phone="+31612345678"),
        )
        closed = submit(
            employee,
            "afgesloten",
            SignalData(description="Bij de snackbar aan de Dam hangen vaak jongeren rond.", noticed_how="privately"),
        )
        if closed.status != SignalStatus.CLOSED:
            signal_close(actor=coordinator, signal_id=closed.pk, reason=ClosureReason.NOT_UNDERMINING)

    def _second_factor(self, user: User, *, role: str, organisation: str) -> dict[str, str]:
        totp = AuthenticatorApp.objects.filter(user=user, confirmed=True).first()
        if totp is None:
            totp = AuthenticatorApp.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
        static, _ = StaticDevice.objects.get_or_create(user=user, name=DEMO_STATIC_DEVICE, defaults={"confirmed": True})
        static.token_set.all().delete()
        code = StaticToken.random_token()
        backup_codes_store(static, [code])
        return {
            "username": user.username,
            "role": role,
            "organisation": organisation,
            "password": DEMO_PASSWORD,
            "otp": code,
            "totp_secret": base64.b32encode(totp.bin_key).decode().rstrip("="),
        }

    def _print_table(self, rows: list[dict[str, str]]) -> None:
        columns = ["username", "role", "organisation", "password", "otp", "totp_secret"]
        widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
        line = "  ".join(c.ljust(widths[c]) for c in columns)
        self.stdout.write(line)
        self.stdout.write("-" * len(line))
        for row in rows:
            self.stdout.write("  ".join(row[c].ljust(widths[c]) for c in columns))
        self.stdout.write(
            "\nLog in op http://127.0.0.1:8000 met gebruikersnaam, wachtwoord en de code uit de kolom otp "
            "(eenmalig; seed_demo opnieuw geeft nieuwe) of een code uit een authenticator-app met totp_secret."
        )
        self.stdout.write("\nVertrouwelijk melden zonder account (zonder inloggen):")
        for name, path in self._confidential_forms:
            self.stdout.write(f"  {name}: http://127.0.0.1:8000{path}")
