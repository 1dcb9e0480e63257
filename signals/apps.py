from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "signals"
    verbose_name = "Meldpunt"

    def ready(self) -> None:
        from privacy.retention import register_model
        from signals.models import Signal

        register_model(Signal)
