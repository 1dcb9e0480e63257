from django.apps import AppConfig
from django.core import checks


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts en organisaties"

    def ready(self):
        checks.register(check_two_factor_exemptions)


def check_two_factor_exemptions(app_configs=None, **kwargs):
    """Only roles that read aggregated figures alone may work without a second factor."""
    from django.conf import settings

    from accounts.roles import EXEMPTIBLE_FROM_TWO_FACTOR

    refused = sorted(set(settings.WEERBAAR_2FA_EXEMPT_ROLES) - EXEMPTIBLE_FROM_TWO_FACTOR)
    if not refused:
        return []
    allowed = ", ".join(sorted(EXEMPTIBLE_FROM_TWO_FACTOR))
    return [
        checks.Error(
            f"WEERBAAR_2FA_EXEMPT_ROLES noemt {', '.join(refused)}: die rollen zien signalen, zaken, incidenten, "
            f"audit- of accountgegevens en hebben altijd tweestapsverificatie nodig. Toegestaan: {allowed}.",
            id="accounts.E001",
        )
    ]
