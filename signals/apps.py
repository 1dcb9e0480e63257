from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "signals"
    verbose_name = "Meldpunt"

    def ready(self) -> None:
        from privacy.retention import register_model
        from signals import confidential_receivers, receivers  # noqa: F401
        from signals.models import Signal

        register_model(Signal)
