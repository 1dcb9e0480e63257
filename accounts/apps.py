from django.apps import AppConfig
from django.core import checks


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts en organisaties"

    def ready(self):
        from accounts import receivers  # noqa: F401  (connects the signal receivers)

        checks.register(check_two_factor_exemptions)
        checks.register(check_proxy_count)


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


def check_proxy_count(app_configs=None, **kwargs):
    """Behind a TLS proxy without WEERBAAR_PROXY_COUNT, every visitor has the proxy's address:
    one person's wrong receipt codes would lock the public follow-up page for everyone."""
    from django.conf import settings

    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and settings.WEERBAAR_PROXY_COUNT <= 0:
        return [
            checks.Warning(
                "WEERBAAR_BEHIND_TLS_PROXY staat aan maar WEERBAAR_PROXY_COUNT is 0: elke bezoeker telt dan als het "
                "adres van de proxy, voor de blokkade en de limieten van de openbare pagina's. Zet "
                "WEERBAAR_PROXY_COUNT op het aantal proxy's dat X-Forwarded-For aanvult.",
                id="accounts.W001",
            )
        ]
    return []
