from django.apps import AppConfig


class ExampleConfig(AppConfig):
    name = "tests.example"
    label = "example"

    def ready(self) -> None:
        from privacy.retention import register_model
        from tests.example.models import Dossier

        register_model(Dossier)
